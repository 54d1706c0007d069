"""Applications that fail at each point of a response.

The path picks the failure:

* ``/before_start_response``: raises before calling start_response.
* ``/after_start_response``: calls start_response, then raises before
  returning (the headers are not sent yet, so a 500 is still possible).
* ``/after_headers_sent``: a generator that yields one chunk, then raises
  (the headers are on the wire: the server can only close the connection).
* ``/whole_stream``: the same body without the error (the control).
* ``/exc_info_before``: catches an error and calls start_response again with
  ``exc_info`` before anything was sent: the new status wins.
* ``/exc_info_after``: yields a chunk, then calls start_response with
  ``exc_info``, which re-raises (PEP 3333): the connection is closed.
* ``/not_bytes_later``: a list body whose second item is a str: nothing
  of the response has gone out when the server finds it, so a 500.
"""

import sys

MARKER = "fixture-error-marker"
FIRST_CHUNK = b"first chunk of a doomed body\n"


class FixtureError(Exception):
    """The error the apps raise; its message carries MARKER."""


def _before_start_response(environ, start_response):
    raise FixtureError(MARKER + " before start_response")


def _after_start_response(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    raise FixtureError(MARKER + " after start_response")


def _after_headers_sent(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body():
        yield FIRST_CHUNK
        raise FixtureError(MARKER + " after headers sent")

    return body()


def _whole_stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return iter([FIRST_CHUNK])


def _exc_info_before(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise FixtureError(MARKER + " handled")
    except FixtureError:
        body = b"replaced by the error page"
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            sys.exc_info(),
        )
        return [body]


def _exc_info_after(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body():
        yield FIRST_CHUNK
        try:
            raise FixtureError(MARKER + " after headers, with exc_info")
        except FixtureError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        yield b"never sent"

    return body()


def _not_bytes_later(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"a", "b"]


ROUTES = {
    "/before_start_response": _before_start_response,
    "/after_start_response": _after_start_response,
    "/after_headers_sent": _after_headers_sent,
    "/whole_stream": _whole_stream,
    "/exc_info_before": _exc_info_before,
    "/exc_info_after": _exc_info_after,
    "/not_bytes_later": _not_bytes_later,
}


def app(environ, start_response):
    route = ROUTES.get(environ.get("PATH_INFO", ""), _before_start_response)
    return route(environ, start_response)
