"""Errors that end a request, each carrying the status to answer with.

The status lives on the error (``code`` and ``reason``), so any of them
becomes a response the same way: ``errorpage.error_response`` makes its
bytes (the server reaches it through its own error page, which a
Waitress-style ``Error.to_response`` override may replace).
"""

from typing import Optional


class HTTPError(Exception):
    """A request that cannot be served; ``detail`` says why, for the client."""

    code = 500
    reason = "Internal Server Error"
    #: The request's method (for a head refused whole, the token it begins
    #: with), else None: the answer to HEAD is its head alone (RFC 9110 9.3.2).
    method: Optional[str] = None

    def __init__(self, detail: str = "", version: Optional[str] = None) -> None:
        super().__init__(detail)
        self.detail = detail
        #: The request's HTTP version ("1.0"/"1.1") when it was known, else None.
        self.version = version

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"


def limit_detail(what: str, limit: int) -> str:
    """The detail of a 431 or 413: which part of the request reached which limit."""
    return f"{what} reached the limit of {limit} bytes"


class BadRequest(HTTPError):
    code = 400
    reason = "Bad Request"


class RequestEntityTooLarge(HTTPError):
    code = 413
    reason = "Request Entity Too Large"


class URITooLong(HTTPError):
    code = 414
    reason = "URI Too Long"


class RequestHeaderFieldsTooLarge(HTTPError):
    code = 431
    reason = "Request Header Fields Too Large"


class InternalServerError(HTTPError):
    code = 500
    reason = "Internal Server Error"


class NotImplementedTransferEncoding(HTTPError):
    code = 501
    reason = "Not Implemented"


class HTTPVersionNotSupported(HTTPError):
    code = 505
    reason = "HTTP Version Not Supported"
