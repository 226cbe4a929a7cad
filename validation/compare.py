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

- the total `o`, from a low-load run (load 0.1, nobody queues): the
  mean of (response time − the request's work);
- the part of it that holds a gunicorn worker, `h`, from a run that keeps one sync worker
  permanently busy (1 backend × 1 worker, short requests arriving faster than it serves
  them) with app.py's timing log on (twin.sh --timing): the worker's median cycle — from
  entering the app for one request to entering it for the next — minus the work (the median,
  because on a machine busy with other jobs a few cycles are stretched by tens of
  milliseconds when the worker is descheduled, which says nothing about gunicorn). That cycle
  includes gunicorn's access log, its graceful close (it half-closes and waits until nginx
  has read the response and closed: gunicorn `util.close_graceful`), the next accept, the
  request parsing and the WSGI environ;
- the rest, `o − h`, is spent where no worker is held (the load generator, nginx before it
  picks a backend and after the response, the loopback): the model makes it a round trip
  of the clients (`[balancer] rtt`: half before the balancer decides, half after the
  response), which delays the response without occupying anybody.

So the simulated trace is each request's work + `h`, and the balancer has `rtt = o − h`.

--quick is CI's short run (one configuration, nginx least_conn at load 0.7); --check TOL
fails (exit 1) when lbsim's mean differs from the real mean by more than TOL (0.15 = 15 %).
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


class Config(NamedTuple):
    """One configuration of the comparison: the twin and the matching lbsim model."""

    twin: list  # validation/twin.sh arguments
    strategy: str
    backend_keys: str = ""  # extra [[backends]] keys
    balancer_keys: str = ""  # extra [balancer] keys
    loads: tuple = LOADS


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


class Overhead(NamedTuple):
    """What the twin adds to every request beyond its work (seconds)."""

    total: float  # o: mean (response − work) at low load
    held: float  # h: the part that holds a worker
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


def replay(trace, twin_args, records, warmup, timing=None):
    """Runs the twin with the load generator inside; returns the loadgen's JSON summary."""
    extra = ["--timing", timing] if timing else []
    out = run([HERE / "twin.sh", *twin_args, *extra, "--", "nice", "-n", "-5", LBSIM, "loadgen", trace,
               "--url", "http://127.0.0.1:18080/", "--out", records, "--warmup", warmup, "--json"],
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


def measure_held(work):
    """h: how long gunicorn holds a sync worker per request beyond the request's work.

    One backend × one sync worker behind nginx, sent 5 ms requests every 4 ms for a while:
    the worker never waits for a connection, so from entering the app for one request to
    entering it for the next is its whole cycle (app, response, access log, graceful close,
    accept, parsing)."""
    count = 400  # 1.6 s; the backlog grows to about 100 connections
    trace = work / "held-trace.csv"
    with open(trace, "w") as f:
        f.write("# one sync worker kept busy: 5 ms of I/O every 4 ms\ntime,size,client\n")
        for i in range(count):
            f.write(f"{i * 0.004!r},0.005,{i}\n")
    timing = work / "held-timing"
    for old in timing.glob("timing-*.csv") if timing.exists() else []:
        old.unlink()
    replay(trace, ["--balancer", "nginx", "--strategy", "round_robin", "--backends", "1", "--workers", "1"],
           work / "held-records.csv", 0, timing=timing)
    (rows,) = read_timing(timing).values()
    rows = rows[len(rows) // 10:]  # the backlog builds up first
    cycles = [b[0] - a[0] - a[4] for a, b in zip(rows, rows[1:])]
    return statistics.fmean(cycles), statistics.median(cycles), cpu_per_request({"w": rows}, 0), len(cycles)


def calibrate(work, seconds, held):
    """o: the mean of (response − work) at load 0.1, nginx round robin over 3 × 4 sync workers."""
    count = int(CAPACITY_RATE * CALIBRATION_LOAD * seconds * 0.5)
    trace = work / "load-0.1.csv"
    write_trace(trace, CALIBRATION_LOAD, count)
    warmup = int(count * WARMUP_SHARE)
    records = work / "calibration-records.csv"
    summary = replay(trace, CONFIGURATIONS["nginx round robin"].twin, records, warmup)
    total, work_mean = overhead_of(records, warmup)
    return Overhead(total, held, summary["mean_response"], work_mean, summary["requests"])


def simulate(work, trace, overhead, config, warmup, tag):
    """`lbsim run --json` over `trace` with every request's work increased by the held
    overhead and the rest of the overhead as the clients' round trip."""
    rows = read_trace(trace)
    sim_trace = work / (Path(trace).stem + "-sim.csv")
    with open(sim_trace, "w") as f:
        f.write(f"# {Path(trace).name} with {overhead.held * 1e3:.3f} ms of held overhead added to every size\n")
        f.write("time,size,client\n")
        for t, s, c in rows:
            f.write(f"{t!r},{s + overhead.held!r},{c}\n")
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
# Sizes come from the trace (lbsim refuses a [service] beside a size column).
[[backends]]
name = "gunicorn"
count = 3
workers = 4
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one configuration (CI)")
    parser.add_argument("--seconds", type=float, help="traffic per run (default 60, quick 25)")
    parser.add_argument("--out", type=Path, help="keep traces and records here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--check", type=float, help="fail if |sim mean − real mean| > CHECK × real mean")
    parser.add_argument("--only", action="append", help="run only configurations whose label contains this (repeatable)")
    parser.add_argument("--chart", type=Path, help="write an SVG chart of real vs lbsim mean and p99 against load")
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

    # Calibration: the worker's held time, then the total overhead at a load where nobody
    # queues.
    started = time.time()
    held_mean, held, held_cpu, cycles = measure_held(work)
    print(f"held: a sync worker's cycle beyond the work is {held * 1e3:.2f} ms (median; mean "
          f"{held_mean * 1e3:.2f} ms), of which CPU {held_cpu * 1e3:.2f} ms ({cycles} cycles; "
          f"{time.time() - started:.0f} s)", file=sys.stderr)
    started = time.time()
    overhead = calibrate(work, seconds, held)
    print(f"overhead: {overhead.total * 1e3:.2f} ms per request (load {CALIBRATION_LOAD}, nginx round robin), "
          f"{overhead.held * 1e3:.2f} ms held, round trip {overhead.rtt * 1e3:.2f} ms (real mean "
          f"{ms(overhead.real_mean)} ms; {time.time() - started:.0f} s)", file=sys.stderr)

    rows = []
    worst = 0.0
    for label, load in plan:
        config = CONFIGURATIONS[label]
        count = int(CAPACITY_RATE * load * seconds)
        warmup = int(count * WARMUP_SHARE)
        trace = work / f"load-{load}.csv"
        if not trace.exists():
            write_trace(trace, load, count)
        records = work / f"{slug(label)}-{load}-records.csv"
        started = time.time()
        real = replay(trace, config.twin, records, warmup)
        real["loadavg"] = os.getloadavg()[0]
        sim = simulate(work, trace, overhead, config, warmup, slug(label))
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

    lines = [
        f"Held by a sync worker beyond the work (1 worker kept busy, median of {cycles} cycles): "
        f"**{held * 1e3:.2f} ms** (mean {held_mean * 1e3:.2f} ms; of which gunicorn's CPU {held_cpu * 1e3:.2f} ms).",
        "",
    ]
    o = overhead
    lines += [
        f"Overhead calibrated at load {CALIBRATION_LOAD}: **{o.total * 1e3:.2f} ms** per request (real mean "
        f"{ms(o.real_mean)} ms for a mean work of {ms(o.work_mean)} ms over {o.requests} requests): "
        f"{o.held * 1e3:.2f} ms held, {o.rtt * 1e3:.2f} ms as the clients' round trip.",
        "",
        "| configuration | load | requests | mean real / lbsim (ms) | p50 real / lbsim | p90 real / lbsim | "
        "p99 real / lbsim | per-backend share real / lbsim (%) | send lag p99 (ms) | load average |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, load, real, sim, real_share, sim_share in rows:
        cells = []
        for key in ("mean_response", "p50", "p90", "p99"):
            cells.append(f"{ms(real[key])} / {ms(sim[key])} ({deviation(sim[key], real[key])})")
        shares = " · ".join(f"{r * 100:.1f}/{s * 100:.1f}" for r, s in zip(real_share, sim_share))
        errors = f" ({real['errors']} errors)" if real["errors"] else ""
        lines.append(f"| {label} | {load} | {real['requests']}{errors} | " + " | ".join(cells)
                     + f" | {shares} | {real['send_lag_p99'] * 1e3:.2f} | {real['loadavg']:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.chart:
        args.chart.write_text(chart(rows, "Real twin (solid) vs lbsim (dashed): 3 gunicorn backends × 4 sync workers"))
    if args.check is not None and worst > args.check:
        print(f"FAIL: lbsim's mean is {worst * 100:.1f} % from the real mean (allowed {args.check * 100:.0f} %)",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
