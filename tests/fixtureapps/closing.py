"""An app iterator whose ``close()`` notes that it was called (PEP 3333).

The server must call ``close()`` on whatever the app returned, whether the
response completed, the app failed while iterating, or the client left.

* ``/normal?tag=T``: three chunks, then done.
* ``/error?tag=T``: one chunk, then an exception.
* ``/stream?tag=T&n=N&size=S``: N chunks of S bytes (a long stream the
  client abandons).
Each close notes ``closed`` with the tag.
"""

from fixtureapps.query import int_param, params
from fixtureapps.recorder import RECORDER


class ClosingIterator:
    """Yields ``count`` chunks of ``size`` bytes, or fails after ``fail_after``."""

    def __init__(self, tag: str, count: int, size: int, fail_after: int = -1) -> None:
        self.tag = tag
        self.count = count
        self.size = size
        self.fail_after = fail_after
        self.index = 0

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if self.index == self.fail_after:
            raise RuntimeError("closing iterator fails on purpose")
        if self.index >= self.count:
            raise StopIteration
        self.index += 1
        return b"x" * self.size

    def close(self) -> None:
        RECORDER.record("closed", self.tag)


def app(environ, start_response):
    path = environ.get("PATH_INFO")
    tag = params(environ).get("tag", path)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    if path == "/error":
        return ClosingIterator(tag, 3, 10, fail_after=1)
    if path == "/stream":
        return ClosingIterator(
            tag, int_param(environ, "n", 10000), int_param(environ, "size", 65536)
        )
    return ClosingIterator(tag, 3, 10)
