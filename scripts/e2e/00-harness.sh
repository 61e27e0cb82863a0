#!/usr/bin/env bash
# Part 00: the harness itself. The mirror serves a parseable go.dev index whose hashes and sizes
# match the served archives, the archives look like go.dev's, and the real Go trees work offline.
set -euo pipefail

: "${GOSHIFT:?} ${E2E_DIR:?} ${MIRROR_URL:?} ${INDEX_URL:?} ${GO121:?} ${GO122:?}"
dir="$E2E_DIR/harness"
mkdir -p "$dir"

check() {
    echo "check: $*"
}

check "the release binary runs"
"$GOSHIFT" --version

check "the index at $INDEX_URL parses and lists both releases, newest first"
curl --silent --show-error --fail --max-time 30 --output "$dir/index.json" "$INDEX_URL"
python3 - "$dir/index.json" >"$dir/files.txt" <<'EOF'
import json, sys
releases = json.load(open(sys.argv[1]))
versions = [release["version"] for release in releases]
assert versions == ["go1.22.10", "go1.21.13"], f"unexpected releases: {versions}"
for release in releases:
    assert release["stable"] is True, release["version"]
    for file in release["files"]:
        for key in ("filename", "os", "arch", "version", "sha256", "size", "kind"):
            assert key in file, f"{release['version']}: file entry without `{key}`"
        assert file["version"] == release["version"], file
        assert (file["os"], file["arch"], file["kind"]) == ("linux", "amd64", "archive"), file
        assert len(file["sha256"]) == 64, file
        print(file["filename"], file["sha256"], file["size"])
EOF

while read -r filename sha256 size; do
    check "$filename is served with the index's sha256 and size"
    curl --silent --show-error --fail --max-time 120 --output "$dir/$filename" "$MIRROR_URL$filename"
    actual_sha=$(sha256sum "$dir/$filename" | cut -d' ' -f1)
    actual_size=$(stat -c %s "$dir/$filename")
    [[ $actual_sha == "$sha256" ]] || { echo "sha256 $actual_sha, index says $sha256" >&2; exit 1; }
    [[ $actual_size == "$size" ]] || { echo "size $actual_size, index says $size" >&2; exit 1; }

    check "$filename has one top-level go/, owner root, go.dev modes, an executable bin/go"
    tar -tvzf "$dir/$filename" >"$dir/listing.txt"
    awk '
        $6 !~ /^go\// { print "outside go/: " $6; bad = 1 }
        $2 != "root/root" { print "owner " $2 ": " $6; bad = 1 }
        $1 !~ /^(drwxr-xr-x|-rw-r--r--|-rwxr-xr-x)$/ { print "mode " $1 ": " $6; bad = 1 }
        $6 == "go/bin/go" && $1 == "-rwxr-xr-x" { go = 1 }
        END { if (!go) print "go/bin/go is missing or not executable"; exit bad || !go }
    ' "$dir/listing.txt"
    rm "$dir/$filename"
done <"$dir/files.txt"

check "the Go trees report their versions"
"$GO122" version | tee "$dir/go122.txt"
grep -q '^go version go1.22.10 linux/amd64$' "$dir/go122.txt"
"$GO121" version | tee "$dir/go121.txt"
grep -q '^go version go1.21.13 linux/amd64$' "$dir/go121.txt"
[[ $("$GO122" env GOROOT) == "$GOROOT_122" ]]
if [[ -n ${GO119_ROOT:-} ]]; then
    "$GO119_ROOT/bin/go" version | tee "$dir/go119.txt"
    grep -q '^go version go1.19' "$dir/go119.txt"
fi

check "a hello world builds and runs offline with each toolchain"
mkdir -p "$dir/hello"
cat >"$dir/hello/go.mod" <<'EOF'
module example.com/hello

go 1.21
EOF
cat >"$dir/hello/main.go" <<'EOF'
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Println("hello from", runtime.Version())
}
EOF
for go in "$GO121" "$GO122"; do
    version=$("$go" env GOVERSION)
    (
        cd "$dir/hello"
        env GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOSUMDB=off \
            GOCACHE="$dir/gocache" GOPATH="$dir/gopath" \
            "$go" build -o "$dir/hello-$version" .
    )
    output=$("$dir/hello-$version")
    echo "$output"
    [[ $output == "hello from $version" ]]
done

echo "harness ok"
