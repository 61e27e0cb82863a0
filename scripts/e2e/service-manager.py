#!/usr/bin/env python3
"""A stand-in for systemd for scripts/e2e/54-supervisor-restart.sh: runs one main process the
way a Type=notify service with socket units and a file-descriptor store is run, and restarts it
whenever it exits (Restart=always), like systemd would.

Usage: service-manager.py DIR [--socket NAME=HOST:PORT]... -- COMMAND...

- Each --socket is bound and listened on here (a socket unit with FileDescriptorName=NAME) and
  held for the manager's whole life.
- The main process gets the sockets, then the stored descriptors, as fds 3.. with LISTEN_FDS,
  LISTEN_FDNAMES and LISTEN_PID set to its own pid (after fork, before exec), and
  NOTIFY_SOCKET=DIR/notify.sock.
- Datagrams on the notify socket are logged to DIR/manager.log, one JSON string per line.
  FDSTORE=1 with FDNAME= keeps the descriptor sent along (a newer one with the same name
  replaces it); FDSTOREREMOVE=1 with FDNAME= drops it.
- DIR/main.pid holds the main process's pid; DIR/exec, when present, holds the command (one
  argument per line) for the next start, so a script can switch the binary.
- The main process's stderr is appended to DIR/supervisor.log.
- SIGTERM: the main process gets SIGTERM, the manager waits for it and exits.
"""

import array
import json
import os
import signal
import socket
import sys
import threading
import time

HIGH_FD = 200


def main():
    args = sys.argv[1:]
    if len(args) < 3 or "--" not in args:
        sys.exit(__doc__)
    state = args[0]
    split = args.index("--")
    options, command = args[1:split], args[split + 1 :]
    units = []
    for i in range(0, len(options), 2):
        if options[i] != "--socket" or i + 1 >= len(options):
            sys.exit(f"service-manager: unknown option {options[i]!r}\n{__doc__}")
        name, address = options[i + 1].split("=", 1)
        host, port = address.rsplit(":", 1)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, int(port)))
        listener.listen(4096)
        units.append((name, listener))

    store = {}
    lock = threading.Lock()
    log = open(os.path.join(state, "manager.log"), "a", buffering=1)
    notify_path = os.path.join(state, "notify.sock")
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)

    def read_notify():
        while True:
            data, ancillary, _, _ = notify.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
            fds = []
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    received = array.array("i")
                    received.frombytes(payload[: len(payload) - len(payload) % 4])
                    fds.extend(received)
            text = data.decode(errors="replace")
            fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
            with lock:
                log.write(json.dumps(text) + "\n")
                name = fields.get("FDNAME")
                if fields.get("FDSTORE") == "1" and name and fds:
                    old = store.pop(name, None)
                    if old is not None:
                        os.close(old)
                    store[name] = fds.pop(0)
                elif fields.get("FDSTOREREMOVE") == "1" and name in store:
                    os.close(store.pop(name))
            for fd in fds:
                os.close(fd)

    threading.Thread(target=read_notify, daemon=True).start()

    stopping = False
    main_pid = 0

    def on_term(_signum, _frame):
        nonlocal stopping
        stopping = True
        if main_pid:
            try:
                os.kill(main_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, on_term)
    stderr = os.open(os.path.join(state, "supervisor.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    while not stopping:
        exec_file = os.path.join(state, "exec")
        argv = command
        if os.path.exists(exec_file):
            argv = [line for line in open(exec_file).read().splitlines() if line]
        with lock:
            passed = [(name, s.fileno()) for name, s in units] + sorted(store.items())
            log.write(json.dumps(f"start {argv[0]} LISTEN_FDNAMES={':'.join(n for n, _ in passed)}") + "\n")
        env = dict(os.environ)
        env.update(
            LISTEN_FDS=str(len(passed)),
            LISTEN_FDNAMES=":".join(name for name, _ in passed),
            NOTIFY_SOCKET=notify_path,
        )
        pid = os.fork()
        if pid == 0:
            try:
                # Two steps, so that no source is overwritten before it is copied.
                for i, (_, fd) in enumerate(passed):
                    os.dup2(fd, HIGH_FD + i)
                os.dup2(stderr, 2)
                for i in range(len(passed)):
                    os.dup2(HIGH_FD + i, 3 + i)
                os.closerange(3 + len(passed), 65536)
                env["LISTEN_PID"] = str(os.getpid())
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        main_pid = pid
        with open(os.path.join(state, "main.pid.tmp"), "w") as f:
            f.write(f"{pid}\n")
        os.rename(os.path.join(state, "main.pid.tmp"), os.path.join(state, "main.pid"))
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        with lock:
            log.write(json.dumps(f"exited {pid} status {status}") + "\n")
        main_pid = 0
        if not stopping:
            time.sleep(0.1)


if __name__ == "__main__":
    main()
