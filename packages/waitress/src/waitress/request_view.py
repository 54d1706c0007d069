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
    """Read-only: ``headers``, ``command``, ``version`` and ``request_uri``.

    ``headers`` follows Waitress's parser: names keyed as the environ keys
    them without ``HTTP_`` (``field_key``: upper case, ``-`` as ``_``, names
    containing ``_`` left out), repeated fields joined with ``", "``.
    """

    __slots__ = ("_head",)

    def __init__(self, head: RequestHead) -> None:
        self._head = head

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
    def headers(self) -> Dict[str, str]:
        """A new dict of the header fields, keyed as described above."""
        return header_dict(self._head.headers)

    def __repr__(self) -> str:
        return "RequestView(%r)" % (self._head,)
