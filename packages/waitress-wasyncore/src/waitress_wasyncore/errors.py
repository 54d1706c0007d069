"""Which exceptions leave the loop, and which socket errors mean "the peer is gone".

Everything else raised by a handler is the handler's own failure: it goes to
that dispatcher's ``handle_error()`` and the loop carries on with the others.
"""

import errno
from typing import Any, Callable, FrozenSet, Tuple


class ExitNow(Exception):
    """Raise from a handler, thunk or timer to make ``loop()`` return at once."""


#: Exceptions that propagate out of ``loop()`` instead of going to ``handle_error``.
EXIT_EXCEPTIONS: Tuple[type, ...] = (ExitNow, KeyboardInterrupt, SystemExit)


def _codes(*names: str) -> FrozenSet[int]:
    # Some names (ESHUTDOWN, EPROTO) are missing on some platforms.
    return frozenset(getattr(errno, name) for name in names if hasattr(errno, name))


#: send()/recv() errors that mean the connection is over: close quietly.
DISCONNECTED: FrozenSet[int] = _codes(
    "ECONNRESET", "ENOTCONN", "ESHUTDOWN", "ECONNABORTED", "EPIPE", "EBADF"
)

#: accept() errors that only mean "nothing to accept right now".
ACCEPT_AGAIN: FrozenSet[int] = _codes("EAGAIN", "EWOULDBLOCK", "ECONNABORTED", "EPROTO", "EINTR")

#: connect_ex() results that mean the connection is still being set up.
CONNECT_PENDING: FrozenSet[int] = _codes("EINPROGRESS", "EALREADY", "EWOULDBLOCK")

#: connect_ex() results that mean the connection is up.
CONNECT_DONE: FrozenSet[int] = frozenset({0}) | _codes("EISCONN")


def log_quietly(log: Callable[..., Any], message: str, *args: Any, **kw: Any) -> None:
    """``log(message, *args, **kw)``, unless the logging itself raises (a
    handler that breaks): what called it is cleaning up after an error and
    must still finish, or the loop thread would die of its log."""
    try:
        log(message, *args, **kw)
    except Exception:
        pass
