#!/usr/bin/env bash
# Benchmark: a real Go service (testdata/goservice, Go 1.21.13 as v1, Go 1.22.10 as v2) under
# `goshift supervise`, driven by wrk with keep-alive load on loopback. Measures, in one run:
#   - steady state: requests/s and p99 latency without upgrades (the baseline);
#   - the same during UPGRADES (default 100) upgrades v1→v2→v1…, with socket errors and
#     non-2xx answers (both must be 0);
#   - the supervisor's handoff overhead per upgrade: from the new generation's readiness to the
#     old one's stop signal, plus from the old one's exit to its reaping (the app's own drain
#     time is not in it);
#   - the supervisor's resident memory after the run.
# INTERVAL=S waits S seconds between upgrades (default 0: back to back). ROUNDS (default 5)
# splits the run into that many steady blocks and upgrade blocks, taking turns.
# VIA says how each upgrade is asked for, to tell apart what an upgrade costs:
#   cli     `goshift svc upgrade` (the default);
#   sighup  points services/api/current at the other release (one `ln`) and sends the
#           supervisor SIGHUP: no goshift command runs, what is left is the supervisor and
#           the Go processes (no handoff overhead is reported: it is in the outcomes only);
#   exec    upgrades nothing: starts the other build outside the supervisor, where it exits
#           as soon as its runtime is up (no LISTEN_PID), RATE (default 7) times a second:
#           the cost of a Go process starting and exiting, without any handoff.
# Prints the ratios against the baseline. Targets: req/s ≥ 0.9× steady, p99 ≤ 2× steady,
# overhead ≤ 50 ms, RSS ≤ 15 MiB.
#
# Usage: scripts/bench/upgrade.sh   (env: UPGRADES, STEADY_SECONDS, GOSHIFT, E2E_DIR,
# MEMORY_REPORT)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
export REPO
UPGRADES=${UPGRADES:-100}
# Seconds between upgrades (default 0: back to back, the hardest case).
INTERVAL=${INTERVAL:-0}
STEADY_SECONDS=${STEADY_SECONDS:-10}
ROUNDS=${ROUNDS:-5}
# shellcheck source=supervisor-bench-lib.sh
source scripts/bench/supervisor-bench-lib.sh
rm -rf "$E2E_DIR/upgrade-bench/home" "$E2E_DIR/upgrade-bench/outcomes.jsonl"
sup_setup "$E2E_DIR/upgrade-bench"
trap 'kill "${SUP_PID:-}" "${SUP_WRK_PID:-}" "${LOG_PID:-}" 2>/dev/null || true' EXIT
sup_build v1 "$GO121" v1
sup_build v2 "$GO122" v2
sup_start 100ms
VIA=${VIA:-cli}
case $VIA in
    cli) ;;
    sighup)
        # Both builds become releases before the measured blocks; then only `current` moves.
        sup_upgrade v2 && rel_v2=$(readlink "$GOSHIFT_HOME/services/api/current")
        sup_upgrade v1 && rel_v1=$(readlink "$GOSHIFT_HOME/services/api/current")
        # One reader of the supervisor's log for the whole run (a process per upgrade would
        # count against the upgrades): each SIGHUP upgrade ends with one of these phases.
        coproc LOG { exec tail -n0 -F "$SUP_DIR/supervisor.log"; }
        ;;
    exec)
        RATE=${RATE:-7}
        # `read -t` on a pipe nobody writes to: a sleep without starting a process.
        exec {never}<> <(:)
        ;;
    *) echo "bench: error: VIA is \`$VIA\`; use cli, sighup or exec" >&2; exit 2 ;;
esac
: >"$SUP_DIR/outcomes.jsonl"
# bench_upgrade NAME: one upgrade to bin/NAME, asked for as VIA says.
bench_upgrade() {
    local line release
    case $VIA in
        cli) sup_upgrade "$1" ;;
        sighup)
            if [[ $1 == v2 ]]; then release=$rel_v2; else release=$rel_v1; fi
            ln -sfnT "$release" "$GOSHIFT_HOME/services/api/current"
            kill -HUP "$SUP_PID"
            while IFS= read -r line <&"${LOG[0]}"; do
                case $line in
                    *'"phase":"upgraded"'*) return 0 ;;
                    *'"phase":"rolled_back"'*) echo "bench: a SIGHUP upgrade rolled back: $line" >&2; return 1 ;;
                esac
            done
            ;;
        exec)
            local started=${EPOCHREALTIME/./}
            "$SUP_DIR/bin/$1" 2>/dev/null || true
            local rest=$((1000000 / RATE - (${EPOCHREALTIME/./} - started))) micros
            if ((rest > 0)); then
                printf -v micros '%06d' $((rest % 1000000))
                read -rt "$((rest / 1000000)).$micros" -u "$never" || true
            fi
            ;;
    esac
}

sup_alternate "$UPGRADES" "$ROUNDS" "$STEADY_SECONDS" "$INTERVAL" bench_upgrade
elapsed=$SUP_ALTERNATE_SECONDS
read -r steady_rps steady_p99 steady_errors steady_non2xx _ < <(sup_summarize steady)
read -r up_rps up_p99 up_errors up_non2xx up_requests < <(sup_summarize upgrades)
read -r count median p95 max < <(sup_overhead)
rss=$(sup_rss_kib)
# MEMORY_REPORT=PREFIX keeps the supervisor's memory map and status for a closer look.
if [[ -n ${MEMORY_REPORT:-} ]]; then
    cp "/proc/$SUP_PID/smaps" "$MEMORY_REPORT.smaps"
    cp "/proc/$SUP_PID/status" "$MEMORY_REPORT.status"
fi
sup_stop >/dev/null 2>&1

python3 - <<PY
steady_rps, up_rps = $steady_rps, $up_rps
steady_p99, up_p99 = $steady_p99, $up_p99
print(f"upgrades:            $UPGRADES via $VIA in $ROUNDS blocks between steady blocks, ${elapsed}s in all, ${INTERVAL}s apart ($up_requests requests during them)")
print(f"steady state:        {steady_rps:.0f} req/s, worst block p99 {steady_p99:.2f} ms ($steady_errors socket errors, $steady_non2xx non-2xx)")
print(f"during upgrades:     {up_rps:.0f} req/s, worst block p99 {up_p99:.2f} ms ($up_errors socket errors, $up_non2xx non-2xx)")
print(f"req/s ratio:         {up_rps / steady_rps:.2f}x steady (target >= 0.9)")
print(f"p99 ratio:           {up_p99 / steady_p99:.2f}x steady (target <= 2)")
if $count:
    print(f"handoff overhead:    median ${median} ms, p95 ${p95} ms, max ${max} ms over $count upgrades (target <= 50)")
print(f"supervisor RSS:      {$rss / 1024:.1f} MiB (target <= 15)")
PY
