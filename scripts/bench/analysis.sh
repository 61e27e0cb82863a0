#!/usr/bin/env bash
# Benchmark: time from a bad build's readiness to the rollback decision, with the analysis
# checks at their default settings (the probe needs a limit of its own: a success rate of
# 0.99; its interval, 500 ms, and failures, 2, are the defaults), and the bad build's exposure
# with and without bake. Two faults of testdata/goservice, ROUNDS (default 5) upgrades each per
# setting, under wrk keep-alive load on loopback:
#   - http-500: answers 500 to every request (decided by `probe`);
#   - other-port: says READY=1 and never accepts on the shared socket (decided by
#     `not_accepting`).
# The settings take turns, round by round (the supervisor restarts with the other service
# file), so a machine getting busier or quieter moves both alike:
#   - no bake: the old generation gets its stop signal as soon as the new one is ready;
#   - bake (BAKE, default 10s): both serve for the bake period first; an abort in it stops the
#     new generation alone.
# The time is read from the phase events' monotonic at_ms (`ready` to `rolling_back`, or to
# `rolled_back` for a rollback during the bake), so it is the supervisor's own clock, not the
# client's. Goal: ≤ 2000 ms for both faults without bake.
# Exposure: wrk runs anew for each upgrade, so its non-2xx answers are the ones the bad build
# gave before its rollback (v1 answers none), and its socket errors the clients it failed. The
# ratio printed is the bake's median exposure against the no-bake median of the same run.
# wrk keeps its connections, which stay with the generation that accepted them: during a bake
# they stay on the old one. SUP_WRK_HEADER='Connection: close' makes wrk open a connection per
# request instead, which the kernel gives to either generation.
#
# Usage: scripts/bench/analysis.sh   (env: ROUNDS, BAKE, SUP_WRK_HEADER, GOSHIFT, E2E_DIR)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
export REPO
ROUNDS=${ROUNDS:-5}
BAKE=${BAKE:-10s}
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
CHECKS='
[services.api.analysis.not_accepting]

[services.api.analysis.probe]
requests = [{ path = "/" }]
success_rate_min = 0.99
'
: >"$SUP_DIR/decisions.txt"
for ((round = 1; round <= ROUNDS; round++)); do
    for setting in no-bake bake; do
        if [[ $setting == bake ]]; then
            export SUP_EXTRA="bake = \"$BAKE\"
$CHECKS"
        else
            export SUP_EXTRA=$CHECKS
        fi
        sup_start 5s
        # The control socket must answer before an upgrade is asked for (once, a restarted
        # supervisor's `svc upgrade` found no socket: the run then stalls on wrk's 900 s).
        for ((i = 0; i < 100; i++)); do
            "$GOSHIFT" svc status >/dev/null 2>&1 && break
            sleep 0.1
        done
        "$GOSHIFT" svc status >/dev/null || { echo "bench: error: the supervisor does not answer on its control socket" >&2; exit 1; }
        for fault in "${faults[@]}"; do
            sup_wrk_start 900s "$SUP_DIR/wrk-$setting-$fault-$round.txt"
            sup_upgrade "v2-$fault" || true
            sup_wrk_stop
            outcome=$(tail -1 "$SUP_DIR/outcomes.jsonl")
            read -r id reason < <(python3 -c 'import json, sys; o = json.loads(sys.argv[1]); print(o["upgrade_id"], o.get("rollback_reason"))' "$outcome")
            ms=$(sup_decision_ms "$id")
            # A rollback decided during the bake ends `rolled_back` without `rolling_back`.
            warm=cold
            grep -q "\"upgrade_id\":\"$id\".*\"phase\":\"rolling_back\"\|\"phase\":\"rolling_back\".*\"upgrade_id\":\"$id\"" "$SUP_DIR/supervisor.log" || warm=warm
            read -r _ _ errors non2xx requests < <(sup_wrk_summary "$SUP_DIR/wrk-$setting-$fault-$round.txt")
            echo "$setting $fault $reason $ms $non2xx $errors $requests $warm" >>"$SUP_DIR/decisions.txt"
        done
        sup_stop
    done
done
python3 - "$SUP_DIR/decisions.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
exposure = {}
for setting in ("no-bake", "bake"):
    for fault in sorted({r[1] for r in rows}):
        mine = [r for r in rows if r[0] == setting and r[1] == fault]
        if not mine:
            continue
        label = f"{fault}, {setting}"
        times = [float(r[3]) for r in mine if r[3] != "n/a"]
        reasons = sorted({r[2] for r in mine})
        warm = sum(r[7] == "warm" for r in mine)
        if times:
            goal = "" if setting == "bake" else (" (ok)" if max(times) <= 2000 else " (over the 2000 ms goal)")
            print(f"{label}: {len(mine)} rollbacks by {', '.join(reasons)}, {warm} of them warm (during the bake); readiness to decision: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms{goal}")
        else:
            print(f"{label}: no decision measured ({', '.join(reasons)})")
        non2xx = [int(r[4]) for r in mine]
        errors = [int(r[5]) for r in mine]
        requests = [int(r[6]) for r in mine]
        exposure[(setting, fault)] = statistics.median(non2xx)
        print(f"{label}: exposure per upgrade: median {statistics.median(non2xx):.0f} non-2xx answers and {statistics.median(errors):.0f} socket errors of {statistics.median(requests):.0f} requests (max {max(non2xx)} non-2xx, {max(errors)} errors)")
for fault in sorted({r[1] for r in rows}):
    base, baked = exposure.get(("no-bake", fault)), exposure.get(("bake", fault))
    if base is None or baked is None:
        continue
    ratio = f"{baked / base:.2f}x" if base else "n/a (no exposure without bake)"
    print(f"{fault}: exposure with bake / without: {baked:.0f} / {base:.0f} non-2xx, {ratio}")
PY
