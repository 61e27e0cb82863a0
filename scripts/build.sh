#!/usr/bin/env bash
# Builds goshift the way it ships: the release profile and, on Linux with glibc, a static,
# position-dependent executable (like Go's own `go` binary).
#
# Why: `$GOSHIFT_HOME/bin/go` is goshift, so every `go` command pays for starting it. On Linux
# most of that price is page faults, not goshift's own work (docs/benchmarks.md, "Go proxy"):
# the dynamic loader mapping libc and libgcc_s and resolving symbols, and, for a position-
# independent executable, the start-up code rewriting ~9,000 pointers, one copied page at a
# time. Static and position-dependent, goshift starts about half a millisecond sooner per `go`
# command, which is most of the proxy's overhead. The price is no address randomisation of
# goshift's own code. glibc 2.34 and later carry the `files` and `dns` name services inside
# libc, so downloads resolve host names without loading anything at run time.
#
# `cargo rustc` passes the flag to the goshift binary's own link only: with RUSTFLAGS it would
# reach build scripts and proc-macros too, which cannot be built static on this target.
#
# Usage: scripts/build.sh [CARGO-ARGS...]      e.g. scripts/build.sh --quiet
# The binary is ${CARGO_TARGET_DIR:-target}/release/goshift.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

host=$(rustc -vV | sed -n 's/^host: //p')
link=()
case $host in
*-linux-gnu*) link=(-C target-feature=+crt-static -C relocation-model=static) ;;
esac

cargo rustc --release --locked -p goshift --bin goshift --manifest-path "$REPO/Cargo.toml" "$@" -- "${link[@]}"
