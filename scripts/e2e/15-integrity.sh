#!/usr/bin/env bash
# Part 15: integrity with a real second user and a real full disk. A user created for the
# part plants a toolchain (and owns a home): goshift never lists, switches to or runs it, and
# refuses a home of another user; that user cannot use root's home either. Then a store on a
# size-limited tmpfs: an install that cannot fit is refused before it fetches a byte, and with
# the disk full, `uninstall` and `install` change nothing and say why, the history stays byte
# for byte, the audit log records at most the failed attempts and accounts for the store, and
# everything works again once there is room; a disk that fills while a verified archive is
# unpacked says so and how much the tree needs, and leaves no staging behind.
#
# Needs root (useradd, chown, mount). Without root it says so and passes, except under `CI`,
# where it fails.
set -euo pipefail

: "${GOSHIFT:?} ${E2E_DIR:?} ${MIRROR_URL:?} ${INDEX_URL:?}"
dir="$E2E_DIR/integrity"
rm -rf "$dir"
mkdir -p "$dir"
export GOSHIFT_INDEX_URL="$INDEX_URL"
export GOSHIFT_MIRROR="$MIRROR_URL"
export GOSHIFT_LOCK_TIMEOUT=60s
export NO_COLOR=1

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

check() {
    echo "check: $*"
}

if (($(id -u) != 0)); then
    message="SKIP: part 15 needs root (useradd, chown, mount -t tmpfs); run it as root"
    [[ -z ${CI:-} ]] || fail "${message#SKIP: } (CI is set, so this is a failure)"
    echo "$message" >&2
    exit 0
fi

# Runs goshift, expecting exit status $1; its output is in $out and $err.
expect_exit() {
    local expected=$1 status=0
    shift
    out=$("$GOSHIFT" "$@" 2>"$dir/stderr") || status=$?
    err=$(<"$dir/stderr")
    ((status == expected)) || fail "goshift $* exited with $status, not $expected: $err"
}

expect_in() {
    local name=$1 haystack=$2 needle=$3
    [[ $haystack == *"$needle"* ]] || fail "$name: [$needle] not in [$haystack]"
}

user=goshift-e2e-other
created_user=0
mounted=""
cleanup() {
    [[ -z $mounted ]] || umount "$mounted" 2>/dev/null || true
    ((created_user == 0)) || userdel "$user" 2>/dev/null || true
}
trap cleanup EXIT

echo "--- a second user"
if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    created_user=1
fi
other=$(id -u "$user")
export GOSHIFT_HOME="$dir/home"
expect_exit 0 install --quiet 1.21.13

# Another user's tree where go1.22.10 belongs, with a copy of a manifest of ours beside it.
planted="$GOSHIFT_HOME/toolchains/go1.22.10"
mkdir -p "$planted/bin"
printf '#!/bin/sh\necho planted\n' >"$planted/bin/go"
chmod 755 "$planted/bin/go"
echo go1.22.10 >"$planted/VERSION"
cp "$GOSHIFT_HOME/manifests/go1.21.13.json" "$GOSHIFT_HOME/manifests/go1.22.10.json"
chown -R "$other" "$planted"

expect_exit 0 list
[[ $out != *go1.22.10* ]] || fail "list shows the planted tree: $out"
check "list leaves out a tree of uid $other"
expect_exit 2 use 1.22.10
[[ $(readlink "$GOSHIFT_HOME/default") == toolchains/go1.21.13 ]] || fail "use switched to the planted tree"
check "use refuses it"
expect_exit 1 verify
expect_in "verify" "$out" "toolchains/go1.22.10: not installed by goshift"
check "verify reports it (exit 1)"
status=0
planted_out=$(GOSHIFT_GO_VERSION=1.22.10 "$GOSHIFT_HOME/bin/go" version 2>"$dir/stderr") || status=$?
((status == 2)) || fail "the proxy exited with $status for the planted tree: $planted_out $(<"$dir/stderr")"
[[ $planted_out != *planted* ]] || fail "the proxy ran the planted go"
expect_in "the proxy" "$(<"$dir/stderr")" "was not installed by goshift"
check "the proxy never runs it"
status=0
"$GOSHIFT" doctor >"$dir/doctor.out" 2>&1 || status=$?
((status != 0)) || fail "doctor found nothing wrong: $(<"$dir/doctor.out")"
expect_in "doctor" "$(<"$dir/doctor.out")" "toolchains/go1.22.10\` was not installed by goshift"
check "doctor reports it"
rm -rf "$planted"

# The home of another user is refused, and another user cannot use root's.
chown "$other" "$GOSHIFT_HOME"
expect_exit 2 use 1.21.13
expect_in "a home of another user" "$err" "belongs to uid $other"
chown 0 "$GOSHIFT_HOME"
check "a home of uid $other is refused"
status=0
runuser -u "$user" -- env GOSHIFT_HOME="$GOSHIFT_HOME" NO_COLOR=1 "$GOSHIFT" uninstall 1.21.13 \
    >"$dir/other.out" 2>&1 || status=$?
((status == 2)) || fail "uid $other could change root's store (exit $status): $(<"$dir/other.out")"
[[ -d $GOSHIFT_HOME/toolchains/go1.21.13 ]] || fail "uid $other removed a toolchain of root's"
check "uid $other cannot change root's store: $(head -n 1 "$dir/other.out")"

echo "--- a full disk"
small="$dir/small"
mkdir -p "$small"
# Room for go1.21.13 (61 MiB inflating to about 215, its cached copy, 5 times 61 MiB free
# before it starts), not for another toolchain.
mount -t tmpfs -o size=448m,mode=0755 goshift-e2e "$small"
mounted=$small
export GOSHIFT_HOME="$small/home"
expect_exit 0 install --quiet --no-smoke-test 1.21.13
expect_exit 2 install --no-smoke-test 1.22.10
expect_in "install on a small disk" "$err" "not enough free space to unpack the toolchain"
expect_in "install on a small disk" "$err" "free on the file system of \`$GOSHIFT_HOME\`"
[[ -z $(ls -A "$GOSHIFT_HOME/staging") ]] || fail "staging leftovers: $(ls -A "$GOSHIFT_HOME/staging")"
check "an install that cannot fit is refused before the download: $(grep -o 'about [0-9.]* MiB needed' <<<"$err")"

# The disk filled to the last byte.
audit_before=$(stat -c %s "$GOSHIFT_HOME/audit.log")
history_before=$(sha256sum <"$GOSHIFT_HOME/history")
dd if=/dev/zero of="$small/filler" bs=1M status=none 2>/dev/null || true
dd if=/dev/zero of="$small/filler-tail" bs=4k status=none 2>/dev/null || true
expect_exit 2 uninstall --remove-default 1.21.13
expect_in "uninstall on a full disk" "$err" "nothing was changed"
[[ -d $GOSHIFT_HOME/toolchains/go1.21.13 ]] || fail "uninstall removed the toolchain on a full disk"
expect_exit 2 install --reinstall --no-smoke-test 1.21.13
echo "  install --reinstall on a full disk: $(grep -m 1 -o 'error: .*' <<<"$err")"
[[ $(sha256sum <"$GOSHIFT_HOME/history") == "$history_before" ]] || fail "the history changed on a full disk"
# What the log gained (an intent that fit in the last page, then its failure) says that
# nothing changed; the whole log still accounts for the store.
appended=$(tail -c +"$((audit_before + 1))" "$GOSHIFT_HOME/audit.log" |
    python3 -c 'import json, sys; print(" ".join(json.loads(l)["action"] + ":" + json.loads(l)["outcome"] for l in sys.stdin))')
for record in $appended; do
    [[ $record == *:intent || $record == *:failure ]] || fail "a full disk recorded $record"
done
expect_exit 0 audit verify
# A staging lock file whose pid could not be written is left behind on a full disk; the next
# command cleans it up first (`audit repair` runs only that part).
rm -f "$small/filler" "$small/filler-tail"
expect_exit 0 audit repair
python3 "$(dirname "${BASH_SOURCE[0]}")/../integrity/check-accounted.py" "$GOSHIFT_HOME" ||
    fail "the audit log does not account for the store after the full disk"
check "with the disk full, nothing changed, the audit log verifies and accounts for it (${appended:-nothing appended})"

expect_exit 0 uninstall --remove-default 1.21.13
[[ ! -e $GOSHIFT_HOME/toolchains/go1.21.13 ]] || fail "uninstall did nothing once there was room"
python3 "$(dirname "${BASH_SOURCE[0]}")/../integrity/check-accounted.py" "$GOSHIFT_HOME" ||
    fail "the audit log does not account for the store once there is room"
expect_exit 0 audit verify
check "with room again, the change is made and recorded"

echo "--- a disk that fills while unpacking"
# The install passes the free-space check; it is stopped once its tree starts to appear, the
# disk is filled behind its back (as another process would), and it is let go on.
"$GOSHIFT" install --no-smoke-test 1.21.13 >"$dir/fill.out" 2>&1 &
installer=$!
for ((attempt = 0; attempt < 6000; attempt++)); do
    compgen -G "$GOSHIFT_HOME/staging/*/go/src" >/dev/null && break
    kill -0 "$installer" 2>/dev/null || break
    sleep 0.01
done
kill -STOP "$installer" 2>/dev/null || fail "the install ended before its tree appeared: $(<"$dir/fill.out")"
dd if=/dev/zero of="$small/filler" bs=1M status=none 2>/dev/null || true
dd if=/dev/zero of="$small/filler-tail" bs=4k status=none 2>/dev/null || true
kill -CONT "$installer"
status=0
wait "$installer" || status=$?
((status == 2)) || fail "the install exited with $status on a disk that filled: $(<"$dir/fill.out")"
expect_in "a disk that fills while unpacking" "$(<"$dir/fill.out")" \
    "the disk filled up while unpacking the toolchain, so nothing was installed: its tree needs about"
[[ ! -e $GOSHIFT_HOME/toolchains/go1.21.13 ]] || fail "a half-unpacked toolchain was published"
[[ -z $(ls -A "$GOSHIFT_HOME/staging") ]] || fail "staging leftovers: $(ls -A "$GOSHIFT_HOME/staging")"
rm -f "$small/filler" "$small/filler-tail"
# What a record of the failure could not write on the full disk, the next command repairs.
expect_exit 0 audit repair
expect_exit 0 audit verify
python3 "$(dirname "${BASH_SOURCE[0]}")/../integrity/check-accounted.py" "$GOSHIFT_HOME" ||
    fail "the audit log does not account for the store after the disk filled while unpacking"
check "a disk that fills while unpacking: $(grep -o 'its tree needs about [0-9.]* MiB' "$dir/fill.out"), staging removed, nothing installed"
