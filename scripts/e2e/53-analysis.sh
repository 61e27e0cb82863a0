#!/usr/bin/env bash
# Part 53: analysis. The fault builds of testdata/goservice (faults.go), each upgraded to under
# wrk load on loopback with every check on, are rolled back by the check meant for each, and
# every rollback leaves an incident whose report holds the failed generation's goroutine dump;
# a healthy build with every check on still upgrades. For each fault the time from the new
# generation's readiness to the rollback decision is printed (from the phase events' at_ms).
# Then a real Prometheus server (Debian's `prometheus`) scrapes the supervisor's metrics, which
# sample the Go service's generations from /proc, and a PromQL check alone rolls the leaking
# build back by its pid's resident memory and lets a healthy build through.
set -euo pipefail

: "${GOSHIFT:?} ${REPO:?} ${E2E_DIR:?} ${GO121:?} ${GO122:?}"
# shellcheck source=supervisor-lib.sh
source "$REPO/scripts/e2e/supervisor-lib.sh"
export SUP_WRK_THREADS=${SUP_WRK_THREADS:-2} SUP_WRK_CONNECTIONS=${SUP_WRK_CONNECTIONS:-32}

check() {
    echo "check: $*"
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

sup_setup "$E2E_DIR/analysis"
trap 'kill "${SUP_PID:-}" 2>/dev/null || true; kill "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT

check "the service builds: v1, v2 and the faults of the issue"
sup_build v1 "$GO121" v1
sup_build v2 "$GO122" v2
faults=(http-500 slow leak other-port hang-after-ready panic-after-ready)
for fault in "${faults[@]}"; do
    sup_build "v2-$fault" "$GO122" "v2-$fault" "$fault"
done

# Every check on. not_accepting and process run with their defaults; the probe needs limits of
# its own (a success rate, a latency); a watch window longer than panic-after-ready's 2 s.
export SUP_EXTRA='
[services.api.analysis.not_accepting]

[services.api.analysis.process]
rss_growth_max = "50MiB"

[services.api.analysis.probe]
requests = [{ path = "/", timeout = "1s" }]
success_rate_min = 0.99
p99_max = "45ms"
failures = 3
'
sup_start 5s

declare -A expected=(
    [http-500]=probe
    [slow]=probe
    [leak]=process
    [other-port]=not_accepting
    [hang-after-ready]=probe
    [panic-after-ready]=died_in_watch
)
: >"$SUP_DIR/decisions.txt"
for fault in "${faults[@]}"; do
    check "$fault under wrk load: rolled back by ${expected[$fault]}, with an incident holding the goroutine dump"
    sup_wrk_start 60s "$SUP_DIR/wrk-$fault.txt"
    status=0
    sup_upgrade "v2-$fault" || status=$?
    sup_wrk_stop
    ((status == 1)) || fail "the upgrade to v2-$fault exited $status, expected 1: $(tail -1 "$SUP_DIR/outcomes.jsonl")"
    outcome=$(tail -1 "$SUP_DIR/outcomes.jsonl")
    reason=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("rollback_reason"))' "$outcome")
    [[ $reason == "${expected[$fault]}" ]] || fail "v2-$fault was rolled back by $reason, expected ${expected[$fault]}: $outcome"
    id=$(sup_incident_of)
    [[ -n $id ]] || fail "the rollback of v2-$fault names no incident: $outcome"
    sup_expect_incident "$id" || fail "the incident of v2-$fault"
    upgrade_id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["upgrade_id"])' "$outcome")
    ms=$(sup_decision_ms "$upgrade_id")
    echo "$fault: readiness to rollback decision: $ms ms ($reason)"
    echo "$fault $reason $ms" >>"$SUP_DIR/decisions.txt"
    curl --silent --fail --max-time 5 "$SUP_URL" | grep -q '^version=v1 ' || fail "v1 does not answer after v2-$fault"
done

check "\`goshift svc incidents api\` lists every incident"
count=$("$GOSHIFT" svc incidents api | grep -c -- '-api-g' || true)
((count >= ${#faults[@]})) || fail "svc incidents lists $count incidents, expected ${#faults[@]}"

check "a healthy upgrade under wrk load with every check on still upgrades"
sup_wrk_start 60s "$SUP_DIR/wrk-healthy.txt"
status=0
sup_upgrade v2 || status=$?
sup_wrk_stop
((status == 0)) || fail "the healthy upgrade exited $status: $(tail -1 "$SUP_DIR/outcomes.jsonl")"
read -r _ _ errors non2xx _ < <(sup_wrk_summary "$SUP_DIR/wrk-healthy.txt")
echo "healthy upgrade under load: $errors socket errors, $non2xx non-2xx"
curl --silent --fail --max-time 5 "http://127.0.0.1:$SUP_METRICS_PORT/metrics" |
    grep -q 'goshift_analysis_verdicts_total{service="api",check="probe",action="rollback"}' ||
    fail "no analysis verdict metric"

sup_stop

if ! command -v prometheus >/dev/null; then
    [[ -z ${CI:-} ]] || fail "prometheus is not installed (apt-get install -y prometheus)"
    echo "SKIPPED: the PromQL check against a real Prometheus: prometheus is not installed (apt-get install -y prometheus)" >&2
    echo "part 53 passed (without the PromQL check)"
    exit 0
fi

check "a real Prometheus scraping the supervisor: the PromQL check alone rolls the leaking build back and lets a healthy one through"
# A supervisor of its own, serving v1 from a fresh home, with the builds made above.
built="$SUP_DIR/bin"
rm -rf "$E2E_DIR/analysis-prometheus"
sup_setup "$E2E_DIR/analysis-prometheus"
cp "$built"/* "$SUP_DIR/bin/"
: >"$SUP_DIR/outcomes.jsonl"
PROM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$SUP_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 500ms
  scrape_timeout: 500ms
scrape_configs:
  - job_name: goshift
    static_configs:
      - targets: ["127.0.0.1:$SUP_METRICS_PORT"]
YAML
prometheus --config.file="$SUP_DIR/prometheus.yml" --storage.tsdb.path="$SUP_DIR/prometheus-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$SUP_DIR/prometheus.log" 2>&1 &
PROM_PID=$!
trap 'kill "${SUP_PID:-}" "${SUP_WRK_PID:-}" "${PROM_PID:-}" 2>/dev/null || true' EXIT
for ((i = 0; i < 300; i++)); do
    curl --silent --fail --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null && break
    kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited: $(tail -5 "$SUP_DIR/prometheus.log")"
    sleep 0.1
done
curl --silent --fail --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null || fail "prometheus is not ready after 30 s"

# The new generation's resident memory, found by its pid and release; empty (inconclusive)
# until Prometheus scraped it.
export SUP_EXTRA="
[services.api.analysis.prometheus]
url = \"http://127.0.0.1:$PROM_PORT\"

[[services.api.analysis.prometheus.queries]]
name = \"rss\"
query = 'max(goshift_generation_resident_memory_bytes{service=\"{{service}}\"} and on(service, generation) goshift_generation_info{service=\"{{service}}\",release=\"{{release}}\",pid=\"{{pid}}\"})'
failure = \"result > 157286400\"
interval = \"250ms\"
inconclusive_limit = 40
"
sup_start 8s
# Prometheus applies new scrape targets a few seconds after its start: wait for its first
# sample of the serving generation, so the watch window is not spent before any scrape.
for ((i = 0; i < 300; i++)); do
    curl --silent --fail --max-time 1 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
        --data-urlencode 'query=goshift_generation_info{service="api"}' | grep -q '"pid"' && break
    sleep 0.1
done
((i < 300)) || fail "prometheus has not scraped the supervisor within 30 s: $(tail -5 "$SUP_DIR/prometheus.log")"
status=0
sup_upgrade v2-leak || status=$?
outcome=$(tail -1 "$SUP_DIR/outcomes.jsonl")
((status == 1)) || fail "the upgrade to v2-leak exited $status, expected 1: $outcome; $(curl --silent --max-time 5 "http://127.0.0.1:$SUP_METRICS_PORT/metrics" | grep 'check="prometheus"')"
reason=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("rollback_reason"))' "$outcome")
[[ $reason == prometheus ]] || fail "v2-leak was rolled back by $reason, expected prometheus: $outcome"
grep -q 'query `rss` failed' <<<"$outcome" || fail "the outcome does not name the query: $outcome"
upgrade_id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["upgrade_id"])' "$outcome")
echo "leak: readiness to rollback decision by PromQL: $(sup_decision_ms "$upgrade_id") ms"
status=0
sup_upgrade v2 || status=$?
outcome=$(tail -1 "$SUP_DIR/outcomes.jsonl")
((status == 0)) && grep -q '"result":"upgraded"' <<<"$outcome" ||
    fail "the healthy upgrade with the PromQL check did not upgrade (exit $status): $outcome"
metrics=$(curl --silent --fail --max-time 5 "http://127.0.0.1:$SUP_METRICS_PORT/metrics")
count_of() {
    sed -n "s/^goshift_analysis_measurements_total{service=\"api\",check=\"prometheus\",result=\"$1\"} //p" <<<"$metrics"
}
passed=$(count_of passed)
((${passed:-0} > 0)) || fail "no passed PromQL measurement was counted"
echo "PromQL measurements over both upgrades: $passed passed, $(count_of inconclusive) inconclusive, $(count_of failed) failed"
sup_stop
kill "$PROM_PID"
wait "$PROM_PID" || true
echo "part 53 passed"
