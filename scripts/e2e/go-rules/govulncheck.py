#!/usr/bin/env python3
"""govulncheck as an oracle for goshift's symbol-level vulnerability matching.

Debian's `govulncheck` package is an early-2023 build: it reads binaries of Go 1.20 and
older, takes its database from `GOVULNDB` and expects the database layout of that time
(`index.json` mapping each module to its last change, one `<module>.json` per module holding
that module's advisories, `ID/<id>.json`). The repository's tests keep the database in
vuln.go.dev's current layout, so `layout` writes the old one next to the test's files.

Usage:
  govulncheck.py layout DB OUT
      DB in the current layout (`index/modules.json`, `ID/*.json`) written to OUT in the old
      one.
  govulncheck.py proxy DIR
      A `file://` module proxy in DIR with golang.org/x/text v0.3.5 (a tiny stand-in whose
      `language` package has the functions the x/text advisories name; `Parse` is kept out of
      line so it is in the binary as itself) and example.com/fork/text v0.3.5 (the same code
      under another path, the target of a `replace`).
  govulncheck.py compare EXPECTED NAME THEIRS SYMBOL MODULE
      THEIRS is `govulncheck -json BINARY`, SYMBOL and MODULE `goshift --json vuln check
      [--module-level] BINARY`. Compares the (advisory, function) pairs at symbol level and
      the advisory sets at module level; every difference must be listed for NAME in
      EXPECTED (the differences file) with its reason, and every listed difference must occur.
"""
import json
import os
import sys
import zipfile


def escape(path):
    # Go's module path escaping: an upper-case letter becomes `!` and its lower case.
    return "".join("!" + c.lower() if c.isupper() else c for c in path)


def layout(db, out):
    modules = json.load(open(f"{db}/index/modules.json"))
    os.makedirs(f"{out}/ID", exist_ok=True)
    index = {}
    entries = {}
    for module in modules:
        advisories = []
        for vuln in module["vulns"]:
            if vuln["id"] not in entries:
                entries[vuln["id"]] = json.load(open(f"{db}/ID/{vuln['id']}.json"))
            advisories.append(entries[vuln["id"]])
        path = f"{out}/{escape(module['path'])}.json"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(advisories, f)
        index[module["path"]] = max(v["modified"] for v in module["vulns"])
    for id_, entry in entries.items():
        with open(f"{out}/ID/{id_}.json", "w") as f:
            json.dump(entry, f)
    with open(f"{out}/index.json", "w") as f:
        json.dump(index, f)
    print(f"{len(index)} modules, {len(entries)} advisories")


LANGUAGE = """package language

// Tag is a language tag.
type Tag struct{ s string }

// Parse parses a tag.
//
//go:noinline
func Parse(s string) (Tag, error) { return Tag{s}, nil }

// MustParse parses a tag or panics.
func MustParse(s string) Tag { t, _ := Parse(s); return t }

// ParseAcceptLanguage parses an Accept-Language header.
func ParseAcceptLanguage(s string) ([]Tag, []float32, error) { return []Tag{{s}}, nil, nil }

// MatchStrings finds the best match.
func MatchStrings(m interface{}, lang ...string) (Tag, int) { return Tag{}, 0 }
"""


def proxy(root):
    for path in ("golang.org/x/text", "example.com/fork/text"):
        version = "v0.3.5"
        base = f"{root}/{escape(path)}/@v"
        os.makedirs(base, exist_ok=True)
        gomod = f"module {path}\n\ngo 1.17\n"
        with open(f"{base}/{version}.mod", "w") as f:
            f.write(gomod)
        with open(f"{base}/{version}.info", "w") as f:
            json.dump({"Version": version, "Time": "2021-01-01T00:00:00Z"}, f)
        with zipfile.ZipFile(f"{base}/{version}.zip", "w") as z:
            z.writestr(f"{path}@{version}/go.mod", gomod)
            z.writestr(f"{path}@{version}/language/language.go", LANGUAGE)
        with open(f"{base}/list", "w") as f:
            f.write(version + "\n")


def theirs_pairs(report):
    """govulncheck's (advisory, function) pairs: a package named without functions in the
    advisory is one pair with the package path, as goshift reports it."""
    pairs = set()
    for vuln in report.get("Vulns") or []:
        osv = vuln["OSV"]
        whole = {
            i["path"]
            for a in osv["affected"]
            for i in (a.get("ecosystem_specific") or {}).get("imports", [])
            if not i.get("symbols")
        }
        for module in vuln["Modules"]:
            for package in module["Packages"] or []:
                if package["Path"] in whole:
                    pairs.add((osv["id"], package["Path"]))
                    continue
                for stack in package["CallStacks"] or []:
                    pairs.add((osv["id"], f"{package['Path']}.{stack['Symbol']}"))
            if not module["Packages"]:
                pairs.add((osv["id"], module["Path"]))
    return pairs


def ours_pairs(findings):
    pairs = set()
    for finding in findings:
        if finding["level"] == "symbol":
            pairs.update((finding["id"], s) for s in finding["symbols"])
        else:
            pairs.add((finding["id"], finding["module"]))
    return pairs


def expected_differences(path, name):
    expected = set()
    for number, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 4 or fields[1] not in ("only-govulncheck", "only-goshift"):
            sys.exit(f"{path}:{number}: expected `BINARY only-govulncheck|only-goshift ID FUNCTION`")
        if fields[0] == name:
            expected.add(tuple(fields[1:]))
    return expected


def compare(expected_file, name, theirs_file, symbol_file, module_file):
    theirs = theirs_pairs(json.load(open(theirs_file)))
    symbol = json.load(open(symbol_file))["binaries"][0]["findings"]
    module = json.load(open(module_file))["binaries"][0]["findings"]
    ours = ours_pairs(symbol)
    found = {("only-govulncheck", *p) for p in theirs - ours}
    found |= {("only-goshift", *p) for p in ours - theirs}
    expected = expected_differences(expected_file, name)
    problems = []
    for kind, id_, function in sorted(found - expected):
        problems.append(f"unexplained: {kind} {id_} {function}")
    for kind, id_, function in sorted(expected - found):
        problems.append(f"listed but not seen: {kind} {id_} {function}")
    their_ids = {p[0] for p in theirs}
    symbol_ids = {f["id"] for f in symbol}
    module_ids = {f["id"] for f in module}
    if their_ids != symbol_ids:
        problems.append(
            f"advisories differ at symbol level: only govulncheck {sorted(their_ids - symbol_ids)}, "
            f"only goshift {sorted(symbol_ids - their_ids)}"
        )
    if not their_ids <= module_ids:
        problems.append(f"govulncheck reports advisories goshift's module level lacks: {sorted(their_ids - module_ids)}")
    if problems:
        sys.exit(f"{name}: " + "; ".join(problems))
    print(
        f"{name}: {len(their_ids)} advisories and {len(theirs & ours)} (advisory, function) pairs as govulncheck, "
        f"{len(found)} listed differences; {len(module_ids)} advisories at module level"
    )


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "layout" and len(args) == 2:
        layout(*args)
    elif command == "proxy" and len(args) == 1:
        proxy(*args)
    elif command == "compare" and len(args) == 5:
        compare(*args)
    else:
        sys.exit(__doc__)


main()
