#!/usr/bin/env bash
# Shared by scripts/e2e/50-supervisor.sh and scripts/bench/upgrade.sh: build the Go service of
# testdata/goservice with real Go toolchains, run it under `goshift supervise`, drive it with
# wrk, upgrade it in a loop. Source it; every name is prefixed `sup_`.
#
# Needs: GOSHIFT, REPO, GO121, GO122 and a scratch directory given to sup_setup.

# sup_setup DIR: the scratch dir, GOSHIFT_HOME, Go caches, free ports.
sup_setup() {
    SUP_DIR=$1
    mkdir -p "$SUP_DIR/bin" "$SUP_DIR/home" "$SUP_DIR/gocache" "$SUP_DIR/gopath"
    export GOSHIFT_HOME="$SUP_DIR/home"
    export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
    export GOCACHE="$SUP_DIR/gocache" GOPATH="$SUP_DIR/gopath"
    read -r SUP_PORT SUP_METRICS_PORT < <(python3 -c '
import socket
ports = []
socks = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s); ports.append(s.getsockname()[1])
print(*ports)')
    SUP_URL="http://127.0.0.1:$SUP_PORT/"
}

# sup_build NAME GO VERSION [FAULT]: builds the service into $SUP_DIR/bin/NAME.
sup_build() {
    local name=$1 go=$2 version=$3 fault=${4:-}
    (cd "$REPO/testdata/goservice" &&
        "$go" build -trimpath -o "$SUP_DIR/bin/$name" \
            -ldflags "-X main.version=$version -X main.fault=$fault" .)
}

# sup_build_all: v1 (Go 1.21.13), v2 and the faulty v2 builds (Go 1.22.10) into $SUP_DIR/bin,
# copied from SUP_PREBUILT (a bin directory of an earlier part) when that has them.
sup_build_all() {
    local name
    if [[ -n ${SUP_PREBUILT:-} && -x $SUP_PREBUILT/v2-panic ]]; then
        cp "$SUP_PREBUILT"/* "$SUP_DIR/bin/"
        return 0
    fi
    sup_build v1 "$GO121" v1
    sup_build v2 "$GO122" v2
    for name in crash never-ready panic; do
        local fault=$name
        [[ $name == crash ]] && fault=crash-at-start
        [[ $name == panic ]] && fault=panic-before-ready
        sup_build "v2-$name" "$GO122" "v2-$name" "$fault"
    done
}

# sup_start [WATCH]: writes the service file and starts the supervisor with v1. SUP_EXTRA, when
# set, is appended to the file (e.g. `[services.api.analysis.probe]` tables).
sup_start() {
    local watch=${1:-100ms}
    cat >"$SUP_DIR/supervisor.toml" <<TOML
metrics = "127.0.0.1:$SUP_METRICS_PORT"

[services.api]
binary = "$SUP_DIR/bin/v1"
listen = [{ name = "http", address = "tcp://127.0.0.1:$SUP_PORT" }]
ready = { notify = true, timeout = "3s" }
stop = { signal = "SIGTERM", grace = "5s" }
watch = "$watch"
restart = { backoff = "100ms", max = "2s" }
# Profiles for incidents and part 52's checks come from the admin listener.
admin = true
${SUP_EXTRA:-}
TOML
    "$GOSHIFT" supervise --config "$SUP_DIR/supervisor.toml" 2>"$SUP_DIR/supervisor.log" &
    SUP_PID=$!
    sup_wait_log '"phase":"running"' 30
}

# sup_wait_log PATTERN SECONDS: waits until the supervisor's log has a line matching PATTERN.
sup_wait_log() {
    local pattern=$1 seconds=$2 i
    for ((i = 0; i < seconds * 10; i++)); do
        grep -q -- "$pattern" "$SUP_DIR/supervisor.log" 2>/dev/null && return 0
        kill -0 "$SUP_PID" 2>/dev/null || {
            echo "the supervisor exited; its log:" >&2
            cat "$SUP_DIR/supervisor.log" >&2
            return 1
        }
        sleep 0.1
    done
    echo "no log line matching $pattern within ${seconds}s; log:" >&2
    tail -20 "$SUP_DIR/supervisor.log" >&2
    return 1
}

# sup_wrk_start DURATION OUT: keep-alive load on loopback in the background (SUP_WRK_PID);
# SUP_WRK_THREADS and SUP_WRK_CONNECTIONS set its size (default 2 and 32), SUP_WRK_HEADER adds
# a request header (`Connection: close`: a new connection per request).
sup_wrk_start() {
    local header=()
    if [[ -n ${SUP_WRK_HEADER:-} ]]; then header=(-H "$SUP_WRK_HEADER"); fi
    wrk -t"${SUP_WRK_THREADS:-2}" -c"${SUP_WRK_CONNECTIONS:-32}" -d"$1" --latency --timeout 5s \
        "${header[@]}" "$SUP_URL" >"$2" 2>&1 &
    SUP_WRK_PID=$!
}

# sup_wrk_stop: stops background wrk early (it prints its report on SIGINT) and waits.
sup_wrk_stop() {
    kill -INT "$SUP_WRK_PID" 2>/dev/null || true
    wait "$SUP_WRK_PID" || true
}

# sup_wrk_summary FILE: prints `rps p99_ms socket_errors non_2xx requests`.
sup_wrk_summary() {
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", text).group(1))
requests = int(re.search(r"(\d+) requests in", text).group(1))
errors = 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m:
    errors = sum(int(x) for x in m.groups())
non2xx = 0
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m:
    non2xx = int(m.group(1))
print(f"{rps:.0f} {p99:.2f} {errors} {non2xx} {requests}")
PY
}

# sup_alternate UPGRADES ROUNDS STEADY_SECONDS INTERVAL UPGRADE: steady blocks and upgrade
# blocks under wrk take turns, ROUNDS of each, so a machine getting busier or quieter during
# the run moves both alike (this machine's steady throughput moves by 10 % from one minute to
# the next). The upgrade blocks together call `UPGRADE TARGET N` UPGRADES times, v2, v1, v2…,
# INTERVAL seconds apart (0: back to back); wrk reports go to wrk-steady-R.txt and
# wrk-upgrades-R.txt. Sets SUP_ALTERNATE_SECONDS to the run's length.
sup_alternate() {
    local upgrades=$1 rounds=$2 interval=$4 upgrade=$5 round i target start=$SECONDS
    local steady_block=$((($3 + rounds - 1) / rounds))
    rm -f "$SUP_DIR"/wrk-steady-*.txt "$SUP_DIR"/wrk-upgrades-*.txt
    for ((round = 1; round <= rounds; round++)); do
        sup_wrk_start "${steady_block}s" "$SUP_DIR/wrk-steady-$round.txt"
        wait "$SUP_WRK_PID"
        sup_wrk_start 900s "$SUP_DIR/wrk-upgrades-$round.txt"
        for ((i = (round - 1) * upgrades / rounds + 1; i <= round * upgrades / rounds; i++)); do
            if ((i % 2 == 1)); then target=v2; else target=v1; fi
            "$upgrade" "$target" "$i"
            if [[ $interval != 0 ]]; then sleep "$interval"; fi
        done
        sup_wrk_stop
    done
    SUP_ALTERNATE_SECONDS=$((SECONDS - start))
}

# sup_summarize KIND: over the wrk reports of sup_alternate's KIND blocks (steady, upgrades),
# prints `rps worst_p99_ms socket_errors non_2xx requests`: req/s over all of them, the worst
# block's p99, errors and non-2xx summed.
sup_summarize() {
    local file
    for file in "$SUP_DIR"/wrk-"$1"-*.txt; do sup_wrk_summary "$file"; done | awk '
        { requests += $5; seconds += $5 / $1; if ($2 > p99) p99 = $2; errors += $3; non2xx += $4 }
        END { printf "%.0f %.2f %d %d %d\n", requests / seconds, p99, errors, non2xx, requests }'
}

# sup_upgrade NAME: stages and upgrades to bin/NAME; appends the JSON outcome to
# $SUP_DIR/outcomes.jsonl and returns goshift's exit status.
sup_upgrade() {
    local status=0 line compact="" keyed='^("([^"\\]|\\.)*"): (.*)$'
    # One compact outcome per line, with bash alone: a process started per upgrade (Python, or
    # even sed) would take CPU from the service under load and count against goshift. JSON
    # allows no raw newline in a string, so every line of the pretty form starts outside one:
    # dropping the indentation and the space after each line's leading key, then the newlines,
    # gives the compact form.
    "$GOSHIFT" --json --quiet svc upgrade api "$SUP_DIR/bin/$1" --reason "e2e" \
        >"$SUP_DIR/outcome.json" || status=$?
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line#"${line%%[! ]*}"}
        [[ $line =~ $keyed ]] && line="${BASH_REMATCH[1]}:${BASH_REMATCH[3]}"
        compact+=$line
    done <"$SUP_DIR/outcome.json"
    printf '%s\n' "$compact" >>"$SUP_DIR/outcomes.jsonl"
    return $status
}

# sup_overhead: prints `count median_ms p95_ms max_ms` of the handoff overhead of successful
# upgrades recorded in outcomes.jsonl.
sup_overhead() {
    python3 - "$SUP_DIR/outcomes.jsonl" <<'PY'
import json, sys
values = sorted(o["handoff_overhead_ms"] for o in map(json.loads, open(sys.argv[1]))
                if o["result"] == "upgraded" and o.get("handoff_overhead_ms") is not None)
if not values:
    print("0 0 0 0"); sys.exit()
pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
print(f"{len(values)} {pick(0.5):.2f} {pick(0.95):.2f} {values[-1]:.2f}")
PY
}

# sup_decision_ms UPGRADE_ID: from the new generation's `ready` to `rolling_back` (or `rolled_back`
# when the failure came before the cutover), by the events' monotonic at_ms.
sup_decision_ms() {
    python3 - "$SUP_DIR/supervisor.log" "$1" <<'PY'
import json, sys
ready = decided = None
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("upgrade_id") != sys.argv[2]:
        continue
    if event.get("phase") == "ready" and ready is None:
        ready = event["at_ms"]
    if event.get("phase") in ("rolling_back", "rolled_back") and decided is None:
        decided = event["at_ms"]
if ready is None or decided is None:
    print("n/a")
else:
    print(f"{decided - ready:.0f}")
PY
}

# sup_incident_of: the incident id the last outcome in outcomes.jsonl names (empty if none).
sup_incident_of() {
    tail -1 "$SUP_DIR/outcomes.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("incident") or "")'
}

# sup_expect_incident ID: waits (bounded) for the incident's report and checks that it holds a
# goroutine dump and that `goshift svc incident ID` shows it; says why on stderr and returns 1
# when not.
sup_expect_incident() {
    local id=$1 report i
    report="$GOSHIFT_HOME/services/api/incidents/$id/report.json"
    for ((i = 0; i < 100; i++)); do
        [[ -s $report ]] && break
        sleep 0.1
    done
    if [[ ! -s $report ]]; then
        echo "incident $id was not written" >&2
        return 1
    fi
    python3 - "$report" <<'PY' || {
import json, sys
report = json.load(open(sys.argv[1]))
dump = report.get("goroutine_dump") or ""
sys.exit(0 if "goroutine " in dump else 1)
PY
        echo "incident $id has no goroutine dump: $(head -c 2000 "$report")" >&2
        return 1
    }
    "$GOSHIFT" svc incident "$id" | grep -q "$id" || {
        echo "\`goshift svc incident $id\` does not show it" >&2
        return 1
    }
}

# sup_rss_kib: the supervisor's resident set size in KiB.
sup_rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$SUP_PID/status"
}

# sup_stop: `goshift svc stop` and wait for the supervisor to exit.
sup_stop() {
    "$GOSHIFT" svc stop
    wait "$SUP_PID"
}

# sup_under_load NAME ACTION: wrk for 8 s against the service, ACTION after 2 s; prints wrk's
# summary and sets `connect read write timeout` to its socket errors for the caller to judge.
# Fails (returns 1) when wrk failed or any answer was not 2xx.
sup_under_load() {
    local out="$SUP_DIR/wrk-$1.txt" rps p99 errors non2xx requests
    sup_wrk_start 8s "$out"
    sleep 2
    "$2"
    wait "$SUP_WRK_PID" || { echo "wrk failed: $(cat "$out")" >&2; return 1; }
    read -r rps p99 errors non2xx requests < <(sup_wrk_summary "$out")
    read -r connect read write timeout < <(python3 - "$out" <<'PY'
import re, sys
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", open(sys.argv[1]).read())
print(*(m.groups() if m else (0, 0, 0, 0)))
PY
    )
    echo "$1: $requests requests, $rps req/s, p99 ${p99}ms, non-2xx $non2xx; socket errors: connect $connect, read $read, write $write, timeout $timeout"
    ((non2xx == 0)) || { echo "$1: $non2xx non-2xx answers" >&2; return 1; }
}
