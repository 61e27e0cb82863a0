#!/usr/bin/env bash
# Benchmark: how fast a change of the desired state reaches the fleet, and what an idle fleet
# costs etcd. One etcd member on loopback.
#
# - 10 real agents (`goshift agent`, each with its own GOSHIFT_HOME holding go1.21.13 and
#   go1.22.10 already, so no download is timed): the desired toolchain flips ROUNDS times;
#   from each change to every host reporting the new default in etcd (polled every 10 ms).
# - AGENTS simulated agents (default 1,000) in one process (crates/goshift-fleet/examples/
#   fleet_sim.rs): the agent's real loop (lease, read, report, watch), each agent with its own
#   etcd client (its own connections, as on a real host), with hosts that install nothing; etcd's request rate over IDLE seconds while nothing changes (from its
#   `grpc_server_started_total`), then ROUNDS changes, from each to every host reporting it.
# Goals: 1,000 hosts see a change within 2 s; an idle fleet costs etcd less than one request
# per host every 10 s.
#
# Usage: scripts/bench/fleet.sh [--no-build]   (AGENTS, ROUNDS, IDLE override the defaults)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
command -v etcd >/dev/null || { echo "bench: etcd is required (apt-get install etcd-server)" >&2; exit 2; }
agents=${AGENTS:-1000}
rounds=${ROUNDS:-5}
idle=${IDLE:-120}

if [[ ${1:-} != --no-build ]]; then
    "$REPO/scripts/build.sh"
fi
cargo build --release --locked --quiet -p goshift-fleet --example fleet_sim
GOSHIFT="$REPO/target/release/goshift"
SIM="$REPO/target/release/examples/fleet_sim"
export E2E_DIR="$REPO/.e2e/bench-fleet"
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"
# shellcheck source=../e2e/mirror.sh
source scripts/e2e/mirror.sh
# shellcheck source=../e2e/etcd-lib.sh
source scripts/e2e/etcd-lib.sh
export GOSHIFT_INDEX_URL="$INDEX_URL" GOSHIFT_MIRROR="$MIRROR_URL" NO_COLOR=1

etcd_start "$E2E_DIR"
echo "etcd $(etcd --version | head -1) at $ETCD"

echo "==> 10 real agents"
GOSHIFT_HOME="$E2E_DIR/template" "$GOSHIFT" install --quiet --no-smoke-test 1.21.13 1.22.10 >/dev/null
for ((i = 1; i <= 10; i++)); do
    cp -a "$E2E_DIR/template" "$E2E_DIR/h$i"
    GOSHIFT_HOME="$E2E_DIR/h$i" "$GOSHIFT" agent --etcd "$ETCD" --env bench --host "h$i" \
        2>"$E2E_DIR/agent-$i.log" &
    FLEET_PIDS+=($!)
done
python3 - "$ETCD" "$GOSHIFT" "$rounds" <<'PY'
import base64, json, subprocess, sys, time, urllib.request
etcd, goshift, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
prefix = "/goshift/hosts/"
end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
def hosts():
    body = json.dumps({"key": base64.b64encode(prefix.encode()).decode(),
                       "range_end": base64.b64encode(end.encode()).decode()}).encode()
    reply = json.load(urllib.request.urlopen(urllib.request.Request(etcd + "/v3/kv/range", body)))
    return {json.loads(base64.b64decode(kv["value"]))["host"]: json.loads(base64.b64decode(kv["value"]))
            for kv in reply.get("kvs", [])}
deadline = time.time() + 60
while len(hosts()) < 10:
    assert time.time() < deadline, "the agents did not report"
    time.sleep(0.2)
latencies = []
for r in range(rounds):
    version = ["1.22.10", "1.21.13"][r % 2]
    start = time.monotonic()
    subprocess.run([goshift, "fleet", "--etcd", etcd, "--quiet", "set", "toolchain", version,
                    "--env", "bench", "--reason", "benchmark"], check=True)
    seen = {}
    while len(seen) < 10:
        now = time.monotonic()
        for name, status in hosts().items():
            if status["default_toolchain"] == "go" + version and name not in seen:
                seen[name] = now - start
        assert now - start < 120, f"only {len(seen)} hosts reported go{version}"
        time.sleep(0.01)
    values = sorted(seen.values())
    latencies += values
    print(f"round {r} go{version}: p50 {values[4] * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms")
    time.sleep(1)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"10 real agents: p50 {pick(0.5) * 1000:.0f} ms, p99 {pick(0.99) * 1000:.0f} ms "
      f"(from `fleet set toolchain` starting to every host reporting the new default)")
PY
for ((i = 1; i <= 10; i++)); do kill "${FLEET_PIDS[$i]}" 2>/dev/null || true; done

echo "==> $agents simulated agents"
ulimit -n 20000
"$SIM" "$ETCD" "$agents" "$rounds" "$idle" | tee "$E2E_DIR/sim.txt"
