#!/usr/bin/env bash
# Part 61: the etcd leader killed in the middle of a rollout. Three etcd members on loopback
# ports (with etcd-lib.sh's raft timings for a loaded machine) and four hosts on this machine,
# each with its own GOSHIFT_HOME, supervisor running the real Go service of testdata/goservice
# under wrk load, and agent given all three members. Once the canary runs v2 and the others
# wait out `--min-healthy`, the leader (as `etcdctl endpoint status` names it) is killed with
# SIGKILL. Checked: the two members left elect a new leader; every agent goes on through them
# (all alive on the board, each host's report newer than the kill); the rollout completes;
# every host serves v2; wrk saw no failed request on any host.
set -euo pipefail

: "${GOSHIFT:?} ${REPO:?} ${E2E_DIR:?} ${GO121:?} ${GO122:?}"
# shellcheck source=supervisor-lib.sh
source "$REPO/scripts/e2e/supervisor-lib.sh"
# shellcheck source=etcd-lib.sh
source "$REPO/scripts/e2e/etcd-lib.sh"

dir="$E2E_DIR/fleet-cluster"
rm -rf "$dir"
mkdir -p "$dir/operator"
HOSTS=4

for program in etcd etcdctl wrk; do
    if ! command -v "$program" >/dev/null; then
        [[ -z ${CI:-} ]] || fail "$program is not installed (apt-get install etcd-server etcd-client wrk), and CI is set"
        echo "SKIPPED: $program is not installed (apt-get install etcd-server etcd-client wrk)"
        exit 0
    fi
done

export NO_COLOR=1 GOSHIFT_LOCK_TIMEOUT=60s
export SUP_WRK_THREADS=1 SUP_WRK_CONNECTIONS=4
# Longer than an election with these timings, so no agent's lease lapses while the two
# members left elect a leader.
export AGENT_LEASE_TTL=10s

check "three etcd members, four hosts: a supervisor running v1 of the Go service and an agent each"
etcd_start "$dir" 3
leader=""
deadline=$((SECONDS + 30))
until leader=$(etcd_leader); do
    ((SECONDS < deadline)) || fail "the three members elected no leader within 30s"
    sleep 0.5
done
echo "etcd members: ${ETCD_URLS[*]}; leader: m$leader"
# The builds of part 60, when it ran before.
start_hosts "$HOSTS" "$E2E_DIR/fleet/h1/bin"
wait_board "len([h for h in hosts if h['alive'] and h['services']]) == $HOSTS" 60 "four live hosts"

check "v2 rolls out one host at a time after a canary; the etcd leader is killed once the canary is up"
wrk_start
v2="$prebuilt/v2"
# The canary's 8 s of `--min-healthy` is the window for the kill: the rollout is under way
# (one host on v2, three waiting) for that long whatever the machine's speed.
operator rollout api "file://$v2" --sha256 "$(sha256sum "$v2" | cut -d' ' -f1)" --env prod \
    --max-parallel 1 --canary 1 --min-healthy 8s --reason "e2e: leader killed" >/dev/null
wait_board "len([p for p in rollouts[0]['hosts'].values() if p['state'] == 'upgraded']) == 1" 120 \
    "the canary to upgrade"
[[ $(board "rollouts[0]['rollout']['state']") == running ]] || fail "the rollout is not running"
leader=$(etcd_leader) || fail "no member says it is the leader"
upgraded_before=$(board "len([p for p in rollouts[0]['hosts'].values() if p['state'] == 'upgraded'])")
kill -KILL "${ETCD_MEMBER_PIDS[$leader]}"
wait "${ETCD_MEMBER_PIDS[$leader]}" 2>/dev/null || true
killed_at=$(date +%s)
echo "killed the leader m$leader (${ETCD_URLS[$leader]}) with $upgraded_before of $HOSTS hosts on v2"

check "the two members left elect a leader; the agents go on through them"
deadline=$((SECONDS + 30))
until new_leader=$(etcd_leader) && [[ $new_leader != "$leader" ]]; do
    ((SECONDS < deadline)) || fail "the members left elected no leader within 30s"
    sleep 0.5
done
echo "new leader: m$new_leader"
wait_board "rollouts[0]['rollout']['state'] != 'running'" 240 "the rollout to end"
state=$(board "rollouts[0]['rollout']['state']")
[[ $state == completed ]] ||
    fail "the rollout ended $state: $(board "rollouts[0]['rollout']['state_reason']")"
echo "the board says: $(board "rollouts[0]['rollout']['state_reason']")"
[[ $(board "len([h for h in hosts if h['alive']])") == "$HOSTS" ]] || fail "not every agent is alive"
[[ $(board "max(len(r['slots']) for r in rollouts)") == 0 ]] || fail "slots are still held"
# The hosts not on v2 at the kill took their slots and recorded their upgrades through the
# members left.
upgraded_after=$(board "len([p for p in rollouts[0]['hosts'].values() if __import__('datetime').datetime.fromisoformat(p['since'].replace('Z', '+00:00')).timestamp() >= $killed_at])")
echo "hosts that upgraded after the kill: $upgraded_after"
((upgraded_after >= HOSTS - upgraded_before)) || fail "only $upgraded_after hosts upgraded after the kill"

check "no failed request on any host; every host serves v2"
wrk_check v2
echo "what the agents said about etcd meanwhile:"
grep -h "failed\|unreachable\|trying again" "$dir"/h*/agent.log | tail -5 || echo "(nothing)"
echo "ok"
