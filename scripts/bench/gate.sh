#!/usr/bin/env bash
# `goshift gate` over a tree of N go.mod files (default 1,000), against `find` listing the
# same go.mod files and `cat`-ing them (the floor: walking the tree and reading every file).
# Prints the mean times and the ratio. Goal: 1,000 go.mod files in 1 s or less.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
MODULES="${MODULES:-1000}"
GOSHIFT="${GOSHIFT:-$REPO/target/release/goshift}"
[[ -x "$GOSHIFT" ]] || "$REPO/scripts/build.sh"
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home/toolchains/go1.22.10"
ln -s toolchains/go1.22.10 "$WORK/home/default"
cat > "$WORK/policy.toml" <<'TOML'
support_window = 2
[[blocked]]
versions = ">=1.21.0, <1.21.3"
reason = "HTTP/2 rapid reset"
advisories = ["GO-2023-2102"]
TOML
python3 "$REPO/scripts/bench/gen_gate_tree.py" "$MODULES" "$WORK/tree"
echo "go.mod files: $(find "$WORK/tree" -name go.mod | wc -l)"
set +e
GOSHIFT_HOME="$WORK/home" "$GOSHIFT" --policy "$WORK/policy.toml" gate "$WORK/tree" >/dev/null
echo "gate exit status (1 expected: blocked toolchains in the tree): $?"
set -e
hyperfine --warmup 1 --runs "${RUNS:-10}" -i --export-json "$WORK/result.json" \
  -n "find + cat (baseline)" "find $WORK/tree -name go.mod -exec cat {} + >/dev/null" \
  -n "goshift gate" "GOSHIFT_HOME=$WORK/home $GOSHIFT --policy $WORK/policy.toml gate --format sarif $WORK/tree >/dev/null"
python3 - "$WORK/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base, gate = results[0]["mean"], results[1]["mean"]
print(f"baseline {base:.3f} s, gate {gate:.3f} s, ratio gate/baseline {gate / base:.2f}")
print(f"goal <= 1 s for 1,000 go.mod files: {'met' if gate <= 1 else 'NOT met'} ({gate:.3f} s)")
PY
