#!/usr/bin/env python3
"""Checks goshift's function table reading and symbol-level vulnerability matching against
`go tool nm`.

Usage: symbols.py GO UNSTRIPPED NAMES FINDINGS
  GO          the toolchain that built the program
  UNSTRIPPED  the program built normally (with a symbol table)
  NAMES       `function_names` of the same program built with -ldflags='-s -w'
  FINDINGS    `goshift --json vuln check` of the stripped build

The functions read from the stripped build's pclntab must be exactly the text symbols
`go tool nm` lists for the unstripped build, apart from the linker's section markers, with
both named the same way (package, then the symbol without `(*`, `)` and type arguments; the
`.abi0` suffix of assembly functions and the `·` of local types are the symbol table's own
spelling). Every function a symbol-level finding names must be one of them.
"""
import json
import subprocess
import sys


def split(name):
    last = name.rfind("/") + 1
    dot = name.find(".", last)
    if dot < 0:
        return None
    package = name[:dot].replace("%2e", ".")
    symbol, depth = [], 0
    for c in name[dot + 1 :]:
        if c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif depth == 0 and c not in "()*":
            symbol.append(c)
    return f"{package}.{''.join(symbol)}" if package and symbol else None


def main():
    go, unstripped, names_file, findings_file = sys.argv[1:5]
    nm = subprocess.run([go, "tool", "nm", unstripped], capture_output=True, text=True, check=True).stdout
    expected = set()
    for line in nm.splitlines():
        fields = line.split(None, 2)
        if len(fields) == 3 and fields[1] in ("T", "t"):
            name = split(fields[2].removesuffix(".abi0").replace("·", "."))
            if name:
                expected.add(name)
    actual = {line.replace("·", ".") for line in open(names_file).read().splitlines() if line}
    markers = {n for n in expected - actual if n in ("runtime.text", "runtime.etext") or "(.text" in n or ".text" in n.split(".", 1)[-1][:6]}
    extra, missing = actual - expected, expected - actual - markers
    if extra or missing:
        sys.exit(f"pclntab and go tool nm differ: only in the pclntab {sorted(extra)[:10]}, only in nm {sorted(missing)[:10]}")
    report = json.load(open(findings_file))
    symbol_level = 0
    for binary in report["binaries"]:
        for finding in binary["findings"]:
            if finding["level"] != "symbol":
                continue
            symbol_level += 1
            for symbol in finding["symbols"]:
                if "." in symbol.rsplit("/", 1)[-1] and symbol not in expected:
                    sys.exit(f"{finding['id']} names {symbol}, which go tool nm does not list")
                if "." not in symbol.rsplit("/", 1)[-1] and not any(n.startswith(symbol + ".") for n in expected):
                    sys.exit(f"{finding['id']} names package {symbol}, of which go tool nm lists nothing")
    print(f"{len(actual)} functions agree with go tool nm; {symbol_level} symbol-level findings name only functions it lists")


main()
