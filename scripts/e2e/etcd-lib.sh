#!/usr/bin/env bash
# Shared by scripts/e2e/60-fleet.sh and scripts/bench/fleet.sh: one etcd member on free
# loopback ports. Source it; call etcd_start DIR, which sets ETCD (the client URL) and
# returns once etcd answers. Every pid added to FLEET_PIDS (etcd's is) is ended on exit.

FLEET_PIDS=()
fleet_cleanup() {
    local pid
    for pid in "${FLEET_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap fleet_cleanup EXIT

etcd_start() {
    local dir=$1 client_port peer_port i
    read -r client_port peer_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
    ETCD="http://127.0.0.1:$client_port"
    etcd --name goshift --data-dir "$dir/etcd" \
        --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "goshift=http://127.0.0.1:$peer_port" 2>"$dir/etcd.log" &
    FLEET_PIDS+=($!)
    for ((i = 0; i < 150; i++)); do
        curl --silent --max-time 2 -X POST -d '{"key":"AA=="}' "$ETCD/v3/kv/range" | grep -q header && return 0
        sleep 0.2
    done
    echo "etcd did not answer within 30s; its log:" >&2
    tail -20 "$dir/etcd.log" >&2
    return 1
}
