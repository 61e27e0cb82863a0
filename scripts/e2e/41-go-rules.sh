#!/usr/bin/env bash
# Part 41: Go's own rules as oracles.
#
# Toolchains: Go 1.21.13 and 1.22.10 (the mirror's releases), and Go 1.24.11, 1.26.6 and
# 1.27.3 (unpacked by scripts/e2e/mirror.sh as oracles only) wherever an oracle changed since.
# The newer three add about 5 minutes on two busy cores, mostly compiling the standard
# library once per toolchain: go/version about 50 s each, the go.mod corpus about 30 s each,
# the function-table program about 40 s each.
#
# Versions: a Go program using `go/version` (Go 1.22.10; the package is new in 1.22) generates
# about 180,000 version strings and prints, for each, whether it is valid and its language
# version, and for 859 of them how each compares with every other (737,881 pairs); the example
# `version_table` of goshift-version prints the same table from goshift's parser, and the two
# must be identical; go/version of 1.24.11, 1.26.6 and 1.27.3 must print the same table too.
#
# go.mod and go.work: every such file in the txtar archives of Go's own `src/cmd/go/testdata`
# (1,450 to 1,650 per toolchain, all five toolchains, each reading its own) goes through
# `go mod edit -json` (or `go work edit -json`) and `goshift mod --json`: both must reject it,
# or both accept it and print the same JSON.
#
# Symbols: for each toolchain, the functions goshift reads from the pclntab of a stripped
# build equal the text symbols `go tool nm` lists for the unstripped build, both builds'
# information is what that toolchain's `go version -m` prints, and `goshift vuln check`
# against the real vulnerability database (../shared/data/go-vulndb) reports at symbol level
# only functions that go tool nm lists, and a subset of its module-level findings.
#
# govulncheck: Debian's govulncheck (binary mode) on three programs built by Debian's Go 1.19
# (standard library; golang.org/x/text at a vulnerable version; the same replaced by a fork)
# reports the same advisories as goshift at symbol level, and the same (advisory, function)
# pairs apart from those listed with their reason in go-rules/govulncheck-differences.txt.
set -euo pipefail

: "${GOSHIFT:?}" "${E2E_DIR:?}" "${REPO:?}" "${GO121:?}" "${GO122:?}" "${GO124:?}" "${GO126:?}" "${GO127:?}"

work="$E2E_DIR/go-rules"
rm -rf "$work"
mkdir -p "$work"
export GOFLAGS= GOPROXY=off GOTOOLCHAIN=local GOENV=off GOCACHE="$work/gocache" GOPATH="$work/gopath"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
check() {
    echo "ok: $*"
}

echo "--- versions against go/version"
rules="$REPO/scripts/e2e/go-rules"
(cd "$rules" && "$GO122" run versions.go gen) >"$work/versions.in"
(cd "$rules" && "$GO122" run versions.go) <"$work/versions.in" >"$work/versions.go.out"
cargo build --quiet --release --locked -p goshift-version --example version_table
target_dir=${CARGO_TARGET_DIR:-$REPO/target}
[[ $target_dir == /* ]] || target_dir="$REPO/$target_dir"
"$target_dir/release/examples/version_table" <"$work/versions.in" >"$work/versions.goshift.out"
inputs=$(wc -l <"$work/versions.in")
pairs=$(grep -c '^P' "$work/versions.in")
valid=$(head -n "$inputs" "$work/versions.go.out" | grep -c '^true')
((inputs > 100000 && pairs > 500 && valid > 1000)) ||
    fail "the generated table is too small: $inputs inputs, $valid valid, $pairs compared pairwise"
if ! cmp -s "$work/versions.go.out" "$work/versions.goshift.out"; then
    paste "$work/versions.in" <(head -n "$inputs" "$work/versions.go.out") <(head -n "$inputs" "$work/versions.goshift.out") |
        awk -F'\t' '$3 != $5 || $4 != $6 { print "  " $2 ": go/version says " $3 " " $4 ", goshift " $5 " " $6 }' | head -n 20
    fail "goshift's version grammar or order differs from go/version (tables in $work)"
fi
check "$inputs versions ($valid valid) and $((pairs * pairs)) ordered pairs agree with go/version"
# The newer toolchains' go/version must print the very same table.
for oracle in "$GO124" "$GO126" "$GO127"; do
    release=$(basename "$(dirname "$(dirname "$(dirname "$oracle")")")")
    (cd "$rules" && "$oracle" run versions.go) <"$work/versions.in" >"$work/versions.$release.out"
    cmp -s "$work/versions.go.out" "$work/versions.$release.out" ||
        fail "go/version of go $release differs from go 1.22.10's (tables in $work); goshift must follow it"
    check "go/version of go $release prints the same table"
done

echo "--- go.mod and go.work: Go's own cmd/go test corpus against go mod edit -json"
# Every go.mod and go.work of the txtar archives in src/cmd/go/testdata of both toolchains,
# read by that toolchain: both accept it and print the same JSON, or both reject it.
# Go 1.23 and 1.24 read `godebug` lines but their JSON leaves them out (1.25 added them), so
# goshift's are not compared with those.
for oracle in "$GO121" "$GO122" "$GO124" "$GO126" "$GO127"; do
    goroot=$(dirname "$(dirname "$oracle")")
    release=$(basename "$(dirname "$goroot")")
    absent=""
    [[ $release == 1.2[34].* ]] && absent=GoDebug,Godebug
    corpus="$work/modcorpus-$release"
    python3 "$rules/modcorpus.py" "$goroot" "$corpus" >"$corpus.list"
    files=$(wc -l <"$corpus.list")
    ((files > 1000)) || fail "only $files go.mod and go.work files found in $goroot/src/cmd/go/testdata"
    python3 "$rules/modcompare.py" "$oracle" "$GOSHIFT" "$corpus.list" ${absent:+"$absent"} >"$corpus.txt" ||
        { cat "$corpus.txt"; fail "goshift mod --json disagrees with go $release on Go's own test files"; }
    check "go $release: $(tail -n1 "$corpus.txt")"
done

echo "--- function tables and symbol-level vulnerabilities against go tool nm"
# The real Go vulnerability database next to the repository (../shared/data/go-vulndb, in
# vuln.go.dev's layout; GO_VULNDB names another copy). A program using net/http, crypto/tls
# and html/template is built by each toolchain with and without -ldflags='-s -w'.
db=${GO_VULNDB:-$REPO/../shared/data/go-vulndb}
if [[ ! -f $db/index/db.json ]]; then
    [[ -z ${CI:-} ]] || fail "no vulnerability database at $db (set GO_VULNDB)"
    echo "SKIP: no vulnerability database at $db (set GO_VULNDB); symbol-level checks not run" >&2
else
    export GOSHIFT_HOME="$work/home"
    "$GOSHIFT" vuln sync --from "$db"
    cargo build --quiet --release --locked -p goshift-binary --example function_names
    mkdir -p "$work/symbols"
    cat >"$work/symbols/go.mod" <<'GO'
module example.com/symbols

go 1.21
GO
    cat >"$work/symbols/main.go" <<'GO'
package main

import (
	"crypto/tls"
	"fmt"
	"html/template"
	"net/http"
	"os"
)

func main() {
	page := template.Must(template.New("page").Parse("{{.}}\n"))
	_ = page.Execute(os.Stdout, "hello")
	fmt.Println((&tls.Config{}).MinVersion)
	_ = http.ListenAndServe("127.0.0.1:0", nil)
}
GO
    for oracle in "$GO121" "$GO122" "$GO124" "$GO126" "$GO127"; do
        release=$(basename "$(dirname "$(dirname "$(dirname "$oracle")")")")
        bin="$work/symbols/app-$release"
        (cd "$work/symbols" && "$oracle" build -o "$bin" . && "$oracle" build -ldflags='-s -w' -o "$bin-stripped" .)
        # Build information as this toolchain's own `go version -m` prints it (part 40 covers
        # the shapes of 1.21.13 and 1.22.10 builds).
        for file in "$bin" "$bin-stripped"; do
            [[ $("$oracle" version -m "$file") == "$("$GOSHIFT" inspect --go-version-m "$file")" ]] ||
                fail "go $release: goshift inspect --go-version-m differs from go version -m for $file"
        done
        "$target_dir/release/examples/function_names" "$bin-stripped" >"$bin.names"
        status=0
        "$GOSHIFT" --json vuln check "$bin-stripped" >"$bin.symbol.json" || status=$?
        ((status <= 1)) || fail "vuln check failed on $bin-stripped"
        status=0
        "$GOSHIFT" --json vuln check --module-level "$bin-stripped" >"$bin.module.json" || status=$?
        ((status <= 1)) || fail "vuln check --module-level failed on $bin-stripped"
        result=$(python3 "$rules/symbols.py" "$oracle" "$bin" "$bin.names" "$bin.symbol.json") ||
            fail "go $release: $result"
        counts=$(python3 -c '
import json, sys
symbol, module = (json.load(open(p))["binaries"][0]["findings"] for p in sys.argv[1:3])
key = lambda f: (f["id"], f["module"])
assert {key(f) for f in symbol} <= {key(f) for f in module}, "a symbol-level finding is not a module-level one"
assert all(f["level"] == "module" for f in module)
print(f"{len(symbol)} findings at symbol level, {len(module)} at module level")
' "$bin.symbol.json" "$bin.module.json") || fail "go $release: $counts"
        check "go $release: $result; $counts"
    done
fi

echo "--- symbol-level vulnerabilities against govulncheck (Debian's, on Go 1.19 binaries)"
# Debian's govulncheck reads binaries of Go 1.20 and older and the database layout of early
# 2023 (written from the real database by govulncheck.py). Three programs built by Debian's
# Go 1.19: the standard-library program above; one calling golang.org/x/text/language.Parse
# at v0.3.5 (from a file:// module proxy: the module proxy is not reachable); the same with
# x/text replaced by a fork at the same version, which neither may match by x/text's path.
# Every (advisory, function) pair differing from govulncheck's must be explained in
# go-rules/govulncheck-differences.txt. Costs about 20 s (three small builds).
if [[ ! -f $db/index/db.json || -z ${GO119_ROOT:-} || ! -x ${GO119_ROOT:-}/bin/go ]] || ! command -v govulncheck >/dev/null; then
    [[ -z ${CI:-} ]] || fail "govulncheck comparison impossible: needs the database at $db, golang-1.19-go and govulncheck"
    echo "SKIP: govulncheck comparison not run (needs the database at $db, Debian's golang-1.19-go and govulncheck)" >&2
else
    gv="$work/govulncheck"
    mkdir -p "$gv/std" "$gv/text" "$gv/fork"
    python3 "$rules/govulncheck.py" layout "$db" "$gv/db" >/dev/null
    python3 "$rules/govulncheck.py" proxy "$gv/proxy"
    cp "$work/symbols/main.go" "$gv/std/"
    printf 'module example.com/std\n\ngo 1.19\n' >"$gv/std/go.mod"
    for name in text fork; do
        printf 'module example.com/%s\n\ngo 1.19\n\nrequire golang.org/x/text v0.3.5\n' "$name" >"$gv/$name/go.mod"
        cat >"$gv/$name/main.go" <<'GO'
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse(os.Args[0])
	fmt.Println(tag, err)
}
GO
    done
    printf '\nreplace golang.org/x/text v0.3.5 => example.com/fork/text v0.3.5\n' >>"$gv/fork/go.mod"
    for name in std text fork; do
        (cd "$gv/$name" && PATH="$GO119_ROOT/bin:$PATH" GOROOT="$GO119_ROOT" GOFLAGS=-mod=mod \
            GOPROXY="file://$gv/proxy" GOSUMDB=off GOCACHE="$gv/gocache" "$GO119_ROOT/bin/go" build -o "$gv/$name.bin" .) ||
            fail "Go 1.19 could not build $name"
        # govulncheck runs `go env`: Debian's Go first on PATH. Exit 3 means "found some".
        status=0
        PATH="$GO119_ROOT/bin:$PATH" GOROOT="$GO119_ROOT" GOVULNDB="file://$gv/db" \
            govulncheck -json "$gv/$name.bin" >"$gv/$name.govulncheck.json" || status=$?
        ((status == 0 || status == 3)) || fail "govulncheck failed on $name (exit $status)"
        for level in symbol module; do
            flag=()
            [[ $level == module ]] && flag=(--module-level)
            status=0
            "$GOSHIFT" --json vuln check "${flag[@]}" "$gv/$name.bin" >"$gv/$name.$level.json" || status=$?
            ((status <= 1)) || fail "goshift vuln check ${flag[*]} failed on $name"
        done
        result=$(python3 "$rules/govulncheck.py" compare "$rules/govulncheck-differences.txt" "$name" \
            "$gv/$name.govulncheck.json" "$gv/$name.symbol.json" "$gv/$name.module.json") || fail "$result"
        check "$result"
    done
    python3 - "$gv" <<'PY' || fail "x/text findings"
import json, sys
gv = sys.argv[1]
ids = lambda name: {f["id"] for f in json.load(open(f"{gv}/{name}.symbol.json"))["binaries"][0]["findings"] if f["module"] != "stdlib"}
assert ids("text") == {"GO-2021-0113"}, ids("text")
assert ids("fork") == set(), ids("fork")
PY
    check "x/text v0.3.5: GO-2021-0113 by language.Parse, not GO-2022-1059 (its functions are not linked); nothing for the fork"
fi

echo "part 41: all checks passed"
