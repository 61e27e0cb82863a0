#!/usr/bin/env bash
# The toolchain store in two minutes: build goshift, serve a local Go mirror, install two real
# Go versions side by side, switch between them, build a program with each, roll back, and
# verify every installed file. Each step prints the command it runs.
#
# Usage: scripts/demo.sh   (needs python3, curl and PyPI access the first time; the Go
# archives are cached in .e2e/cache)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

step() {
    printf '\n\033[1m== %s\033[0m\n' "$*"
}

show() {
    printf '$ %s\n' "$*"
    "$@"
}

step "Build goshift (release)"
show scripts/build.sh --quiet
export PATH="${CARGO_TARGET_DIR:-$REPO/target}/release:$PATH"

step "Serve a local go.dev-style mirror of Go 1.21.13 and 1.22.10"
export E2E_DIR="$REPO/.e2e/demo"
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"
source scripts/e2e/mirror.sh
echo "mirror: $MIRROR_URL"

export GOSHIFT_HOME="$E2E_DIR/home"
export GOSHIFT_INDEX_URL="$INDEX_URL" GOSHIFT_MIRROR="$MIRROR_URL"
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
export GOCACHE="$E2E_DIR/gocache" GOPATH="$E2E_DIR/gopath"

step "What the mirror offers"
show goshift list --remote

step "Install both: streamed, hashed against the index, smoke-tested, published atomically"
show goshift install 1.21.13 1.22.10
show goshift list

program="$E2E_DIR/hello"
mkdir -p "$program"
printf 'module example.com/hello\n\ngo 1.21\n' >"$program/go.mod"
cat >"$program/main.go" <<'GO'
package main

import (
	"fmt"
	"runtime"
)

func main() { fmt.Println("built with", runtime.Version()) }
GO
build_and_run() {
    (cd "$program" && show "$GOSHIFT_HOME/default/bin/go" build -o "$E2E_DIR/hello-bin" . && show "$E2E_DIR/hello-bin")
}

step "Build a program with the default"
build_and_run

step "Switch the default atomically and build again"
show goshift use 1.22
build_and_run

step "The history of switches, and a one-step rollback"
show goshift history
show goshift rollback
build_and_run

step "Re-verify every installed file against its install-time manifest"
show goshift verify

step "Tamper with a file: verify names it and exits 1"
target="$GOSHIFT_HOME/toolchains/go1.22.10/src/fmt/print.go"
cp "$target" "$E2E_DIR/print.go.orig"
chmod u+w "$target"
echo "// tampered" >>"$target"
show goshift verify 1.22.10 || echo "(exit status $?)"
cp "$E2E_DIR/print.go.orig" "$target"
show goshift verify 1.22.10

step "Done: the store lives in $GOSHIFT_HOME"
ls "$GOSHIFT_HOME"
