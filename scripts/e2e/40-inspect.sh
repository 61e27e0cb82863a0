#!/usr/bin/env bash
# Part 40: inspection of real Go binaries.
#
# Builds small standard-library programs with real Go 1.21 and 1.22 toolchains in every
# shape the build-info reader must handle (plain, -trimpath, stripped, cgo, cross builds for
# windows/amd64, darwin/arm64, linux/386, aix/ppc64 (XCOFF) and plan9/amd64 (Plan 9 a.out), a
# module with a replace, a git checkout), adds
# the Go programs of Debian's golang-1.19 package, and checks for each that
# `goshift inspect --go-version-m` prints exactly what `go version -m` prints. Then scan,
# SBOM (validated against the CycloneDX schema) and vulnerability sync/check against a
# database directory holding real advisories.
set -euo pipefail

work="$E2E_DIR/inspect"
rm -rf "$work"
mkdir -p "$work/bin" "$work/src"
export GOSHIFT_HOME="$work/home"
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOSUMDB=off
export GOCACHE="$work/gocache" GOPATH="$work/gopath"
ORACLE="${GO122}"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# --- sources -------------------------------------------------------------------------------
mkdir -p "$work/src/lib" "$work/src/app/cmd/app" "$work/src/cgo"
cat >"$work/src/lib/go.mod" <<'GO'
module example.com/lib

go 1.21
GO
cat >"$work/src/lib/lib.go" <<'GO'
package lib

func Greeting() string { return "hello from a replaced module" }
GO
cat >"$work/src/app/go.mod" <<'GO'
module example.com/app

go 1.21

require example.com/lib v1.0.0

replace example.com/lib v1.0.0 => ../lib
GO
cat >"$work/src/app/cmd/app/main.go" <<'GO'
package main

import (
	"fmt"
	"net/http"

	"example.com/lib"
)

func main() {
	fmt.Println(lib.Greeting(), http.StatusOK)
}
GO
mkdir -p "$work/src/hello"
cat >"$work/src/hello/go.mod" <<'GO'
module example.com/hello

go 1.21
GO
cat >"$work/src/hello/main.go" <<'GO'
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
GO
cat >"$work/src/cgo/go.mod" <<'GO'
module example.com/cgo

go 1.21
GO
cat >"$work/src/cgo/main.go" <<'GO'
package main

/*
static int answer(void) { return 42; }
*/
import "C"

import "fmt"

func main() { fmt.Println(C.answer()) }
GO
# A git checkout, so the build records vcs.revision, vcs.time and vcs.modified.
if command -v git >/dev/null; then
	(cd "$work/src/app" && git init -q && git add -A &&
		git -c user.name=e2e -c user.email=e2e@example.com commit -qm init &&
		echo "// dirty" >>cmd/app/main.go)
fi

# --- builds --------------------------------------------------------------------------------
build() { # name go dir [env...] -- [go build flags...]
	local name=$1 go=$2 dir=$3
	shift 3
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	(cd "$dir" && env "${envs[@]}" "$go" build -o "$work/bin/$name" "$@" ./...) ||
		fail "building $name"
}
for pair in "121:$GO121" "122:$GO122"; do
	v=${pair%%:*} go=${pair#*:}
	step "building with $("$go" env GOVERSION)"
	build "app-$v" "$go" "$work/src/app/cmd/app" CGO_ENABLED=0 --
	build "app-trimpath-$v" "$go" "$work/src/app/cmd/app" CGO_ENABLED=0 -- -trimpath
	build "app-stripped-$v" "$go" "$work/src/app/cmd/app" CGO_ENABLED=0 -- -ldflags=-s\ -w
	build "app-windows-$v.exe" "$go" "$work/src/app/cmd/app" CGO_ENABLED=0 GOOS=windows GOARCH=amd64 --
	build "app-darwin-arm64-$v" "$go" "$work/src/app/cmd/app" CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 --
	build "app-386-$v" "$go" "$work/src/app/cmd/app" CGO_ENABLED=0 GOOS=linux GOARCH=386 --
	# XCOFF and Plan 9 a.out: a small program, so few standard packages are compiled anew.
	build "hello-aix-ppc64-$v" "$go" "$work/src/hello" CGO_ENABLED=0 GOOS=aix GOARCH=ppc64 --
	build "hello-plan9-amd64-$v" "$go" "$work/src/hello" CGO_ENABLED=0 GOOS=plan9 GOARCH=amd64 --
	build "cgo-$v" "$go" "$work/src/cgo" CGO_ENABLED=1 --
	build "app-cgo-$v" "$go" "$work/src/app/cmd/app" CGO_ENABLED=1 --
done

# --- go version -m oracle ------------------------------------------------------------------
compare() {
	local file=$1
	local expected actual
	expected=$("$ORACLE" version -m "$file") || fail "go version -m $file"
	actual=$("$GOSHIFT" inspect --go-version-m "$file") || fail "goshift inspect --go-version-m $file"
	if [ "$expected" != "$actual" ]; then
		diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") >&2 || true
		fail "go version -m differs for $file"
	fi
}
count=0
for file in "$work"/bin/*; do
	compare "$file"
	count=$((count + 1))
done
step "go version -m matches byte for byte for $count freshly built binaries"
grep -q "=>	../lib	(devel)	" <("$GOSHIFT" inspect --go-version-m "$work/bin/app-122") ||
	fail "the replace directive is missing from app-122"
grep -q "vcs.modified=true" <("$GOSHIFT" inspect --go-version-m "$work/bin/app-122") ||
	fail "the dirty git checkout is not recorded"

debian=0
if [ -n "${GO119_ROOT:-}" ] && [ -d "$GO119_ROOT" ]; then
	for file in "$GO119_ROOT"/bin/* "$GO119_ROOT"/pkg/tool/linux_amd64/*; do
		[ -f "$file" ] || continue
		compare "$file"
		debian=$((debian + 1))
	done
	step "go version -m matches byte for byte for $debian Go programs from Debian's golang-1.19"
fi

# Build IDs agree with `go tool buildid`.
for file in "$work/bin/app-122" "$work/bin/app-windows-122.exe" "$work/bin/app-darwin-arm64-122"; do
	expected=$("$GO122" tool buildid "$file")
	actual=$("$GOSHIFT" --json inspect "$file" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["build_info"]["build_id"])')
	[ "$expected" = "$actual" ] || fail "build ID of $file: go says $expected, goshift says $actual"
done
step "build IDs match go tool buildid (ELF note, PE and Mach-O text markers)"

# Not a Go binary: a clear message and exit status 1.
printf 'not a binary\n' >"$work/plain.txt"
if "$GOSHIFT" inspect "$work/plain.txt" 2>"$work/err.txt"; then fail "a text file was accepted"; fi
grep -q "not a Go binary" "$work/err.txt" || fail "no clear message for a text file"

# --- scan ----------------------------------------------------------------------------------
cp "$work/plain.txt" "$work/bin/"
ln -s /usr/bin "$work/bin/outside-link"
"$GOSHIFT" --json scan "$work/bin" >"$work/scan.json"
python3 - "$work/scan.json" "$count" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
expected = int(sys.argv[2])
rows = report["binaries"]
assert len(rows) == expected, (len(rows), expected)
assert report["symlinks_skipped"] == 1, report["symlinks_skipped"]
by_name = {r["path"].rsplit("/", 1)[1]: r for r in rows}
assert by_name["app-windows-122.exe"]["goos"] == "windows"
assert by_name["app-darwin-arm64-122"]["goarch"] == "arm64"
assert by_name["app-386-121"]["goarch"] == "386"
assert by_name["cgo-122"]["cgo"] is True
assert by_name["app-122"]["main_module"] == "example.com/app"
PY
step "scan found all $count binaries, skipped the text file and did not follow the symlink"

# Symbolic links to Go binaries: inside the tree reported once by the target; outside (the
# real go of Go 1.22.10) only with --follow.
mkdir -p "$work/links"
ln -s ../bin/app-122 "$work/links/app"
ln -s "$GO122" "$work/links/go"
"$GOSHIFT" --json scan "$work/bin" "$work/links" >"$work/scan-links.json"
"$GOSHIFT" --json scan --follow "$work/links" >"$work/scan-follow.json"
python3 - "$work" "$count" "$(readlink -f "$GO122")" <<'PY'
import json, os, sys
work, expected, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
report = json.load(open(f"{work}/scan-links.json"))
rows = {r["path"]: r for r in report["binaries"]}
assert len(rows) == expected, (len(rows), expected)
assert rows[f"{work}/bin/app-122"]["links"] == [f"{work}/links/app"], rows[f"{work}/bin/app-122"]
assert report["links_outside_not_followed"] == 1, report
followed = json.load(open(f"{work}/scan-follow.json"))
paths = sorted(r["path"] for r in followed["binaries"])
assert paths == sorted([go, os.path.realpath(f"{work}/bin/app-122")]), paths
go_row = next(r for r in followed["binaries"] if r["path"] == go)
assert go_row["links"] == [f"{work}/links/go"], go_row
assert go_row["version"] == "1.22.10", go_row
PY
step "scan reports a linked binary once by its target, and reads one outside the tree with --follow"

# --- SBOM ----------------------------------------------------------------------------------
if ! python3 -c 'import cyclonedx.validation.json' 2>/dev/null; then
	python3 -m venv "$work/venv"
	"$work/venv/bin/pip" install --quiet 'cyclonedx-python-lib[json-validation]'
	PY="$work/venv/bin/python"
else
	PY=python3
fi
for spec in 1.5 1.6; do
	for file in app-122 app-windows-121.exe cgo-122; do
		"$GOSHIFT" sbom "$work/bin/$file" --spec "$spec" -o "$work/$file-$spec.cdx.json"
		"$PY" - "$work/$file-$spec.cdx.json" "$spec" <<'PY'
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
path, spec = sys.argv[1], sys.argv[2]
version = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[spec]
text = open(path).read()
error = JsonStrictValidator(version).validate_str(text)
if error is not None:
    sys.exit(f"{path}: {error}")
doc = json.loads(text)
names = [c["name"] for c in doc["components"]]
assert "stdlib" in names, names
PY
	done
done
# Binaries without a `mod` line: GOROOT's own `go`, a `go build FILE.go` build
# (command-line-arguments) with a dependency, and Debian's GOPATH-mode gofmt.
(cd "$work/src/app" && "$ORACLE" build -o "$work/bin/files-122" ./cmd/app/main.go)
! "$ORACLE" version -m "$work/bin/files-122" | grep -q "^	mod	" || fail "files-122 has a mod line"
nomod=("$GOROOT_122/bin/go" "$work/bin/files-122")
if [ -n "${GO119_ROOT:-}" ] && [ -x "$GO119_ROOT/bin/gofmt" ]; then
	nomod+=("$GO119_ROOT/bin/gofmt")
fi
for binary in "${nomod[@]}"; do
	out="$work/nomod-$(basename "$binary").cdx.json"
	"$GOSHIFT" sbom "$binary" --spec 1.6 -o "$out"
	"$PY" - "$out" "$binary" "$ORACLE" <<'PY'
import json, subprocess, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
path, binary, oracle = sys.argv[1:4]
text = open(path).read()
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
if error is not None:
    sys.exit(f"{path}: {error}")
doc = json.loads(text)
lines = subprocess.run([oracle, "version", "-m", binary], capture_output=True, text=True, check=True).stdout.splitlines()
package = next(l.split("\t")[2] for l in lines if l.startswith("\tpath\t"))
deps = sorted(l.split("\t")[2] for l in lines if l.startswith("\tdep\t"))
assert doc["metadata"]["component"]["name"] == package, (doc["metadata"]["component"], package)
names = sorted(c["name"] for c in doc["components"] if c["name"] != "stdlib")
assert names == deps, (names, deps)
PY
done
step "SBOMs validate against the CycloneDX 1.5 and 1.6 schemas, also for ${#nomod[@]} binaries without a mod line"

# --- vulnerability database ----------------------------------------------------------------
db="$work/vulndb"
mkdir -p "$db/index" "$db/ID"
cat >"$db/index/db.json" <<'JSON'
{"modified":"2024-05-01T12:00:00Z"}
JSON
cat >"$db/index/modules.json" <<'JSON'
[{"path":"stdlib","vulns":[{"id":"GO-2023-2102","modified":"2024-05-01T12:00:00Z","fixed":"1.21.3"},{"id":"GO-2024-2687","modified":"2024-05-01T12:00:00Z","fixed":"1.22.2"}]},
 {"path":"golang.org/x/net","vulns":[{"id":"GO-2023-2102","modified":"2024-05-01T12:00:00Z","fixed":"0.17.0"},{"id":"GO-2024-2687","modified":"2024-05-01T12:00:00Z","fixed":"0.23.0"}]},
 {"path":"toolchain","vulns":[{"id":"GO-2023-2095","modified":"2024-05-01T12:00:00Z","fixed":"1.21.2"}]}]
JSON
cat >"$db/ID/GO-2023-2102.json" <<'JSON'
{"schema_version":"1.3.1","id":"GO-2023-2102","modified":"2024-05-01T12:00:00Z","published":"2023-10-11T22:14:00Z",
 "aliases":["CVE-2023-44487","CVE-2023-39325","GHSA-4374-p667-p6c8"],
 "summary":"HTTP/2 rapid reset can cause excessive work in net/http",
 "affected":[{"package":{"name":"stdlib","ecosystem":"Go"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.20.10"},{"introduced":"1.21.0-0"},{"fixed":"1.21.3"}]}],
   "ecosystem_specific":{"imports":[{"path":"net/http","symbols":["ListenAndServe","Serve","Server.Serve"]}]}},
  {"package":{"name":"golang.org/x/net","ecosystem":"Go"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.17.0"}]}],
   "ecosystem_specific":{"imports":[{"path":"golang.org/x/net/http2","symbols":["Server.ServeConn"]}]}}],
 "references":[{"type":"REPORT","url":"https://go.dev/issue/63417"}],
 "database_specific":{"url":"https://pkg.go.dev/vuln/GO-2023-2102"}}
JSON
cat >"$db/ID/GO-2024-2687.json" <<'JSON'
{"schema_version":"1.3.1","id":"GO-2024-2687","modified":"2024-05-01T12:00:00Z","published":"2024-04-03T21:12:01Z",
 "aliases":["CVE-2023-45288","GHSA-4v7x-pqxf-cx7m"],
 "summary":"HTTP/2 CONTINUATION flood in net/http",
 "affected":[{"package":{"name":"stdlib","ecosystem":"Go"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.21.9"},{"introduced":"1.22.0-0"},{"fixed":"1.22.2"}]}],
   "ecosystem_specific":{"imports":[{"path":"net/http"}]}},
  {"package":{"name":"golang.org/x/net","ecosystem":"Go"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.23.0"}]}],
   "ecosystem_specific":{"imports":[{"path":"golang.org/x/net/http2"}]}}],
 "database_specific":{"url":"https://pkg.go.dev/vuln/GO-2024-2687"}}
JSON
cat >"$db/ID/GO-2023-2095.json" <<'JSON'
{"schema_version":"1.3.1","id":"GO-2023-2095","modified":"2024-05-01T12:00:00Z","aliases":["CVE-2023-39323"],
 "summary":"Arbitrary code execution during build via line directives in cmd/go",
 "affected":[{"package":{"name":"toolchain","ecosystem":"Go"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.20.9"},{"introduced":"1.21.0-0"},{"fixed":"1.21.2"}]}],
   "ecosystem_specific":{"imports":[{"path":"cmd/go"}]}}],
 "database_specific":{"url":"https://pkg.go.dev/vuln/GO-2023-2095"}}
JSON
"$GOSHIFT" vuln sync --from "$db" | tee "$work/sync.txt"
grep -q "2024-05-01T12:00:00Z" "$work/sync.txt" || fail "sync does not report the database's modification time"
"$GOSHIFT" vuln sync --from "file://$db" | grep -q "already up to date" || fail "a second sync is not a no-op"
step "vuln sync from a local directory (and again, idempotently, from file://)"

# Fixed releases: nothing to report, exit 0.
"$GOSHIFT" vuln check "$work/bin" >"$work/check-new.txt" || fail "vuln check flagged Go 1.21.13/1.22.10 binaries"
if [ -n "${GO119_ROOT:-}" ] && [ -x "$GO119_ROOT/bin/gofmt" ]; then
	# Debian's go1.19 predates the HTTP/2 rapid reset fix: exit 1 with the advisory.
	status=0
	# Module level: gofmt links no net/http, so at symbol level the advisory rightly does not
	# apply to it.
	"$GOSHIFT" vuln check --module-level "$GO119_ROOT/bin/gofmt" >"$work/check-old.txt" || status=$?
	[ "$status" = 1 ] || fail "vuln check exit status for go1.19 gofmt: $status, want 1"
	grep -q "GO-2023-2102 (CVE-2023-44487, CVE-2023-39325, GHSA-4374-p667-p6c8): stdlib go1.19" "$work/check-old.txt" ||
		fail "GO-2023-2102 not reported for go1.19: $(cat "$work/check-old.txt")"
	grep -q "fixed in go1.20.10" "$work/check-old.txt" || fail "the fixed version is missing"
	# A toolchain advisory concerns the Go command, not a program: gofmt is not cmd/go.
	! grep -q "GO-2023-2095" "$work/check-old.txt" || fail "a toolchain advisory reported for gofmt"
	step "vuln check: go1.19 gofmt is affected by GO-2023-2102 (exit 1); the 1.21.13/1.22.10 builds are clean"
fi
step "part 40 passed"
