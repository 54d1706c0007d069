"""``waitress.utilities``: the names code outside Waitress imports from it.

Waitress 3.0.2 kept its loggers and date formatting here, and applications
import them from this module (``from waitress.utilities import logger`` to
configure the server's log).  The rest of that module was Waitress's
internals (its parsing helpers and its error classes with their own
constructors); those have no counterpart here.
"""

from waitress_http import http_date

from .logs import logger, queue_logger

__all__ = ["logger", "queue_logger", "build_http_date"]


def build_http_date(when: float) -> str:
    """``when`` (seconds since the epoch) as an HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT"."""
    return http_date(when)
