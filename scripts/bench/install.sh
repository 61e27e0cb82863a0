#!/usr/bin/env bash
# Benchmark: installing the real go1.22.10 archive from a loopback mirror.
#
#   goshift install --no-smoke-test 1.22.10   (download + SHA-256 + gunzip + untar, one pass,
#                                              into a fresh store each run)
# against the baseline, on the same archive file, in the same run:
#   sha256sum FILE && tar -xzf FILE            (two passes over a file already on disk)
#
# Prints the mean of each and the ratio goshift/baseline (goal: <= 0.7), then the full
# install with its smoke test (a cold hello-world build) for reference.
#
# Usage: scripts/bench/install.sh [--no-build]   (RUNS=N sets the hyperfine runs, default 10)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }
runs=${RUNS:-10}

if [[ ${1:-} != --no-build ]]; then
    "$REPO/scripts/build.sh"
fi
GOSHIFT="$REPO/target/release/goshift"
export E2E_DIR="$REPO/.e2e/bench-install"
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"
source scripts/e2e/mirror.sh
archive="$MIRROR_DIR/go1.22.10.linux-amd64.tar.gz"
work="$E2E_DIR/work"
mkdir -p "$work"

export GOSHIFT_INDEX_URL="$INDEX_URL" GOSHIFT_MIRROR="$MIRROR_URL" NO_COLOR=1
export GOSHIFT_HOME="$work/home"

mean() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.4f" % x["mean"] for x in r))' "$1"
}

echo "==> baseline vs goshift install --no-smoke-test ($runs runs each)"
hyperfine --warmup 1 --runs "$runs" --export-json "$E2E_DIR/install.json" \
    --prepare "rm -rf '$work/tree' '$work/home'; mkdir -p '$work/tree'" \
    --command-name "sha256sum && tar -xzf" \
    "sha256sum '$archive' >/dev/null && tar -xzf '$archive' -C '$work/tree'" \
    --command-name "goshift install --no-smoke-test" \
    "'$GOSHIFT' install --quiet --no-smoke-test 1.22.10"
read -r baseline goshift < <(mean "$E2E_DIR/install.json")
ratio=$(python3 -c "print(f'{$goshift / $baseline:.2f}')")
echo
echo "baseline (sha256sum && tar -xzf): ${baseline}s"
echo "goshift install --no-smoke-test:  ${goshift}s"
echo "ratio goshift/baseline: ${ratio}x (goal <= 0.7x)"

echo
echo "==> goshift install with the smoke test (3 runs, cold Go build cache each time)"
hyperfine --runs 3 --export-json "$E2E_DIR/smoke.json" \
    --prepare "rm -rf '$work/home'" \
    --command-name "goshift install (smoke test)" \
    "'$GOSHIFT' install --quiet 1.22.10"
read -r full < <(mean "$E2E_DIR/smoke.json")
echo
echo "goshift install with smoke test: ${full}s ($(python3 -c "print(f'{$full / $baseline:.1f}')")x the baseline)"
