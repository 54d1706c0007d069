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


def _head_field(name: str, doc: str) -> property:
    """A property reading one field of the ``RequestHead``."""
    return property(lambda view: getattr(view._head, name), doc=doc)


def _uri_part(index: int, doc: str) -> property:
    """A property reading one of ``split_uri``'s five parts of the target."""
    return property(lambda view: view._uri()[index], doc=doc)


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

    command = _head_field("method", "The request method, as the client sent it.")
    version = _head_field("version", 'The HTTP version without ``HTTP/``: ``"1.1"``, ``"1.0"``.')
    request_uri = _head_field("target", "The request target as sent (or an absolute URI).")
    chunked = _head_field("chunked", "Whether the body came chunked.")
    expect_continue = _head_field("expect_continue", "Whether ``100 Continue`` was asked for.")

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

    proxy_scheme = _uri_part(0, "The scheme of an absolute-form target, else ``''``.")
    proxy_netloc = _uri_part(1, "The authority of an absolute-form target, else ``''``.")
    path = _uri_part(2, "The path, percent-decoded and carried as latin-1.")
    query = _uri_part(3, "The query string as sent, without ``?``.")
    fragment = _uri_part(4, "The fragment, if a client sent one.")

    @property
    def content_length(self) -> int:
        """The Content-Length sent, 0 when none (a chunked body has none)."""
        return self._head.content_length or 0

    @property
    def connection_close(self) -> bool:
        """True when the connection closes after this request's response."""
        return not self._head.keep_alive

    def __repr__(self) -> str:
        return "RequestView(%r)" % (self._head,)
