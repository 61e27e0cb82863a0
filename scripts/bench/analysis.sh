#!/usr/bin/env bash
# Benchmark: time from a bad build's readiness to the rollback decision, with the analysis
# checks at their default settings (the probe needs a limit of its own: a success rate of
# 0.99; its interval, 500 ms, and failures, 2, are the defaults). Two faults of
# testdata/goservice, alternating, ROUNDS (default 5) upgrades each, under wrk keep-alive load
# on loopback:
#   - http-500: answers 500 to every request (decided by `probe`);
#   - other-port: says READY=1 and never accepts on the shared socket (decided by
#     `not_accepting`).
# The time is read from the phase events' monotonic at_ms (`ready` to `rolling_back`), so it
# is the supervisor's own clock, not the client's. Goal: ≤ 2000 ms for both.
# Exposure: wrk runs anew for each upgrade, so its non-2xx answers are the ones the bad build
# gave before its rollback (v1 answers none), and its socket errors the clients it failed.
#
# Usage: scripts/bench/analysis.sh   (env: ROUNDS, GOSHIFT, E2E_DIR)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
export REPO
ROUNDS=${ROUNDS:-5}
# shellcheck source=supervisor-bench-lib.sh
source scripts/bench/supervisor-bench-lib.sh
rm -rf "$E2E_DIR/analysis-bench/home" "$E2E_DIR/analysis-bench/outcomes.jsonl"
sup_setup "$E2E_DIR/analysis-bench"
trap 'kill "${SUP_PID:-}" "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT
sup_build v1 "$GO121" v1
faults=(http-500 other-port)
for fault in "${faults[@]}"; do
    sup_build "v2-$fault" "$GO122" "v2-$fault" "$fault"
done
export SUP_EXTRA='
[services.api.analysis.not_accepting]

[services.api.analysis.probe]
requests = [{ path = "/" }]
success_rate_min = 0.99
'
sup_start 5s
: >"$SUP_DIR/decisions.txt"
for ((round = 1; round <= ROUNDS; round++)); do
    for fault in "${faults[@]}"; do
        sup_wrk_start 900s "$SUP_DIR/wrk-$fault-$round.txt"
        sup_upgrade "v2-$fault" || true
        sup_wrk_stop
        outcome=$(tail -1 "$SUP_DIR/outcomes.jsonl")
        read -r id reason < <(python3 -c 'import json, sys; o = json.loads(sys.argv[1]); print(o["upgrade_id"], o.get("rollback_reason"))' "$outcome")
        ms=$(sup_decision_ms "$id")
        read -r _ _ errors non2xx requests < <(sup_wrk_summary "$SUP_DIR/wrk-$fault-$round.txt")
        echo "$fault $reason $ms $non2xx $errors $requests" >>"$SUP_DIR/decisions.txt"
    done
done
sup_stop
python3 - "$SUP_DIR/decisions.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for fault in sorted({r[0] for r in rows}):
    mine = [r for r in rows if r[0] == fault]
    times = [float(r[2]) for r in mine if r[2] != "n/a"]
    reasons = sorted({r[1] for r in mine})
    if not times:
        print(f"{fault}: no decision measured ({', '.join(reasons)})")
        continue
    verdict = "ok" if max(times) <= 2000 else "over the 2000 ms goal"
    print(f"{fault}: {len(times)} rollbacks by {', '.join(reasons)}; readiness to decision: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms ({verdict})")
    non2xx = [int(r[3]) for r in mine]
    errors = [int(r[4]) for r in mine]
    requests = [int(r[5]) for r in mine]
    print(f"{fault}: exposure per upgrade: median {statistics.median(non2xx):.0f} non-2xx answers and {statistics.median(errors):.0f} socket errors of {statistics.median(requests):.0f} requests (max {max(non2xx)} non-2xx, {max(errors)} errors)")
PY
