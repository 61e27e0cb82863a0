#!/usr/bin/env bash
# Shared by the parts that work with a goshift store of their own holding the real Go
# 1.21.13 and 1.22.10 (20-project.sh, 45-impact.sh). Source it; it defines `fail`, `check`
# and `expect_eq` for the part, and `store_setup`.
#
# Needs: GOSHIFT, INDEX_URL and MIRROR_URL (the local mirror, scripts/e2e/mirror.sh).

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
check() {
    echo "ok: $*"
}
# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
    [[ $2 == "$3" ]] || fail "$1: expected \`$3\`, got \`$2\`"
    check "$1: \`$2\`"
}

# store_setup DIR: DIR afresh with its own goshift home, config directory and user home, Go's
# caches inside it, no Go selection inherited from the caller, the local mirror as the
# download source, and Go 1.21.13 and 1.22.10 installed with `goshift install`.
store_setup() {
    local dir=$1
    rm -rf "$dir"
    mkdir -p "$dir/user" "$dir/config"
    export GOSHIFT_HOME="$dir/home" XDG_CONFIG_HOME="$dir/config" HOME="$dir/user"
    export GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOCACHE="$dir/gocache" GOPATH="$dir/gopath" GOENV=off
    export GOSHIFT_INDEX_URL="${INDEX_URL:?}" GOSHIFT_MIRROR="${MIRROR_URL:?}"
    unset GOTOOLCHAIN GOROOT GOWORK GOSHIFT_GO_VERSION
    echo "--- store: goshift install 1.21.13 and 1.22.10 from the local mirror"
    "${GOSHIFT:?}" install 1.21.13
    "$GOSHIFT" install 1.22.10
}
