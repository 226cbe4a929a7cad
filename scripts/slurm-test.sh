#!/usr/bin/env bash
# Runs a sweep as a real Slurm job array on a one-node Slurm cluster on this machine, merges
# the shards and checks the merged results.csv equals a single-machine sweep byte for byte.
#
# On a fresh Debian machine, as root: installs slurm-wlm and munge (apt-get), writes a
# slurm.conf and a munge key under a temporary folder, starts munged, slurmctld and slurmd on
# free ports, submits `sbatch --array=1-4 --wait`, and always stops what it started (trap
# EXIT). Nothing is written outside the temporary folder except the installed packages.
#
#   scripts/slurm-test.sh [EXPERIMENT.toml]      # default: tests/data/sweep_small.toml
#
# Environment: LBSIM (the binary; default target/release/lbsim, built when missing),
# KEEP=1 keeps the temporary folder for inspection.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
EXPERIMENT=$(realpath "${1:-tests/data/sweep_small.toml}")
LBSIM=${LBSIM:-$REPO/target/release/lbsim}
TASKS=4

say() { echo "slurm-test: $*" >&2; }

if [ ! -x "$LBSIM" ]; then
    say "building lbsim"
    cargo build --release --quiet
fi
LBSIM=$(realpath "$LBSIM")

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        say "slurm-wlm and munge are not installed and this is not root: cannot install them"
        exit 1
    fi
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

TMP=$(mktemp -d /tmp/lbsim-slurm.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ "$status" != 0 ]; then
        say "FAILED (status $status); logs:"
        for log in "$TMP"/*.log "$TMP"/job-*.out; do
            [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; } >&2
        done
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port nothing listens on (a connection to it is refused), from a random range; the tiny
# race before Slurm binds it is acceptable for a test.
free_port() {
    local port
    for port in $(shuf -i 20000-59999 -n 50); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    say "no free port found"
    exit 1
}

# munge: a private key and socket, so an existing munged (if any) is left alone.
mkdir -p "$TMP/munge" "$TMP/state" "$TMP/spool"
chmod 700 "$TMP/munge"
dd if=/dev/urandom of="$TMP/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$TMP/munge/munge.key"
munged --foreground --force \
    --key-file="$TMP/munge/munge.key" \
    --socket="$TMP/munge/munge.socket" \
    --pid-file="$TMP/munge/munged.pid" \
    --log-file="$TMP/munged.log" \
    --seed-file="$TMP/munge/munge.seed" >"$TMP/munged.stderr.log" 2>&1 &
PIDS+=($!)

HOST=$(hostname -s)
CPUS=$(nproc)
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
export SLURM_CONF="$TMP/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=lbsimtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$TMP/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=lbsim Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF

for _ in $(seq 50); do [ -S "$TMP/munge/munge.socket" ] && break; sleep 0.1; done
say "starting slurmctld (port $CTLD_PORT) and slurmd (port $SLURMD_PORT) on $HOST with $CPUS CPUs"
slurmctld -D -c -f "$SLURM_CONF" >"$TMP/slurmctld.stderr.log" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" -N "$HOST" >"$TMP/slurmd.stderr.log" 2>&1 &
PIDS+=($!)

for i in $(seq 120); do
    state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
    case "$state" in idle*|mixed*|allocated*) break ;; esac
    [ "$i" = 120 ] && { say "the node did not come up (state: '${state:-none}')"; exit 1; }
    sleep 0.5
done
say "node $HOST is $state"

OUT="$TMP/out"
mkdir -p "$OUT"
cat >"$TMP/job.sh" <<JOB
#!/bin/sh
# One shard of the sweep per array task; --shard auto reads SLURM_ARRAY_TASK_ID/COUNT/MIN.
exec "$LBSIM" sweep "$EXPERIMENT" --shard auto --jobs 1 --out "$OUT/shard-\$SLURM_ARRAY_TASK_ID"
JOB
chmod +x "$TMP/job.sh"
SECONDS=0
sbatch --wait --array=1-$TASKS --cpus-per-task=1 --job-name=lbsim-sweep \
    --chdir="$TMP" --output="$TMP/job-%a.out" "$TMP/job.sh"
say "job array of $TASKS tasks finished in ${SECONDS} s"

"$LBSIM" merge "$OUT"/shard-* --out "$OUT/merged" --quiet
"$LBSIM" sweep "$EXPERIMENT" --out "$OUT/single" --quiet
cmp "$OUT/merged/results.csv" "$OUT/single/results.csv"
say "OK: the merged results.csv of $TASKS Slurm array tasks equals the single-machine one byte for byte"
