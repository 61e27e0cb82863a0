#!/usr/bin/env bash
# `goshift audit verify` on a log of N records (default 1,000,000), against hashing the same
# file with `openssl dgst -sha256` (the floor: every byte of the log has to be hashed).
# Prints the mean times and the ratio. Goal: verify of 1,000,000 records in 2 s or less.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
RECORDS="${RECORDS:-1000000}"
GOSHIFT="${GOSHIFT:-$REPO/target/release/goshift}"
[[ -x "$GOSHIFT" ]] || "$REPO/scripts/build.sh"
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"
echo "generating $RECORDS records..."
python3 "$REPO/scripts/bench/gen_audit_log.py" "$RECORDS" "$WORK/home/audit.log"
ls -l "$WORK/home/audit.log" | awk '{printf "log size: %.1f MB\n", $5 / 1e6}'
GOSHIFT_HOME="$WORK/home" "$GOSHIFT" audit verify
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$WORK/result.json" \
  -n "openssl sha256 (baseline)" "openssl dgst -sha256 $WORK/home/audit.log" \
  -n "goshift audit verify" "GOSHIFT_HOME=$WORK/home $GOSHIFT audit verify"
python3 - "$WORK/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base, verify = results[0]["mean"], results[1]["mean"]
print(f"baseline {base:.3f} s, verify {verify:.3f} s, ratio verify/baseline {verify / base:.2f}")
print(f"goal <= 2 s for 1,000,000 records: {'met' if verify <= 2 else 'NOT met'} ({verify:.3f} s)")
PY
