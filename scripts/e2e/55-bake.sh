#!/usr/bin/env bash
# Part 55: bake. The real Go service of testdata/goservice under wrk keep-alive load on
# loopback, with `bake` set: an upgrade to the http-500 fault build is rolled back during the
# bake by the probe (`rolled_back` without `rolling_back`: the old generation never stopped),
# with an incident holding the goroutine dump; the old generation's pid is the same before
# and after, `current` still names v1, and wrk sees no socket error. A healthy upgrade with
# the bake goes through `baking`, `draining`, `watching` to `upgraded`.
set -euo pipefail

: "${GOSHIFT:?} ${REPO:?} ${E2E_DIR:?} ${GO121:?} ${GO122:?}"
# shellcheck source=supervisor-lib.sh
source "$REPO/scripts/e2e/supervisor-lib.sh"
# wrk: SUP_WRK_THREADS and SUP_WRK_CONNECTIONS, 2 and 32 unless set.

check() { echo "check: $*"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

sup_setup "$E2E_DIR/bake"
trap 'kill "${SUP_PID:-}" 2>/dev/null || true; kill "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT

check "the service builds: v1, v2 and v2-http-500"
sup_build v1 "$GO121" v1
sup_build v2 "$GO122" v2
sup_build v2-http-500 "$GO122" v2-http-500 http-500

# A long bake, so the probe decides within it. During the bake the kernel gives each new
# connection to whichever generation accepts first: each probe measurement sends four
# requests, one connection each, so one that reaches the bad build fails the measurement.
export SUP_EXTRA='
bake = "30s"

[services.api.analysis.probe]
interval = "250ms"
requests = [{ path = "/" }, { path = "/" }, { path = "/" }, { path = "/" }]
success_rate_min = 0.99
failures = 2
'
sup_start 2s

serving_pid() {
    "$GOSHIFT" svc status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["pid"])'
}

# phases_of UPGRADE_ID: the upgrade's phases in the supervisor's log, space-separated.
phases_of() {
    python3 - "$SUP_DIR/supervisor.log" "$1" <<'PY'
import json, sys
phases = []
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("upgrade_id") == sys.argv[2] and event.get("phase") not in phases:
        phases.append(event["phase"])
print(" ".join(phases))
PY
}

outcome_field() {
    python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$(tail -1 "$SUP_DIR/outcomes.jsonl")" "$1"
}

check "v2-http-500 under wrk load with a bake: rolled back during the bake by the probe, the old generation untouched"
old_pid=$(serving_pid)
current_before=$(readlink "$GOSHIFT_HOME/services/api/current" || true)
sup_wrk_start 120s "$SUP_DIR/wrk-http-500.txt"
status=0
sup_upgrade v2-http-500 || status=$?
sup_wrk_stop
outcome=$(tail -1 "$SUP_DIR/outcomes.jsonl")
((status == 1)) || fail "the upgrade to v2-http-500 exited $status, expected 1: $outcome"
[[ $(outcome_field rollback_reason) == probe ]] || fail "not rolled back by the probe: $outcome"
upgrade_id=$(outcome_field upgrade_id)
phases=$(phases_of "$upgrade_id")
[[ $phases == "spawned ready baking rolled_back" ]] ||
    fail "the upgrade went through \`$phases\`, expected \`spawned ready baking rolled_back\`"
id=$(sup_incident_of)
[[ -n $id ]] || fail "the rollback names no incident: $outcome"
sup_expect_incident "$id" || fail "the incident of v2-http-500"
new_pid=$(serving_pid)
[[ $new_pid == "$old_pid" ]] || fail "the serving pid changed from $old_pid to $new_pid"
kill -0 "$old_pid" || fail "the old generation $old_pid is gone"
[[ $(readlink "$GOSHIFT_HOME/services/api/current" || true) == "$current_before" ]] || fail "\`current\` moved"
read -r _ _ errors non2xx requests < <(sup_wrk_summary "$SUP_DIR/wrk-http-500.txt")
echo "http-500 with bake: readiness to rollback decision $(sup_decision_ms "$upgrade_id") ms; wrk: $errors socket errors, $non2xx non-2xx of $requests requests; old pid $old_pid kept"
((errors == 0)) || fail "wrk saw $errors socket errors"
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q "^version=v1 .* pid=$old_pid " ||
    fail "v1 (pid $old_pid) does not answer after the rollback"

sup_stop

check "a healthy upgrade under wrk load with a short bake passes it and upgrades"
export SUP_EXTRA='
bake = "2s"

[services.api.analysis.probe]
interval = "250ms"
requests = [{ path = "/" }]
success_rate_min = 0.99
failures = 2
'
sup_start 1s
sup_wrk_start 120s "$SUP_DIR/wrk-healthy.txt"
status=0
sup_upgrade v2 || status=$?
sup_wrk_stop
((status == 0)) || fail "the healthy upgrade exited $status: $(tail -1 "$SUP_DIR/outcomes.jsonl")"
phases=$(phases_of "$(outcome_field upgrade_id)")
[[ $phases == "spawned ready baking draining watching upgraded" ]] ||
    fail "the healthy upgrade went through \`$phases\`"
read -r _ _ errors non2xx requests < <(sup_wrk_summary "$SUP_DIR/wrk-healthy.txt")
echo "healthy upgrade with bake: $errors socket errors, $non2xx non-2xx of $requests requests"
((errors == 0 && non2xx == 0)) || fail "the healthy upgrade cost $errors socket errors and $non2xx non-2xx"
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q '^version=v2 ' || fail "v2 does not answer"
sup_stop
echo "part 55 passed"
