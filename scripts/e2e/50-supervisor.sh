#!/usr/bin/env bash
# Part 50: zero-downtime upgrades of a real Go service, functional checks. testdata/goservice is
# built with Go 1.21.13 as v1 and Go 1.22.10 as v2 (and as faulty v2 builds); `goshift
# supervise` runs it. Checked: refusals before anything runs (another architecture, a policy
# block), faulty builds rolling back under wrk load without a failed request, status, metrics,
# SIGHUP (also one arriving during an upgrade), the audit log, a clean stop. Part 51 runs the
# 100 upgrades under load.
set -euo pipefail

: "${GOSHIFT:?} ${REPO:?} ${E2E_DIR:?} ${GO121:?} ${GO122:?}"
# shellcheck source=supervisor-lib.sh
source "$REPO/scripts/e2e/supervisor-lib.sh"
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

sup_setup "$E2E_DIR/supervisor"
trap 'kill "${SUP_PID:-}" 2>/dev/null || true; kill "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT

check "the Go service builds with Go 1.21.13 (v1) and Go 1.22.10 (v2 and faulty v2s)"
sup_build_all
"$GO122" version "$SUP_DIR/bin/v1" | grep -q 'go1.21.13' || fail "v1 is not built by go1.21.13"
"$GO122" version "$SUP_DIR/bin/v2" | grep -q 'go1.22.10' || fail "v2 is not built by go1.22.10"

check "the supervisor starts v1 and it answers through the supervisor-owned socket"
sup_start 100ms
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q '^version=v1 go=go1.21.13' || fail "v1 does not answer"

check "a binary for another architecture is refused before anything runs"
python3 - "$SUP_DIR/bin/v2" "$SUP_DIR/bin/v2-arm64" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
open(sys.argv[2], "wb").write(data)
PY
chmod +x "$SUP_DIR/bin/v2-arm64"
status=0
"$GOSHIFT" svc upgrade api "$SUP_DIR/bin/v2-arm64" 2>"$SUP_DIR/arm64.err" || status=$?
[[ $status == 2 ]] || fail "upgrading to an arm64 binary exited $status, expected 2"
grep -q 'built for linux/arm64' "$SUP_DIR/arm64.err" || fail "unclear refusal: $(cat "$SUP_DIR/arm64.err")"

check "a policy that blocks Go 1.22.10 refuses v2 before it is staged or run"
cat >"$GOSHIFT_HOME/policy.toml" <<'TOML'
[[blocked]]
versions = ">=1.22.0, <1.22.11"
reason = "test block"
TOML
status=0
"$GOSHIFT" svc upgrade api "$SUP_DIR/bin/v2" 2>"$SUP_DIR/blocked.err" || status=$?
[[ $status == 2 ]] || fail "a blocked upgrade exited $status, expected 2"
grep -q 'test block' "$SUP_DIR/blocked.err" || fail "unclear refusal: $(cat "$SUP_DIR/blocked.err")"
(($(ls "$GOSHIFT_HOME/services/api/releases" | wc -l) == 1)) || fail "the blocked binary was staged"
rm "$GOSHIFT_HOME/policy.toml"

check "one upgrade v1→v2 under keep-alive load"
sup_wrk_start 600s "$SUP_DIR/wrk-faults.txt"
sup_upgrade v2 || fail "the upgrade to v2 did not succeed: $(tail -1 "$SUP_DIR/outcomes.jsonl")"

check "faulty v2 builds roll back, still under load (exit 1, reason given)"
for bad in v2-crash v2-never-ready v2-panic; do
    status=0
    sup_upgrade "$bad" || status=$?
    [[ $status == 1 ]] || fail "upgrade to $bad exited $status, expected 1 (rolled back)"
    tail -1 "$SUP_DIR/outcomes.jsonl" | grep -q '"result":"rolled_back"' || fail "$bad did not roll back"
done
sup_wrk_stop
read -r rps p99 errors non2xx requests < <(sup_wrk_summary "$SUP_DIR/wrk-faults.txt")
echo "during the faulty upgrades: $requests requests, $errors socket errors, $non2xx non-2xx"
((errors == 0)) || fail "$errors socket errors"
((non2xx == 0)) || fail "$non2xx non-2xx responses"

check "status shows the serving release, its pid and the last outcome"
"$GOSHIFT" svc status --json >"$SUP_DIR/status.json"
python3 - "$SUP_DIR/status.json" <<'PY'
import json, sys
(api,) = json.load(open(sys.argv[1]))
assert api["phase"] == "running" and api["readiness"] == "ready", api
assert api["last_upgrade"]["result"] == "rolled_back", api["last_upgrade"]
assert api["pid"], api
assert api["go_version"] in ("1.21.13", "1.22.10"), api
PY
python3 - "$GOSHIFT_HOME/services/api/releases" <<'PY'
import json, os, sys
versions = {json.load(open(os.path.join(sys.argv[1], r, "provenance.json")))["go_version"] for r in os.listdir(sys.argv[1])}
assert {"go1.21.13", "go1.22.10"} <= versions, versions
PY

check "metrics count upgrades and rollbacks"
curl --silent --fail --max-time 5 "http://127.0.0.1:$SUP_METRICS_PORT/metrics" >"$SUP_DIR/metrics.txt"
grep -q 'goshift_upgrades_total{service="api",result="upgraded"} 1' "$SUP_DIR/metrics.txt" ||
    fail "metrics: $(grep goshift_upgrades_total "$SUP_DIR/metrics.txt")"
grep -q 'goshift_rollbacks_total{service="api",reason="exited_before_ready"} 2' "$SUP_DIR/metrics.txt" ||
    fail "metrics: $(grep goshift_rollbacks_total "$SUP_DIR/metrics.txt")"
grep -q 'goshift_rollbacks_total{service="api",reason="ready_timeout"} 1' "$SUP_DIR/metrics.txt" ||
    fail "metrics: $(grep goshift_rollbacks_total "$SUP_DIR/metrics.txt")"
grep -q '^goshift_active_connections{service="api"' "$SUP_DIR/metrics.txt" || fail "no connection gauge"

# release_of NAME: the id of the release staged from bin/NAME.
release_of() {
    python3 - "$GOSHIFT_HOME/services/api/releases" "$SUP_DIR/bin/$1" <<'PY'
import hashlib, json, os, sys
want = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
for rid in sorted(os.listdir(sys.argv[1])):
    if json.load(open(os.path.join(sys.argv[1], rid, "provenance.json")))["sha256"] == want:
        print(rid)
PY
}
# point_current NAME: services/api/current → the release of bin/NAME, swapped atomically.
point_current() {
    ln -sfn "releases/$(release_of "$1")" "$GOSHIFT_HOME/services/api/current.new"
    mv -T "$GOSHIFT_HOME/services/api/current.new" "$GOSHIFT_HOME/services/api/current"
}
# wait_phase_count PHASE N: until the supervisor's log has more than N lines of PHASE (20 s).
wait_phase_count() {
    local i
    for ((i = 0; i < 400; i++)); do
        (($(grep -c "\"phase\":\"$1\"" "$SUP_DIR/supervisor.log") > $2)) && return 0
        sleep 0.05
    done
    fail "no new $1 phase in the supervisor's log"
}

check "SIGHUP upgrades to what services/api/current points at"
serving=$(curl --silent --fail --max-time 5 "$SUP_URL" | sed 's/ .*//')
other=v1
[[ $serving == version=v1 ]] && other=v2
point_current "$other"
upgraded_before=$(grep -c '"phase":"upgraded"' "$SUP_DIR/supervisor.log")
kill -HUP "$SUP_PID"
wait_phase_count upgraded "$upgraded_before"
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q "^version=$other " || fail "SIGHUP did not upgrade to $other"

check "a SIGHUP during an upgrade (a reload mid-deploy) is carried out once that upgrade ends"
back=v1
[[ $other == v1 ]] && back=v2
spawned_before=$(grep -c '"phase":"spawned"' "$SUP_DIR/supervisor.log")
upgraded_before=$(grep -c '"phase":"upgraded"' "$SUP_DIR/supervisor.log")
# The never-ready build holds its upgrade open until the ready timeout, then rolls back.
"$GOSHIFT" --quiet svc upgrade api "$SUP_DIR/bin/v2-never-ready" --reason "e2e" >/dev/null 2>&1 &
deploy=$!
wait_phase_count spawned "$spawned_before"
point_current "$back"
kill -HUP "$SUP_PID"
status=0
wait "$deploy" || status=$?
((status == 1)) || fail "the never-ready upgrade ended with exit $status, not 1 (rolled back)"
wait_phase_count upgraded "$upgraded_before"
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q "^version=$back " ||
    fail "the SIGHUP sent during the upgrade was not carried out after it"

check "the audit log holds every upgrade, the SIGHUP upgrade included, and verifies"
python3 - "$GOSHIFT_HOME/audit.log" 1 <<'PY'
import collections, json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
count = collections.Counter((r["action"], r["outcome"]) for r in records)
upgrades = int(sys.argv[2])
# The arm64 binary was refused while staging, before anything ran: no record.
assert count[("svc.upgrade", "success")] == upgrades, count
assert count[("svc.upgrade", "failure")] == 4, count
assert count[("svc.upgrade", "refused")] == 1, count
assert count[("svc.reload", "success")] == 2, count
PY
"$GOSHIFT" audit verify

check "svc stop drains and stops; no child is left"
children=$(pgrep -P "$SUP_PID" || true)
sup_stop
for child in $children; do
    ! kill -0 "$child" 2>/dev/null || fail "child $child outlived the supervisor"
done
[[ ! -S $GOSHIFT_HOME/run/supervisor.sock ]] || fail "the control socket was left behind"

echo "part 50 passed"
