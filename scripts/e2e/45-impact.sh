#!/usr/bin/env bash
# Part 45: the upgrade impact report with real Go 1.21.13 and 1.22.10.
#
# A module at `go 1.21` whose test passes with 1.21 semantics and fails once its `go` line is
# raised to 1.22, because goroutines capture a loop variable, and whose server uses
# net/http's ServeMux (GODEBUG `httpmuxgo121` changes its default at 1.22). Real Go is the
# oracle first: the test passes and fails as described. Then `goshift impact --from 1.21.13
# --to 1.22.10` must name both findings, show the failing test, give the line that keeps the
# old mux, and report the same default GODEBUG as `go list -f '{{.DefaultGODEBUG}}'` of each
# toolchain; that line, added, keeps the old behaviour. The security section is compared with
# the real vulnerability database (`../shared/data/go-vulndb` next to the repository, or
# E2E_VULNDB), read independently here; the GODEBUG table is read from the archive cache once
# 1.22.10 is uninstalled; and `goshift gate` fails a module whose next allowed version has a
# dependency needing a newer Go.
set -euo pipefail

: "${GOSHIFT:?}" "${E2E_DIR:?}" "${REPO:?}" "${INDEX_URL:?}" "${MIRROR_URL:?}"

# shellcheck source=store-lib.sh
source "$REPO/scripts/e2e/store-lib.sh"
# json FILE EXPRESSION: evaluates a Python expression over the JSON document `r`.
json() {
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

dir="$E2E_DIR/impact"
store_setup "$dir"
GO121="$GOSHIFT_HOME/toolchains/go1.21.13/bin/go"
GO122="$GOSHIFT_HOME/toolchains/go1.22.10/bin/go"
export GOTOOLCHAIN=local

echo "--- the project"
project="$dir/watch"
mkdir -p "$project/cmd/server"
cat >"$project/go.mod" <<'MOD'
module example.com/watch

go 1.21
MOD
cat >"$project/watch.go" <<'GO'
// Package watch hands the newest configuration generation to every watcher.
package watch

import (
	"sort"
	"sync"
)

// Notify starts one watcher per generation. Each waits until all are started, then reports
// the generation it holds: the newest one, since they all share the loop variable.
func Notify(generations []string) []string {
	start := make(chan struct{})
	seen := make(chan string, len(generations))
	var wg sync.WaitGroup
	for _, generation := range generations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			seen <- generation
		}()
	}
	close(start)
	wg.Wait()
	close(seen)
	var out []string
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}
GO
cat >"$project/watch_test.go" <<'GO'
package watch

import (
	"reflect"
	"testing"
)

func TestWatchersSeeNewestGeneration(t *testing.T) {
	got := Notify([]string{"g1", "g2", "g3"})
	want := []string{"g3", "g3", "g3"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("watchers saw %v, want %v", got, want)
	}
}

func BenchmarkNotify(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Notify([]string{"g1", "g2", "g3"})
	}
}
GO
cat >"$project/cmd/server/main.go" <<'GO'
//go:debug panicnil=1

// Command server serves items; its pattern is a wildcard for the Go 1.22 mux only.
package main

import (
	"fmt"
	"log"
	"net/http"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.URL.Path)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:0", mux))
}
GO
sed 's/^go 1.21$/go 1.22.0/' "$project/go.mod" >"$dir/raised.mod"

echo "--- the oracle: real Go"
(cd "$project" && "$GO121" test ./...) || fail "the test fails with go1.21.13 and go 1.21"
check "go1.21.13, go 1.21: the test passes"
status=0
(cd "$project" && "$GO122" test ./...) || status=$?
expect_eq "go1.22.10 with the go line left at 1.21: exit status of go test" "$status" 0
status=0
(cd "$project" && "$GO122" test -modfile="$dir/raised.mod" ./...) >"$dir/oracle-test.txt" 2>&1 || status=$?
[[ $status != 0 ]] || fail "the test passes with go1.22.10 and go 1.22.0"
grep -q 'watchers saw \[g1 g2 g3\]' "$dir/oracle-test.txt" || fail "unexpected failure: $(cat "$dir/oracle-test.txt")"
check "go1.22.10, go 1.22.0: the test fails because every goroutine has its own generation"
oracle_from=$(cd "$project" && "$GO121" list -f '{{.DefaultGODEBUG}}' ./cmd/server)
oracle_to=$(cd "$project" && "$GO122" list -modfile="$dir/raised.mod" -f '{{.DefaultGODEBUG}}' ./cmd/server)
oracle_same=$(cd "$project" && "$GO122" list -f '{{.DefaultGODEBUG}}' ./cmd/server)
echo "DefaultGODEBUG: go1.21.13 \`$oracle_from\`, go1.22.10 raised \`$oracle_to\`, go1.22.10 unraised \`$oracle_same\`"

echo "--- the vulnerability database"
vulndb=${E2E_VULNDB:-$REPO/../shared/data/go-vulndb}
have_vulndb=0
if [[ -f $vulndb/index/modules.json ]]; then
    "$GOSHIFT" vuln sync --from "$vulndb"
    have_vulndb=1
elif [[ -n ${CI:-} ]]; then
    fail "no vulnerability database at $vulndb (set E2E_VULNDB)"
else
    echo "SKIP: no vulnerability database at $vulndb (set E2E_VULNDB); the security section is not checked" >&2
fi

echo "--- goshift impact"
status=0
(cd "$project" && "$GOSHIFT" impact --from 1.21.13 --to 1.22.10 --bench --json) >"$dir/report.json" 2>"$dir/report.err" || status=$?
cat "$dir/report.err"
expect_eq "impact exit status (go with changes)" "$status" 0
expect_eq "verdict" "$(json "$dir/report.json" 'r["verdict"]["outcome"]')" go_with_changes
expect_eq "compatibility" "$(json "$dir/report.json" 'r["verdict"]["axes"][0]["outcome"]')" go_with_changes
expect_eq "the failing test" \
    "$(json "$dir/report.json" '[t["name"] for t in r["runs"]["new_failing_tests"]]')" \
    "['TestWatchersSeeNewestGeneration']"
json "$dir/report.json" 'r["runs"]["new_failing_tests"][0]["output"]' | grep -q 'watchers saw \[g1 g2 g3\], want \[g3 g3 g3\]' ||
    fail "the failing test's output is not shown"
check "the failing test's first line is shown"
expect_eq "benchmarks on both sides" \
    "$(json "$dir/report.json" '[[b["name"] for b in r["runs"][side]["benchmarks"]] for side in ("from", "to")]')" \
    "[['BenchmarkNotify'], ['BenchmarkNotify']]"
expect_eq "the tests pass with go1.21.13" "$(json "$dir/report.json" 'r["runs"]["from"]["steps"][2]["passed"]')" True
expect_eq "the loop that captures" \
    "$(json "$dir/report.json" '[(c["path"], c["line"], c["variable"]) for c in r["language"]["loop_captures"]]')" \
    "[('./watch.go', 20, 'generation')]"
expect_eq "httpmuxgo121 is imported and kept by a directive" \
    "$(json "$dir/report.json" '[(c["imported"], c["keep"]) for c in r["godebug"]["changes"] if c["name"] == "httpmuxgo121"]')" \
    "[(True, '//go:debug httpmuxgo121=1')]"
expect_eq "DefaultGODEBUG with go1.21.13" "$(json "$dir/report.json" 'r["godebug"]["from_default"]')" "$oracle_from"
expect_eq "DefaultGODEBUG with go1.22.10 and the go line raised" "$(json "$dir/report.json" 'r["godebug"]["to_default"]')" "$oracle_to"
expect_eq "DefaultGODEBUG with go1.22.10 and the go line kept" "$(json "$dir/report.json" 'r["godebug"]["to_default_same_go_line"]')" "$oracle_same"
expect_eq "go line edit" "$(json "$dir/report.json" '[(e["line"], e["after"]) for e in r["language"]["edits"]]')" "[(3, 'go 1.22.0')]"

(cd "$project" && "$GOSHIFT" impact --from 1.21.13 --to 1.22.10 --no-run) >"$dir/report.txt"
for expected in \
    'keep the old behaviour with `//go:debug httpmuxgo121=1`' \
    './watch.go:20 captures loop variable `generation`' \
    'edit go.mod line 3: `go 1.21` → `go 1.22.0`'; do
    grep -qF -- "$expected" "$dir/report.txt" || fail "the text report lacks \`$expected\`: $(cat "$dir/report.txt")"
done
check "the text report names the GODEBUG setting, its keep line and the loop"
(cd "$project" && "$GOSHIFT" impact --from 1.21.13 --to 1.22.10 --no-run --format markdown) >"$dir/report.md"
grep -q '^## Upgrade impact' "$dir/report.md" || fail "no Markdown heading"
check "Markdown report"

if ((have_vulndb)); then
    echo "--- security against the database, read independently"
    python3 - "$vulndb" "$dir/report.json" <<'PY'
import json, os, sys

db, report = sys.argv[1], json.load(open(sys.argv[2]))

def key(v):
    core, _, pre = v.partition("-")
    nums = tuple(int(x) for x in core.split("."))
    # A pre-release sorts before its release.
    return nums + ((0, pre) if pre else (1, ""))

def affected(entry, module, version):
    for affected in entry.get("affected", []):
        if affected["package"]["name"] != module:
            continue
        ranges = [r for r in affected.get("ranges", []) if r["type"] == "SEMVER"]
        if not ranges:
            return True
        for r in ranges:
            inside = False
            events = sorted(r.get("events", []), key=lambda e: (0,) if e.get("introduced") == "0" else (1,) + key(e.get("introduced") or e.get("fixed")))
            for e in events:
                if "introduced" in e and (e["introduced"] == "0" or key(version) >= key(e["introduced"])):
                    inside = True
                elif "fixed" in e and key(version) >= key(e["fixed"]):
                    inside = False
            if inside:
                return True
    return False

modules = json.load(open(os.path.join(db, "index", "modules.json")))
ids = sorted({v["id"] for m in modules if m["path"] in ("stdlib", "toolchain") for v in m["vulns"]})
entries = [json.load(open(os.path.join(db, "ID", i + ".json"))) for i in ids]
entries = [e for e in entries if not e.get("withdrawn")]

def hits(version):
    return {e["id"] for e in entries for m in ("stdlib", "toolchain") if affected(e, m, version)}

before, after = hits("1.21.13"), hits("1.22.10")
want_fixed, want_open = sorted(before - after), sorted(after)
got_fixed = sorted({a["id"] for a in report["security"]["fixed"]})
got_open = sorted({a["id"] for a in report["security"]["open"]})
if got_fixed != want_fixed:
    sys.exit(f"fixed: goshift {got_fixed}, database {want_fixed}")
if got_open != want_open:
    sys.exit(f"open: goshift {got_open}, database {want_open}")
if not want_fixed:
    sys.exit("the database has no advisory fixed between go1.21.13 and go1.22.10; the check proves nothing")
print(f"ok: {len(got_fixed)} advisories fixed between go1.21.13 and go1.22.10, {len(got_open)} still open, as the database says")
PY
fi

(cd "$project" && "$GOSHIFT" impact --to 1.22.10 --no-run --json) >"$dir/default-from.json"
expect_eq "--from defaults to what the directory resolves to" "$(json "$dir/default-from.json" 'r["from"]')" 1.21.13

echo "--- the keep line keeps the old behaviour"
sed -i '1i //go:debug httpmuxgo121=1' "$project/cmd/server/main.go"
kept=$(cd "$project" && "$GO122" list -modfile="$dir/raised.mod" -f '{{.DefaultGODEBUG}}' ./cmd/server)
[[ ,$kept, == *,httpmuxgo121=1,* ]] || fail "go1.22.10 ignores the directive: \`$kept\`"
check "go1.22.10 with go 1.22.0 and the directive: \`$kept\`"
(cd "$project" && "$GOSHIFT" impact --from 1.21.13 --to 1.22.10 --no-run --json) >"$dir/kept.json"
expect_eq "DefaultGODEBUG with the directive" "$(json "$dir/kept.json" 'r["godebug"]["to_default"]')" "$kept"
expect_eq "httpmuxgo121 no longer differs" \
    "$(json "$dir/kept.json" '[c["name"] for c in r["godebug"]["changes"] if c["name"] == "httpmuxgo121"]')" "[]"

echo "--- the GODEBUG table of a toolchain that is not installed"
"$GOSHIFT" uninstall 1.22.10
ls "$("$GOSHIFT" cache dir)/"* >/dev/null 2>&1 || fail "goshift install kept no archive in the cache"
(cd "$project" && "$GOSHIFT" impact --from 1.21.13 --to 1.22.10 --no-run --json) >"$dir/archive.json" 2>"$dir/archive.err"
grep -q 'read the GODEBUG table of go1.22.10 from the cached archive' "$dir/archive.err" ||
    fail "the table was not read from the archive: $(cat "$dir/archive.err")"
expect_eq "DefaultGODEBUG from the archive's table" "$(json "$dir/archive.json" 'r["godebug"]["to_default"]')" "$kept"
[[ ! -e $GOSHIFT_HOME/toolchains/go1.22.10 ]] || fail "reading the archive installed it"
"$GOSHIFT" install 1.22.10

echo "--- goshift gate looks ahead"
mkdir -p "$dir/repo/app" "$dir/repo/newdep"
cat >"$dir/repo/newdep/go.mod" <<'MOD'
module example.com/newdep

go 1.23.0
MOD
cat >"$dir/repo/app/go.mod" <<'MOD'
module example.com/app

go 1.21

require example.com/newdep v1.0.0

replace example.com/newdep v1.0.0 => ../newdep
MOD
printf '[environments.ci]\nallowed = ["1.21.13", "1.22.10"]\n' >"$dir/policy.toml"
status=0
"$GOSHIFT" gate --policy "$dir/policy.toml" --env ci --format json "$dir/repo/app" >"$dir/gate.json" || status=$?
expect_eq "gate exit status" "$status" 1
expect_eq "gate finding" \
    "$(json "$dir/gate.json" '[(f["rule"], f["line"]) for f in r["findings"] if f["rule"] == "upgrade-blocked"]')" \
    "[('upgrade-blocked', 3)]"
json "$dir/gate.json" 'r["findings"]' | grep -q 'example.com/newdep@v1.0.0 needs go 1.23.0' || fail "the gate does not name the dependency"
check "the gate names the dependency that blocks go1.22.10"
