"""Send part of the body through the ``write`` callable of start_response.

PEP 3333 keeps ``write`` for old frameworks: what it writes goes out before
the returned iterable.  The body is ``b"Hello, world!"``; ``/sized`` also
declares Content-Length 13.  ``/late`` writes once more from the
iterable's ``close()``, after the body has ended: a mistake the server must
refuse rather than send after the body's framing.
"""

BODY = b"Hello, world!"


def app(environ, start_response):
    headers = [("Content-Type", "text/plain")]
    if environ.get("PATH_INFO") == "/sized":
        headers.append(("Content-Length", str(len(BODY))))
    write = start_response("200 OK", headers)
    write(b"Hello, ")
    write(b"world")
    if environ.get("PATH_INFO") == "/late":
        return LateWriter(write)
    return [b"!"]


class LateWriter:
    """The body's last byte, then a ``write()`` from ``close()``."""

    def __init__(self, write) -> None:
        self.write = write

    def __iter__(self):
        yield b"!"

    def close(self) -> None:
        self.write(b"LATE")
