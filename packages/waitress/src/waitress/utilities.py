"""``waitress.utilities``: the names code outside Waitress imports from it.

Waitress 3.0.2 kept its loggers, date formatting and the removal of a stale
UNIX socket file here, and applications import them from this module
(``from waitress.utilities import logger`` to configure the server's log).
The rest of that module was Waitress's internals (its parsing helpers and
its error classes with their own constructors); those have no counterpart
here.
"""

import os
import stat

from waitress_http import http_date

from .logs import logger, queue_logger

__all__ = ["logger", "queue_logger", "build_http_date", "cleanup_unix_socket"]


def build_http_date(when: float) -> str:
    """``when`` (seconds since the epoch) as an HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT"."""
    return http_date(when)


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
