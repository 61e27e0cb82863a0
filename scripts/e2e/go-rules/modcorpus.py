#!/usr/bin/env python3
"""Extracts the go.mod and go.work files of Go's own cmd/go test data (the txtar archives in
src/cmd/go/testdata/script and src/cmd/go/testdata/mod) into numbered directories, for part 41
to compare `goshift mod --json` with `go mod edit -json` and `go work edit -json` on each.

Usage: modcorpus.py GOROOT OUT   prints one line per file: `OUT/N/go.mod<TAB>archive:section`
"""
import os
import sys


def sections(text):
    """The files of a txtar archive: (name, content) in order."""
    name, lines = None, []
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if stripped.startswith("-- ") and stripped.endswith(" --") and len(stripped) > 6:
            if name is not None:
                yield name, "".join(lines)
            name, lines = stripped[3:-3].strip(), []
        elif name is not None:
            lines.append(line)
    if name is not None:
        yield name, "".join(lines)


def main():
    goroot, out = sys.argv[1], sys.argv[2]
    testdata = os.path.join(goroot, "src", "cmd", "go", "testdata")
    count = 0
    for sub in ("script", "mod"):
        folder = os.path.join(testdata, sub)
        for archive in sorted(os.listdir(folder)):
            if not archive.endswith(".txt"):
                continue
            with open(os.path.join(folder, archive), encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
            for name, content in sections(text):
                base = os.path.basename(name)
                if base in ("go.mod", "go.work") or (sub == "mod" and base.endswith(".mod")):
                    kind = "go.work" if base == "go.work" else "go.mod"
                    count += 1
                    target = os.path.join(out, str(count))
                    os.makedirs(target)
                    with open(os.path.join(target, kind), "w", encoding="utf-8", errors="surrogateescape") as f:
                        f.write(content)
                    print(f"{target}/{kind}\t{sub}/{archive}:{name}")


main()
