#!/usr/bin/env bash
# Benchmark: the overhead of the `go` proxy.
#
# `go version` through `$GOSHIFT_HOME/bin/go` (goshift resolving the toolchain from a go.mod
# three directories up, then exec'ing the real go) against the same real `go version` run
# directly, in the same run: with hyperfine (no shell, warmed up), then in alternating runs
# (scripts/bench/interleave.py), whose median paired difference is the verdict. Prints both
# medians, the difference and the ratio. Goal: proxy <= direct + 1 ms median.
#
# Usage: scripts/bench/proxy.sh [--runs N]
# Environment: GOSHIFT (default: scripts/build.sh builds target/release/goshift), GOROOT_122 (default: the Go
# 1.22.10 tree prepared by scripts/e2e/mirror.sh --prepare), GOSHIFT_BASE (optional: another
# goshift build, e.g. of the commit before a change, whose proxy takes its turn in the same
# alternating runs as `base`, so the two builds are compared under the same conditions).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=500
while (($# > 0)); do
    case $1 in
    --runs)
        runs=${2:?--runs needs a number}
        shift 2
        ;;
    *)
        echo "proxy.sh: error: unknown argument \`$1\` (usage: scripts/bench/proxy.sh [--runs N])" >&2
        exit 2
        ;;
    esac
done

command -v hyperfine >/dev/null || {
    echo "proxy.sh: error: hyperfine is not installed (apt-get install hyperfine)" >&2
    exit 2
}
if [[ -z ${GOSHIFT:-} ]]; then
    "$REPO/scripts/build.sh" --quiet
    GOSHIFT="${CARGO_TARGET_DIR:-$REPO/target}/release/goshift"
fi
if [[ -z ${GOROOT_122:-} ]]; then
    eval "$("$REPO/scripts/e2e/mirror.sh" --prepare)"
fi
[[ -x $GOROOT_122/bin/go ]] || {
    echo "proxy.sh: error: no Go at $GOROOT_122/bin/go" >&2
    exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
home="$work/home"
mkdir -p "$home/toolchains/go1.22.10" "$home/manifests" "$home/bin" "$work/project/internal/pkg/sub"
# The proxy runs only a tree that is a real directory of this user with its manifest (it
# checks both with one `lstat` each): the tree's entries link to the Go tree, and the
# manifest only needs to exist.
for entry in "$GOROOT_122"/*; do
    ln -s "$entry" "$home/toolchains/go1.22.10/"
done
echo '{}' >"$home/manifests/go1.22.10.json"
ln -s toolchains/go1.22.10 "$home/default"
ln -s "$GOSHIFT" "$home/bin/go"
printf 'module example.com/bench\n\ngo 1.22\n' >"$work/project/go.mod"
cd "$work/project/internal/pkg/sub"

env -i PATH=/usr/bin:/bin HOME="$work" GOSHIFT_HOME="$home" "$home/bin/go" version | grep -q go1.22.10 || {
    echo "proxy.sh: error: the proxy did not run go1.22.10" >&2
    exit 1
}

echo "goshift: $GOSHIFT"
echo "go:      $GOROOT_122/bin/go ($("$GOROOT_122/bin/go" version))"
echo "cwd:     a go.mod three directories up; $runs runs each"
echo
echo "==> hyperfine (all direct runs, then all proxy runs)"
env -i PATH=/usr/bin:/bin HOME="$work" GOSHIFT_HOME="$home" \
    hyperfine --shell=none --warmup 50 --runs "$runs" --export-json "$work/result.json" \
    --command-name direct "$GOROOT_122/bin/go version" \
    --command-name proxy "$home/bin/go version"
python3 - "$work/result.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
direct = results["direct"]["median"] * 1000
proxy = results["proxy"]["median"] * 1000
print(f"hyperfine: median direct {direct:.3f} ms, proxy {proxy:.3f} ms: overhead {proxy - direct:+.3f} ms")
PY

# The verdict comes from alternating runs: direct and proxy take turns, so a machine getting
# busier or quieter during the run moves both alike.
echo
echo "==> alternating runs (scripts/bench/interleave.py)"
commands=("direct=$GOROOT_122/bin/go version" "proxy=$home/bin/go version")
if [[ -n ${GOSHIFT_BASE:-} ]]; then
    # The proxy is chosen by its name, `go`: the base build gets a link of that name of its
    # own, and both run against the same home.
    mkdir "$work/base"
    ln -s "$GOSHIFT_BASE" "$work/base/go"
    commands+=("base=$work/base/go version")
fi
env -i PATH=/usr/bin:/bin HOME="$work" GOSHIFT_HOME="$home" \
    python3 "$REPO/scripts/bench/interleave.py" --runs "$runs" --warmup 50 \
    "${commands[@]}" | tee "$work/interleave.txt"
tail -n 1 "$work/interleave.txt" | python3 -c '
import json, sys
r = json.load(sys.stdin)["commands"]
direct, proxy = r["direct"]["median"], r["proxy"]["median"]
paired = r["proxy"]["paired_difference"]
print(f"median direct {direct:.3f} ms, proxy {proxy:.3f} ms: overhead {paired:+.3f} ms (median of paired differences), ratio {proxy / direct:.3f}")
print("goal (proxy <= direct + 1 ms):", "met" if paired <= 1.0 else "NOT met")
if "base" in r:
    base = r["base"]["paired_difference"]
    print(f"base build: overhead {base:+.3f} ms; this build minus base: {paired - base:+.3f} ms")
'
