"""The twin's backend: a WSGI app whose work per request is known exactly.

Each request carries its work in headers, in seconds: `X-Cpu` is burnt on the CPU first
(a busy loop on the thread's own CPU clock, so time the worker is descheduled does not
count), then `X-Io` is slept (time.sleep: under gunicorn's gevent worker it is
monkey-patched and yields to other greenlets, as real I/O does). The response names who
served it: `X-Backend` (the TWIN_BACKEND environment variable) and `X-Worker` (the pid).

With TWIN_TIMING=DIR (validation/twin.sh --timing DIR) each worker process also appends one
line per request to DIR/timing-<pid>.csv: when the app was entered and left
(time.monotonic(), the same clock in every process), the process's CPU time when it left
(time.process_time(), all its threads), the work asked for (cpu, io), and the serving
thread's own CPU time when it left (time.thread_time()) and id (threading.get_native_id():
gthread serves each request on one of its pool threads). validation/compare.py reads them to
find how long gunicorn holds a worker, or a gthread pool thread, beyond the request's own work.
"""

import os
import threading
import time

BACKEND = os.environ.get("TWIN_BACKEND", "backend")
TIMING = os.environ.get("TWIN_TIMING")
BODY = b"ok\n"
_timing_file = None


def seconds(environ, key):
    try:
        value = float(environ.get(key) or 0.0)
    except ValueError:
        return 0.0
    return value if value > 0.0 else 0.0


def record(entered, left, cpu, io):
    global _timing_file
    if _timing_file is None:
        # Opened lazily: after the fork, so each worker process writes its own file.
        _timing_file = open(os.path.join(TIMING, f"timing-{os.getpid()}.csv"), "a", buffering=1)
    _timing_file.write(f"{entered:.6f},{left:.6f},{time.process_time():.6f},{cpu!r},{io!r},"
                       f"{time.thread_time():.6f},{threading.get_native_id()}\n")


def app(environ, start_response):
    entered = time.monotonic()
    cpu = seconds(environ, "HTTP_X_CPU")
    io = seconds(environ, "HTTP_X_IO")
    if cpu:
        end = time.thread_time() + cpu
        while time.thread_time() < end:
            pass
    if io:
        time.sleep(io)
    if TIMING:
        record(entered, time.monotonic(), cpu, io)
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(BODY))),
            ("X-Backend", BACKEND),
            ("X-Worker", str(os.getpid())),
        ],
    )
    return [BODY]
