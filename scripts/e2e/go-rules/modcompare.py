#!/usr/bin/env python3
"""Compares `goshift mod --json FILE` with `go mod edit -json FILE` (`go work edit -json` for a
go.work) on every file of a list printed by modcorpus.py. Both must accept a file or both
reject it, and where both accept it their JSON must be equal once empty fields are dropped
(goshift leaves them out, Go prints them as null).

Usage: modcompare.py GO GOSHIFT LIST [KEY,...]   exits 1 and names every disagreement

The KEYs are fields this Go's JSON does not have, dropped from goshift's before comparing
(goshift prints what the newest Go prints: Go 1.23 and 1.24 read `godebug` lines but print
them only from 1.25 on, as `GoDebug` for a go.mod and `Godebug` for a go.work).
"""
import json
import subprocess
import sys


def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v not in (None, "", [], False)}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=60)
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[:3]
    return clean(json.loads(result.stdout)), None


def main():
    go, goshift, listing = sys.argv[1:4]
    absent = set(sys.argv[4].split(",")) if len(sys.argv) > 4 else set()
    counts = {"same": 0, "both rejected": 0}
    disagreements = []
    with open(listing, encoding="utf-8") as f:
        entries = [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]
    for path, origin in entries:
        verb = "work" if path.endswith("go.work") else "mod"
        expected, go_error = run([go, verb, "edit", "-json", path])
        actual, goshift_error = run([goshift, "mod", "--json", path])
        if actual is not None:
            actual = {k: v for k, v in actual.items() if k not in absent}
        if go_error and goshift_error:
            counts["both rejected"] += 1
        elif go_error:
            disagreements.append(f"{origin} ({path}): go rejects it ({go_error}), goshift accepts it")
        elif goshift_error:
            disagreements.append(f"{origin} ({path}): go accepts it, goshift rejects it ({goshift_error})")
        elif expected != actual:
            disagreements.append(
                f"{origin} ({path}): different JSON\n  go:      {json.dumps(expected, sort_keys=True)}\n"
                f"  goshift: {json.dumps(actual, sort_keys=True)}"
            )
        else:
            counts["same"] += 1
    for line in disagreements:
        print(line)
    print(
        f"{len(entries)} files: {counts['same']} read identically, {counts['both rejected']} rejected by both, "
        f"{len(disagreements)} disagreements"
    )
    sys.exit(1 if disagreements or len(entries) == 0 else 0)


main()
