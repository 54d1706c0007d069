"""A stream that counts how much of itself has been produced.

``PRODUCED`` holds how many bytes the app iterator has yielded so far, so a
test can see whether the server stopped pulling from the iterator while the
client was not reading (back-pressure, ``outbuf_high_watermark``).
Query: ``n`` chunks (default 1000) of ``size`` bytes (default 65536).
"""

import threading

from fixtureapps.query import int_param

_lock = threading.Lock()
PRODUCED = [0]


def produced() -> int:
    with _lock:
        return PRODUCED[0]


def reset() -> None:
    with _lock:
        PRODUCED[0] = 0


def app(environ, start_response):
    n = int_param(environ, "n", 1000)
    size = int_param(environ, "size", 65536)
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(n * size))],
    )

    def body():
        piece = b"p" * size
        for _ in range(n):
            with _lock:
                PRODUCED[0] += size
            yield piece

    return body()
