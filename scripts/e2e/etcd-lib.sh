#!/usr/bin/env bash
# Shared by scripts/e2e/60-fleet.sh and scripts/bench/fleet.sh: etcd on free loopback ports.
# Source it; call etcd_start DIR [MEMBERS] (default 1), which sets ETCD (the client URLs,
# comma-separated, as `--etcd` takes them), ETCD_URLS and ETCD_MEMBER_PIDS (one per member)
# and returns once every member answers. etcd_leader prints the index of the leader in
# ETCD_URLS. Every pid added to FLEET_PIDS (etcd's are) is ended on exit.

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
    for ((m = 0; m < members; m++)); do
        etcd --name "m$m" --data-dir "$dir/etcd-m$m" \
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
    local m status
    for m in "${!ETCD_URLS[@]}"; do
        status=$(curl --silent --max-time 2 -X POST -d '{}' "${ETCD_URLS[m]}/v3/maintenance/status") || continue
        python3 -c '
import json, sys
s = json.loads(sys.argv[1])
sys.exit(0 if s.get("leader") and s["leader"] == s["header"]["member_id"] else 1)' "$status" && {
            echo "$m"
            return 0
        }
    done
    return 1
}
