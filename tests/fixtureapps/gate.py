"""Applications that hold a worker thread until the test lets them go.

``app`` notes ``entered`` with its path, then waits on ``GATE`` (at most
``WAIT_LIMIT`` seconds so that no test can hang on it), notes ``left`` and
answers ``released`` (or ``timed out``).  ``sleepy_app`` sleeps ``seconds``
(a query parameter, default 1) instead, for the subprocess server where the
test cannot reach the gate.
"""

import contextlib
import threading
import time

from fixtureapps.query import params
from fixtureapps.recorder import RECORDER

GATE = threading.Event()
WAIT_LIMIT = 20.0


def app(environ, start_response):
    path = environ.get("PATH_INFO")
    RECORDER.record("entered", path)
    released = GATE.wait(WAIT_LIMIT)
    RECORDER.record("left", path)
    body = b"released" if released else b"timed out"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def sleepy_app(environ, start_response):
    seconds = float(params(environ).get("seconds", "1"))
    RECORDER.record("entered", environ.get("PATH_INFO"))
    time.sleep(seconds)
    body = b"slept"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@contextlib.contextmanager
def released():
    """Open the gate when the block ends, so blocked workers can finish.

    Use it after the server in a ``with`` statement, so the gate opens
    before the server is asked to close.
    """
    try:
        yield GATE
    finally:
        GATE.set()
