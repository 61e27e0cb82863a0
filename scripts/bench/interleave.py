#!/usr/bin/env python3
"""Times commands in alternation: round i runs every command once, in order.

hyperfine runs all the runs of one command before the next, so a machine that gets busier or
quieter half-way (a shared VM, the disk writing back) shifts one command against the other.
Alternating puts both under the same conditions, and the difference of each round (command
minus the first command) is a paired sample whose median drift cannot move.

Usage: interleave.py [--runs N] [--warmup N] NAME=COMMAND [NAME=COMMAND...]
COMMAND is split like a shell would (no shell runs); its stdout goes to /dev/null. The first
command is the baseline. Prints one line per command, then the median paired difference of
every other command against the baseline, and the last line is JSON with the same numbers (ms).
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import time


def spawn(argv, devnull):
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"interleave.py: error: `{shlex.join(argv)}` failed ({status})")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args()
    commands = []
    for spec in args.commands:
        name, sep, command = spec.partition("=")
        if not sep or not command:
            sys.exit(f"interleave.py: error: `{spec}` is not NAME=COMMAND")
        commands.append((name, shlex.split(command)))

    devnull = os.open(os.devnull, os.O_WRONLY)
    for _ in range(args.warmup):
        for _, argv in commands:
            spawn(argv, devnull)
    samples = [[] for _ in commands]
    for _ in range(args.runs):
        for i, (_, argv) in enumerate(commands):
            samples[i].append(spawn(argv, devnull))

    result = {"runs": args.runs, "commands": {}}
    for (name, argv), times in zip(commands, samples):
        median = statistics.median(times)
        result["commands"][name] = {"median": median, "min": min(times)}
        print(f"{name:>10}: median {median:.3f} ms, min {min(times):.3f} ms  ({shlex.join(argv)})")
    base_name = commands[0][0]
    for i, (name, _) in enumerate(commands[1:], start=1):
        paired = statistics.median(b - a for a, b in zip(samples[0], samples[i]))
        result["commands"][name]["paired_difference"] = paired
        print(f"{name:>10}: median paired difference against {base_name}: {paired:+.3f} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
