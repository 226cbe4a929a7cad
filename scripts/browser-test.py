"""Drives headless Chromium over the DevTools protocol to test report.html files.

    python scripts/browser-test.py CHROMIUM REPORT.html...
    python scripts/browser-test.py CHROMIUM REPORT.html --screenshot OUT.png   # for the README

For each report, at a desktop width and at a phone's 390 px: the page loads with no console
error and no uncaught exception, every interactive chart is drawn (an SVG with one series
per strategy, each with data), the page does not overflow sideways, clicking a strategy
toggle removes that strategy's series while the log switch and slice selector redraw, and the
queue animation (where the report has one) draws a panel per strategy that "play" moves on.
Exits non-zero, naming the report and the check, on the first failure.
"""

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect


class Page:
    def __init__(self, ws_url):
        self.ws = connect(ws_url, max_size=None)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv(timeout=left)))

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:60]}…: {r['exceptionDetails']}")
        return r["result"].get("value")

    def errors(self):
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("exception", {}).get("description") or p["exceptionDetails"]["text"])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out


# What the page shows, as plain data: per chart, the series drawn (strategy → points) and
# their geometry (a path's outline, a bar's height), so that a redraw with other values, the
# same number of points (another slice of a sweep), counts as a change.
STATE = """(() => {
  const charts = [...document.querySelectorAll('#interactive svg[data-chart]')];
  return {
    strategies: JSON.parse(document.getElementById('lbsim-data').textContent).strategies,
    charts: charts.map(svg => ({
      key: svg.dataset.chart,
      width: svg.getBoundingClientRect().width,
      series: [...svg.querySelectorAll('.series')].map(e => e.dataset.strategy),
      points: [...svg.querySelectorAll('path.series')].map(e => +e.dataset.points),
      bars: [...svg.querySelectorAll('rect.series')].map(e => +e.getAttribute('width')),
      shapes: [...svg.querySelectorAll('.series')].map(e => e.getAttribute('d') || e.getAttribute('height')),
      fontPx: parseFloat(getComputedStyle(svg.querySelector('text') || svg).fontSize) *
              svg.getBoundingClientRect().width / (svg.viewBox.baseVal.width || 1),
    })),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    selects: document.querySelectorAll('#interactive select').length,
  };
})()"""


def check(report, page, width):
    where = f"{report} at {width} px"
    page.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=width < 500)
    page.events.clear()
    page.call("Page.navigate", url=Path(report).resolve().as_uri())
    page.wait_for("Page.loadEventFired")
    time.sleep(0.3)
    errors = page.errors()
    assert not errors, f"{where}: console errors: {errors}"
    s = page.eval(STATE)
    assert s["charts"], f"{where}: no interactive chart"
    n = len(s["strategies"])
    for c in s["charts"]:
        assert sorted(c["series"]) == sorted(s["strategies"]), f"{where}: chart {c['key']} draws {c['series']}, not every strategy"
        assert all(p >= 1 for p in c["points"]) and all(b > 0 for b in c["bars"]), f"{where}: chart {c['key']} has an empty series"
        assert c["fontPx"] >= 10, f"{where}: chart {c['key']} text is {c['fontPx']:.1f} px"
    assert s["overflow"] <= 0, f"{where}: the page overflows sideways by {s['overflow']} px"
    # A strategy toggle hides that strategy's series everywhere, and shows it again.
    first = s["strategies"][0]
    page.eval("document.querySelector('#interactive button[data-strategy=\"0\"]').click()")
    after = page.eval(STATE)
    for c in after["charts"]:
        assert first not in c["series"] and len(c["series"]) == n - 1, f"{where}: toggling {first} left {c['series']} in {c['key']}"
    page.eval("document.querySelector('#interactive button[data-strategy=\"0\"]').click()")
    assert page.eval(STATE)["charts"] == s["charts"], f"{where}: toggling {first} twice does not restore the charts"
    # The log switch and each slice selector redraw without error.
    if page.eval("!!document.getElementById('log-toggle')"):
        page.eval("document.getElementById('log-toggle').click()")
        logged = page.eval(STATE)
        assert all(c["series"] for c in logged["charts"]), f"{where}: log scale drew nothing"
        page.eval("document.getElementById('log-toggle').click()")
    if s["selects"]:
        page.eval("""(() => { const sel = document.querySelector('#interactive select');
            sel.value = String(sel.options.length - 1); sel.dispatchEvent(new Event('change')); })()""")
        sliced = page.eval(STATE)
        assert all(c["series"] for c in sliced["charts"]), f"{where}: the other slice drew nothing"
        assert sliced["charts"] != s["charts"], f"{where}: choosing another slice changed nothing"
    # The queue animation (where the report has series of a few backends): one panel per
    # strategy, squares drawn, and "play" moves the frame on.
    if page.eval("JSON.parse(document.getElementById('lbsim-data').textContent).queues !== null"):
        queues = """(() => { const b = document.getElementById('queues'); if (!b) return null;
            return { panels: b.querySelectorAll('svg[data-queue]').length, frame: +b.dataset.frame,
                     squares: b.querySelectorAll('rect.request').length }; })()"""
        q = page.eval(queues)
        assert q is not None, f"{where}: the data has queues but no animation was drawn"
        assert q["panels"] == n, f"{where}: {q['panels']} queue panels for {n} strategies"
        page.eval("document.getElementById('queue-play').click()")
        time.sleep(0.6)
        played = page.eval(queues)
        page.eval("document.getElementById('queue-play').click()")
        assert played["frame"] > q["frame"], f"{where}: play did not move the queues on ({q} then {played})"
        assert q["squares"] + played["squares"] > 0, f"{where}: no request drawn in any queue"
    errors = page.errors()
    assert not errors, f"{where}: console errors after interaction: {errors}"
    return len(s["charts"])


def screenshot(report, page, out):
    """The interactive section at 1000 px, a strategy hidden and the tooltip of the first
    chart shown, as a PNG."""
    page.call("Emulation.setDeviceMetricsOverride", width=1000, height=820, deviceScaleFactor=1, mobile=False)
    page.call("Page.navigate", url=Path(report).resolve().as_uri())
    page.wait_for("Page.loadEventFired")
    time.sleep(0.3)
    page.eval("document.querySelector('#interactive button[data-strategy=\"3\"]')?.click()")
    page.eval("""(() => { const t = document.getElementById('interactive').getBoundingClientRect().top + scrollY - 12;
        scrollTo(0, t); return t; })()""")
    time.sleep(0.2)
    box = page.eval("""(() => { const r = document.querySelector('#interactive svg').getBoundingClientRect();
        return [r.left + r.width * 0.8, r.top + r.height * 0.4]; })()""")
    page.call("Input.dispatchMouseEvent", type="mouseMoved", x=box[0], y=box[1])
    time.sleep(0.2)
    shot = page.call("Page.captureScreenshot", format="png")
    Path(out).write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {out}")


def main():
    args = sys.argv[1:]
    shot = None
    if "--screenshot" in args:
        i = args.index("--screenshot")
        shot = args[i + 1]
        del args[i:i + 2]
    chromium, reports = args[0], args[1:]
    profile = tempfile.mkdtemp(prefix="lbsim-browser-")
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if browser.poll() is not None or time.monotonic() > deadline:
                sys.exit("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        if shot:
            screenshot(reports[0], page, shot)
            reports = []
        for report in reports:
            for width in (1100, 390):
                try:
                    charts = check(report, page, width)
                except AssertionError as e:
                    sys.exit(f"browser test FAILED: {e}")
                print(f"ok  {report} at {width} px: {charts} charts, no console error, toggles redraw")
        page.ws.close()
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
