# Shared set-up of the supervisor benchmarks (upgrade.sh, analysis.sh), sourced from the
# repository's root with REPO set: the release build (built when missing, or $GOSHIFT), wrk,
# the scratch directory ($E2E_DIR, default .e2e/bench), the Go toolchains from the local
# mirror ($GO121, $GO122) and the supervisor helpers of the real tier.

GOSHIFT=${GOSHIFT:-$REPO/target/release/goshift}
if [[ ! -x $GOSHIFT ]]; then
    "$REPO/scripts/build.sh"
fi
export GOSHIFT
command -v wrk >/dev/null || { echo "bench: error: wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }

E2E_DIR=${E2E_DIR:-$REPO/.e2e/bench}
mkdir -p "$E2E_DIR"
export E2E_DIR
scripts/e2e/mirror.sh --prepare >/dev/null
export GO121="$E2E_DIR/go/1.21.13/go/bin/go" GO122="$E2E_DIR/go/1.22.10/go/bin/go"

# shellcheck source=../e2e/supervisor-lib.sh
source scripts/e2e/supervisor-lib.sh
