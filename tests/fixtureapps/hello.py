"""A fixed greeting that notes each path it serves (``hit``).

The security tests use it as the canary: a request that must never reach the
application shows up as a ``hit`` note.
"""

from fixtureapps.recorder import RECORDER

BODY = b"Hello world!"


def app(environ, start_response):
    RECORDER.record("hit", environ.get("PATH_INFO"))
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]
