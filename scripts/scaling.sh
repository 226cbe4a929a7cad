#!/usr/bin/env bash
# Scaling of `lbsim sweep` with --jobs: times the same sweep (default: the 480 runs of
# experiments/heavy_tail.toml) with --jobs 1 and --jobs 2 (or the JOBS list), checks the
# results are byte-identical, and prints the speed-up. A measurement, not a test: run it on
# an otherwise idle machine (the load average is printed for the record).
#
#   scripts/scaling.sh [EXPERIMENT.toml]          JOBS="1 2 4" scripts/scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EXPERIMENT=${1:-experiments/heavy_tail.toml}
LBSIM=${LBSIM:-target/release/lbsim}
JOBS=${JOBS:-1 2}
[ -x "$LBSIM" ] || cargo build --release --quiet
TMP=$(mktemp -d /tmp/lbsim-scaling.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

echo "machine: $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
base=""
for j in $JOBS; do
    start=$(date +%s.%N)
    "$LBSIM" sweep "$EXPERIMENT" --jobs "$j" --out "$TMP/j$j" --quiet
    end=$(date +%s.%N)
    t=$(python3 -c "print(f'{$end - $start:.2f}')")
    runs=$(($(wc -l <"$TMP/j$j/journal.jsonl") - 1))
    if [ -z "$base" ]; then
        base=$t
        first=$j
        echo "--jobs $j: $runs runs in $t s"
    else
        cmp "$TMP/j$first/results.csv" "$TMP/j$j/results.csv"
        echo "--jobs $j: $runs runs in $t s, speed-up $(python3 -c "print(f'{$base / $t:.2f}')")× (results.csv identical)"
    fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
