"""The server's error pages: how a refused request becomes bytes on the wire.

Every error the server answers (a request the parser refused, an
application that failed before its head went out) goes out through
``error_page``.  It is made by the ``Error`` class of ``waitress.utilities``
for that status, so that an application that replaced ``to_response`` on
those classes (JSON error pages for an API, as Waitress allowed) changes
every page the server sends.
"""

from typing import Optional

from waitress_http import HTTPError, error_response, framed_error

from .logs import logger
from .utilities import (
    BadRequest,
    Error,
    InternalServerError,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    ServerNotImplemented,
)

_ERRORS_BY_CODE = {
    family.code: family
    for family in (
        BadRequest,
        RequestHeaderFieldsTooLarge,
        RequestEntityTooLarge,
        InternalServerError,
        ServerNotImplemented,
    )
}


def error_from(error: HTTPError) -> Error:
    """The ``Error`` for one raised by waitress-http: same code, reason and detail."""
    family = _ERRORS_BY_CODE.get(error.code)
    if family is not None:
        return family(error.detail, error.version)
    other = Error(error.detail, error.version)
    other.code = error.code
    other.reason = error.reason
    return other


def error_page(error: HTTPError, ident: Optional[str]) -> bytes:
    """The bytes the server sends for ``error``: its ``Error`` class's
    ``to_response()``, framed to close the connection.

    A replacement ``to_response`` that fails or returns fields that cannot
    be sent is logged, and the plain page goes out instead.  The answer to
    a HEAD request (``error.method``) is the head alone, its Content-Length
    that of the page a GET would get (RFC 9110 9.3.2).
    """
    try:
        status, headers, body = error_from(error).to_response(ident)
        page = framed_error(error.version, status, headers, body, ident)
    except Exception:
        logger.exception("Error.to_response() failed; sending the plain error page")
        page = error_response(error, ident)
    if error.method == "HEAD":
        return page[: page.index(b"\r\n\r\n") + 4]
    return page
