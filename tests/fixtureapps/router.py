"""Several fixture apps behind one server, chosen by the first path segment.

``/echo/...``, ``/lengths/...``, ``/stream/...``, ``/sleepy/...``,
``/hello/...``, ``/digest/...``, ``/closing/...``: the segment is moved to SCRIPT_NAME and the
rest of the path goes to that app.  The fault tests use it to reach every
kind of response through one subprocess server.
"""

from wsgiref.util import shift_path_info

from fixtureapps import closing, echo, gate, hello, lengths, streaming

APPS = {
    "echo": echo.app,
    "digest": echo.digest_app,
    "hello": hello.app,
    "lengths": lengths.app,
    "stream": streaming.app,
    "sleepy": gate.sleepy_app,
    "closing": closing.app,
}


def app(environ, start_response):
    name = shift_path_info(environ)
    target = APPS.get(name or "")
    if target is None:
        body = b"no such fixture app\n"
        start_response(
            "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]
    return target(environ, start_response)
