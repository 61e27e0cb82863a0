#!/usr/bin/env python3
"""Writes a valid goshift audit log of N records, for benchmarks.

The canonical form is rebuilt independently here (sorted keys, no whitespace, hash over the
record without `hash`), so a log that `goshift audit verify` accepts also cross-checks the
format described in crates/goshift-audit.
Usage: gen_audit_log.py N OUT
"""
import hashlib
import json
import sys


def canonical(record):
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main():
    count, out = int(sys.argv[1]), sys.argv[2]
    prev = "0" * 64
    actions = ["install", "use", "rollback", "uninstall", "exec"]
    with open(out, "w", encoding="utf-8") as f:
        for seq in range(1, count + 1):
            record = {
                "seq": seq,
                "time": "2024-03-01T12:%02d:%02d.%06dZ" % (seq // 60 % 60, seq % 60, seq % 1000000),
                "actor": {"uid": 1000, "user": "ana", "host": "build-1"},
                "action": actions[seq % len(actions)],
                "subject": "go1.22.%d" % (seq % 11),
                "from": "go1.21.13",
                "to": "go1.22.%d" % (seq % 11),
                "reason": "ticket OPS-%d" % seq if seq % 3 == 0 else None,
                "outcome": "success",
                "details": {"smoke": {"ok": True, "go_version": "go1.22.10"}},
                "prev": prev,
            }
            digest = hashlib.sha256(canonical(record).encode()).hexdigest()
            record["hash"] = digest
            f.write(canonical(record) + "\n")
            prev = digest


if __name__ == "__main__":
    main()
