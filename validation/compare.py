#!/usr/bin/env python3
"""Real twin vs lbsim: the same trace through nginx/HAProxy + gunicorn and through `lbsim run`.

    validation/compare.py [--quick] [--seconds S] [--out DIR] [--markdown FILE] [--check TOL]

For each configuration and load: `lbsim trace` writes the requests of validation/twin.toml at
that load (Poisson arrivals, lognormal I/O work of mean 40 ms, cv 1.5, client ids);
validation/twin.sh starts the twin and `lbsim loadgen` replays the trace through it; then
`lbsim run` simulates the same trace (each request's work plus the fixed overhead) over the
matching model. The first 10 % of requests are left out on both sides.

The overhead is calibrated once, from a low-load run (load 0.1, no queueing): the mean of
(response time − the request's work) — what nginx, gunicorn and the network add to every
request. The model charges it to the worker (gunicorn's parsing and the WSGI call happen
there), a stated simplification.

--quick is CI's short run (one configuration, nginx least_conn at load 0.7); --check TOL
fails (exit 1) when lbsim's mean differs from the real mean by more than TOL (0.15 = 15 %).
Only the Python standard library is used.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LBSIM = Path(os.environ.get("LBSIM", REPO / "target/release/lbsim"))
EXPERIMENT = HERE / "twin.toml"
WARMUP_SHARE = 0.1
CALIBRATION_LOAD = 0.1
# Capacity of the model: 3 backends × 4 workers, 40 ms of work per request.
CAPACITY_RATE = 3 * 4 / 0.040

# label → (twin.sh arguments, the lbsim model: strategy, extra [[backends]] and [balancer] keys)
CONFIGURATIONS = {
    "nginx round robin": (["--balancer", "nginx", "--strategy", "round_robin"], ("round_robin", "", "")),
    "nginx least_conn": (["--balancer", "nginx", "--strategy", "least_conn"], ("least_connections", "", "")),
    "HAProxy leastconn, maxconn 4": (
        ["--balancer", "haproxy", "--strategy", "leastconn", "--maxconn", "4"],
        # maxconn = workers with HAProxy's queue: a request waits in the proxy until any
        # worker is free, then goes to it — one shared FCFS queue in front of all 12 workers
        # (M/G/12). (lbsim can now also say it literally: least_connections with
        # [[backends]] maxconn = 4, which queues in the balancer the same way.)
        ("central_queue", "", ""),
    ),
    "nginx least_conn, 2 workers, zone": (
        ["--balancer", "nginx", "--strategy", "least_conn", "--nginx-workers", "2", "--zone"],
        # Two nginx worker processes sharing the upstream's counters (zone): exact counts.
        ("least_connections", "", 'instances = 2\nrouting = "random"\ninfo = "exact"'),
    ),
    "nginx least_conn, 2 workers, no zone": (
        ["--balancer", "nginx", "--strategy", "least_conn", "--nginx-workers", "2"],
        # Without zone each worker counts only its own connections; the kernel hands each
        # new connection to either worker.
        ("least_connections", "", 'instances = 2\nrouting = "random"\ninfo = "local"'),
    ),
}


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


def replay(trace, twin_args, records, warmup):
    """Runs the twin with the load generator inside; returns the loadgen's JSON summary."""
    out = run([HERE / "twin.sh", *twin_args, "--", "nice", "-n", "-5", LBSIM, "loadgen", trace,
               "--url", "http://127.0.0.1:18080/", "--out", records, "--warmup", warmup, "--json"],
              stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout)


def overhead_of(records, warmup):
    """Mean of (response − work), and mean work, over the measured requests of a low-load run."""
    with open(records) as f:
        rows = [r for r in list(csv.DictReader(f))[warmup:] if r["response"]]
    diffs = [float(r["response"]) - float(r["size"]) for r in rows]
    return sum(diffs) / len(diffs), sum(float(r["size"]) for r in rows) / len(rows)


def simulate(work, trace, overhead, model, warmup, tag):
    """`lbsim run --json` over `trace` with every request's work increased by `overhead`."""
    rows = read_trace(trace)
    sim_trace = work / (Path(trace).stem + "-sim.csv")
    with open(sim_trace, "w") as f:
        f.write(f"# {Path(trace).name} with {overhead * 1e3:.3f} ms of overhead added to every size\n")
        f.write("time,size,client\n")
        for t, s, c in rows:
            f.write(f"{t!r},{s + overhead!r},{c}\n")
    strategy, backend_keys, balancer_keys = model
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
{backend_keys}
[balancer]
strategies = ["{strategy}"]
{balancer_keys}
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


def chart(rows):
    """Two panels (mean, p99 against load): real as solid lines with dots, lbsim dashed."""
    labels = list(dict.fromkeys(r[0] for r in rows))
    width, height, panel_w, top, bottom, left = 1000, 560, 400, 70, 470, 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="DejaVu Sans, sans-serif" font-size="14">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{width / 2}" y="30" text-anchor="middle" font-size="20">'
             'Real twin (solid) vs lbsim (dashed): 3 gunicorn backends × 4 sync workers</text>']
    loads = sorted({r[1] for r in rows})
    x0, x1 = min(loads) - 0.05, max(loads) + 0.05
    for p, (key, title) in enumerate([("mean_response", "mean response time"), ("p99", "p99 response time")]):
        ox = left + p * (panel_w + 100)
        values = [r[i][key] * 1e3 for r in rows for i in (2, 3)]
        y1 = max(values) * 1.1
        sx = lambda x: ox + (x - x0) / (x1 - x0) * panel_w
        sy = lambda y: bottom - y / y1 * (bottom - top)
        parts.append(f'<text x="{ox + panel_w / 2}" y="{top - 12}" text-anchor="middle" font-size="16">{title}</text>')
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
        x = left + c * 300
        parts.append(f'<line x1="{x}" x2="{x + 28}" y1="{y - 5}" y2="{y - 5}" stroke="{COLOURS[c]}" stroke-width="3"/>')
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

    # Calibration: the fixed per-request overhead, at a load where nobody queues.
    count = int(CAPACITY_RATE * CALIBRATION_LOAD * seconds * 0.5)
    trace = work / "load-0.1.csv"
    write_trace(trace, CALIBRATION_LOAD, count)
    warmup = int(count * WARMUP_SHARE)
    records = work / "calibration-records.csv"
    calibration = replay(trace, CONFIGURATIONS["nginx round robin"][0], records, warmup)
    overhead, calibration_work = overhead_of(records, warmup)
    print(f"overhead: {overhead * 1e3:.2f} ms per request (load {CALIBRATION_LOAD}, nginx round robin, "
          f"real mean {ms(calibration['mean_response'])} ms)", file=sys.stderr)

    if args.quick:
        plan = [("nginx least_conn", 0.7)]
    else:
        plan = [(c, load) for c in CONFIGURATIONS for load in (0.5, 0.7, 0.85)
                if not args.only or any(o in c for o in args.only)]
    rows = []
    worst = 0.0
    for label, load in plan:
        twin_args, model = CONFIGURATIONS[label]
        count = int(CAPACITY_RATE * load * seconds)
        warmup = int(count * WARMUP_SHARE)
        trace = work / f"load-{load}.csv"
        if not trace.exists():
            write_trace(trace, load, count)
        records = work / f"{slug(label)}-{load}-records.csv"
        started = time.time()
        real = replay(trace, twin_args, records, warmup)
        real["loadavg"] = os.getloadavg()[0]
        sim = simulate(work, trace, overhead, model, warmup, slug(label))
        sim_total = sum(b["completed"] for b in sim["backends"])
        sim_share = [b["completed"] / sim_total for b in sim["backends"]]
        real_share = [b["share"] for b in real["backends"]]
        rows.append((label, load, real, sim, real_share, sim_share))
        error = abs(sim["mean_response"] - real["mean_response"]) / real["mean_response"]
        worst = max(worst, error)
        print(f"{label} at load {load}: real mean {ms(real['mean_response'])} ms, lbsim {ms(sim['mean_response'])} ms "
              f"({deviation(sim['mean_response'], real['mean_response'])}); p99 {ms(real['p99'])} vs {ms(sim['p99'])} ms; "
              f"send lag p99 {real['send_lag_p99'] * 1e3:.2f} ms; {time.time() - started:.0f} s", file=sys.stderr)

    lines = [
        f"Overhead calibrated at load {CALIBRATION_LOAD}: **{overhead * 1e3:.2f} ms** per request "
        f"(real mean {ms(calibration['mean_response'])} ms for a mean work of {ms(calibration_work)} ms "
        f"over {calibration['requests']} requests).",
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
        lines.append(f"| {label} | {load} | {real['requests']}{' (' + str(real['errors']) + ' errors)' if real['errors'] else ''} | "
                     + " | ".join(cells) + f" | {shares} | {real['send_lag_p99'] * 1e3:.2f} | {real['loadavg']:.1f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.chart:
        args.chart.write_text(chart(rows))
    if args.check is not None and worst > args.check:
        print(f"FAIL: lbsim's mean is {worst * 100:.1f} % from the real mean (allowed {args.check * 100:.0f} %)",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
