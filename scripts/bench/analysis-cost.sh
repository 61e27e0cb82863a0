#!/usr/bin/env bash
# Benchmark: what the analysis checks cost healthy upgrades. A real Go service
# (testdata/goservice, v1 built with Go 1.21.13, v2 with Go 1.22.10) under `goshift supervise`
# and wrk keep-alive load on loopback, upgraded back and forth UPGRADES (default 8) times per
# block. PAIRS (default 4) pairs of blocks, one with every check off and one with the checks
# on (`not_accepting`, `process`, `probe` at their default intervals, inside a watch window of
# WATCH, default 2s, long enough for each to measure), the order turning from pair to pair so a
# drift of the machine's load falls on both sides. Each block starts its own supervisor and
# measures STEADY_SECONDS (default 5) of load without upgrades before its upgrades, so every
# block has its own baseline: the block's score is req/s during its upgrades over its steady
# req/s, and the pair's ratio is the checks-on score over the checks-off one.
# Prints each pair and the median ratio. Goal: ≥ 0.97 (checks cost at most 3 %).
#
# Usage: scripts/bench/analysis-cost.sh   (env: PAIRS, UPGRADES, STEADY_SECONDS, WATCH,
# GOSHIFT, E2E_DIR)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
export REPO
PAIRS=${PAIRS:-4}
UPGRADES=${UPGRADES:-8}
STEADY_SECONDS=${STEADY_SECONDS:-5}
WATCH=${WATCH:-2s}
if ((UPGRADES % 2 != 0)); then
    echo "bench: error: UPGRADES is $UPGRADES; use an even number, so every block starts and ends on v1" >&2
    exit 2
fi
# shellcheck source=supervisor-bench-lib.sh
source scripts/bench/supervisor-bench-lib.sh
rm -rf "$E2E_DIR/analysis-cost/home"
sup_setup "$E2E_DIR/analysis-cost"
trap 'kill "${SUP_PID:-}" "${SUP_WRK_PID:-}" 2>/dev/null || true' EXIT
sup_build v1 "$GO121" v1
sup_build v2 "$GO122" v2
CHECKS='
[services.api.analysis.not_accepting]

[services.api.analysis.process]
rss_growth_max = "50MiB"

[services.api.analysis.probe]
requests = [{ path = "/" }]
success_rate_min = 0.99
'
: >"$SUP_DIR/outcomes.jsonl"
: >"$SUP_DIR/blocks.txt"

# block off|on PAIR: one supervisor, its steady block and its upgrades; appends
# "PAIR SETTING SCORE STEADY_RPS UPGRADE_RPS ERRORS NON2XX" to blocks.txt.
block() {
    local setting=$1 pair=$2 steady upgrades
    if [[ $setting == on ]]; then SUP_EXTRA=$CHECKS; else SUP_EXTRA=; fi
    export SUP_EXTRA
    sup_start "$WATCH"
    sup_alternate "$UPGRADES" 1 "$STEADY_SECONDS" 0 sup_upgrade
    sup_stop >/dev/null 2>&1
    read -r steady _ < <(sup_summarize steady)
    read -r upgrades _ errors non2xx _ < <(sup_summarize upgrades)
    echo "$pair $setting $(python3 -c "print(f'{$upgrades / $steady:.4f}')") $steady $upgrades $errors $non2xx" \
        >>"$SUP_DIR/blocks.txt"
}

for ((pair = 1; pair <= PAIRS; pair++)); do
    if ((pair % 2 == 1)); then order=(off on); else order=(on off); fi
    for setting in "${order[@]}"; do
        block "$setting" "$pair"
    done
done

python3 - "$SUP_DIR/blocks.txt" "$UPGRADES" "$WATCH" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
scores = {(r[0], r[1]): r for r in rows}
ratios = []
print(f"{sys.argv[2]} upgrades per block, watch {sys.argv[3]}; score = req/s during upgrades / steady req/s")
for pair in sorted({r[0] for r in rows}, key=int):
    off, on = scores[(pair, "off")], scores[(pair, "on")]
    ratio = float(on[2]) / float(off[2])
    ratios.append(ratio)
    print(f"pair {pair}: checks off {float(off[2]):.3f} ({off[4]}/{off[3]} req/s), "
          f"checks on {float(on[2]):.3f} ({on[4]}/{on[3]} req/s): {ratio:.3f}x")
errors = sum(int(r[5]) for r in rows)
non2xx = sum(int(r[6]) for r in rows)
median = statistics.median(ratios)
verdict = "ok" if median >= 0.97 else "below the goal"
print(f"checks on against off: median {median:.3f}x over {len(ratios)} pairs "
      f"(min {min(ratios):.3f}x, max {max(ratios):.3f}x; goal >= 0.97: {verdict})")
print(f"socket errors {errors}, non-2xx {non2xx} in all blocks")
PY
