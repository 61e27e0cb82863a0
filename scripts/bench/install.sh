#!/usr/bin/env bash
# Benchmark: installing the real go1.22.10 archive from a loopback mirror.
#
#   goshift install --no-smoke-test 1.22.10   (download + SHA-256 + gunzip + untar, one pass,
#                                              into a fresh store each run)
# against the baseline, on the same archive file, in the same run:
#   sha256sum FILE && tar -xzf FILE            (two passes over a file already on disk)
#
# Prints the median of each (the two take turns) and the ratio goshift/baseline (goal: <= 0.7),
# then the full install with its smoke test (a cold hello-world build) for reference.
#
# Usage: scripts/bench/install.sh [--no-build]   (RUNS=N sets the runs, default 5; SETTLE=S the wait)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
runs=${RUNS:-5}

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

# Each run writes into a directory of its own and nothing is deleted while timing: right after
# a large tree is deleted, ext4's inode allocator scans the recently freed inodes it will not
# reuse yet (`recently_deleted` in a kernel profile), which made every create cost up to ten
# times more and measured the order of the runs rather than the tools. Trees are removed at
# the end; before the first run the script waits SETTLE seconds (default 40) after clearing an
# earlier run's trees, so their inodes are no longer "recent" either.
settle=${SETTLE:-40}
if [[ -n $(ls -A "$work" 2>/dev/null) ]]; then
    rm -rf "$work"
    mkdir -p "$work"
fi
sync
echo "==> waiting ${settle}s for the file system to settle after earlier deletions"
sleep "$settle"

echo "==> baseline vs goshift install --no-smoke-test ($runs runs each, alternating)"
python3 - "$runs" "$archive" "$work" "$GOSHIFT" >"$E2E_DIR/install.txt" <<'PY'
import os, statistics, subprocess, sys, time

runs, archive, work, goshift = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
baseline, ours = [], []
for i in range(runs):
    tree = os.path.join(work, f"tree-{i}")
    os.makedirs(tree)
    start = time.perf_counter()
    subprocess.run(["sh", "-c", 'sha256sum "$1" >/dev/null && tar -xzf "$1" -C "$2"', "sh", archive, tree], check=True)
    baseline.append(time.perf_counter() - start)
    env = dict(os.environ, GOSHIFT_HOME=os.path.join(work, f"home-{i}"))
    start = time.perf_counter()
    subprocess.run([goshift, "install", "--quiet", "--no-smoke-test", "1.22.10"], env=env, check=True)
    ours.append(time.perf_counter() - start)
    print(f"run {i + 1}: sha256sum && tar -xzf {baseline[-1]:.2f} s, goshift install {ours[-1]:.2f} s", file=sys.stderr)
print(f"{statistics.median(baseline):.3f} {statistics.median(ours):.3f}")
PY
read -r baseline goshift <"$E2E_DIR/install.txt"
ratio=$(python3 -c "print(f'{$goshift / $baseline:.2f}')")
echo
echo "baseline (sha256sum && tar -xzf): ${baseline}s (median)"
echo "goshift install --no-smoke-test:  ${goshift}s (median)"
echo "ratio goshift/baseline: ${ratio}x (goal <= 0.7x)"

echo
echo "==> goshift install with the smoke test (3 runs, cold Go build cache each time)"
full=()
for i in 1 2 3; do
    start=$(date +%s%N)
    GOSHIFT_HOME="$work/smoke-$i" GOCACHE="$work/smoke-$i/gocache" "$GOSHIFT" install --quiet 1.22.10
    full+=("$((($(date +%s%N) - start) / 1000000))")
done
median=$(printf '%s\n' "${full[@]}" | sort -n | sed -n 2p)
echo "goshift install with smoke test: ${median} ms median of ${full[*]} ms"
rm -rf "$work"
