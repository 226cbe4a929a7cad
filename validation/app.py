"""The twin's backend: a WSGI app whose work per request is known exactly.

Each request carries its work in headers, in seconds: `X-Cpu` is burnt on the CPU first
(a busy loop on the thread's own CPU clock, so time the worker is descheduled does not
count), then `X-Io` is slept (time.sleep: under gunicorn's gevent worker it is
monkey-patched and yields to other greenlets, as real I/O does). The response names who
served it: `X-Backend` (the TWIN_BACKEND environment variable) and `X-Worker` (the pid).
"""

import os
import time

BACKEND = os.environ.get("TWIN_BACKEND", "backend")
BODY = b"ok\n"


def seconds(environ, key):
    try:
        value = float(environ.get(key) or 0.0)
    except ValueError:
        return 0.0
    return value if value > 0.0 else 0.0


def app(environ, start_response):
    cpu = seconds(environ, "HTTP_X_CPU")
    io = seconds(environ, "HTTP_X_IO")
    if cpu:
        end = time.thread_time() + cpu
        while time.thread_time() < end:
            pass
    if io:
        time.sleep(io)
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
