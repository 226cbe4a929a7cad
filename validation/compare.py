#!/usr/bin/env python3
"""Real twin vs lbsim: the same trace through nginx/HAProxy + gunicorn and through `lbsim run`.

    validation/compare.py [--quick] [--seconds S] [--only TEXT] [--out DIR] [--markdown FILE]
                          [--chart FILE] [--check TOL]

For each configuration and load: `lbsim trace` writes the requests of validation/twin.toml at
that load (Poisson arrivals, lognormal work of mean 40 ms, cv 1.5, client ids);
validation/twin.sh starts the twin and `lbsim loadgen` replays the trace through it; then
`lbsim run` simulates the same trace over the matching model. The first 10 % of requests are
left out on both sides.

**The overhead.** Real requests take longer than their work: nginx, gunicorn, the kernel and
the load generator add a little to each. It is measured, not fitted:

- the total `o`, once per twin topology, from a low-load run (load 0.1, nobody queues): the
  mean of (response time − the request's work);
- the part of it that holds a gunicorn worker, `h`, from a run that keeps one sync worker
  permanently busy (1 backend × 1 worker, short requests arriving faster than it serves
  them) with app.py's timing log on (twin.sh --timing): the worker's median cycle — from
  entering the app for one request to entering it for the next — minus the work (the median,
  because on a machine busy with other jobs a few cycles are stretched by tens of
  milliseconds when the worker is descheduled, which says nothing about gunicorn). That cycle
  includes gunicorn's access log, its graceful close (it half-closes and waits until nginx
  has read the response and closed: gunicorn `util.close_graceful`), the next accept, the
  request parsing and the WSGI environ. For the worker-class rows (below) it is measured
  again where they run, on the pinned core at nice -20;
- for the gthread rows, the part that holds a gthread *pool thread*, measured the same way on
  the pinned core (below) with 1 worker × 1 thread kept busy: the cycle of the pool thread
  from entering the app for one request to entering it for the next, minus the work (median).
  gthread's main thread accepts every connection as it arrives and queues it for the pool
  (`ThreadPoolExecutor`), and closes it (the graceful close) after the pool thread has
  returned, so the pool thread's cycle is its own share only: the response, the access log,
  taking the next connection from the queue, parsing and the environ. The main thread's
  accept and close run while the pool thread sleeps in the app (5 ms of I/O per request), as
  they do while the rows' 4 threads sleep in their I/O; their CPU is counted as CPU (`c`,
  below), not as holding a thread;
- the rest, `o − h`, is spent where no worker is held (the load generator, nginx before it
  picks a backend and after the response, the loopback): the model makes it a round trip
  of the clients (`[balancer] rtt`: half before the balancer decides, half after the
  response), which delays the response without occupying anybody.

So the simulated trace is each request's work + `h`, and the balancer has `rtt = o − h`.

**Worker classes on one pinned core** (labels containing "1 core"): one gunicorn backend
pinned to core 1 (`--pin 1`, at `--nice -20` in an autogroup of its own, so that other jobs on
the machine barely take the core from it; nginx and the load generator on core 0) with 4 sync
workers, 1 gthread worker × 4 threads, or 1 gevent worker, for a CPU-bound workload (80 % of each
request's work is CPU, `loadgen --cpu-share 0.8`) and an I/O-bound one (10 % CPU), at loads
0.5 and 0.8 of the sync backend's capacity (CPU-bound: the core, 1 / 32 ms; I/O-bound: the
4 workers, 4 / 40 ms), so that the three classes see the same traffic. The model is lbsim's
station: `cores = 1`, the class, its threads / connections, and `[service] io_fraction`.
Each class's overhead is calibrated from its own low-load run (I/O-bound, 10 requests/s)
with the timing log, which also gives gunicorn's CPU time per request beyond the app's
(`c`, from the worker processes' CPU clocks, all threads). The model's requests are work +
`h`: for sync the sync worker's held time on the pinned core above, for gthread the pool
thread's held time above, for gevent `c` (a gevent worker's 1000 connections are never what
a request waits for, so its held time only has to contain the loop's CPU, and a gevent
worker with one connection kept busy has a cycle within 0.1 ms of its CPU time per request).
Of that, CPU is the app's share plus `c`: `io_fraction` is set so that the mean CPU per
request matches (lbsim has one `io_fraction` per run, so the overhead's CPU is spread in
proportion to each request's size rather than added to each).

--quick is CI's short run (one configuration, nginx least_conn at load 0.7); --check TOL
fails (exit 1) when lbsim's mean differs from the real mean by more than TOL (0.15 = 15 %),
or exits 3 instead when the load generator was starved meanwhile (send lag p99 over 10 ms:
the machine was too busy for the real side to be a measurement of the twin).
Only the Python standard library is used.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LBSIM = Path(os.environ.get("LBSIM", REPO / "target/release/lbsim"))
EXPERIMENT = HERE / "twin.toml"
WARMUP_SHARE = 0.1
CALIBRATION_LOAD = 0.1
MEAN_WORK = 0.040  # twin.toml's mean request size
# Capacity of twin.toml's model: 3 backends × 4 workers, 40 ms of work per request.
CAPACITY_RATE = 3 * 4 / MEAN_WORK
LOADS = (0.5, 0.7, 0.85)
# The worker-class rows: the gunicorn backend on core 1, nginx and the load generator on core 0.
BACKEND_CORE, FRONT_CORE = "1", "0"
CLASS_LOADS = (0.5, 0.8)
CPU_BOUND, IO_BOUND = 0.8, 0.1  # share of each request's work that is CPU
# A run whose load generator sent its p99 request later than this behind the trace's time
# measured a starved machine, not the twin: --check then exits with STARVED_EXIT instead of 1
# (on a quiet machine the send lag's p99 is below 1 ms; busy, a few ms).
STARVED_SEND_LAG = 0.010
STARVED_EXIT = 3
CLASS_CALIBRATION_RATE = 10.0  # requests/s, I/O-bound: nobody queues in any class


class Config(NamedTuple):
    """One configuration of the comparison: the twin and the matching lbsim model."""

    twin: list  # validation/twin.sh arguments
    strategy: str
    backend_keys: str = ""  # extra [[backends]] keys
    balancer_keys: str = ""  # extra [balancer] keys
    backends: int = 3
    workers: int = 4
    worker_class: str = "sync"
    cpu_share: float = 0.0  # `lbsim loadgen --cpu-share`
    capacity: float = CAPACITY_RATE  # requests/s at load 1
    loads: tuple = LOADS
    # Which overhead calibration applies: "3x4" (nginx round robin over 3 × 4 sync workers,
    # load 0.1) or a worker class on the pinned core.
    calibration: str = "3x4"
    front_pin: str = ""  # cores for nginx and the load generator


CONFIGURATIONS = {
    "nginx round robin": Config(["--balancer", "nginx", "--strategy", "round_robin"], "round_robin"),
    "nginx least_conn": Config(["--balancer", "nginx", "--strategy", "least_conn"], "least_connections"),
    # maxconn = workers with HAProxy's queue: a request waits in the proxy until any worker is
    # free, then goes to it — one shared FCFS queue in front of all 12 workers (M/G/12).
    # (lbsim can now also say it literally: least_connections with [[backends]] maxconn = 4,
    # which queues in the balancer the same way.)
    "HAProxy leastconn, maxconn 4": Config(
        ["--balancer", "haproxy", "--strategy", "leastconn", "--maxconn", "4"], "central_queue"
    ),
    # Two nginx worker processes sharing the upstream's counters (zone): exact counts.
    "nginx least_conn, 2 workers, zone": Config(
        ["--balancer", "nginx", "--strategy", "least_conn", "--nginx-workers", "2", "--zone"],
        "least_connections",
        balancer_keys='instances = 2\nrouting = "random"\ninfo = "exact"',
    ),
    # Without zone each worker counts only its own connections; the kernel hands each new
    # connection to either worker.
    "nginx least_conn, 2 workers, no zone": Config(
        ["--balancer", "nginx", "--strategy", "least_conn", "--nginx-workers", "2"],
        "least_connections",
        balancer_keys='instances = 2\nrouting = "random"\ninfo = "local"',
    ),
}

# gunicorn worker classes on one pinned core: (label, twin.sh arguments, workers, lbsim keys).
# The model's keys follow gunicorn's defaults: worker_connections 1000, the class's accept
# rule (shared for sync, epoll LIFO for gthread and gevent).
CLASSES = [
    ("sync ×4", ["--worker-class", "sync", "--workers", "4"], 4, "sync", 'worker_class = "sync"'),
    ("gthread 1×4 threads", ["--worker-class", "gthread", "--workers", "1", "--threads", "4"], 1, "gthread",
     'worker_class = "gthread"\nthreads = 4'),
    ("gevent ×1", ["--worker-class", "gevent", "--workers", "1"], 1, "gevent", 'worker_class = "gevent"'),
]
for name, twin_args, workers, klass, keys in CLASSES:
    for workload, share in (("CPU-bound", CPU_BOUND), ("I/O-bound", IO_BOUND)):
        # The sync backend's capacity: its core (CPU-bound) or its 4 workers (I/O-bound).
        capacity = min(1 / (share * MEAN_WORK), 4 / MEAN_WORK)
        CONFIGURATIONS[f"gunicorn {name}, 1 core, {workload}"] = Config(
            ["--balancer", "nginx", "--strategy", "round_robin", "--backends", "1", "--pin", BACKEND_CORE,
             "--nice", "-20", "--balancer-pin", FRONT_CORE, *twin_args],
            "round_robin",
            backend_keys=f"{keys}\ncores = 1\nbacklog = 2048",
            backends=1,
            workers=workers,
            worker_class=klass,
            cpu_share=share,
            capacity=capacity,
            loads=CLASS_LOADS,
            calibration=klass,
            front_pin=FRONT_CORE,
        )


class Held(NamedTuple):
    """How long a busy worker (or gthread pool thread) is held per request beyond the work (s)."""

    median: float  # h: the median cycle minus the work
    mean: float
    p10: float
    p90: float
    own_cpu: float  # the serving thread's CPU per request beyond the app's (median)
    cpu: float  # the whole process's CPU per request beyond the app's, all threads
    cycles: int


class Overhead(NamedTuple):
    """What a topology adds to every request beyond its work (seconds)."""

    total: float  # o: mean (response − work) at low load
    held: float  # h: the part that holds a worker (or thread)
    cpu: float  # c: gunicorn's CPU time per request beyond the app's (nan when not measured)
    real_mean: float
    work_mean: float
    requests: int

    @property
    def rtt(self):
        return max(self.total - self.held, 0.0)


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def write_trace(path, load, count):
    run([LBSIM, "trace", EXPERIMENT, "--set", f"arrivals.load={load}", "--requests", count, "--out", path],
        stderr=subprocess.DEVNULL)


def read_trace(path):
    with open(path) as f:
        rows = [line for line in f if not line.startswith("#")]
    reader = csv.DictReader(rows)
    return [(float(r["time"]), float(r["size"]), int(r["client"])) for r in reader]


def replay(trace, twin_args, records, warmup, cpu_share=0.0, front_pin="", timing=None):
    """Runs the twin with the load generator inside; returns the loadgen's JSON summary."""
    pin = ["taskset", "-c", front_pin] if front_pin else []
    extra = ["--timing", timing] if timing else []
    out = run([HERE / "twin.sh", *twin_args, *extra, "--", *pin, "nice", "-n", "-5", LBSIM, "loadgen", trace,
               "--url", "http://127.0.0.1:18080/", "--out", records, "--warmup", warmup,
               "--cpu-share", cpu_share, "--json"],
              stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout)


def overhead_of(records, warmup):
    """Mean of (response − work), and mean work, over the measured requests of a low-load run."""
    with open(records) as f:
        rows = [r for r in list(csv.DictReader(f))[warmup:] if r["response"]]
    diffs = [float(r["response"]) - float(r["size"]) for r in rows]
    return sum(diffs) / len(diffs), sum(float(r["size"]) for r in rows) / len(rows)


def read_timing(directory):
    """app.py's timing log: per worker process, its requests in order
    (entered, left, process CPU time when it left, cpu asked, io asked)."""
    workers = {}
    for path in Path(directory).glob("timing-*.csv"):
        with open(path) as f:
            workers[path.stem] = [tuple(float(x) for x in line.split(",")) for line in f if line.strip()]
    return workers


def cpu_per_request(workers, skip):
    """gunicorn's CPU time per request beyond the app's busy loop: each process's CPU clock
    between its first and last logged request, over the requests in between, minus their
    asked-for CPU (pooled over the processes, the first `skip` of each left out)."""
    spent = burnt = count = 0
    for rows in workers.values():
        rows = rows[skip:]
        if len(rows) < 2:
            continue
        spent += rows[-1][2] - rows[0][2]
        burnt += sum(r[3] for r in rows[1:])
        count += len(rows) - 1
    return (spent - burnt) / count if count else float("nan")


# What measure_held runs for each calibration: one worker (gthread: one pool thread) kept
# busy where that calibration's rows run it: anywhere for the 3 × 4 rows, on the pinned core
# at nice -20 for the worker-class rows (gevent's held time is its CPU: calibrate_class).
# (twin.sh arguments, the load generator's cores, who is held, how it was kept busy)
PINNED = ["--pin", BACKEND_CORE, "--nice", "-20", "--balancer-pin", FRONT_CORE]
HELD_RUNS = {
    "3x4": (["--workers", "1"], "", "sync worker", "1 worker kept busy"),
    "sync": (["--workers", "1", *PINNED], FRONT_CORE, "sync worker", "1 worker kept busy on the pinned core"),
    "gthread": (["--worker-class", "gthread", "--workers", "1", "--threads", "1", *PINNED], FRONT_CORE,
                "gthread pool thread", "1 worker × 1 thread kept busy on the pinned core"),
}


def measure_held(work, calibration):
    """h: how long gunicorn holds a sync worker, or a gthread pool thread, per request beyond
    the request's work.

    One backend × one worker (gthread: one pool thread) behind nginx, sent 5 ms requests every
    4 ms for a while: it never waits for a connection, so from entering the app for one request
    to entering it for the next is its whole cycle (sync: app, response, access log, graceful
    close, accept, parsing; a gthread pool thread: app, response, access log, the next queued
    connection, parsing; its main thread accepts and closes meanwhile)."""
    count = 400  # 1.6 s; the backlog grows to about 100 connections
    twin, front_pin, _, _ = HELD_RUNS[calibration]
    trace = work / "held-trace.csv"
    with open(trace, "w") as f:
        f.write("# one worker kept busy: 5 ms of I/O every 4 ms\ntime,size,client\n")
        for i in range(count):
            f.write(f"{i * 0.004!r},0.005,{i}\n")
    timing = work / f"held-{calibration}-timing"
    for old in timing.glob("timing-*.csv") if timing.exists() else []:
        old.unlink()
    replay(trace, ["--balancer", "nginx", "--strategy", "round_robin", "--backends", "1", *twin],
           work / f"held-{calibration}-records.csv", 0, front_pin=front_pin, timing=timing)
    (rows,) = read_timing(timing).values()
    if len({r[6] for r in rows}) != 1:
        sys.exit(f"compare.py: the {calibration} held-time run served requests on more than one thread")
    rows = rows[len(rows) // 10:]  # the backlog builds up first
    cycles = [b[0] - a[0] - a[3] - a[4] for a, b in zip(rows, rows[1:])]
    own_cpu = [b[5] - a[5] - b[3] for a, b in zip(rows, rows[1:])]
    deciles = statistics.quantiles(cycles, n=10)
    return Held(statistics.median(cycles), statistics.fmean(cycles), deciles[0], deciles[-1],
                statistics.median(own_cpu), cpu_per_request({"w": rows}, 0), len(cycles))


def calibrate_3x4(work, seconds, held):
    """The 3 × 4 sync topology's overhead at load 0.1; `held`: the sync worker's (s)."""
    count = int(CAPACITY_RATE * CALIBRATION_LOAD * seconds * 0.5)
    trace = work / "load-0.1.csv"
    write_trace(trace, CALIBRATION_LOAD, count)
    warmup = int(count * WARMUP_SHARE)
    records = work / "calibration-records.csv"
    summary = replay(trace, CONFIGURATIONS["nginx round robin"].twin, records, warmup)
    total, work_mean = overhead_of(records, warmup)
    return Overhead(total, held, float("nan"), summary["mean_response"], work_mean, summary["requests"])


def calibrate_class(work, seconds, config, held):
    """A worker class on the pinned core at 10 requests/s, I/O-bound, with the timing log;
    `held`: measure_held's result per class."""
    count = max(int(CLASS_CALIBRATION_RATE * seconds * 0.33), 150)
    trace = work / f"rate-{CLASS_CALIBRATION_RATE:g}.csv"
    if not trace.exists():
        write_trace(trace, CLASS_CALIBRATION_RATE / CAPACITY_RATE, count)
    warmup = int(count * WARMUP_SHARE)
    records = work / f"calibration-{config.worker_class}-records.csv"
    timing = work / f"calibration-{config.worker_class}-timing"
    for old in timing.glob("timing-*.csv") if timing.exists() else []:
        old.unlink()
    summary = replay(trace, config.twin, records, warmup, IO_BOUND, config.front_pin, timing)
    total, work_mean = overhead_of(records, warmup)
    cpu = cpu_per_request(read_timing(timing), 2)
    # sync and gthread: measured on a busy worker / pool thread (a sync worker is held by the
    # graceful close too; gthread's accept and close run on the main thread, not holding a
    # pool thread). gevent: its CPU, since none of its 1000 connections is ever waited for.
    held_here = held[config.calibration].median if config.calibration in held else cpu
    return Overhead(total, held_here, cpu, summary["mean_response"], work_mean, summary["requests"])


def simulate(work, trace, overhead, config, warmup, tag):
    """`lbsim run --json` over `trace` with every request's work increased by the held
    overhead and the rest of the overhead as the clients' round trip."""
    rows = read_trace(trace)
    sim_trace = work / (Path(trace).stem + f"-sim-{config.calibration}.csv")
    with open(sim_trace, "w") as f:
        f.write(f"# {Path(trace).name} with {overhead.held * 1e3:.3f} ms of held overhead added to every size\n")
        f.write("time,size,client\n")
        for t, s, c in rows:
            f.write(f"{t!r},{s + overhead.held!r},{c}\n")
    service = ""
    if config.worker_class != "sync" or config.cpu_share > 0:
        # The CPU of a request: its app share plus gunicorn's own (c), spread over the
        # request in proportion (one io_fraction per run), matching the mean.
        mean = statistics.fmean(s for _, s, _ in rows)
        cpu = config.cpu_share * mean + (overhead.cpu if overhead.cpu == overhead.cpu else 0.0)
        io_fraction = min(max(1.0 - cpu / (mean + overhead.held), 0.0), 1.0)
        service = f"[service]\nio_fraction = {io_fraction!r}\n"
    rtt = f"rtt = {overhead.rtt!r}" if overhead.rtt > 0 else ""
    toml = work / (Path(trace).stem + f"-{tag}.toml")
    toml.write_text(f"""[experiment]
name = "twin"
seed = 1
[run]
requests = {len(rows) - warmup}
warmup = {warmup}
[arrivals]
process = "trace"
file = "{sim_trace.name}"
# Sizes come from the trace.
{service}[[backends]]
name = "gunicorn"
count = {config.backends}
workers = {config.workers}
{config.backend_keys}
[balancer]
strategies = ["{config.strategy}"]
{config.balancer_keys}
{rtt}
""")
    out = run([LBSIM, "run", toml, "--json"], stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout)["results"][0]


def slug(label):
    return "".join(c if c.isalnum() else "_" for c in label)


def ms(x):
    return f"{x * 1e3:.1f}"


def deviation(sim, real):
    return f"{(sim - real) / real * 100:+.0f} %"


# Okabe–Ito colours, as lbsim's own charts use.
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def chart(rows, title):
    """Two panels (mean, p99 against load): real as solid lines with dots, lbsim dashed."""
    labels = list(dict.fromkeys(r[0] for r in rows))
    width, height, panel_w, top, bottom, left = 1000, 560, 400, 70, 470, 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="DejaVu Sans, sans-serif" font-size="14">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{width / 2}" y="30" text-anchor="middle" font-size="20">{title}</text>']
    loads = sorted({r[1] for r in rows})
    x0, x1 = min(loads) - 0.05, max(loads) + 0.05
    for p, (key, panel) in enumerate([("mean_response", "mean response time"), ("p99", "p99 response time")]):
        ox = left + p * (panel_w + 100)
        values = [r[i][key] * 1e3 for r in rows for i in (2, 3)]
        y1 = max(values) * 1.1
        sx = lambda x: ox + (x - x0) / (x1 - x0) * panel_w
        sy = lambda y: bottom - y / y1 * (bottom - top)
        parts.append(f'<text x="{ox + panel_w / 2}" y="{top - 12}" text-anchor="middle" font-size="16">{panel}</text>')
        parts.append(f'<rect x="{ox}" y="{top}" width="{panel_w}" height="{bottom - top}" fill="none" stroke="#999"/>')
        step = 10 ** len(str(int(y1 / 5))) / 10
        step = next(s for s in (step, 2 * step, 5 * step, 10 * step) if y1 / s <= 6)
        tick = 0.0
        while tick <= y1:
            parts.append(f'<line x1="{ox}" x2="{ox + panel_w}" y1="{sy(tick)}" y2="{sy(tick)}" stroke="#e1e1e1"/>')
            parts.append(f'<text x="{ox - 8}" y="{sy(tick) + 5}" text-anchor="end">{tick:g}</text>')
            tick += step
        for load in loads:
            parts.append(f'<text x="{sx(load)}" y="{bottom + 22}" text-anchor="middle">{load:g}</text>')
        parts.append(f'<text x="{ox + panel_w / 2}" y="{bottom + 46}" text-anchor="middle">offered load</text>')
        parts.append(f'<text x="{ox - 55}" y="{(top + bottom) / 2}" text-anchor="middle" '
                     f'transform="rotate(-90 {ox - 55} {(top + bottom) / 2})">ms</text>')
        for c, label in enumerate(labels):
            colour = COLOURS[c % len(COLOURS)]
            mine = sorted((r for r in rows if r[0] == label), key=lambda r: r[1])
            for i, dash in ((2, ""), (3, ' stroke-dasharray="8 6"')):
                points = " ".join(f"{sx(r[1]):.1f},{sy(r[i][key] * 1e3):.1f}" for r in mine)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="3"{dash}/>')
            for r in mine:
                parts.append(f'<circle cx="{sx(r[1]):.1f}" cy="{sy(r[2][key] * 1e3):.1f}" r="4" fill="{colour}"/>')
    for c, label in enumerate(labels):
        y = bottom + 75 if c < 3 else bottom + 95
        x = left + c % 3 * 300
        parts.append(f'<line x1="{x}" x2="{x + 28}" y1="{y - 5}" y2="{y - 5}" stroke="{COLOURS[c % len(COLOURS)]}" stroke-width="3"/>')
        parts.append(f'<text x="{x + 36}" y="{y}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def is_class_row(label):
    return CONFIGURATIONS[label].calibration != "3x4"


TIE = 0.05  # classes whose real means are within 5 % of each other are not ranked


def ranking_lines(rows):
    """For each workload and load of the worker-class rows: the classes by mean, real vs lbsim.
    lbsim ranks them the same way when every pair whose real means differ by more than TIE
    is in the same order in lbsim."""
    lines = []
    groups = {}
    for label, load, real, sim, _, _ in rows:
        if is_class_row(label):
            workload = label.rsplit(", ", 1)[1]
            name = label.split(",")[0].removeprefix("gunicorn ")
            groups.setdefault((workload, load), []).append((name, real["mean_response"], sim["mean_response"]))
    for (workload, load), members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: m[1])
        real_text = members[0][0]
        for a, b in zip(members, members[1:]):
            real_text += (" ≈ " if b[1] <= a[1] * (1 + TIE) else " < ") + b[0]
        sim_text = " < ".join(m[0] for m in sorted(members, key=lambda m: m[2]))
        wrong = [(a[0], b[0]) for i, a in enumerate(members) for b in members[i + 1:]
                 if b[1] > a[1] * (1 + TIE) and not b[2] > a[2]]
        verdict = ("same order" if not wrong else
                   "**different order**: " + ", ".join(f"{a} should beat {b}" for a, b in wrong))
        lines.append(f"- {workload} at load {load}: real {real_text}; lbsim {sim_text} ({verdict})")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one configuration (CI)")
    parser.add_argument("--seconds", type=float, help="traffic per run (default 60, quick 25)")
    parser.add_argument("--out", type=Path, help="keep traces and records here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--check", type=float, help="fail if |sim mean − real mean| > CHECK × real mean")
    parser.add_argument("--only", action="append", help="run only configurations whose label contains this (repeatable)")
    parser.add_argument("--chart", type=Path,
                        help="write an SVG chart of real vs lbsim mean and p99 against load (the worker-class "
                             "rows, if any, to FILE-cpu-bound.svg and FILE-io-bound.svg beside it)")
    args = parser.parse_args()
    seconds = args.seconds or (25 if args.quick else 60)
    work = args.out or Path(tempfile.mkdtemp(prefix="lbsim-compare."))
    work.mkdir(parents=True, exist_ok=True)
    if not LBSIM.exists():
        run(["cargo", "build", "--release"], cwd=REPO)

    if args.quick:
        plan = [("nginx least_conn", 0.7)]
    else:
        plan = [(label, load) for label, config in CONFIGURATIONS.items() for load in config.loads
                if not args.only or any(o in label for o in args.only)]
    if not plan:
        sys.exit(f"compare.py: no configuration matches --only {args.only}; they are: {', '.join(CONFIGURATIONS)}")

    # Calibration, only of what the plan needs: the held times first, then each
    # topology's total overhead at a load where nobody queues.
    held = {}
    for key in dict.fromkeys(CONFIGURATIONS[label].calibration for label, _ in plan):
        if key not in HELD_RUNS:
            continue
        started = time.time()
        held[key] = h = measure_held(work, key)
        print(f"held ({key}): a {HELD_RUNS[key][2]}'s cycle beyond the work is {h.median * 1e3:.2f} ms (median; mean "
              f"{h.mean * 1e3:.2f} ms, p10–p90 {h.p10 * 1e3:.2f}–{h.p90 * 1e3:.2f} ms), its own CPU "
              f"{h.own_cpu * 1e3:.2f} ms, the process's {h.cpu * 1e3:.2f} ms ({h.cycles} cycles; "
              f"{time.time() - started:.0f} s)", file=sys.stderr)
    overheads = {}
    for label, _ in plan:
        config = CONFIGURATIONS[label]
        if config.calibration in overheads:
            continue
        started = time.time()
        if config.calibration == "3x4":
            o = calibrate_3x4(work, seconds, held["3x4"].median)
        else:
            o = calibrate_class(work, seconds, config, held)
        overheads[config.calibration] = o
        print(f"overhead ({config.calibration}): {o.total * 1e3:.2f} ms per request, {o.held * 1e3:.2f} ms held, "
              f"round trip {o.rtt * 1e3:.2f} ms, gunicorn CPU {o.cpu * 1e3:.2f} ms (real mean {ms(o.real_mean)} ms; "
              f"{time.time() - started:.0f} s)", file=sys.stderr)

    rows = []
    worst = 0.0
    for label, load in plan:
        config = CONFIGURATIONS[label]
        rate = config.capacity * load
        count = int(rate * seconds)
        warmup = int(count * WARMUP_SHARE)
        if config.calibration == "3x4":
            trace = work / f"load-{load}.csv"
        else:
            trace = work / f"rate-{rate:g}.csv"
        if not trace.exists():
            write_trace(trace, rate / CAPACITY_RATE, count)
        records = work / f"{slug(label)}-{load}-records.csv"
        started = time.time()
        real = replay(trace, config.twin, records, warmup, config.cpu_share, config.front_pin)
        real["loadavg"] = os.getloadavg()[0]
        sim = simulate(work, trace, overheads[config.calibration], config, warmup, slug(label))
        sim_total = sum(b["completed"] for b in sim["backends"])
        sim_share = [b["completed"] / sim_total for b in sim["backends"]]
        real_share = [b["share"] for b in real["backends"]]
        rows.append((label, load, real, sim, real_share, sim_share))
        error = abs(sim["mean_response"] - real["mean_response"]) / real["mean_response"]
        worst = max(worst, error)
        print(f"{label} at load {load}: real mean {ms(real['mean_response'])} ms, lbsim {ms(sim['mean_response'])} ms "
              f"({deviation(sim['mean_response'], real['mean_response'])}); p99 {ms(real['p99'])} vs {ms(sim['p99'])} ms; "
              f"send lag p99 {real['send_lag_p99'] * 1e3:.2f} ms; load average {real['loadavg']:.1f}; "
              f"{time.time() - started:.0f} s", file=sys.stderr)

    lines = []
    for key, h in held.items():
        _, _, who, how = HELD_RUNS[key]
        lines.append(
            f"- Held by a {who} beyond the work ({how}, median of {h.cycles} cycles): "
            f"**{h.median * 1e3:.2f} ms** (mean {h.mean * 1e3:.2f} ms, p10–p90 {h.p10 * 1e3:.2f}–{h.p90 * 1e3:.2f} ms; "
            f"gunicorn's CPU per request {h.cpu * 1e3:.2f} ms, of which the serving thread's {h.own_cpu * 1e3:.2f} ms).")
    lines.append("")
    for key, o in overheads.items():
        where = ("nginx round robin, 3 × 4 sync workers, load 0.1" if key == "3x4"
                 else f"{key} on the pinned core, {CLASS_CALIBRATION_RATE:g} requests/s")
        cpu = f"; gunicorn CPU {o.cpu * 1e3:.2f} ms per request" if o.cpu == o.cpu else ""
        lines.append(f"- Overhead, {where}: **{o.total * 1e3:.2f} ms** per request (real mean {ms(o.real_mean)} ms "
                     f"for a mean work of {ms(o.work_mean)} ms over {o.requests} requests): {o.held * 1e3:.2f} ms "
                     f"held, {o.rtt * 1e3:.2f} ms as the clients' round trip{cpu}.")
    lines.append("")
    for kind in (False, True):
        mine = [r for r in rows if is_class_row(r[0]) == kind]
        if not mine:
            continue
        share_head = "" if kind else " per-backend share real / lbsim (%) |"
        lines += [
            "| configuration | load | requests | mean real / lbsim (ms) | p50 real / lbsim | p90 real / lbsim | "
            f"p99 real / lbsim |{share_head} send lag p99 (ms) | load average |",
            "|---|---|---|---|---|---|---|" + ("" if kind else "---|") + "---|---|",
        ]
        for label, load, real, sim, real_share, sim_share in mine:
            cells = []
            for key in ("mean_response", "p50", "p90", "p99"):
                cells.append(f"{ms(real[key])} / {ms(sim[key])} ({deviation(sim[key], real[key])})")
            shares = "" if kind else " · ".join(f"{r * 100:.1f}/{s * 100:.1f}" for r, s in zip(real_share, sim_share)) + " | "
            errors = f" ({real['errors']} errors)" if real["errors"] else ""
            lines.append(f"| {label} | {load} | {real['requests']}{errors} | " + " | ".join(cells)
                         + f" | {shares}{real['send_lag_p99'] * 1e3:.2f} | {real['loadavg']:.1f} |")
        if kind:
            lines += ["", f"Ranking by mean response time (≈: real means within {TIE * 100:.0f} %):", "",
                      *ranking_lines(rows)]
        lines.append("")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.chart:
        main_rows = [r for r in rows if not is_class_row(r[0])]
        if main_rows:
            args.chart.write_text(chart(main_rows, "Real twin (solid) vs lbsim (dashed): 3 gunicorn backends × 4 sync workers"))
        for workload, suffix in (("CPU-bound", "cpu-bound"), ("I/O-bound", "io-bound")):
            mine = [(r[0].split(", 1 core")[0].removeprefix("gunicorn "), *r[1:]) for r in rows
                    if is_class_row(r[0]) and r[0].endswith(workload)]
            if mine:
                path = args.chart.with_name(f"{args.chart.stem}-{suffix}{args.chart.suffix}")
                path.write_text(chart(mine, f"Real (solid) vs lbsim (dashed): gunicorn on 1 pinned core, {workload}"))
    if args.check is not None and worst > args.check:
        print(f"FAIL: lbsim's mean is {worst * 100:.1f} % from the real mean (allowed {args.check * 100:.0f} %)",
              file=sys.stderr)
        lag = max(r[2]["send_lag_p99"] for r in rows)
        if lag > STARVED_SEND_LAG:
            # The load generator could not keep its schedule: the machine was too busy to
            # measure nginx + gunicorn (the calibration ran on it too), so this is no verdict.
            print(f"(the load generator was starved: send lag p99 {lag * 1e3:.1f} ms, more than "
                  f"{STARVED_SEND_LAG * 1e3:.0f} ms; the real side measured a busy machine)", file=sys.stderr)
            sys.exit(STARVED_EXIT)
        sys.exit(1)


if __name__ == "__main__":
    main()
