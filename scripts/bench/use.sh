#!/usr/bin/env bash
# Benchmark: `goshift use` switching the default between two installed toolchains.
#
# Each timed run switches go1.21.13 -> go1.22.10 (an untimed prepare step switches back), so
# every run takes the lock, swaps the `default` link, appends to the history and refreshes the
# `bin/` links. Baseline in the same run: `goshift home` (process start-up, no store work).
# Goal: median <= 5 ms.
#
# Then where the time goes: the same switches timed in alternation (scripts/bench/interleave.py)
# with one home on the disk and one on tmpfs (`/dev/shm`, where fsync returns at once), so the
# difference between the two is what a switch waits for the disk, under the same load.
#
# With BASELINE_GOSHIFT set to another build (an older commit's), the same switches on tmpfs
# are also timed in alternation with that build, and both builds' system calls per switch are
# counted with strace: a change to how `use` touches the store shows as a ratio and a count.
# This build is timed from a copy, as the baseline should be (a freshly linked executable
# faults its pages in more slowly than a copied one, which alone moved the ratio by 15 %).
#
# Usage: scripts/bench/use.sh [--no-build]   (RUNS=N sets the hyperfine runs, default 200)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }
runs=${RUNS:-200}

if [[ ${1:-} != --no-build ]]; then
    "$REPO/scripts/build.sh"
fi
GOSHIFT="$REPO/target/release/goshift"
export E2E_DIR="$REPO/.e2e/bench-use" MIRROR_LIGHT=1
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"
source scripts/e2e/mirror.sh
export GOSHIFT_INDEX_URL="$INDEX_URL" GOSHIFT_MIRROR="$MIRROR_URL" NO_COLOR=1
export GOSHIFT_HOME="$E2E_DIR/home"
"$GOSHIFT" install --quiet --no-smoke-test 1.21.13 1.22.10

# One prepare per command, in order: nothing for the baseline, the switch back for `use`.
hyperfine -N --warmup 10 --runs "$runs" --export-json "$E2E_DIR/use.json" \
    --prepare "$GOSHIFT home" \
    --prepare "$GOSHIFT use --quiet 1.21.13" \
    --command-name "goshift home (start-up baseline)" \
    "$GOSHIFT home" \
    --command-name "goshift use 1.22.10" \
    "$GOSHIFT use --quiet 1.22.10"
python3 - "$E2E_DIR/use.json" <<'PY'
import json, sys
home, use = json.load(open(sys.argv[1]))["results"]
print()
print(f"goshift home (baseline): median {home['median'] * 1000:.2f} ms")
print(f"goshift use:             median {use['median'] * 1000:.2f} ms (goal <= 5 ms)")
print(f"ratio use/home: {use['median'] / home['median']:.2f}x")
PY
"$GOSHIFT" history | tail -n 1

# The mean of the medians of NAME-a and NAME-b, for each NAME, from interleave.py's last line.
pair_medians() {
    python3 - "$@" <<'PY'
import json, sys
result = json.loads(open(sys.argv[1]).read().splitlines()[-1])["commands"]
print(" ".join(f"{(result[n + '-a']['median'] + result[n + '-b']['median']) / 2:.2f}" for n in sys.argv[2:]))
PY
}

[[ -d /dev/shm && -w /dev/shm ]] || { echo "bench: no writable /dev/shm; skipping the disk/tmpfs comparison" >&2; exit 0; }
shm=$(mktemp -d /dev/shm/goshift-bench-use.XXXXXX)
trap 'rm -rf "$shm"; mirror_stop' EXIT
GOSHIFT_HOME="$shm/home" "$GOSHIFT" install --quiet --no-smoke-test 1.21.13 1.22.10
echo
echo "==> alternating: home on disk vs home on tmpfs (scripts/bench/interleave.py)"
python3 scripts/bench/interleave.py --runs "$runs" --warmup 10 \
    "home=env GOSHIFT_HOME=$GOSHIFT_HOME $GOSHIFT home" \
    "disk-a=env GOSHIFT_HOME=$GOSHIFT_HOME $GOSHIFT use --quiet 1.21.13" \
    "disk-b=env GOSHIFT_HOME=$GOSHIFT_HOME $GOSHIFT use --quiet 1.22.10" \
    "tmpfs-a=env GOSHIFT_HOME=$shm/home $GOSHIFT use --quiet 1.21.13" \
    "tmpfs-b=env GOSHIFT_HOME=$shm/home $GOSHIFT use --quiet 1.22.10" | tee "$E2E_DIR/interleave.txt"
read -r disk tmpfs < <(pair_medians "$E2E_DIR/interleave.txt" disk tmpfs)
echo "use, home on disk:  median $disk ms"
echo "use, home on tmpfs: median $tmpfs ms (goal <= 5 ms)"
awk -v d="$disk" -v t="$tmpfs" 'BEGIN { printf "ratio disk/tmpfs: %.2fx; waiting for the disk: %.2f ms\n", d / t, d - t }'

[[ -n ${BASELINE_GOSHIFT:-} ]] || exit 0
cp "$GOSHIFT" "$E2E_DIR/goshift-this"
GOSHIFT="$E2E_DIR/goshift-this"
echo
echo "==> alternating: this build vs BASELINE_GOSHIFT=$BASELINE_GOSHIFT, home on tmpfs"
python3 scripts/bench/interleave.py --runs "$runs" --warmup 10 \
    "baseline-a=env GOSHIFT_HOME=$shm/home $BASELINE_GOSHIFT use --quiet 1.21.13" \
    "baseline-b=env GOSHIFT_HOME=$shm/home $BASELINE_GOSHIFT use --quiet 1.22.10" \
    "this-a=env GOSHIFT_HOME=$shm/home $GOSHIFT use --quiet 1.21.13" \
    "this-b=env GOSHIFT_HOME=$shm/home $GOSHIFT use --quiet 1.22.10" | tee "$E2E_DIR/baseline.txt"
read -r before after < <(pair_medians "$E2E_DIR/baseline.txt" baseline this)
echo "use, baseline build: median $before ms"
echo "use, this build:     median $after ms"
awk -v b="$before" -v a="$after" 'BEGIN { printf "ratio this/baseline: %.2fx\n", a / b }'
command -v strace >/dev/null || { echo "bench: no strace; skipping the system call count" >&2; exit 0; }
for build in "$BASELINE_GOSHIFT" "$GOSHIFT"; do
    GOSHIFT_HOME="$shm/home" "$build" use --quiet 1.21.13
    GOSHIFT_HOME="$shm/home" strace -f -c -o "$E2E_DIR/strace.txt" "$build" use --quiet 1.22.10
    echo "system calls per switch, $build: $(awk '$NF == "total" {print $4}' "$E2E_DIR/strace.txt")"
done
