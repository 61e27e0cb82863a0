#!/usr/bin/env bash
# Part 50: zero-downtime upgrades of a real Go service. testdata/goservice is built with Go
# 1.21.13 as v1 and Go 1.22.10 as v2 (and as faulty v2 builds); `goshift supervise` runs it
# while wrk drives keep-alive load on loopback and goshift upgrades v1→v2→v1 100 times. Every
# request must succeed: zero socket errors, zero non-2xx. The faulty builds must roll back,
# again without a failed request. Then SIGHUP, status, metrics, and a clean stop.
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

sup_setup "$E2E_DIR/supervisor"
trap 'kill "${SUP_PID:-}" 2>/dev/null || true; kill "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT

check "the Go service builds with Go 1.21.13 (v1) and Go 1.22.10 (v2 and faulty v2s)"
sup_build v1 "$GO121" v1
sup_build v2 "$GO122" v2
sup_build v2-crash "$GO122" v2-crash crash-at-start
sup_build v2-never-ready "$GO122" v2-never-ready never-ready
sup_build v2-panic "$GO122" v2-panic panic-before-ready
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

check "steady state under wrk (baseline for the benchmark)"
sup_wrk_start 5s "$SUP_DIR/wrk-steady.txt"
wait "$SUP_WRK_PID"
read -r steady_rps steady_p99 steady_errors steady_non2xx steady_requests < <(sup_wrk_summary "$SUP_DIR/wrk-steady.txt")
echo "steady: $steady_requests requests, $steady_rps req/s, p99 ${steady_p99}ms, $steady_errors socket errors, $steady_non2xx non-2xx"
((steady_errors == 0 && steady_non2xx == 0)) || fail "errors without any upgrade"

check "$UPGRADES upgrades v1→v2→v1… under keep-alive load: zero socket errors, zero non-2xx"
sup_wrk_start 600s "$SUP_DIR/wrk-upgrades.txt"
start=$SECONDS
for ((i = 1; i <= UPGRADES; i++)); do
    if ((i % 2 == 1)); then target=v2; else target=v1; fi
    sup_upgrade "$target" || fail "upgrade $i to $target did not succeed: $(tail -1 "$SUP_DIR/outcomes.jsonl")"
done
loop_seconds=$((SECONDS - start))

check "faulty v2 builds roll back, still under load (exit 1, reason given)"
for bad in v2-crash v2-never-ready v2-panic; do
    status=0
    sup_upgrade "$bad" || status=$?
    [[ $status == 1 ]] || fail "upgrade to $bad exited $status, expected 1 (rolled back)"
    tail -1 "$SUP_DIR/outcomes.jsonl" | grep -q '"result":"rolled_back"' || fail "$bad did not roll back"
done
sup_wrk_stop
read -r up_rps up_p99 up_errors up_non2xx up_requests < <(sup_wrk_summary "$SUP_DIR/wrk-upgrades.txt")
echo "during upgrades: $up_requests requests in ${loop_seconds}s+, $up_rps req/s, p99 ${up_p99}ms, $up_errors socket errors, $up_non2xx non-2xx"
grep -E 'Socket errors|Non-2xx' "$SUP_DIR/wrk-upgrades.txt" || true
((up_errors == 0)) || fail "$up_errors socket errors during upgrades"
((up_non2xx == 0)) || fail "$up_non2xx non-2xx responses during upgrades"
read -r count median p95 max < <(sup_overhead)
echo "handoff overhead over $count upgrades: median ${median}ms, p95 ${p95}ms, max ${max}ms"
rss=$(sup_rss_kib)
echo "supervisor RSS: ${rss} KiB"
((rss <= 15 * 1024)) || fail "supervisor RSS ${rss} KiB is above 15 MiB"

check "status shows the serving release, its pid and the last outcome"
"$GOSHIFT" svc status --json >"$SUP_DIR/status.json"
python3 - "$SUP_DIR/status.json" <<'PY'
import json, sys
(api,) = json.load(open(sys.argv[1]))
assert api["phase"] == "running" and api["readiness"] == "ready", api
assert api["last_upgrade"]["result"] == "rolled_back", api["last_upgrade"]
assert api["pid"], api
assert api["go_version"] in ("go1.21.13", "go1.22.10"), api
PY
python3 - "$GOSHIFT_HOME/services/api/releases" <<'PY'
import json, os, sys
versions = {json.load(open(os.path.join(sys.argv[1], r, "provenance.json")))["go_version"] for r in os.listdir(sys.argv[1])}
assert {"go1.21.13", "go1.22.10"} <= versions, versions
PY

check "metrics count upgrades and rollbacks"
curl --silent --fail --max-time 5 "http://127.0.0.1:$SUP_METRICS_PORT/metrics" >"$SUP_DIR/metrics.txt"
grep -q "goshift_upgrades_total{service=\"api\",result=\"upgraded\"} $UPGRADES" "$SUP_DIR/metrics.txt" ||
    fail "metrics: $(grep goshift_upgrades_total "$SUP_DIR/metrics.txt")"
grep -q 'goshift_rollbacks_total{service="api",reason="exited_before_ready"} 2' "$SUP_DIR/metrics.txt" ||
    fail "metrics: $(grep goshift_rollbacks_total "$SUP_DIR/metrics.txt")"
grep -q 'goshift_rollbacks_total{service="api",reason="ready_timeout"} 1' "$SUP_DIR/metrics.txt" ||
    fail "metrics: $(grep goshift_rollbacks_total "$SUP_DIR/metrics.txt")"
grep -q '^goshift_active_connections{service="api"' "$SUP_DIR/metrics.txt" || fail "no connection gauge"

check "SIGHUP upgrades to what services/api/current points at"
serving=$(curl --silent --fail --max-time 5 "$SUP_URL" | sed 's/ .*//')
other=v1
[[ $serving == version=v1 ]] && other=v2
release=$(python3 - "$GOSHIFT_HOME/services/api/releases" "$SUP_DIR/bin/$other" <<'PY'
import hashlib, json, os, sys
want = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
for rid in sorted(os.listdir(sys.argv[1])):
    if json.load(open(os.path.join(sys.argv[1], rid, "provenance.json")))["sha256"] == want:
        print(rid)
PY
)
ln -sfn "releases/$release" "$GOSHIFT_HOME/services/api/current.new"
mv -T "$GOSHIFT_HOME/services/api/current.new" "$GOSHIFT_HOME/services/api/current"
upgraded_before=$(grep -c '"phase":"upgraded"' "$SUP_DIR/supervisor.log")
kill -HUP "$SUP_PID"
for ((i = 0; i < 200; i++)); do
    (($(grep -c '"phase":"upgraded"' "$SUP_DIR/supervisor.log") > upgraded_before)) && break
    sleep 0.1
done
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q "^version=$other " || fail "SIGHUP did not upgrade to $other"

check "the audit log holds every upgrade, the SIGHUP upgrade included, and verifies"
python3 - "$GOSHIFT_HOME/audit.log" "$UPGRADES" <<'PY'
import collections, json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
count = collections.Counter((r["action"], r["outcome"]) for r in records)
upgrades = int(sys.argv[2])
# The arm64 binary was refused while staging, before anything ran: no record.
assert count[("svc.upgrade", "success")] == upgrades, count
assert count[("svc.upgrade", "failure")] == 3, count
assert count[("svc.upgrade", "refused")] == 1, count
assert count[("svc.reload", "success")] == 1, count
PY
"$GOSHIFT" audit verify

check "svc stop drains and stops; no child is left"
children=$(pgrep -P "$SUP_PID" || true)
sup_stop
for child in $children; do
    ! kill -0 "$child" 2>/dev/null || fail "child $child outlived the supervisor"
done
[[ ! -S $GOSHIFT_HOME/run/supervisor.sock ]] || fail "the control socket was left behind"

# Numbers for docs/benchmarks.md (scripts/bench/upgrade.sh prints them as ratios).
python3 - "$steady_rps" "$up_rps" "$steady_p99" "$up_p99" <<'PY'
import sys
steady_rps, up_rps, steady_p99, up_p99 = map(float, sys.argv[1:])
print(f"ratios: req/s during upgrades / steady = {up_rps / steady_rps:.2f}, p99 during upgrades / steady = {up_p99 / steady_p99:.2f}")
PY
echo "part 50 passed"
