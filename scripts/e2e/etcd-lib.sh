#!/usr/bin/env bash
# Shared by scripts/e2e/6*-fleet*.sh and scripts/bench/fleet.sh: etcd on free loopback ports.
# Source it; call etcd_start DIR [MEMBERS] (default 1), which sets ETCD (the client URLs,
# comma-separated, as `--etcd` takes them), ETCD_URLS and ETCD_MEMBER_PIDS (one per member)
# and returns once every member answers. etcd_leader prints the index of the leader in
# ETCD_URLS, as `etcdctl endpoint status` reports it. Every pid added to FLEET_PIDS (etcd's
# are) is ended on exit.
#
# A cluster of several members runs with raft timings for a loaded machine: a heartbeat every
# ETCD_HEARTBEAT_MS (default 250) and elections after ETCD_ELECTION_MS (default 2500), ten
# times etcd's defaults of 100 and 1000 ms less a margin. With the defaults, three members on
# a busy two-core machine (six supervisors, agents and wrk beside them) lost their leader on
# their own every second or two, and calls timed out.
#
# The fleet parts' helpers (they need `dir`, the part's scratch directory): check WHAT says
# what is checked next; fail WHY fails the part with the end of every agent's and member's log.
# operator ARGS… runs `goshift fleet` as the operator; board EXPRESSION evaluates a Python
# expression over the board (`b`, `hosts`, `rollouts`); wait_board EXPRESSION SECONDS WHAT
# waits until it is True; start_agent I starts the agent of host hI (HOST_DIR[I], its pid in
# AGENT_PID[I]; AGENT_LEASE_TTL, default 4s). start_hosts N [PREBUILT] sets up hosts h1…hN
# (supervisor-lib.sh's service builds, copied from PREBUILT's bin directory when it has them),
# each supervising v1 with its agent; `prebuilt` is then h1's bin directory. serving I prints
# the version host hI serves. wrk_start starts wrk on every host (wrk-rollout.txt);
# wrk_check stops it and fails unless every request of every host succeeded and every host
# serves VERSION (wrk_check VERSION).

FLEET_PIDS=()
fleet_cleanup() {
    local pid
    for pid in "${FLEET_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap fleet_cleanup EXIT

etcd_start() {
    local dir=$1 members=${2:-1} ports cluster="" i m
    read -r -a ports < <(python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(2 * int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))' "$members")
    ETCD_URLS=()
    ETCD_MEMBER_PIDS=()
    for ((m = 0; m < members; m++)); do
        cluster+="${cluster:+,}m$m=http://127.0.0.1:${ports[2 * m + 1]}"
        ETCD_URLS+=("http://127.0.0.1:${ports[2 * m]}")
    done
    local timings=()
    ((members == 1)) || timings=(--heartbeat-interval "${ETCD_HEARTBEAT_MS:-250}"
        --election-timeout "${ETCD_ELECTION_MS:-2500}")
    for ((m = 0; m < members; m++)); do
        etcd --name "m$m" --data-dir "$dir/etcd-m$m" "${timings[@]}" \
            --listen-client-urls "${ETCD_URLS[m]}" --advertise-client-urls "${ETCD_URLS[m]}" \
            --listen-peer-urls "http://127.0.0.1:${ports[2 * m + 1]}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${ports[2 * m + 1]}" \
            --initial-cluster "$cluster" --initial-cluster-state new 2>"$dir/etcd-m$m.log" &
        FLEET_PIDS+=($!)
        ETCD_MEMBER_PIDS+=($!)
    done
    ETCD=$(IFS=,; echo "${ETCD_URLS[*]}")
    for ((m = 0; m < members; m++)); do
        for ((i = 0; i < 150; i++)); do
            curl --silent --max-time 2 -X POST -d '{"key":"AA=="}' "${ETCD_URLS[m]}/v3/kv/range" |
                grep -q header && continue 2
            sleep 0.2
        done
        echo "etcd member m$m did not answer within 30s; its log:" >&2
        tail -20 "$dir/etcd-m$m.log" >&2
        return 1
    done
}

etcd_leader() {
    # Members that do not answer are left out: etcdctl says so on stderr and exits non-zero,
    # with the status of the others on stdout.
    local statuses
    statuses=$(ETCDCTL_API=3 etcdctl --endpoints "$ETCD" --dial-timeout 2s --command-timeout 3s \
        endpoint status --write-out json 2>/dev/null) || true
    python3 -c '
import json, sys
urls = sys.argv[1].split(",")
text = sys.argv[2].strip()
for member in json.loads(text) if text else []:
    status = member["Status"]
    if status.get("leader") and status["leader"] == status["header"]["member_id"]:
        print(urls.index(member["Endpoint"]))
        sys.exit(0)
sys.exit(1)' "$ETCD" "$statuses"
}

check() {
    echo "check: $*"
}

fail() {
    local log
    echo "FAIL: $*" >&2
    for log in "$dir"/h*/agent.log "$dir"/etcd-m*.log; do
        [[ -e $log ]] || continue
        echo "--- $log" >&2
        tail -15 "$log" >&2
    done
    exit 1
}

operator() {
    GOSHIFT_HOME="$dir/operator" "$GOSHIFT" fleet --etcd "$ETCD" "$@"
}

board() {
    local status=0
    operator status --json >"$dir/board.json" || status=$?
    ((status <= 1)) || fail "fleet status exited $status"
    python3 - "$dir/board.json" "$1" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
hosts = b["hosts"]
rollouts = [r for e in b["environments"].values() for r in e["rollouts"]]
print(eval(sys.argv[2]))
PY
}

wait_board() {
    local i
    for ((i = 0; i < $2 * 2; i++)); do
        [[ $(board "$1") == True ]] && return 0
        sleep 0.5
    done
    fail "timed out after $2s waiting for $3; board: $(cat "$dir/board.json")"
}

declare -a AGENT_PID HOST_DIR HOST_URL
start_agent() {
    local i=$1
    # The smoke test of each toolchain is part 10's; here several hosts install at once on a
    # small machine.
    GOSHIFT_HOME="${HOST_DIR[$i]}/home" "$GOSHIFT" agent --etcd "$ETCD" --env prod \
        --host "h$i" --labels "slot=$i" --lease-ttl "${AGENT_LEASE_TTL:-4s}" --no-smoke-test \
        2>>"${HOST_DIR[$i]}/agent.log" &
    AGENT_PID[i]=$!
    FLEET_PIDS+=($!)
}

start_hosts() {
    local i
    prebuilt=${2:-}
    for ((i = 1; i <= $1; i++)); do
        sup_setup "$dir/h$i"
        SUP_PREBUILT=$prebuilt sup_build_all
        prebuilt="$dir/h1/bin"
        sup_start 100ms
        FLEET_PIDS+=("$SUP_PID")
        HOST_DIR[i]=$SUP_DIR
        HOST_URL[i]=$SUP_URL
        start_agent "$i"
    done
}

serving() { curl --silent --max-time 5 "${HOST_URL[$1]}" | sed -n 's/^version=\([^ ]*\).*/\1/p'; }

declare -a WRK
wrk_start() {
    local i
    for ((i = 1; i <= HOSTS; i++)); do
        SUP_URL=${HOST_URL[$i]} sup_wrk_start 600s "${HOST_DIR[$i]}/wrk-rollout.txt"
        WRK[i]=$SUP_WRK_PID
        FLEET_PIDS+=("$SUP_WRK_PID")
    done
}

wrk_check() {
    local i rps p99 errors non2xx requests
    for ((i = 1; i <= HOSTS; i++)); do
        SUP_WRK_PID=${WRK[$i]} sup_wrk_stop
        read -r rps p99 errors non2xx requests < <(sup_wrk_summary "${HOST_DIR[$i]}/wrk-rollout.txt")
        echo "h$i: $requests requests, $errors socket errors, $non2xx non-2xx (p99 $p99 ms, $rps req/s)"
        ((errors == 0 && non2xx == 0)) || fail "h$i had failed requests during the rollout"
        [[ $(serving "$i") == "$1" ]] || fail "h$i serves $(serving "$i"), not $1"
    done
}
