#!/usr/bin/env bash
# Part 54: restarting the supervisor itself refuses no connection. scripts/e2e/service-manager.py
# plays systemd: it passes sockets the way systemd does (LISTEN_FDS, LISTEN_PID set to the main
# process's own pid, LISTEN_FDNAMES), keeps a file-descriptor store (FDSTORE=1, FDNAME=) and
# restarts the main process whenever it exits. Under keep-alive wrk load on the real Go service of
# testdata/goservice:
#   - with the fd store only: `goshift supervise` SIGKILLed, restarted with its stored socket;
#   - with a socket unit: the same;
#   - a supervisor upgrade: SIGTERM, then a new goshift binary started with the stored socket;
#   - a service-file change: SIGTERM, then goshift started again on the changed file.
# A SIGKILL takes the generations (children of the supervisor) and the requests in flight on
# their connections with it: those are counted and printed, and only refused connections
# (wrk's connect errors) fail the part. A SIGTERM restart drains first: there every socket
# error fails the part. Also: SIGHUP (`systemctl reload`) reports RELOADING=1 with
# MONOTONIC_USEC= and then READY=1 (a SIGHUP re-executes the supervisor in place: part 56 checks
# that handoff, and `goshift supervise --reload`, under load).
set -euo pipefail

: "${GOSHIFT:?} ${REPO:?} ${E2E_DIR:?} ${GO121:?} ${GO122:?}"
# shellcheck source=supervisor-lib.sh
source "$REPO/scripts/e2e/supervisor-lib.sh"
export SUP_WRK_THREADS=${SUP_WRK_THREADS:-1} SUP_WRK_CONNECTIONS=${SUP_WRK_CONNECTIONS:-16}

check() {
    echo "check: $*"
}
fail() {
    echo "FAIL: $*" >&2
    [[ -n ${MAN_DIR:-} ]] && tail -20 "$MAN_DIR/manager.log" "$MAN_DIR/supervisor.log" >&2
    exit 1
}

sup_setup "$E2E_DIR/supervisor-restart"
trap 'kill "${MAN_PID:-}" 2>/dev/null || true; kill "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT
if [[ -x $E2E_DIR/supervisor/bin/v1 ]]; then
    cp "$E2E_DIR/supervisor/bin/v1" "$SUP_DIR/bin/v1"
else
    sup_build v1 "$GO121" v1
fi

# write_config [EXTRA]: the service file, with EXTRA lines in [services.api].
write_config() {
    cat >"$SUP_DIR/supervisor.toml" <<TOML
[services.api]
binary = "$SUP_DIR/bin/v1"
listen = [{ name = "http", address = "tcp://127.0.0.1:$SUP_PORT" }]
ready = { notify = true, timeout = "5s" }
stop = { signal = "SIGTERM", grace = "5s" }
restart = { backoff = "100ms", max = "2s" }
${1:-}
TOML
}

# manager_start NAME [--socket NAME=ADDRESS]...: the stand-in for systemd, running goshift.
manager_start() {
    MAN_DIR="$SUP_DIR/$1"
    shift
    mkdir -p "$MAN_DIR"
    python3 "$REPO/scripts/e2e/service-manager.py" "$MAN_DIR" "$@" -- \
        "$GOSHIFT" supervise --config "$SUP_DIR/supervisor.toml" &
    MAN_PID=$!
    wait_running 1
}

# manager_stop: SIGTERM to the manager (it stops goshift, which drains) and wait.
manager_stop() {
    kill -TERM "$MAN_PID"
    wait "$MAN_PID" || fail "the service manager exited with $?"
    MAN_PID=
}

main_pid() {
    cat "$MAN_DIR/main.pid"
}

# wait_running N: until the supervisors started so far logged N `running` phases.
wait_running() {
    local i count
    for ((i = 0; i < 300; i++)); do
        count=$(grep -c '"phase":"running"' "$MAN_DIR/supervisor.log" 2>/dev/null) || true
        ((${count:-0} >= $1)) && return 0
        kill -0 "$MAN_PID" 2>/dev/null || fail "the service manager exited"
        sleep 0.1
    done
    fail "no $1th running phase within 30s"
}

# under_load NAME ACTION: sup_under_load; the caller judges the socket errors.
under_load() {
    sup_under_load "$@" || fail "$1 under load"
}

kill_main() {
    local old
    old=$(main_pid)
    kill -KILL "$old"
    wait_running 2
    [[ $(main_pid) != "$old" ]] || fail "the supervisor was not restarted"
}

check "fd store: the supervisor stores its listener as api.http"
write_config
manager_start store
grep -q '"FDSTORE=1\\nFDNAME=api.http"' "$MAN_DIR/manager.log" || fail "no FDSTORE=1 with FDNAME=api.http"
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q '^version=v1 ' || fail "v1 does not answer"

check "fd store: SIGKILL of the supervisor under load; the restarted one gets api.http back and no connection is refused"
under_load sigkill-store kill_main
((connect == 0)) || fail "$connect connections refused across a supervisor crash (fd store)"
grep -q '"start .*LISTEN_FDNAMES=api.http"' "$MAN_DIR/manager.log" || fail "the restart was not handed api.http"
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q '^version=v1 ' || fail "v1 does not answer after the restart"

check "supervisor upgrade: SIGTERM, then a new goshift binary on the stored socket; zero socket errors under load"
cp "$GOSHIFT" "$SUP_DIR/goshift-next"
upgrade_supervisor() {
    printf '%s\n' "$SUP_DIR/goshift-next" supervise --config "$SUP_DIR/supervisor.toml" >"$MAN_DIR/exec"
    kill -TERM "$(main_pid)"
    wait_running 3
}
under_load upgrade upgrade_supervisor
((connect + read + write + timeout == 0)) || fail "socket errors across a supervisor upgrade"
grep -q "\"start $SUP_DIR/goshift-next LISTEN_FDNAMES=api.http\"" "$MAN_DIR/manager.log" ||
    fail "the new binary was not started with api.http"
[[ $(readlink "/proc/$(main_pid)/exe") == "$SUP_DIR/goshift-next" ]] || fail "the new binary does not run"

check "service-file change: SIGTERM, then goshift on the changed file; zero socket errors under load"
change_config() {
    write_config 'env = { GOSHIFT_E2E_CONFIG = "2" }'
    kill -TERM "$(main_pid)"
    wait_running 4
}
under_load config change_config
((connect + read + write + timeout == 0)) || fail "socket errors across a service-file change"
pid=$("$GOSHIFT" svc status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["pid"])')
tr '\0' '\n' <"/proc/$pid/environ" | grep -qx 'GOSHIFT_E2E_CONFIG=2' || fail "the changed service file is not in effect"

check "SIGHUP (systemctl reload): RELOADING=1 with MONOTONIC_USEC=, then READY=1"
kill -HUP "$(main_pid)"
for ((i = 0; i < 100; i++)); do
    grep -q '"READY=1' <(sed -n '/RELOADING=1/,$p' "$MAN_DIR/manager.log") && break
    sleep 0.1
done
grep -Eq '"RELOADING=1\\n.*MONOTONIC_USEC=[0-9]+' "$MAN_DIR/manager.log" || fail "no RELOADING=1 with MONOTONIC_USEC="
sed -n '/RELOADING=1/,$p' "$MAN_DIR/manager.log" | grep -q '"READY=1' || fail "no READY=1 after RELOADING=1"
manager_stop

check "socket unit: SIGKILL of the supervisor under load; the socket systemd holds refuses no connection"
write_config
manager_start socket-unit --socket "api.http=127.0.0.1:$SUP_PORT"
! grep -q 'FDSTORE=1' "$MAN_DIR/manager.log" || fail "a socket passed by the service manager was stored again"
under_load sigkill-socket-unit kill_main
((connect == 0)) || fail "$connect connections refused across a supervisor crash (socket unit)"
manager_stop
echo "part 54 passed"
