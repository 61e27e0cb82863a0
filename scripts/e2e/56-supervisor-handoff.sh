#!/usr/bin/env bash
# Part 56: the supervisor restarts without an outage by handing over to a new process of itself
# (re-exec: same pid, the generations stay its children). Run the way systemd runs it, by
# scripts/e2e/service-manager.py (NOTIFY_SOCKET, the file-descriptor store), with two services
# of the real Go service of testdata/goservice: `api` under keep-alive wrk load and `side`.
#   (a) a supervisor upgrade: a new goshift binary is put at the path goshift was started by,
#       then `goshift supervise --reload`;
#   (b) a service-file change (`side` gets an environment variable) by `goshift supervise
#       --reload FILE`: `side` is upgraded in place, `api` keeps its process;
#   (c) `systemctl reload`: SIGHUP re-executes too, with RELOADING=1 and MONOTONIC_USEC= first
#       and READY=1 once it has ended;
#   and a reload with a bad service file is refused with nothing changed.
# Each under load with zero socket errors (connect, read, write, timeout) and zero non-2xx, the
# supervisor's pid unchanged, and `api`'s generation pid unchanged.
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
    [[ -n ${MAN_DIR:-} ]] && tail -n 20 "$MAN_DIR/manager.log" "$MAN_DIR/supervisor.log" >&2
    exit 1
}

sup_setup "$E2E_DIR/supervisor-handoff"
SIDE_PORT=$SUP_METRICS_PORT
trap 'kill "${MAN_PID:-}" 2>/dev/null || true; kill "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT
if [[ -x $E2E_DIR/supervisor/bin/v1 ]]; then
    cp "$E2E_DIR/supervisor/bin/v1" "$SUP_DIR/bin/v1"
else
    sup_build v1 "$GO121" v1
fi
# The supervisor runs from a path of its own, where an upgrade puts the new binary.
install -m 0755 "$GOSHIFT" "$SUP_DIR/goshift"

# write_config [SIDE_EXTRA]: the service file, with SIDE_EXTRA lines in [services.side].
write_config() {
    local table
    for table in "api $SUP_PORT" "side $SIDE_PORT"; do
        read -r name port <<<"$table"
        cat <<TOML
[services.$name]
binary = "$SUP_DIR/bin/v1"
listen = [{ name = "http", address = "tcp://127.0.0.1:$port" }]
ready = { notify = true, timeout = "5s" }
stop = { signal = "SIGTERM", grace = "5s" }
watch = "1s"
TOML
        [[ $name == side ]] && printf '%s\n' "${1:-}"
    done >"$SUP_DIR/supervisor.toml"
}

main_pid() {
    cat "$MAN_DIR/main.pid"
}

# pid_of SERVICE: its serving generation's pid, from `goshift svc status --json`.
pid_of() {
    "$GOSHIFT" svc status --json |
        python3 -c 'import json, sys; print(next(s["pid"] for s in json.load(sys.stdin) if s["name"] == sys.argv[1]))' "$1"
}

# wait_serving: until both services are ready (bounded).
wait_serving() {
    local i
    for ((i = 0; i < 300; i++)); do
        if "$GOSHIFT" svc status --json 2>/dev/null | python3 -c '
import json, sys
services = json.load(sys.stdin)
sys.exit(0 if len(services) == 2 and all(s["readiness"] == "ready" for s in services) else 1)'; then
            return 0
        fi
        kill -0 "$MAN_PID" 2>/dev/null || fail "the service manager exited"
        sleep 0.1
    done
    fail "the services were not ready within 30s"
}

# under_load NAME ACTION: sup_under_load, and every socket error fails.
under_load() {
    sup_under_load "$@" || fail "$1 under load"
    ((connect + read + write + timeout == 0)) || fail "$1: socket errors across the handoff"
}

# took_over: how many times a new supervisor process took over so far.
took_over() {
    grep -c 'took over from the previous supervisor process' "$MAN_DIR/supervisor.log" || true
}

MAN_DIR="$SUP_DIR/manager"
mkdir -p "$MAN_DIR"
write_config
python3 "$REPO/scripts/e2e/service-manager.py" "$MAN_DIR" -- \
    "$SUP_DIR/goshift" supervise --config "$SUP_DIR/supervisor.toml" &
MAN_PID=$!
wait_serving
SUPERVISOR=$(main_pid)
API=$(pid_of api)
SIDE=$(pid_of side)

check "(a) supervisor upgrade: a new goshift binary at its path, goshift supervise --reload; zero socket errors"
install -m 0755 "$GOSHIFT" "$SUP_DIR/goshift.new"
mv -f "$SUP_DIR/goshift.new" "$SUP_DIR/goshift"
[[ $(readlink "/proc/$SUPERVISOR/exe") == "$SUP_DIR/goshift (deleted)" ]] ||
    fail "the running supervisor should still run the replaced binary"
upgrade_supervisor() {
    "$GOSHIFT" supervise --reload >"$SUP_DIR/reload-a.txt" 2>&1 || fail "reload: $(cat "$SUP_DIR/reload-a.txt")"
}
under_load upgrade upgrade_supervisor
cat "$SUP_DIR/reload-a.txt"
[[ $(main_pid) == "$SUPERVISOR" ]] || fail "the service manager restarted the supervisor"
[[ $(readlink "/proc/$SUPERVISOR/exe") == "$SUP_DIR/goshift" ]] || fail "the new binary does not run"
[[ $(pid_of api) == "$API" && $(pid_of side) == "$SIDE" ]] || fail "a generation was replaced"
[[ $(took_over) == 1 ]] || fail "no new supervisor process took over"
curl --silent --fail --max-time 5 "$SUP_URL" | grep -q '^version=v1 ' || fail "api does not answer"

check "a reload with a bad service file is refused and changes nothing"
printf '[services.api]\nbinary = 3\n' >"$SUP_DIR/bad.toml"
if "$GOSHIFT" supervise --reload "$SUP_DIR/bad.toml" >"$SUP_DIR/reload-bad.txt" 2>&1; then
    fail "a bad service file was accepted"
fi
grep -q 'bad.toml' "$SUP_DIR/reload-bad.txt" || fail "the error does not name the file: $(cat "$SUP_DIR/reload-bad.txt")"
[[ $(took_over) == 1 && $(pid_of api) == "$API" ]] || fail "a refused reload changed something"

check "(b) service-file change by goshift supervise --reload FILE: side upgraded in place, api kept; zero socket errors"
write_config 'env = { GOSHIFT_E2E_CONFIG = "2" }'
change_config() {
    "$GOSHIFT" supervise --reload "$SUP_DIR/supervisor.toml" >"$SUP_DIR/reload-b.txt" 2>&1 ||
        fail "reload: $(cat "$SUP_DIR/reload-b.txt")"
}
under_load config change_config
cat "$SUP_DIR/reload-b.txt"
grep -q 'upgraded: side' "$SUP_DIR/reload-b.txt" || fail "side was not upgraded"
[[ $(main_pid) == "$SUPERVISOR" && $(pid_of api) == "$API" ]] || fail "the supervisor or api was replaced"
SIDE_NOW=$(pid_of side)
[[ $SIDE_NOW != "$SIDE" ]] || fail "side still runs its old generation"
tr '\0' '\n' <"/proc/$SIDE_NOW/environ" | grep -qx 'GOSHIFT_E2E_CONFIG=2' || fail "the changed service file is not in effect"

check "(c) SIGHUP (systemctl reload) re-executes: RELOADING=1 with MONOTONIC_USEC=, then READY=1; zero socket errors"
before=$(grep -c 'RELOADING=1' "$MAN_DIR/manager.log" || true)
sighup() {
    kill -HUP "$SUPERVISOR"
    local i
    for ((i = 0; i < 300; i++)); do
        [[ $(took_over) == 3 ]] &&
            awk -v n="$((before + 1))" '/RELOADING=1/ {seen++} seen >= n && /"READY=1/ {found=1} END {exit !found}' "$MAN_DIR/manager.log" &&
            return 0
        sleep 0.1
    done
    fail "no READY=1 after the SIGHUP's RELOADING=1 within 30s"
}
under_load sighup sighup
grep -Eq '"RELOADING=1\\n.*MONOTONIC_USEC=[0-9]+' "$MAN_DIR/manager.log" || fail "no RELOADING=1 with MONOTONIC_USEC="
[[ $(main_pid) == "$SUPERVISOR" && $(pid_of api) == "$API" ]] || fail "the supervisor or api was replaced"
! grep -q 'STATUS=reload failed' "$MAN_DIR/manager.log" || fail "a reload reported a failure"

kill -TERM "$MAN_PID"
wait "$MAN_PID" || fail "the service manager exited with $?"
MAN_PID=
echo "part 56 passed"
