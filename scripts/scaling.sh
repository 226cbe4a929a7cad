#!/usr/bin/env bash
# Scaling of `lbsim sweep` with --jobs: times the same sweep (default: the 480 runs of
# experiments/heavy_tail.toml) with --jobs 1 and --jobs 2 (or the JOBS list), checks the
# results are byte-identical, and prints the speed-up. A measurement, not a test: run it on
# an otherwise idle machine (the load average is printed for the record).
#
#   scripts/scaling.sh [EXPERIMENT.toml]          JOBS="1 2 4" scripts/scaling.sh
#
# On a shared machine, RT=1 (as root) runs the sweeps under the real-time round-robin policy
# (chrt -r 10), so other work waits (the kernel still leaves it 5 % of each second): the
# closest to an idle machine one can get without stopping the others. (nice does not help
# where the kernel groups tasks by session, as it does with autogroup.)
set -euo pipefail
cd "$(dirname "$0")/.."
EXPERIMENT=${1:-experiments/heavy_tail.toml}
LBSIM=${LBSIM:-target/release/lbsim}
JOBS=${JOBS:-1 2}
PREFIX=()
[ "${RT:-0}" = 1 ] && PREFIX=(chrt -r 10)
[ -x "$LBSIM" ] || cargo build --release --quiet
TMP=$(mktemp -d /tmp/lbsim-scaling.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

echo "machine: $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
base=""
for j in $JOBS; do
    /usr/bin/time -f "%e %U %S" -o "$TMP/time$j" "${PREFIX[@]}" "$LBSIM" sweep "$EXPERIMENT" --jobs "$j" --out "$TMP/j$j" --quiet
    read -r t user sys <"$TMP/time$j"
    cpu=$(python3 -c "print(f'{($user + $sys) / $t:.2f}')")
    runs=$(($(wc -l <"$TMP/j$j/journal.jsonl") - 1))
    if [ -z "$base" ]; then
        base=$t
        first=$j
        echo "--jobs $j: $runs runs in $t s (CPU $user s user + $sys s sys = $cpu cores busy)"
    else
        cmp "$TMP/j$first/results.csv" "$TMP/j$j/results.csv"
        echo "--jobs $j: $runs runs in $t s (CPU $user s user + $sys s sys = $cpu cores busy), speed-up $(python3 -c "print(f'{$base / $t:.2f}')")× (results.csv identical)"
    fi
done
# What the machine can give: the same runs as N independent one-thread processes (shards)
# side by side. Where that is below N× too, the limit is the machine (other work, shared
# cores), not lbsim.
n=$(echo $JOBS | wc -w)
last=$(echo $JOBS | awk '{print $NF}')
if [ "$n" -gt 1 ]; then
    start=$(date +%s.%N)
    pids=()
    for k in $(seq "$last"); do
        "${PREFIX[@]}" "$LBSIM" sweep "$EXPERIMENT" --jobs 1 --shard "$k/$last" --out "$TMP/ref$k" --quiet &
        pids+=($!)
    done
    wait "${pids[@]}"
    end=$(date +%s.%N)
    echo "reference: $last independent 1-thread processes (shards $last-way) in $(python3 -c "print(f'{$end - $start:.2f} s, {$base / ($end - $start):.2f}× the --jobs $first time')")"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
