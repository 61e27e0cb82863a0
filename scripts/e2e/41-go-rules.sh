#!/usr/bin/env bash
# Part 41: Go's own rules as oracles.
#
# Versions: a Go program using `go/version` (Go 1.22.10; the package is new in 1.22) generates
# about 180,000 version strings and prints, for each, whether it is valid and its language
# version, and for 859 of them how each compares with every other (737,881 pairs); the example
# `version_table` of goshift-version prints the same table from goshift's parser, and the two
# must be identical.
set -euo pipefail

: "${GOSHIFT:?}" "${E2E_DIR:?}" "${REPO:?}" "${GO122:?}"

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

echo "part 41: all checks passed"
