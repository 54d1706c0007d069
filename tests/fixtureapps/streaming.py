"""Stream a body of ``n`` chunks of ``size`` bytes with no Content-Length.

Query: ``n`` (default 3), ``size`` (default 5).  Chunk ``i`` is ``size``
copies of the byte ``i % 256``, so a client can check order and length.
``app_http10`` is the same app; the name says which test uses it.
"""

from fixtureapps.query import int_param


def chunk(index: int, size: int) -> bytes:
    return bytes((index % 256,)) * size


def expected_body(n: int, size: int) -> bytes:
    return b"".join(chunk(i, size) for i in range(n))


def app(environ, start_response):
    n = int_param(environ, "n", 3)
    size = int_param(environ, "size", 5)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def body():
        for index in range(n):
            yield chunk(index, size)

    return body()
