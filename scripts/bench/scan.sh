#!/usr/bin/env bash
# Benchmark: `goshift scan DIR` against `go version -m DIR` over the same 500 Go binaries,
# measured in the same run. Prints the ratio (goal: goshift at least 5x faster).
#
# Usage: scripts/bench/scan.sh [GOSHIFT] [GO]
#   GOSHIFT  the goshift binary (default target/release/goshift)
#   GO       a Go toolchain's `go` (default: `go` on PATH); its version -m is the baseline.
# The 500 files are hard links to a handful of real Go programs (the Go toolchain's own
# commands), so the tree costs no disk space and both tools read identical bytes.
set -euo pipefail

goshift=${1:-target/release/goshift}
go=${2:-$(command -v go)}
goroot=$("$go" env GOROOT)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sources=()
for file in "$goroot"/bin/* "$goroot"/pkg/tool/*/*; do
	[ -f "$file" ] && [ -x "$file" ] && sources+=("$file")
done
[ "${#sources[@]}" -gt 0 ] || { echo "no Go programs under $goroot" >&2; exit 1; }
mkdir -p "$work/tree"
for i in $(seq 0 499); do
	dir="$work/tree/d$((i % 20))"
	mkdir -p "$dir"
	src=${sources[$((i % ${#sources[@]}))]}
	ln "$src" "$dir/bin$i" 2>/dev/null || cp "$src" "$dir/bin$i"
done
# Non-Go files alongside, as in a real tree.
for i in $(seq 0 199); do printf 'config %s\n' "$i" >"$work/tree/d$((i % 20))/file$i.txt"; done

count=$("$goshift" --json scan "$work/tree" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["binaries"]))')
[ "$count" = 500 ] || { echo "goshift found $count binaries, expected 500" >&2; exit 1; }
baseline=$("$go" version -m "$work/tree" | grep -c '^/')
[ "$baseline" = 500 ] || { echo "go version -m found $baseline binaries, expected 500" >&2; exit 1; }

runs=${RUNS:-5}
measure() { # prints the best wall time in milliseconds of $runs runs
	local best=
	for _ in $(seq "$runs"); do
		local start end
		start=$(date +%s%N)
		"$@" >/dev/null
		end=$(date +%s%N)
		local ms=$(((end - start) / 1000000))
		if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
	done
	echo "$best"
}
# Warm the page cache for both.
"$go" version -m "$work/tree" >/dev/null
"$goshift" scan "$work/tree" >/dev/null 2>&1
go_ms=$(measure "$go" version -m "$work/tree")
goshift_ms=$(measure "$goshift" --quiet scan "$work/tree")
echo "files: 500 Go binaries + 200 text files ($("$go" env GOVERSION) programs, ${#sources[@]} distinct)"
echo "go version -m DIR: ${go_ms} ms (best of $runs)"
echo "goshift scan DIR:  ${goshift_ms} ms (best of $runs)"
python3 -c "import sys; g, s = int(sys.argv[1]), max(int(sys.argv[2]), 1); print(f'ratio: {g / s:.1f}x faster')" "$go_ms" "$goshift_ms"
