#!/usr/bin/env bash
# Unpacking a real Go archive: goshift-dist's one-pass verify-and-extract against the
# classic two commands, `sha256sum FILE && tar -xzf FILE`, measured in the same run.
#
# Usage: scripts/bench/unpack.sh
# Inputs (optional): ARCHIVE (default: the go1.22.10 archive scripts/e2e/mirror.sh builds
# under .e2e/cache), RUNS (default 10), SCRATCH (where trees are written; default a temp dir).
# Prints both medians and the ratio goshift-dist / baseline (goal: at most 0.70).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARCHIVE=${ARCHIVE:-$REPO/.e2e/cache/archives/go1.22.10.linux-amd64.tar.gz}
RUNS=${RUNS:-10}

for tool in hyperfine sha256sum tar python3; do
    command -v "$tool" >/dev/null || { echo "bench: \`$tool\` is required" >&2; exit 1; }
done
if [[ ! -f $ARCHIVE ]]; then
    echo "bench: building the real Go archives with scripts/e2e/mirror.sh --prepare" >&2
    "$REPO/scripts/e2e/mirror.sh" --prepare >/dev/null
fi

cargo build --release --quiet --manifest-path "$REPO/Cargo.toml" -p goshift-dist --example unpack
UNPACK="$REPO/target/release/examples/unpack"
SHA=$(sha256sum "$ARCHIVE" | cut -d' ' -f1)

WORK=$(mktemp -d "${SCRATCH:-${TMPDIR:-/tmp}}/goshift-bench-unpack.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DEST="$WORK/dest"

hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/result.json" \
    --prepare "rm -rf '$DEST' && mkdir '$DEST'" \
    -n baseline "sha256sum '$ARCHIVE' >/dev/null && tar -xzf '$ARCHIVE' -C '$DEST'" \
    -n goshift-dist "'$UNPACK' '$ARCHIVE' '$DEST' $SHA"

python3 - "$WORK/result.json" "$ARCHIVE" <<'PY'
import json
import os
import sys

results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
baseline = results["baseline"]["median"]
ours = results["goshift-dist"]["median"]
size = os.path.getsize(sys.argv[2]) / 1e6
print(f"archive {size:.1f} MB")
print(f"baseline (sha256sum && tar -xzf) median {baseline:.3f} s")
print(f"goshift-dist unpack                median {ours:.3f} s ({size / ours:.0f} MB/s compressed)")
print(f"ratio goshift-dist / baseline: {ours / baseline:.2f} (goal <= 0.70)")
PY
