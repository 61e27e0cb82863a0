#!/usr/bin/env bash
# Kill trials: random `kill -9`s spread over every mutating store command, each followed by a
# check that the audit log and the history account for what is on disk.
#
# Each trial starts one command (install, install --reinstall, use, rollback, uninstall,
# uninstall --remove-default, prune, snapshot restore, svc upgrade, svc rollback) against a
# store of fake toolchains (four versions, served from a `file://` index) and a supervisor
# running one test service, kills it with SIGKILL after a random delay, runs `goshift audit
# repair` (what the next command does first: clean up, repair torn tails, reconcile dead
# intents; after an `svc upgrade` or `svc rollback`, once the supervisor is idle again, the
# next `svc upgrade` of the release in effect, which reconciles service intents), then
# scripts/integrity/check-accounted.py, which replays the audit log and compares it with the
# store and the service's current release. A trial whose command had already exited still
# counts (the check then covers a normal run).
#
# Usage: scripts/kill-trials.sh [--no-build] [TRIALS]   (default 1000)
# Environment: KILL_GOSHIFT (the goshift binary, default target/debug/goshift; with it, no
# build), KILL_SEED (the random seed, default: time-based, printed), KILL_MAX_DELAY_MS
# (the longest delay before the kill, default 60), KILL_DIR (scratch dir, default
# .e2e/kill-trials, emptied at start; the home of each failed trial is kept there).
#
# Ends with `N trials (K killed while running): U unaccounted` and exits 1 when U > 0.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

build=1
trials=1000
for arg in "$@"; do
    case $arg in
    --no-build) build=0 ;;
    -h | --help)
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *[!0-9]* | '')
        echo "kill-trials: error: unknown argument \`$arg\` (usage: scripts/kill-trials.sh [--no-build] [TRIALS])" >&2
        exit 2
        ;;
    *) trials=$arg ;;
    esac
done
seed=${KILL_SEED:-$(( $(date +%s%N) % 32768 ))}
max_delay=${KILL_MAX_DELAY_MS:-60}
if [[ ! $max_delay =~ ^[1-9][0-9]*$ ]]; then
    echo "kill-trials: error: KILL_MAX_DELAY_MS must be a positive integer, got \`$max_delay\`" >&2
    exit 2
fi

if ((build)); then
    cargo build --quiet -p goshift -p goshift-testkit --bin goshift --bin goshift-fake-dist \
        --bin goshift-test-service
fi
GOSHIFT=${KILL_GOSHIFT:-$REPO/target/debug/goshift}
FAKE_DIST="$REPO/target/debug/goshift-fake-dist"
TEST_SERVICE="$REPO/target/debug/goshift-test-service"
for program in "$GOSHIFT" "$FAKE_DIST" "$TEST_SERVICE"; do
    [[ -x $program ]] || { echo "kill-trials: error: \`$program\` is missing; run without --no-build" >&2; exit 2; }
done

dir=${KILL_DIR:-$REPO/.e2e/kill-trials}
rm -rf "$dir"
mkdir -p "$dir/config"
versions=(1.20.14 1.21.13 1.22.10 1.23.4)
"$FAKE_DIST" "$dir/dist" "${versions[@]}"
export GOSHIFT_HOME="$dir/home" GOSHIFT_INDEX_URL="file://$dir/dist/index.json"
export XDG_CONFIG_HOME="$dir/config" NO_COLOR=1 GOSHIFT_LOCK_TIMEOUT=30s
unset GOSHIFT_MIRROR GOSHIFT_POLICY GOSHIFT_ENV GOSHIFT_TEST_PAUSE

"$GOSHIFT" install --quiet --no-smoke-test "${versions[@]}"
"$GOSHIFT" use --quiet 1.22.10
"$GOSHIFT" snapshot create --quiet -o "$dir/base.snapshot" >/dev/null

# One service under a supervisor, with two releases to switch between (variants of the test
# service: the same program with another trailer, so another hash).
mkdir -p "$dir/svc"
for variant in v1 v2; do
    { cat "$TEST_SERVICE"; printf '\n#goshift-test-variant name=%s fault=\n' "$variant"; } >"$dir/svc/$variant"
    chmod 755 "$dir/svc/$variant"
done
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s\n' '[services.api]' "binary = \"$dir/svc/v1\"" \
    "listen = [{ name = \"http\", address = \"tcp://127.0.0.1:$port\" }]" \
    'ready = { notify = true, timeout = "5s" }' 'stop = { grace = "2s" }' 'watch = "100ms"' \
    >"$dir/supervisor.toml"
"$GOSHIFT" supervise --config "$dir/supervisor.toml" >"$dir/supervisor.log" 2>&1 &
supervisor=$!
trap 'kill "$supervisor" 2>/dev/null || true; wait "$supervisor" 2>/dev/null || true' EXIT
# Waits (up to 30 s) until the supervisor answers and runs the service with no upgrade going.
svc_idle() {
    local attempt
    for ((attempt = 0; attempt < 300; attempt++)); do
        if "$GOSHIFT" svc status --json 2>/dev/null |
            python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)[0]["phase"] != "running")' 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "kill-trials: error: the supervisor is not idle after 30 s; see $dir/supervisor.log" >&2
    exit 2
}
svc_idle
# The release in effect, as a binary to upgrade to (which changes nothing).
svc_current_binary() {
    local current
    current=$(readlink "$GOSHIFT_HOME/services/api/current" 2>/dev/null) || {
        echo "$dir/svc/v1"
        return
    }
    echo "$GOSHIFT_HOME/services/api/$current/binary"
}

RANDOM=$seed
pick() { local -n list=$1; echo "${list[RANDOM % ${#list[@]}]}"; }

declare -A tried=() unaccounted_by=()
killed=0
unaccounted=0
for ((trial = 1; trial <= trials; trial++)); do
    version=$(pick versions)
    case $((RANDOM % 10)) in
    0) command=(install --no-smoke-test "$version") ;;
    1) command=(install --reinstall --no-smoke-test "$version") ;;
    2) command=(use "$version") ;;
    3) command=(rollback) ;;
    4) command=(uninstall "$version") ;;
    5) command=(uninstall --remove-default "$version") ;;
    6) command=(prune --keep $((1 + RANDOM % 2))) ;;
    7) command=(snapshot restore "$dir/base.snapshot") ;;
    8) command=(svc upgrade api "$dir/svc/v$((1 + RANDOM % 2))") ;;
    9) command=(svc rollback api) ;;
    esac
    name="${command[0]}"
    [[ ${command[1]:-} == --reinstall || ${command[1]:-} == --remove-default ]] && name+=" ${command[1]}"
    [[ ${command[0]} == snapshot ]] && name="snapshot restore"
    [[ ${command[0]} == svc ]] && name="svc ${command[1]}"
    tried[$name]=$((${tried[$name]:-0} + 1))

    "$GOSHIFT" "${command[@]}" >/dev/null 2>&1 &
    pid=$!
    delay=$((RANDOM % max_delay))
    sleep "$(printf '0.%03d' "$delay")"
    if kill -9 "$pid" 2>/dev/null; then
        killed=$((killed + 1))
    fi
    wait "$pid" 2>/dev/null || true
    if [[ ${command[0]} == svc ]]; then
        # Service intents are reconciled by the next `svc upgrade`, once the supervisor has
        # finished what the killed one asked for.
        svc_idle
        "$GOSHIFT" svc upgrade api "$(svc_current_binary)" >"$dir/svc.out" 2>&1 || true
    fi

    if ! "$GOSHIFT" audit repair >"$dir/repair.out" 2>&1 \
        || ! python3 scripts/integrity/check-accounted.py "$GOSHIFT_HOME" >"$dir/check.out" 2>&1; then
        unaccounted=$((unaccounted + 1))
        unaccounted_by[$name]=$((${unaccounted_by[$name]:-0} + 1))
        echo "trial $trial (\`${command[*]}\`, kill after ${delay} ms): unaccounted" >&2
        sed 's/^/    /' "$dir/repair.out" "$dir/check.out" >&2
        [[ ${command[0]} != svc ]] || sed 's/^/    /' "$dir/svc.out" >&2
        cp -a "$GOSHIFT_HOME" "$dir/failed-$trial"
        # Start the next trial from a store that accounts for itself again.
        rm -rf "$GOSHIFT_HOME"
        "$GOSHIFT" install --quiet --no-smoke-test "${versions[@]}"
    fi
    # Keep something to switch between and remove.
    mapfile -t installed < <(ls "$GOSHIFT_HOME/toolchains" 2>/dev/null)
    if ((${#installed[@]} < 2)); then
        "$GOSHIFT" install --quiet --no-smoke-test "${versions[@]}" >/dev/null 2>&1 || true
    fi
    if ((trial % 100 == 0)); then
        echo "$trial trials, $killed killed while running, $unaccounted unaccounted" >&2
    fi
done

echo "seed $seed, kills after 0-$((max_delay - 1)) ms"
for name in "${!tried[@]}"; do
    printf '  %-20s %4d trials, %d unaccounted\n' "$name" "${tried[$name]}" "${unaccounted_by[$name]:-0}"
done | sort
echo "$trials trials ($killed killed while running): $unaccounted unaccounted"
((unaccounted == 0))
