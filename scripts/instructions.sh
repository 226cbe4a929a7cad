#!/usr/bin/env bash
# Instructions per simulated request, counted by valgrind's callgrind on the scale
# benchmark's cases (benches/scale.rs): a measure of the engine's per-request cost that,
# unlike a rate, does not move with the machine's other work — compare two builds on a
# shared machine with it, then confirm on an idle one with `cargo bench --bench scale`
# (cycles also depend on cache misses and overlap, which instructions do not show).
#
#   scripts/instructions.sh                                  # the default cases below
#   scripts/instructions.sh "random,jsq" "16 65536"          # strategies, cluster sizes
#
# Each case runs twice, with 200 000 and 400 000 requests (REQUESTS and twice as many when
# REQUESTS is set), and the difference of the two programs' totals over REQUESTS is
# printed, so set-up and the end of the run cancel out. Strategies that ask every backend
# on every pick need fewer at large n (REQUESTS=20000 at 4096 backends: minutes under
# callgrind). LBSIM_SCALE_ONLY takes any registered strategy (default parameters).
# Installs valgrind with apt-get when it is missing (as root). A measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
STRATEGIES=${1:-bare lindley,random,round_robin,power_of_d,jsq,least_connections,central_queue}
SIZES=${2:-16}
if ! command -v valgrind >/dev/null; then
    apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
BENCH=$(cargo bench --bench scale --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "scale" and m.get("executable"):
        print(m["executable"])')
REQUESTS=${REQUESTS:-200000}
TMP=$(mktemp -d /tmp/lbsim-instructions.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

total() { # strategy n requests -> the program's instruction count
    LBSIM_SCALE_ONLY="$1" LBSIM_SCALE_N="$2" LBSIM_SCALE_REQUESTS="$3" \
        valgrind --tool=callgrind --callgrind-out-file="$TMP/out" "$BENCH" >/dev/null 2>&1
    callgrind_annotate "$TMP/out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

echo "| case | backends | instructions per request |"
echo "|---|---:|---:|"
IFS=',' read -r -a cases <<<"$STRATEGIES"
for n in $SIZES; do
    for s in "${cases[@]}"; do
        a=$(total "$s" "$n" "$REQUESTS")
        b=$(total "$s" "$n" $((2 * REQUESTS)))
        echo "| $s | $n | $(((b - a) / REQUESTS)) |"
    done
done
