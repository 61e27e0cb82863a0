#!/usr/bin/env python3
"""Checks that a goshift home's audit log and history account for its store.

Usage: check-accounted.py GOSHIFT_HOME

Replays the audit log's outcomes in order (a reconciled record carries the state found, which
replaces the replayed one) and compares the result with the store: the installed toolchains and
the `default` link, and for each service that `svc upgrade` or `svc rollback` changed, its
`current` release. Also checks that every intent has exactly one outcome, that the history's
last entry names the default, that every installed toolchain has its manifest, and that no
staging leftovers remain. Prints one line per problem; exits 1 when there is one.
"""

import json
import os
import sys


def replay(records):
    installed, default, problems = set(), None, []
    services = {}
    open_intents = set()
    for record in records:
        seq, outcome, action = record["seq"], record["outcome"], record["action"]
        details = record.get("details") or {}
        if outcome == "intent":
            open_intents.add(seq)
            continue
        intent = details.get("intent")
        if intent is not None:
            if intent not in open_intents:
                problems.append(f"record {seq} ends intent {intent}, which is not open")
            open_intents.discard(intent)
        if details.get("reconciled"):
            found = details["found"]
            if action in ("svc.upgrade", "svc.rollback"):
                services[record["subject"]] = found.get("current_release")
                continue
            if "installed" in found:
                installed = set(found["installed"])
                default = found["default"]
            continue
        if outcome != "success":
            continue
        subject = record["subject"]
        if action in ("install", "import"):
            installed.add(subject)
        elif action in ("use", "rollback"):
            default = record["to"]
        elif action == "uninstall":
            installed.discard(subject)
            if default == subject:
                default = None
        elif action == "prune":
            for name in subject.split(", "):
                installed.discard(name)
        elif action in ("svc.upgrade", "svc.rollback"):
            services[subject] = record["to"]
        elif action == "snapshot.restore":
            installed.update(details.get("installed") or [])
            default = details.get("default")
    for seq in sorted(open_intents):
        problems.append(f"intent {seq} has no outcome")
    return installed, default, services, problems


def main():
    home = sys.argv[1]
    problems = []
    records = []
    try:
        with open(os.path.join(home, "audit.log"), encoding="utf-8") as log:
            for number, line in enumerate(log, 1):
                if not line.endswith("\n"):
                    problems.append(f"audit.log:{number}: torn last line")
                    break
                records.append(json.loads(line))
    except FileNotFoundError:
        pass
    installed, default, services, replay_problems = replay(records)
    problems += replay_problems

    toolchains = os.path.join(home, "toolchains")
    actual = set(os.listdir(toolchains)) if os.path.isdir(toolchains) else set()
    for name in sorted(actual):
        if not os.path.isfile(os.path.join(home, "manifests", name + ".json")):
            problems.append(f"toolchains/{name} has no manifest")
    link = os.path.join(home, "default")
    actual_default = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
    if actual_default is not None and actual_default not in actual:
        problems.append(f"default -> {actual_default}, which is not installed")
    if installed != actual:
        problems.append(
            f"the audit log says installed {sorted(installed)}, the store has {sorted(actual)}"
        )
    if default != actual_default:
        problems.append(f"the audit log says default {default}, the store has {actual_default}")

    history_default = None
    try:
        with open(os.path.join(home, "history"), encoding="utf-8") as history:
            lines = history.read().split("\n")
        if lines[-1] != "":
            problems.append("history: torn last line")
        entries = [json.loads(line) for line in lines if line.strip()]
        if entries and entries[-1]["to"]:
            history_default = "go" + entries[-1]["to"]
    except FileNotFoundError:
        pass
    if history_default != actual_default:
        problems.append(f"the history says default {history_default}, the store has {actual_default}")

    for service, release in sorted(services.items()):
        link = os.path.join(home, "services", service, "current")
        current = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
        if release != current:
            problems.append(f"the audit log says {service} runs {release}, its current is {current}")

    staging = os.path.join(home, "staging")
    leftovers = sorted(os.listdir(staging)) if os.path.isdir(staging) else []
    if leftovers:
        problems.append(f"staging leftovers: {leftovers}")

    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
