#!/usr/bin/env python3
"""Writes a tree of N Go modules (go.mod files) for the gate benchmark.

Usage: gen_gate_tree.py N DIR
A tenth of the modules pin a blocked toolchain, so the gate has findings to report.
"""
import os
import sys


def main():
    count, root = int(sys.argv[1]), sys.argv[2]
    for i in range(count):
        directory = os.path.join(root, f"team{i % 20:02d}", f"svc{i:04d}")
        os.makedirs(directory, exist_ok=True)
        lines = [f"module example.com/team{i % 20:02d}/svc{i:04d}", "", "go 1.22.0"]
        if i % 10 == 0:
            lines += ["", "toolchain go1.21.1"]
        lines += ["", "require (", "\texample.com/lib v1.2.3", "\tgolang.org/x/net v0.20.0 // indirect", ")", ""]
        with open(os.path.join(directory, "go.mod"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        with open(os.path.join(directory, "main.go"), "w", encoding="utf-8") as f:
            f.write("package main\n\nfunc main() {}\n")


if __name__ == "__main__":
    main()
