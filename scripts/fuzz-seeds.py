#!/usr/bin/env python3
"""Writes seed inputs for the `unpack` fuzz target of crates/goshift-dist/fuzz.

Usage: scripts/fuzz-seeds.py DIR

Each seed is one mode byte and an archive: odd mode bytes mean "gzip the rest first" (the
target then explores the tar layer), even ones mean "use as is" (the gzip layer).
"""
import gzip
import io
import os
import sys
import tarfile


def tar_bytes(entries):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif kind == "file":
                info.mode = 0o644
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                tar.addfile(info)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = payload
                tar.addfile(info)
    return out.getvalue()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz-seeds.py DIR")
    target = sys.argv[1]
    os.makedirs(target, exist_ok=True)
    base = [
        ("go/", "dir", None),
        ("go/VERSION", "file", b"go1.22.10\ntime 2024-11-27T20:27:20Z\n"),
        ("go/bin/", "dir", None),
        ("go/bin/go", "file", b"#!/bin/sh\necho go\n"),
    ]
    seeds = {
        "plain": base,
        "links": base + [("go/bin/gofmt", "symlink", "go"), ("go/bin/go2", "hardlink", "go/bin/go")],
        "escape": base + [("go/x", "symlink", "../../etc"), ("go/../y", "file", b"y")],
        "long": base + [("go/src/" + "d/" * 70 + "f.go", "file", b"package d\n")],
    }
    for name, entries in seeds.items():
        raw = tar_bytes(entries)
        with open(os.path.join(target, name + "-tar"), "wb") as f:
            f.write(b"\x01" + raw)
        with open(os.path.join(target, name + "-gz"), "wb") as f:
            f.write(b"\x00" + gzip.compress(raw, mtime=0))


if __name__ == "__main__":
    main()
