"""``WSGITask.request``: the parsed request in the shape Waitress's parser gives it.

Code that patches or extends Waitress's ``WSGITask`` reads the request from
``task.request`` (for example ``request.headers['X_FORWARDED_FOR']`` in a
``get_environment`` override).  Our tasks hold a ``RequestHead`` instead,
so this view derives Waitress's fields from it when asked; nothing on the
request path builds one.
"""

from typing import Dict, Iterable, Tuple

from waitress_http import RequestHead, field_key


def header_dict(fields: Iterable[Tuple[str, str]]) -> Dict[str, str]:
    """Header fields as Waitress's parser keys them: ``field_key`` names
    (upper case, ``-`` as ``_``, names containing ``_`` left out), repeated
    fields joined with ``", "`` in the order received."""
    keyed: Dict[str, str] = {}
    for name, value in fields:
        key = field_key(name)
        if not key:
            continue
        if key in keyed:
            keyed[key] += ", " + value
        else:
            keyed[key] = value
    return keyed


class RequestView:
    """Read-only: the fields of Waitress's parsed request that code reads.

    ``headers`` follows Waitress's parser: names keyed as the environ keys
    them without ``HTTP_`` (``field_key``: upper case, ``-`` as ``_``, names
    containing ``_`` left out), repeated fields joined with ``", "``.
    ``path`` is percent-decoded and carried as latin-1 (as PATH_INFO);
    ``proxy_scheme`` and ``proxy_netloc`` are set for an absolute-form
    target (``GET http://host/path``), as a forward proxy receives it.
    A request that reaches a task was parsed whole and without error, so
    ``completed`` is True, ``error`` None and ``empty`` False.
    """

    __slots__ = ("_head", "url_scheme")

    completed = True
    headers_finished = True
    empty = False
    error = None

    def __init__(self, head: RequestHead, url_scheme: str = "http") -> None:
        self._head = head
        #: The server's ``url_scheme`` option (what the request arrived over).
        self.url_scheme = url_scheme

    @property
    def command(self) -> str:
        """The request method, as the client sent it."""
        return self._head.method

    @property
    def version(self) -> str:
        """The HTTP version without its ``HTTP/`` prefix: ``"1.1"``, ``"1.0"``."""
        return self._head.version

    @property
    def request_uri(self) -> str:
        """The request target as sent (path and query, or an absolute URI)."""
        return self._head.target

    @property
    def first_line(self) -> bytes:
        """The request line, without its CRLF."""
        head = self._head
        return f"{head.method} {head.target} HTTP/{head.version}".encode("latin-1")

    @property
    def headers(self) -> Dict[str, str]:
        """A new dict of the header fields, keyed as described above."""
        return header_dict(self._head.headers)

    def _uri(self) -> Tuple[str, str, str, str, str]:
        from .parser import split_uri  # the parser module imports this one

        return split_uri(self._head.target.encode("latin-1"))

    @property
    def proxy_scheme(self) -> str:
        return self._uri()[0]

    @property
    def proxy_netloc(self) -> str:
        return self._uri()[1]

    @property
    def path(self) -> str:
        return self._uri()[2]

    @property
    def query(self) -> str:
        return self._uri()[3]

    @property
    def fragment(self) -> str:
        return self._uri()[4]

    @property
    def content_length(self) -> int:
        """The Content-Length sent, 0 when none (a chunked body has none)."""
        return self._head.content_length or 0

    @property
    def chunked(self) -> bool:
        return self._head.chunked

    @property
    def expect_continue(self) -> bool:
        return self._head.expect_continue

    @property
    def connection_close(self) -> bool:
        """True when the connection closes after this request's response."""
        return not self._head.keep_alive

    def __repr__(self) -> str:
        return "RequestView(%r)" % (self._head,)
