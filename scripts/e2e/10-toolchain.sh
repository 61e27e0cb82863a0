#!/usr/bin/env bash
# Part 10: the toolchain store with real Go toolchains from the local mirror. Installs 1.21.13
# and 1.22.10 with their real smoke tests, switches between them and builds a program with
# each, walks the history back, verifies the trees (and catches tampering in a copy), imports
# Debian's Go 1.19 when present, uninstalls and prunes.
set -euo pipefail

: "${GOSHIFT:?} ${E2E_DIR:?} ${MIRROR_URL:?} ${INDEX_URL:?}"
dir="$E2E_DIR/toolchain"
rm -rf "$dir"
mkdir -p "$dir"
export GOSHIFT_HOME="$dir/home"
export GOSHIFT_INDEX_URL="$INDEX_URL"
export GOSHIFT_MIRROR="$MIRROR_URL"
export GOSHIFT_LOCK_TIMEOUT=60s
export NO_COLOR=1
# Building with the installed toolchains: offline, no toolchain switching, caches here.
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
export GOCACHE="$dir/gocache" GOPATH="$dir/gopath"

check() {
    echo "check: $*"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Runs goshift, keeping its output in $out and $err.
run() {
    out=$("$GOSHIFT" "$@" 2>"$dir/stderr") || {
        local status=$?
        cat "$dir/stderr" >&2
        fail "goshift $* exited with $status"
    }
    err=$(<"$dir/stderr")
}

expect() {
    local name=$1 actual=$2 expected=$3
    [[ $actual == "$expected" ]] || fail "$name: expected [$expected], got [$actual]"
}

# Builds and runs a hello program with the default toolchain; prints its output.
hello_with_default() {
    local module="$dir/hello"
    rm -rf "$module"
    mkdir -p "$module"
    printf 'module example.com/hello\n\ngo 1.21\n' >"$module/go.mod"
    cat >"$module/main.go" <<'GO'
package main

import (
	"fmt"
	"runtime"
)

func main() { fmt.Println("hello from", runtime.Version()) }
GO
    (cd "$module" && "$GOSHIFT_HOME/default/bin/go" build -o "$dir/hello-bin" .)
    "$dir/hello-bin"
}

check "two real toolchains install in parallel, each smoke-tested"
run install 1.21.13 1.22.10
grep -q '^Smoke-testing go1.21.13$' <<<"$err" || fail "no smoke test of 1.21.13: $err"
grep -q '^Smoke-testing go1.22.10$' <<<"$err" || fail "no smoke test of 1.22.10: $err"
grep -q '^Default is now go1.21.13 (there was none)$' <<<"$err" || fail "no default: $err"
for version in 1.21.13 1.22.10; do
    grep -q '"smoke_test": "passed"' "$GOSHIFT_HOME/manifests/go$version.json" ||
        fail "the manifest of $version does not record a passed smoke test"
done
[[ -z $(ls -A "$GOSHIFT_HOME/staging") ]] || fail "staging is not empty: $(ls -A "$GOSHIFT_HOME/staging")"

check "list shows both, the first asked as default"
run list
expect "list" "$out" $'go1.22.10\ngo1.21.13  (default)'

check "an installed version is a success with a note"
run install 1.22
grep -q 'go1.22.10 is already installed' <<<"$err" || fail "$err"

check "the default builds and runs a program with go1.21.13"
expect "hello" "$(hello_with_default)" "hello from go1.21.13"

check "use switches the default; the program now builds with go1.22.10"
run use 1.22
expect "use" "$err" "Default is now go1.22.10 (was go1.21.13)"
expect "hello" "$(hello_with_default)" "hello from go1.22.10"
# Go finds its GOROOT from its real path, behind the `default` link.
expect "GOROOT" "$("$GOSHIFT_HOME/default/bin/go" env GOROOT)" "$GOSHIFT_HOME/toolchains/go1.22.10"

check "bin/ holds the proxy links for every installed version"
expect "bin" "$(cd "$GOSHIFT_HOME/bin" && ls)" $'go\ngo1.21.13\ngo1.22.10\ngofmt'

check "history numbers the switches"
run history
[[ $(wc -l <<<"$out") == 2 ]] || fail "history: $out"
grep -q '^  2  .*  use        go1.21.13 -> go1.22.10$' <<<"$out" || fail "history: $out"

check "rollback returns to go1.21.13, and rollback --to 2 forward again"
run rollback
# The first line says what happened; the next says what a second rollback would do.
expect "rollback" "${err%%$'\n'*}" "Rolled back the default: go1.22.10 -> go1.21.13"
[[ $err == *"A second \`goshift rollback\` undoes this one (back to go1.22.10)"* ]] ||
    fail "rollback does not say what a second rollback does: [$err]"
expect "hello" "$(hello_with_default)" "hello from go1.21.13"
run rollback --to 2
expect "rollback --to" "${err%%$'\n'*}" "Rolled back the default: go1.21.13 -> go1.22.10"

check "env puts the proxies first, as init does; --default-toolchain the default's bin"
run env
(
    unset GOROOT
    eval "$out"
    expect "go on PATH" "$(command -v go)" "$GOSHIFT_HOME/bin/go"
    expect "GOROOT" "${GOROOT-unset}" "unset"
    expect "go version" "$(go version | cut -d' ' -f3)" "go1.22.10"
) || exit 1
run env --default-toolchain
(
    eval "$out"
    expect "go on PATH" "$(command -v go)" "$GOSHIFT_HOME/default/bin/go"
    expect "go version" "$(go version | cut -d' ' -f3)" "go1.22.10"
) || exit 1

check "verify re-hashes every file of both trees"
run verify
grep -q '^go1.21.13: ok (' <<<"$out" || fail "verify: $out"
grep -q '^go1.22.10: ok (' <<<"$out" || fail "verify: $out"

check "verify fails on a tampered copy of the store, naming the files"
copy="$dir/tampered"
mkdir -p "$copy/toolchains" "$copy/manifests"
cp -al "$GOSHIFT_HOME/toolchains/go1.22.10" "$copy/toolchains/"
cp "$GOSHIFT_HOME/manifests/go1.22.10.json" "$copy/manifests/"
# Replace, never write through, the hard-linked files.
rm "$copy/toolchains/go1.22.10/src/fmt/print.go"
echo 'package fmt' >"$copy/toolchains/go1.22.10/src/fmt/print.go"
rm "$copy/toolchains/go1.22.10/VERSION"
status=0
out=$(GOSHIFT_HOME="$copy" "$GOSHIFT" verify 1.22.10) || status=$?
expect "verify status" "$status" 1
grep -q '^go1.22.10: 2 differences$' <<<"$out" || fail "verify: $out"
grep -q '^  missing  VERSION$' <<<"$out" || fail "verify: $out"
grep -q '^  changed  src/fmt/print.go ' <<<"$out" || fail "verify: $out"
run verify 1.22.10

if [[ -n ${GO119_ROOT:-} ]]; then
    check "import copies Debian's Go 1.19 from $GO119_ROOT and smoke-tests it"
    run import "$GO119_ROOT"
    version=$(head -n1 "$GO119_ROOT/VERSION")
    grep -q "^Imported $version into " <<<"$err" || fail "import: $err"
    run verify "${version#go}"
    run use "${version#go}"
    expect "hello" "$(hello_with_default)" "hello from $version"
    run use 1.22.10
    check "uninstall removes it"
    run uninstall "${version#go}"
    expect "uninstall" "$err" "Uninstalled $version"
else
    echo "skip: GO119_ROOT is not set (install golang-1.19-go to test import)"
fi

check "uninstall refuses the default"
status=0
"$GOSHIFT" uninstall 1.22.10 2>"$dir/stderr" || status=$?
expect "uninstall status" "$status" 2
grep -q '^error: go1.22.10 is the default toolchain$' "$dir/stderr" || fail "$(cat "$dir/stderr")"

check "prune --keep 1 removes go1.21.13 and keeps the default"
run prune --keep 1
expect "prune" "$err" "Removed go1.21.13"
run list
expect "list" "$out" "go1.22.10  (default)"
expect "bin" "$(cd "$GOSHIFT_HOME/bin" && ls)" $'go\ngo1.22.10\ngofmt'

check "a reinstall after uninstall comes from the verified cache"
run install --no-smoke-test 1.21.13
grep -q '^Using the cached archive of go1.21.13$' <<<"$err" || fail "$err"
run verify 1.21.13

echo "toolchain store: all checks passed"
