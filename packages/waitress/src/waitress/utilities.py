"""``waitress.utilities``: the names code outside Waitress imports from it.

Waitress 3.0.2 kept its loggers, date formatting and the removal of a stale
UNIX socket file here, and applications import them from this module
(``from waitress.utilities import logger`` to configure the server's log).
Its error classes live here too: ``waitress.parser.HTTPRequestParser``
reports bad input as one of them (``error.code``, ``error.reason``,
``error.body``), and code that drives that parser reads them.
"""

import os
import stat
from typing import Any, Callable, Iterator, List, Optional, Tuple

from waitress_http import PLAIN_TEXT, HTTPError, error_body, http_date
from waitress_http import errors as http_errors

from .logs import logger, queue_logger

__all__ = [
    "logger",
    "queue_logger",
    "build_http_date",
    "parse_http_date",
    "cleanup_unix_socket",
    "find_double_newline",
    "Error",
    "BadRequest",
    "RequestHeaderFieldsTooLarge",
    "RequestEntityTooLarge",
    "InternalServerError",
    "ServerNotImplemented",
]


def build_http_date(when: float) -> str:
    """``when`` (seconds since the epoch) as an HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT"."""
    return http_date(when)


def parse_http_date(value: str) -> int:
    """An HTTP date (IMF-fixdate, RFC 850 or asctime, RFC 9110 5.6.7) as
    whole seconds since the epoch; 0 when ``value`` is not a date, as
    Waitress's function answered (code compares If-Modified-Since with it).

    RFC 9110 5.6.7 asks recipients to accept all three forms (Waitress 3.0.2
    read asctime as 0) and to be robust with other timestamps: a date of the
    Internet Message Format with another zone (``EST``, ``+0100``) is read
    with its offset, and one without a zone as GMT, where Waitress answered 0.
    """
    # Imported here: the email package would add 20 modules and 0.7 MB to
    # every server (and a pinned A/B of hello read 0.97 with it).
    import calendar
    import email.utils

    try:
        parts = email.utils.parsedate_tz(value)
    except (TypeError, ValueError, IndexError):
        return 0
    if parts is None:
        return 0
    try:
        return int(calendar.timegm(parts[:9]) - (parts[9] or 0))
    except (OverflowError, ValueError):
        return 0


def cleanup_unix_socket(path: str) -> None:
    """Remove ``path`` if it is a socket file (left by an earlier run); else leave it.

    A regular file or a directory at ``path`` is never removed: binding then
    fails with the error that says why.
    """
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def find_double_newline(data: bytes) -> int:
    """The index just past the first CRLF CRLF in ``data`` (the end of a head), or -1."""
    at = data.find(b"\r\n\r\n")
    return at + 4 if at >= 0 else -1


class Error(HTTPError):
    """An error Waitress's parser reports: ``code``, ``reason`` and ``body`` (the detail).

    Each class below is also waitress-http's error of the same status, so
    the codes and reasons have one source and the server can answer any of
    them.
    """

    @property
    def body(self) -> str:
        return self.detail

    def to_response(
        self, ident: Optional[str] = None
    ) -> Tuple[str, List[Tuple[str, str]], bytes]:
        """Status, headers and body of the page the server sends for this error.

        The server calls it for every error page it generates (400, 413, 431,
        500, 501...) and adds Connection, Content-Length, Date and Server, so
        an application may replace it on the class (JSON error pages for an
        API), as it could with Waitress.
        """
        body = error_body(self.reason, self.detail, ident)
        return f"{self.code} {self.reason}", list(PLAIN_TEXT), body

    def wsgi_response(self, environ: dict, start_response: Callable[..., Any]) -> Iterator[bytes]:
        """Serve the error page as a WSGI application would."""
        status, headers, body = self.to_response()
        start_response(status, headers)
        yield body


class BadRequest(Error, http_errors.BadRequest):
    """400."""


class RequestHeaderFieldsTooLarge(http_errors.RequestHeaderFieldsTooLarge, BadRequest):
    """431 (a kind of ``BadRequest``, as in Waitress)."""


class RequestEntityTooLarge(http_errors.RequestEntityTooLarge, BadRequest):
    """413 (a kind of ``BadRequest``, as in Waitress)."""


class InternalServerError(Error, http_errors.InternalServerError):
    """500."""


class ServerNotImplemented(Error, http_errors.NotImplementedTransferEncoding):
    """501."""
