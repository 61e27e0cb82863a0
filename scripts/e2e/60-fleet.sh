#!/usr/bin/env bash
# Part 60: the fleet on a real etcd. Six hosts on this machine, each with its own GOSHIFT_HOME,
# supervisor running the real Go service of testdata/goservice on its own port, and agent.
# Checked: a toolchain change converging on every host (real Go from the local mirror) with
# the audit records to prove it; a rollout of v2 with `--max-parallel 2 --canary 1` under wrk
# load on every host with zero failed requests; a build that crashes on the canary stopping
# the rollout with no other host upgraded; with `--auto-revert`, a host whose policy refuses
# the build failing the rollout and every host upgraded before it returning; an agent killed
# in the middle of an upgrade, the supervisor ending it alone, the restarted agent resuming;
# two operators racing on the desired toolchain, one getting a conflict naming the change.
set -euo pipefail

: "${GOSHIFT:?} ${REPO:?} ${E2E_DIR:?} ${GO121:?} ${GO122:?} ${MIRROR_URL:?} ${INDEX_URL:?}"
# shellcheck source=supervisor-lib.sh
source "$REPO/scripts/e2e/supervisor-lib.sh"
# shellcheck source=etcd-lib.sh
source "$REPO/scripts/e2e/etcd-lib.sh"

dir="$E2E_DIR/fleet"
rm -rf "$dir"
mkdir -p "$dir"
HOSTS=6

if ! command -v etcd >/dev/null; then
    [[ -z ${CI:-} ]] || fail "etcd is not installed (apt-get install etcd-server), and CI is set"
    echo "SKIPPED: etcd is not installed (apt-get install etcd-server)"
    exit 0
fi

export NO_COLOR=1 GOSHIFT_INDEX_URL="$INDEX_URL" GOSHIFT_MIRROR="$MIRROR_URL"
export GOSHIFT_LOCK_TIMEOUT=60s
export SUP_WRK_THREADS=1 SUP_WRK_CONNECTIONS=4

etcd_start "$dir"

# The operator runs `goshift fleet` from a home of their own (operator, board, wait_board and
# start_agent are etcd-lib.sh's).
mkdir -p "$dir/operator"

check "six hosts: a supervisor running v1 of the Go service and an agent each"
start_hosts "$HOSTS"
wait_board "len([h for h in hosts if h['alive']]) == $HOSTS" 60 "six live hosts"

check "a toolchain the policy blocks in prod is refused; go1.22.10 converges on every host"
cat >"$dir/operator/policy.toml" <<'TOML'
[environments.prod]
allowed = ["1.22"]
TOML
status=0
operator set toolchain 1.21.13 --env prod --reason e2e 2>"$dir/refused.err" || status=$?
[[ $status == 2 ]] || fail "a blocked version exited $status"
grep -q "refuses \`fleet.set-toolchain prod\`" "$dir/refused.err" || fail "unclear: $(cat "$dir/refused.err")"
operator set toolchain 1.22.10 --env prod --reason "e2e: go1.22.10 everywhere"
wait_board "all(h['default_toolchain'] == '1.22.10' and not h['drift'] for h in hosts)" 300 \
    "every host on go1.22.10"
for ((i = 1; i <= HOSTS; i++)); do
    GOSHIFT_HOME="${HOST_DIR[$i]}/home" "$GOSHIFT" audit verify >/dev/null ||
        fail "the audit log of h$i does not verify"
    python3 - "${HOST_DIR[$i]}/home/audit.log" <<'PY' || fail "h$i has no audit record of the change"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
done = {(r["action"], r["subject"], r["outcome"]) for r in records if "e2e" in (r.get("reason") or "")}
assert ("install", "go1.22.10", "success") in done, records
assert ("use", "go1.22.10", "success") in done, records
PY
    GOSHIFT_HOME="${HOST_DIR[$i]}/home" "${HOST_DIR[$i]}/home/bin/go" version | grep -q go1.22.10 ||
        fail "h$i's go is not go1.22.10"
done

check "two operators racing on the desired toolchain: one wins, the other gets a conflict naming the change"
# Both read the board at the same revision, then both change the key based on it.
rev=$(board "b['environments']['prod']['toolchain_revision']")
declare -A RACER
for who in alice bob; do
    mkdir -p "$dir/$who"
    GOSHIFT_HOME="$dir/$who" "$GOSHIFT" fleet --etcd "$ETCD" set toolchain 1.22.10 --env prod \
        --reason "e2e race: $who" --revision "$rev" >/dev/null 2>"$dir/$who.err" &
    RACER[$who]=$!
done
winner="" loser=""
for who in alice bob; do
    status=0
    wait "${RACER[$who]}" || status=$?
    case $status in
    0) winner+=$who ;;
    2) loser+=$who ;;
    *) fail "$who's change exited $status: $(cat "$dir/$who.err")" ;;
    esac
done
[[ $winner == alice || $winner == bob ]] && [[ -n $loser && $loser != "$winner" ]] ||
    fail "not one winner and one loser: winner '$winner', loser '$loser'"
grep -q "was changed by .* after you read it at revision $rev" "$dir/$loser.err" ||
    fail "the conflict is unclear: $(cat "$dir/$loser.err")"
[[ $(board "b['environments']['prod']['toolchain']['stamp']['reason']") == "e2e race: $winner" ]] ||
    fail "the board does not hold $winner's change"
grep '"action":"fleet.set-toolchain"' "$dir/$winner/audit.log" | grep -q '"outcome":"success"' ||
    fail "$winner's audit log does not record the change"
grep '"action":"fleet.set-toolchain"' "$dir/$loser/audit.log" | grep -q '"outcome":"failure"' ||
    fail "$loser's audit log does not record the conflict"
echo "$winner won; $loser was told: $(grep -o 'was changed by.*' "$dir/$loser.err" | head -1)"

sha() { sha256sum "$1" | cut -d' ' -f1; }
# rollout BUILD ARGS…: rolls bin/BUILD out to prod.
rollout() {
    local build=$1
    shift
    operator rollout api "file://$prebuilt/$build" --sha256 "$(sha "$prebuilt/$build")" \
        --env prod --reason "e2e $build" "$@" >/dev/null
}

check "v2 rolls out across six hosts, two at a time after one canary, under load without a failed request"
wrk_start
rollout v2 --max-parallel 2 --canary 1 --min-healthy 2s
wait_board "rollouts[0]['rollout']['state'] == 'completed'" 300 "the rollout to complete"
wrk_check v2
[[ $(board "max(len(r['slots']) for r in rollouts)") == 0 ]] || fail "slots are still held"

check "a build that crashes on the canary stops the rollout; no other host upgrades"
rollout v2-crash --max-parallel 2 --canary 1 --min-healthy 2s
wait_board "rollouts[0]['rollout']['state'] == 'failed'" 120 "the rollout to fail"
sleep 3
[[ $(board "len(rollouts[0]['hosts'])") == 1 ]] || fail "more than the canary took part: $(cat "$dir/board.json")"
echo "the board says: $(board "rollouts[0]['rollout']['state_reason']")"
for ((i = 1; i <= HOSTS; i++)); do
    [[ $(serving "$i") == v2 ]] || fail "h$i serves $(serving "$i"), not v2"
done

check "with --auto-revert, a host whose policy refuses the build fails the rollout and the upgraded hosts return"
# h6 refuses Go 1.21.13 (v1's toolchain); it rejoins once the rollout is under way, so it is
# not the canary.
cat >"${HOST_DIR[6]}/home/policy.toml" <<'TOML'
[[blocked]]
versions = "1.21.13"
reason = "e2e: not on h6"
TOML
kill "${AGENT_PID[6]}"
wait "${AGENT_PID[6]}" 2>/dev/null || true
wait_board "not [h for h in hosts if h['host'] == 'h6'][0]['alive']" 30 "h6's lease to expire"
rollout v1 --max-parallel 1 --canary 1 --min-healthy 1s --auto-revert
wait_board "len([p for p in rollouts[0]['hosts'].values() if p['state'] == 'upgraded']) >= 1" 120 \
    "the canary to upgrade"
start_agent 6
wait_board "rollouts[0]['rollout']['state'] == 'failed'" 180 "the rollout to fail on h6"
reason=$(board "rollouts[0]['rollout']['state_reason']")
echo "the board says: $reason"
[[ $reason == h6:* ]] || fail "the failure does not name h6: $reason"
wait_board "all(p['state'] in ('reverted', 'refused') for p in rollouts[0]['hosts'].values())" 120 \
    "every upgraded host to revert"
reverted=$(board "len([p for p in rollouts[0]['hosts'].values() if p['state'] == 'reverted'])")
echo "hosts reverted: $reverted"
((reverted >= 1)) || fail "no host reverted"
for ((i = 1; i <= HOSTS; i++)); do
    [[ $(serving "$i") == v2 ]] || fail "h$i serves $(serving "$i"), not v2, after the revert"
done
rm "${HOST_DIR[6]}/home/policy.toml"

check "an agent killed in the middle of an upgrade: its slot frees, the supervisor ends the upgrade, the restarted agent resumes"
# A build that never becomes ready keeps the upgrade open for the 3 s ready timeout, then the
# supervisor rolls it back on its own.
rollout v2-never-ready --max-parallel 1 --canary 0 --min-healthy 0s
victim=""
for ((i = 0; i < 240; i++)); do
    victim=$(board "next((h for h, p in rollouts[0]['hosts'].items() if p['state'] == 'upgrading'), '')")
    [[ -n $victim ]] && break
    sleep 0.25
done
[[ -n $victim ]] || fail "no upgrade started"
n=${victim#h}
kill -KILL "${AGENT_PID[$n]}"
wait "${AGENT_PID[$n]}" 2>/dev/null || true
echo "killed the agent of $victim in the middle of its upgrade"
wait_board "all(s['host'] != '$victim' for s in rollouts[0]['slots'].values())" 30 \
    "$victim's slot to free"
start_agent "$n"
wait_board "rollouts[0]['hosts']['$victim']['state'] == 'failed'" 60 \
    "the restarted agent of $victim to record how its upgrade ended"
wait_board "rollouts[0]['rollout']['state'] == 'failed'" 60 "the rollout to fail"
echo "the board says: $(board "rollouts[0]['hosts']['$victim']['detail']")"
for ((i = 1; i <= HOSTS; i++)); do
    [[ $(serving "$i") == v2 ]] || fail "h$i serves $(serving "$i"), not v2"
done

check "fleet history lists every rollout; the operator's audit log has each change, written ahead"
[[ $(operator history api --env prod --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 4 ]] ||
    fail "history does not hold four rollouts"
GOSHIFT_HOME="$dir/operator" "$GOSHIFT" audit verify >/dev/null || fail "the operator's audit log does not verify"
grep '"action":"fleet.rollout"' "$dir/operator/audit.log" | grep -c '"outcome":"intent"' | grep -qx 4 ||
    fail "not four rollout intents audited"
grep '"action":"fleet.rollout"' "$dir/operator/audit.log" | grep -c '"outcome":"success"' | grep -qx 4 ||
    fail "not four rollouts audited"
echo "ok"
