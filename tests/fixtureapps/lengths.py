"""Responses whose declared length and actual body disagree, or are large.

* ``/too_many``: Content-Length 5, the app yields 10 bytes.
* ``/too_few``: Content-Length 100, the app yields 10 bytes.
* ``/large?size=N&chunk=C``: Content-Length N, yielded in C-byte pieces.
* ``/status?code=204`` (or 304, 200): that status; the app still tries to
  send a body, which a 204/304 response must not carry.
* ``/head``: Content-Length 11 and a body, for HEAD requests.
* ``/twice``: Content-Length given twice, with the same value.
"""

from fixtureapps.query import int_param

STATUS_LINES = {200: "200 OK", 204: "204 No Content", 304: "304 Not Modified"}


def large_body(size: int) -> bytes:
    pattern = bytes(range(256))
    return (pattern * (size // 256 + 1))[:size]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/too_many":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"01234", b"56789"]
    if path == "/too_few":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])
        return [b"0123456789"]
    if path == "/large":
        size = int_param(environ, "size", 1 << 20)
        piece = int_param(environ, "chunk", 65536)
        data = large_body(size)
        start_response(
            "200 OK",
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))],
        )
        return (data[i : i + piece] for i in range(0, size, piece))
    if path == "/status":
        code = int_param(environ, "code", 200)
        start_response(
            STATUS_LINES[code], [("Content-Type", "text/plain"), ("Content-Length", "18")]
        )
        return [b"should not appear\n"]
    if path == "/twice":
        start_response(
            "200 OK", [("Content-Length", "5"), ("Content-Type", "text/plain"), ("content-length", "5")]
        )
        return [b"twice"]
    body = b"head body\r\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
