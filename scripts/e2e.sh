#!/usr/bin/env bash
# The real tier: real Go toolchains from a local go.dev-style mirror, the release binary, and
# every part in scripts/e2e/[0-9][0-9]-*.sh run in order, each in its own bash.
#
# Usage: scripts/e2e.sh [--no-build] [PART...]
#   PART        a part number or file name prefix (`10`, `40-inspect`); default: every part
#   --no-build  reuse target/release/goshift instead of building it (scripts/build.sh)
#
# Environment: E2E_DIR (scratch dir, default .e2e/run, emptied at start), E2E_CACHE (wheel and
# archive cache, default .e2e/cache), E2E_TIMEOUT_SCALE (multiplies every timeout, default 1),
# E2E_PART_TIMEOUT (seconds per part before scaling, default 900). The timeout only catches a
# hung part: a part should take under 5 minutes, and one that takes longer gets a warning, not
# a failure, because a busy machine is not a bug.
#
# Ends with the line `N passed, M failed` and exits non-zero when a part failed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

build=1
filters=()
for arg in "$@"; do
    case $arg in
    --no-build) build=0 ;;
    -h | --help)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "e2e: error: unknown option \`$arg\` (usage: scripts/e2e.sh [--no-build] [PART...])" >&2
        exit 2
        ;;
    *) filters+=("$arg") ;;
    esac
done

E2E_TIMEOUT_SCALE=${E2E_TIMEOUT_SCALE:-1}
if [[ ! $E2E_TIMEOUT_SCALE =~ ^[1-9][0-9]*$ ]]; then
    echo "e2e: error: E2E_TIMEOUT_SCALE must be a positive integer, got \`$E2E_TIMEOUT_SCALE\`" >&2
    exit 2
fi
part_timeout=$((${E2E_PART_TIMEOUT:-900} * E2E_TIMEOUT_SCALE))
part_budget=300

# Select the parts first, so a typo in a filter fails before the slow steps.
parts=()
for part in scripts/e2e/[0-9][0-9]-*.sh; do
    [[ -e $part ]] || continue
    name=$(basename "$part")
    if ((${#filters[@]} == 0)); then
        parts+=("$part")
        continue
    fi
    for filter in "${filters[@]}"; do
        if [[ $name == "$filter"* ]]; then
            parts+=("$part")
            break
        fi
    done
done
for filter in "${filters[@]}"; do
    matched=0
    for part in "${parts[@]}"; do
        [[ $(basename "$part") == "$filter"* ]] && matched=1
    done
    if ((matched == 0)); then
        echo "e2e: error: no part matches \`$filter\`; parts are:" >&2
        ls scripts/e2e/[0-9][0-9]-*.sh >&2
        exit 2
    fi
done

# The programs the selected parts need, checked before the slow steps; each missing one is
# named with the Debian/Ubuntu package that provides it.
declare -A package_of=(
    [python3]=python3 [curl]=curl [tar]=tar [sha256sum]=coreutils [timeout]=coreutils
    [flock]=util-linux [ps]=procps [awk]=gawk [wrk]=wrk
)
required=(python3 curl tar sha256sum timeout flock ps awk)
for part in "${parts[@]}"; do
    case $(basename "$part") in
    50-* | 51-* | 56-*) required+=(wrk) ;;
    esac
done
missing=()
for program in "${required[@]}"; do
    command -v "$program" >/dev/null || missing+=("$program")
done
if ((${#missing[@]} > 0)); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    packages=$(for program in "${missing[@]}"; do echo "${package_of[$program]}"; done | sort -u | tr '\n' ' ')
    echo "e2e: error: the selected parts need programs that are not installed: ${missing[*]}" >&2
    echo "hint: install them with \`sudo apt-get install ${packages% }\` (or run only other parts, e.g. \`scripts/e2e.sh 10 20\`)" >&2
    exit 2
fi
# The hermetic tier's shell and sd_notify tests need these; they fail there under CI.
for program in zsh fish systemd-notify; do
    if ! command -v "$program" >/dev/null; then
        package=$program
        [[ $program == systemd-notify ]] && package=systemd
        echo "e2e: warning: \`$program\` is not installed, so \`cargo test\` skips the tests that need it (install it with \`sudo apt-get install $package\`)" >&2
    fi
done

# Settings of the caller must not leak into the parts: each part sets its own.
while IFS= read -r name; do
    unset "$name"
done < <(env | sed -n 's/^\(GOSHIFT_[A-Za-z0-9_]*\)=.*/\1/p')
unset GOTOOLCHAIN GOFLAGS GOROOT GOPATH GOPROXY GOENV

# A setup failure fails every selected part, and the summary line still ends the output.
setup_failed() {
    echo "e2e: error: $*" >&2
    echo "0 passed, ${#parts[@]} failed"
    exit 1
}

if ((build)); then
    # goshift itself is built as it ships (scripts/build.sh); the helper binaries plainly.
    echo "==> cargo build --release --workspace --bins --exclude goshift --locked && scripts/build.sh"
    cargo build --release --workspace --bins --exclude goshift --locked || setup_failed "the release build failed"
    "$REPO/scripts/build.sh" || setup_failed "the release build of goshift failed"
fi
target_dir=${CARGO_TARGET_DIR:-$REPO/target}
[[ $target_dir == /* ]] || target_dir="$REPO/$target_dir"
GOSHIFT="$target_dir/release/goshift"
if [[ ! -x $GOSHIFT ]]; then
    echo "e2e: error: $GOSHIFT is missing; run without \`--no-build\`" >&2
    exit 2
fi

E2E_DIR=${E2E_DIR:-$REPO/.e2e/run}
# Only the default directory, one this script created (it holds the marker) or an empty one is
# emptied, so a mistyped E2E_DIR cannot wipe anything else.
marker=.goshift-e2e-scratch
if [[ -d $E2E_DIR && -n $(ls -A "$E2E_DIR") ]]; then
    if [[ ! -e $E2E_DIR/$marker && $(cd "$E2E_DIR" && pwd -P) != "$(pwd -P)/.e2e/run" ]]; then
        setup_failed "E2E_DIR=$E2E_DIR is not empty and was not created by scripts/e2e.sh; choose another directory or empty it"
    fi
    # Go's module cache is read-only; make everything removable first.
    chmod -R u+w "$E2E_DIR"
    rm -rf "$E2E_DIR"
fi
mkdir -p "$E2E_DIR/logs"
touch "$E2E_DIR/$marker"
E2E_DIR=$(cd "$E2E_DIR" && pwd)

echo "==> local Go mirror"
# shellcheck source=e2e/mirror.sh
source scripts/e2e/mirror.sh || setup_failed "the local Go mirror could not be set up"
echo "mirror at $MIRROR_URL (Go trees in $E2E_DIR/go)"

export GOSHIFT REPO E2E_DIR E2E_TIMEOUT_SCALE

passed=0
failed=0
failures=()
for part in "${parts[@]}"; do
    name=$(basename "$part")
    echo
    echo "==> $name"
    start=$SECONDS
    log="$E2E_DIR/logs/${name%.sh}.log"
    # The part writes to its log file and `tail` streams it: a process the part leaves behind
    # can then never hold a pipe open and stall the run.
    : >"$log"
    # Each part keeps its verified archives to itself, never in the user's ~/.cache.
    rm -rf "$E2E_DIR/goshift-cache/${name%.sh}"
    GOSHIFT_CACHE_DIR="$E2E_DIR/goshift-cache/${name%.sh}" \
        timeout --kill-after=10 "$part_timeout" bash -euo pipefail "$part" </dev/null >"$log" 2>&1 &
    part_pid=$!
    tail --pid="$part_pid" --lines=+1 --follow "$log" &
    tail_pid=$!
    status=0
    wait "$part_pid" || status=$?
    wait "$tail_pid" || true
    elapsed=$((SECONDS - start))
    # `timeout` leads its own process group; anything still alive in it (zombies waiting for
    # init do not count) was left behind by the part.
    leftovers=$(ps -eo pid=,pgid=,stat=,args= |
        awk -v group="$part_pid" '$2 == group && $3 !~ /^Z/ { $2 = ""; $3 = ""; print }')
    if [[ -n $leftovers ]]; then
        echo "warning: $name left processes running; stopping them:"
        echo "$leftovers"
        kill -- "-$part_pid" 2>/dev/null || true
    fi
    if ((elapsed > part_budget)); then
        echo "warning: $name took ${elapsed}s, more than the ${part_budget}s a part should take"
    fi
    if ((status == 0)); then
        passed=$((passed + 1))
        echo "--- PASS $name (${elapsed}s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        if ((status == 124)); then
            echo "--- FAIL $name (timed out after ${part_timeout}s)"
        else
            echo "--- FAIL $name (exit $status, ${elapsed}s; log: $log)"
        fi
    fi
done

echo
if ((failed > 0)); then
    echo "failed parts: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
