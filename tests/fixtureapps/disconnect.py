"""Watch ``environ['waitress.client_disconnected']`` while working slowly.

The app notes ``watching``, then polls the callable every 20 ms for at most
``seconds`` (query, default 10) and notes ``disconnected`` with what it saw
last (True when the client went away).  It answers afterwards, which the
client may no longer be there to read.
"""

import time

from fixtureapps.query import params
from fixtureapps.recorder import RECORDER


def app(environ, start_response):
    limit = float(params(environ).get("seconds", "10"))
    check = environ["waitress.client_disconnected"]
    RECORDER.record("watching", environ.get("PATH_INFO"))
    deadline = time.monotonic() + limit
    seen = bool(check())
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
        seen = bool(check())
    RECORDER.record("disconnected", seen)
    body = b"gone" if seen else b"still here"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
