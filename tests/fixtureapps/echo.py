"""Echo the request back: the environ's plain values as JSON, plus the body.

``app`` answers with a JSON object holding every environ entry whose value
JSON can hold (others as their ``repr``) and ``body`` (the request body
decoded as latin-1).  ``digest_app`` answers with the body's length and
SHA-256 only, for bodies too big to echo.
"""

import hashlib
import json


def _read_body(environ: dict) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    return stream.read()


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, tuple):
        return list(value)
    return repr(value)


def app(environ, start_response):
    body = _read_body(environ)
    payload = {key: _plain(value) for key, value in environ.items()}
    payload["body"] = body.decode("latin-1")
    data = json.dumps(payload, sort_keys=True).encode("ascii")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def digest_app(environ, start_response):
    stream = environ["wsgi.input"]
    digest = hashlib.sha256()
    length = 0
    while True:
        piece = stream.read(65536)
        if not piece:
            break
        digest.update(piece)
        length += len(piece)
    data = json.dumps({"length": length, "sha256": digest.hexdigest()}).encode("ascii")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]
