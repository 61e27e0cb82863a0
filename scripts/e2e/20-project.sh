#!/usr/bin/env bash
# Part 20: per-project toolchains with real Go.
#
# Two projects, one pinned to 1.21.13 by .go-version and one requiring 1.22 by go.mod:
# `go version` and `go build` through the proxy pick the right toolchain in each, and each
# built binary's embedded Go version proves it. Then: Go's own GOTOOLCHAIN=auto switching
# agrees with goshift's choice, GOTOOLCHAIN overrides, and Go's selection rules (toolchain
# default, malformed go.mod files, GOTOOLCHAIN from `go env -w`, `go -C`, Go's refusals, the
# visible substitution of go1.22.0) give what real go gives; `goshift mod --json` reads
# go.mod files exactly as `go mod edit -json` does.
set -euo pipefail

: "${GOSHIFT:?}" "${E2E_DIR:?}" "${REPO:?}" "${GOROOT_121:?}" "${GOROOT_122:?}" "${GO121:?}" "${GO122:?}"

# shellcheck source=store-lib.sh
source "$REPO/scripts/e2e/store-lib.sh"

dir="$E2E_DIR/project"
store_setup "$dir"
for name in go gofmt go1.21.13 go1.22.10; do
    [[ -L $GOSHIFT_HOME/bin/$name ]] || fail "the store did not create the proxy bin/$name"
done
export PATH="$GOSHIFT_HOME/bin:$PATH"
expect_eq "go on PATH" "$(command -v go)" "$GOSHIFT_HOME/bin/go"
# The shipped build is static on Linux with glibc (scripts/build.sh), so no `go` command pays
# for the dynamic loader.
if [[ $(rustc -vV | sed -n 's/^host: //p') == *-linux-gnu* ]]; then
    ! readelf -lW "$GOSHIFT" | grep -q 'Requesting program interpreter' ||
        fail "$GOSHIFT is dynamically linked; build it with scripts/build.sh"
    check "goshift is a static executable"
fi

echo "--- two projects"
mkdir -p "$dir/old" "$dir/new"
cat >"$dir/old/go.mod" <<'MOD'
module example.com/old

go 1.21
MOD
echo "1.21.13" >"$dir/old/.go-version"
cat >"$dir/new/go.mod" <<'MOD'
module example.com/new

go 1.22
MOD
for project in old new; do
    cat >"$dir/$project/main.go" <<'GO'
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Println(runtime.Version())
}
GO
done
# Range over an integer exists from Go 1.22 only: go1.21.13 cannot build this project.
cat >"$dir/new/count.go" <<'GO'
package main

func count() (n int) {
	for range 3 {
		n++
	}
	return n
}

var _ = count
GO

cd "$dir/old"
expect_eq "old: go version" "$(go version)" "go version go1.21.13 linux/amd64"
expect_eq "old: goshift current" "$("$GOSHIFT" current)" "go1.21.13 (pinned in ./.go-version)"
go build -o "$dir/old.bin" .
expect_eq "old: built binary's Go version (go version FILE)" "$(cd "$dir" && GOTOOLCHAIN=local "$GO122" version "$dir/old.bin")" "$dir/old.bin: go1.21.13"
expect_eq "old: built binary runs" "$("$dir/old.bin")" "go1.21.13"

cd "$dir/new"
expect_eq "new: go version" "$(go version)" "go version go1.22.10 linux/amd64"
current=$("$GOSHIFT" current)
[[ $current == "go1.22.10 (go 1.22 minimum in ./go.mod"* ]] || fail "new: goshift current said \`$current\`"
check "new: goshift current: $current"
go build -o "$dir/new.bin" .
expect_eq "new: built binary's Go version (go version FILE)" "$(cd "$dir" && GOTOOLCHAIN=local "$GO121" version "$dir/new.bin")" "$dir/new.bin: go1.22.10"
expect_eq "new: built binary runs" "$("$dir/new.bin")" "go1.22.10"
expect_eq "new: goshift which" "$("$GOSHIFT" which)" "$GOSHIFT_HOME/toolchains/go1.22.10/bin/go"
if GOTOOLCHAIN=local GOSHIFT_GO_VERSION=1.21.13 go build -o /dev/null . 2>"$dir/refused.txt"; then
    fail "go1.21.13 built a module that says go 1.22"
fi
grep -q "go.mod requires go >= 1.22" "$dir/refused.txt" || fail "unexpected refusal: $(cat "$dir/refused.txt")"
check "new: go1.21.13 itself refuses the module (so the proxy's choice matters)"

echo "--- GOTOOLCHAIN"
cd "$dir/old"
expect_eq "GOTOOLCHAIN=go1.22.10 overrides .go-version" "$(GOTOOLCHAIN=go1.22.10 go version)" "go version go1.22.10 linux/amd64"
expect_eq "the proxy passes GOTOOLCHAIN=local to Go" "$(go env GOTOOLCHAIN)" "local"
expect_eq "the proxy sets GOROOT to the chosen toolchain" "$(go env GOROOT)" "$GOSHIFT_HOME/toolchains/go1.21.13"
expect_eq "go1.22.10 by name" "$(go1.22.10 version)" "go version go1.22.10 linux/amd64"

echo "--- Go's own switching agrees"
mkdir -p "$dir/pinned-toolchain"
cd "$dir/pinned-toolchain"
printf 'module example.com/t\n\ngo 1.21.0\n\ntoolchain go1.22.10\n' >go.mod
# Real go1.21.13 with GOTOOLCHAIN=auto switches to the toolchain line, finding `go1.22.10` on
# PATH (goshift's proxy name) without any download.
expect_eq "go1.21.13 with GOTOOLCHAIN=auto" "$(GOTOOLCHAIN=auto "$GO121" version)" "go version go1.22.10 linux/amd64"
expect_eq "goshift's choice" "$(go version)" "go version go1.22.10 linux/amd64"
printf 'module example.com/t\n\ngo 1.21.0\n\ntoolchain default\n' >go.mod
expect_eq "toolchain default: go1.21.13 stays" "$(GOTOOLCHAIN=auto "$GO121" version)" "go version go1.21.13 linux/amd64"
expect_eq "toolchain default: goshift stays on the GOTOOLCHAIN floor" "$(GOTOOLCHAIN=go1.21.13+auto go version)" "go version go1.21.13 linux/amd64"
# For `go 1.22` Go would switch to go1.22.0 (not in the store): it says so, offline.
cd "$dir/new"
if GOTOOLCHAIN=auto "$GO121" version >/dev/null 2>"$dir/switch.txt"; then
    fail "go1.21.13 found a go1.22.0 it should not have"
fi
grep -q "go1.22.0" "$dir/switch.txt" || fail "unexpected: $(cat "$dir/switch.txt")"
check "go 1.22: Go wants go1.22.0 ($(head -n1 "$dir/switch.txt")); goshift runs the newest installed 1.22 release instead"

echo "--- Go's selection rules, real go against the proxy"
# Each case runs real go1.21.13 with GOTOOLCHAIN unset, which is `auto` from its go.env (the
# toolchains it may switch to are goshift's go1.22.10 name on PATH), and the proxy, with
# go1.21.13 the default, and compares.
rules="$dir/rules"
mkdir -p "$rules/empty"
cd "$rules/empty"
expect_eq "the default" "$(go version)" "go version go1.21.13 linux/amd64"
# real_and_proxy WHAT DIR [VAR=VALUE...]: both print the same first line and exit status.
real_and_proxy() {
    local what=$1 where=$2
    shift 2
    local real proxy
    real=$(cd "$where" && env "$@" "$GO121" version 2>"$rules/real.err" | head -n1) || true
    proxy=$(cd "$where" && env "$@" go version 2>"$rules/proxy.err" | head -n1) || true
    [[ $real == go\ version* ]] || fail "$what: real go did not run: $real $(cat "$rules/real.err")"
    expect_eq "$what: the proxy runs what real go runs" "$proxy" "$real"
}
mkdir -p "$rules/default" "$rules/bom" "$rules/twice" "$rules/goenv"
printf 'module example.com/d\n\ngo 1.22.10\n\ntoolchain default\n' >"$rules/default/go.mod"
real_and_proxy "toolchain default with go 1.22.10" "$rules/default"
# A go.mod that does not parse: Go's switch reads its first go line; the toolchain reports it.
printf '\xef\xbb\xbfmodule example.com/b\n\ngo 1.22.10\n' >"$rules/bom/go.mod"
real_and_proxy "go.mod with a byte-order mark" "$rules/bom"
grep -q "running go1.22.10" "$rules/proxy.err" || fail "no warning naming the toolchain: $(cat "$rules/proxy.err")"
printf 'module example.com/t\n\ngo 1.21.0\ngo 1.21.1\n' >"$rules/twice/go.mod"
real_and_proxy "go.mod with two go lines" "$rules/twice"
real_build=$(cd "$rules/twice" && "$GO121" build ./... 2>&1) && fail "real go built a broken module"
proxy_build_err=$(cd "$rules/twice" && go build ./... 2>&1 >/dev/null | grep -v '^warning: ') || true
expect_eq "two go lines: go build reports what real go reports" "$proxy_build_err" "$real_build"
# GOTOOLCHAIN written by `go env -w` into Go's env file.
GOENV="$rules/goenv/env" GOTOOLCHAIN=local "$GO121" env -w GOTOOLCHAIN=go1.22.10
real_and_proxy "GOTOOLCHAIN from go env -w" "$rules/empty" GOENV="$rules/goenv/env"
real_and_proxy "the environment wins over go env -w" "$rules/empty" GOENV="$rules/goenv/env" GOTOOLCHAIN=go1.21.13
# go -C DIR chooses for DIR.
cd "$dir"
expect_eq "go -C pinned-toolchain" "$(go -C pinned-toolchain version)" "$("$GO121" -C pinned-toolchain version)"
# What Go refuses, the proxy refuses with Go's reason.
refused() {
    local what=$1 reason=$2
    shift 2
    local real proxy
    real=$(cd "$rules/empty" && env "$@" "$GO121" version 2>&1) && fail "$what: real go ran"
    proxy=$(cd "$rules/empty" && env "$@" go version 2>&1) && fail "$what: the proxy ran"
    [[ $real == *"$reason"* ]] || fail "$what: real go said: $real"
    [[ $proxy == *"$reason"* ]] || fail "$what: the proxy said: $proxy"
    check "$what: both refuse ($reason)"
}
refused "GOTOOLCHAIN=go1.22" "go1.22 is a language version but not a toolchain version (go1.22.x)" GOTOOLCHAIN=go1.22
refused "relative GOWORK" "invalid GOWORK" GOWORK=ws/go.work
status=0
real=$(cd "$rules/empty" && GOTOOLCHAIN="go1.22.10 " "$GO121" version 2>&1) || status=$?
((status != 0)) || fail "real go ran with GOTOOLCHAIN='go1.22.10 '"
status=0
proxy=$(cd "$rules/empty" && GOTOOLCHAIN="go1.22.10 " go version 2>&1) || status=$?
((status != 0)) || fail "the proxy ran with GOTOOLCHAIN='go1.22.10 '"
check "GOTOOLCHAIN with a trailing blank: both refuse (real: $real; proxy: ${proxy%%$'\n'*})"
# `go 1.22` makes Go want go1.22.0; goshift substitutes go1.22.10 and says so.
cd "$dir/new"
expect_eq "substitution is visible" "$("$GOSHIFT" current)" "go1.22.10 (go 1.22 minimum in ./go.mod; Go would run go1.22.0, running the newest installed match)"
"$GOSHIFT" config set toolchain_selection exact
status=0
go version >/dev/null 2>"$rules/exact.err" || status=$?
((status == 2)) || fail "toolchain_selection = exact ran something else than go1.22.0"
grep -q "goshift install 1.22.0" "$rules/exact.err" || fail "unexpected: $(cat "$rules/exact.err")"
check "toolchain_selection = exact: asks for go1.22.0 as Go does"
"$GOSHIFT" config unset toolchain_selection

echo "--- goshift each"
cd "$dir/old"
"$GOSHIFT" each --installed -- go version | tee "$dir/each.txt"
grep -Eq '^1\.21\.13 +0 ' "$dir/each.txt" || fail "no 1.21.13 row"
grep -Eq '^1\.22\.10 +0 ' "$dir/each.txt" || fail "no 1.22.10 row"

echo "--- go.mod parsing against go mod edit -json"
mkdir -p "$dir/parse"
cat >"$dir/parse/go.mod" <<'MOD'
// Deprecated: use example.com/parse/v2 instead.
module example.com/parse

go 1.21.5

toolchain go1.22.10

require (
	example.com/direct v1.2.3
	example.com/legacy v4.1.2+incompatible // indirect
	"example.com/quoted" v0.0.0-20200722182040-012345abcdef // indirect
)

require example.com/single v0.1.0

exclude example.com/direct v1.2.2

replace (
	example.com/legacy => ../legacy
	example.com/single v0.1.0 => example.com/fork v0.1.1
)

// Published too early.
retract v0.9.0

retract [v0.5.0, v0.5.9] // Data race in the cache.
MOD
normalize() {
    python3 -c '
import json, sys
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if x not in (None, "", [], {}, False)}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v
print(json.dumps(clean(json.load(sys.stdin)), sort_keys=True, indent=1))
'
}
for file in "$dir/parse/go.mod" "$dir/old/go.mod" "$dir/new/go.mod" "$dir/pinned-toolchain/go.mod"; do
    cd "$(dirname "$file")"
    GOTOOLCHAIN=local "$GO122" mod edit -json | normalize >"$dir/expected.json"
    "$GOSHIFT" mod --json | normalize >"$dir/actual.json"
    if ! diff -u "$dir/expected.json" "$dir/actual.json"; then
        fail "goshift mod --json differs from go mod edit -json for $file"
    fi
    check "goshift mod --json == go mod edit -json for ${file#"$dir"/}"
done

echo "part 20: all checks passed"
