"""A small demo application: a page that shows the request it received.

``waitress-serve waitress.demo:app`` serves it; it is also handy to see what
a reverse proxy in front of the server passes along.
"""

import html

_SHOWN_PREFIXES = ("HTTP_", "REQUEST_", "PATH_", "QUERY_", "SERVER_", "REMOTE_", "SCRIPT_",
                   "CONTENT_", "wsgi.url_scheme")


def app(environ, start_response):
    """Answer every request with an HTML table of its environ (WSGI keys filtered)."""
    body_size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(body_size) if body_size else b""
    rows = "".join(
        f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(environ[key]))}</td></tr>"
        for key in sorted(environ)
        if key.startswith(_SHOWN_PREFIXES)
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>waitress demo</title></head>"
        "<body><h1>Your request</h1>"
        f"<p>{html.escape(environ['REQUEST_METHOD'])} {html.escape(environ.get('REQUEST_URI', ''))}"
        f" ({len(body)} body bytes)</p><table>{rows}</table></body></html>"
    ).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(page)))])
    return [page]
