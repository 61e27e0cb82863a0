#!/usr/bin/env bash
# Part 51: 100 zero-downtime upgrades of a real Go service under load. The service of part 50
# (testdata/goservice; Go 1.21.13 as v1, Go 1.22.10 as v2; built here when part 50 did not run)
# runs under `goshift supervise` while wrk drives keep-alive load on loopback and goshift
# upgrades v1→v2→v1 100 times: zero socket errors and zero non-2xx answers. Also prints the
# benchmark numbers (req/s and p99 against steady blocks taking turns with the upgrade blocks,
# handoff overhead, RSS); the ratios are printed, not checked: this machine is shared.
set -euo pipefail

: "${GOSHIFT:?} ${REPO:?} ${E2E_DIR:?} ${GO121:?} ${GO122:?}"
# shellcheck source=supervisor-lib.sh
source "$REPO/scripts/e2e/supervisor-lib.sh"
UPGRADES=${SUP_UPGRADES:-100}
# One wrk thread leaves the CPU to the upgrades on a small machine; scripts/bench/upgrade.sh
# measures with more load.
export SUP_WRK_THREADS=${SUP_WRK_THREADS:-1} SUP_WRK_CONNECTIONS=${SUP_WRK_CONNECTIONS:-16}

check() {
    echo "check: $*"
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

sup_setup "$E2E_DIR/supervisor-load"
trap 'kill "${SUP_PID:-}" 2>/dev/null || true; kill "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT
SUP_PREBUILT="$E2E_DIR/supervisor/bin" sup_build_all
sup_start 100ms

check "$UPGRADES upgrades v1→v2→v1… under keep-alive load, in 5 blocks between steady blocks (the baseline): zero socket errors, zero non-2xx"
upgrade_or_fail() {
    sup_upgrade "$1" || fail "upgrade $2 to $1 did not succeed: $(tail -1 "$SUP_DIR/outcomes.jsonl")"
}
sup_alternate "$UPGRADES" 5 5 0 upgrade_or_fail
read -r steady_rps steady_p99 steady_errors steady_non2xx steady_requests < <(sup_summarize steady)
read -r up_rps up_p99 up_errors up_non2xx up_requests < <(sup_summarize upgrades)
echo "steady: $steady_requests requests, $steady_rps req/s, worst block p99 ${steady_p99}ms, $steady_errors socket errors, $steady_non2xx non-2xx"
echo "during upgrades: $up_requests requests, $up_rps req/s, worst block p99 ${up_p99}ms, $up_errors socket errors, $up_non2xx non-2xx (${SUP_ALTERNATE_SECONDS}s in all)"
((steady_errors == 0 && steady_non2xx == 0)) || fail "errors without any upgrade"
((up_errors == 0)) || fail "$up_errors socket errors during upgrades"
((up_non2xx == 0)) || fail "$up_non2xx non-2xx responses during upgrades"

check "no generation was killed: every old one drained within its grace"
! grep -q '"old_killed":true' "$SUP_DIR/outcomes.jsonl" || fail "an old generation had to be killed"
read -r count median p95 max < <(sup_overhead)
echo "handoff overhead over $count upgrades: median ${median}ms, p95 ${p95}ms, max ${max}ms"
((count == UPGRADES)) || fail "$count overheads recorded for $UPGRADES upgrades"
rss=$(sup_rss_kib)
echo "supervisor RSS: ${rss} KiB"
((rss <= 15 * 1024)) || fail "supervisor RSS ${rss} KiB is above 15 MiB"
sup_stop

python3 - "$steady_rps" "$up_rps" "$steady_p99" "$up_p99" <<'PY'
import sys
steady_rps, up_rps, steady_p99, up_p99 = map(float, sys.argv[1:])
print(f"ratios: req/s during upgrades / steady = {up_rps / steady_rps:.2f}, p99 during upgrades / steady = {up_p99 / steady_p99:.2f}")
PY
echo "part 51 passed"
