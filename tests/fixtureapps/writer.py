"""Send part of the body through the ``write`` callable of start_response.

PEP 3333 keeps ``write`` for old frameworks: what it writes goes out before
the returned iterable.  The body is ``b"Hello, world!"``; ``/sized`` also
declares Content-Length 13.
"""

BODY = b"Hello, world!"


def app(environ, start_response):
    headers = [("Content-Type", "text/plain")]
    if environ.get("PATH_INFO") == "/sized":
        headers.append(("Content-Length", str(len(BODY))))
    write = start_response("200 OK", headers)
    write(b"Hello, ")
    write(b"world")
    return [b"!"]
