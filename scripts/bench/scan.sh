#!/usr/bin/env bash
# Benchmark: `goshift scan DIR` against two baselines over the same 500 Go binaries, measured
# in the same run: `go version -m DIR` (one Go process walking the tree) and `go version -m
# FILE` once per file (what a shell loop or `find -exec` over a fleet does). Prints both
# ratios (goal: goshift at least 5x faster). RUNS (default 20) sets the alternating runs.
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

runs=${RUNS:-20}
# Warm the page cache for both.
"$go" version -m "$work/tree" >/dev/null
"$goshift" scan "$work/tree" >/dev/null 2>&1
find "$work/tree" -type f -name 'bin*' >"$work/list"
# The two single-process commands take turns (scripts/bench/interleave.py), so a machine
# getting busier or quieter during the run moves both alike; medians are compared.
python3 "$(dirname "$0")/interleave.py" --runs "$runs" --warmup 3 \
	"go=$go version -m $work/tree" "goshift=$goshift --quiet scan $work/tree" >"$work/timing"
read -r go_ms goshift_ms < <(tail -n 1 "$work/timing" |
	python3 -c 'import json,sys; c = json.load(sys.stdin)["commands"]; print(c["go"]["median"], c["goshift"]["median"])')
start=$(date +%s%N)
xargs -n 1 "$go" version -m <"$work/list" >/dev/null
per_file_ms=$((($(date +%s%N) - start) / 1000000))
echo "files: 500 Go binaries + 200 text files ($("$go" env GOVERSION) programs, ${#sources[@]} distinct)"
printf 'go version -m DIR:           %.1f ms (median of %s, alternating)\n' "$go_ms" "$runs"
echo "go version -m FILE, x500:    ${per_file_ms} ms (one run)"
printf 'goshift scan DIR:            %.1f ms (median of %s, alternating)\n' "$goshift_ms" "$runs"
python3 -c "import sys; g, f, s = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(f'ratio vs go version -m DIR: {g / s:.1f}x; vs per-file go version -m: {f / s:.1f}x (goal >= 5x)')" "$go_ms" "$per_file_ms" "$goshift_ms"
