"""The module-level functions of asyncore's API: ``loop``, ``poll``, ``close_all``, timers.

Each takes an optional socket map (default: ``socket_map``) and works on
that map's reactor, which is created on first use.  ``read``, ``write``
and ``readwrite`` take no map: they hand one event to one dispatcher, for
code that runs its own ``select()``/``poll()`` loop as it did with asyncore.
"""

import errno
import select
from typing import Any, Callable, Optional

from .dispatcher import socket_map
from .errors import DISCONNECTED, EXIT_EXCEPTIONS
from .reactor import existing_reactor, reactor_for
from .timers import Timer


def loop(
    timeout: Optional[float] = 30.0,
    use_poll: bool = False,
    map: Optional[dict] = None,
    count: Optional[int] = None,
) -> None:
    """Run the loop until the map is empty (or ``count`` iterations ran).

    ``timeout`` bounds each wait (None waits until an event); it is cut short
    when a timer is due.  ``use_poll`` is accepted for compatibility: the
    best selector of the platform is always used.
    """
    if map is None:
        map = socket_map
    if count is None:
        while map:
            reactor_for(map).poll(timeout)
    else:
        while map and count > 0:
            reactor_for(map).poll(timeout)
            count -= 1


def poll(timeout: Optional[float] = 0.0, map: Optional[dict] = None) -> None:
    """One iteration of the loop over ``map``."""
    if map is None:
        map = socket_map
    if map:
        reactor_for(map).poll(timeout)


#: asyncore's poll()-based variants: the reactor already uses the best selector.
poll2 = poll
poll3 = poll


def close_all(map: Optional[dict] = None, ignore_all: bool = False) -> None:
    """Close every dispatcher of ``map``, empty it and drop its timers.

    An error from a dispatcher's ``close()`` propagates unless
    ``ignore_all`` (EBADF is always ignored).
    """
    if map is None:
        map = socket_map
    try:
        for obj in list(map.values()):
            try:
                obj.close()
            except OSError as why:
                if why.errno != errno.EBADF and not ignore_all:
                    raise
            except EXIT_EXCEPTIONS:
                raise
            except BaseException:
                if not ignore_all:
                    raise
    finally:
        map.clear()
        reactor = existing_reactor(map)
        if reactor is not None:
            reactor.close()


def call_later(delay: float, fn: Callable[[], object], map: Optional[dict] = None) -> Timer:
    """Call ``fn()`` on the loop thread in ``delay`` seconds.

    Schedule from the loop thread (other threads: through
    ``trigger.pull_trigger``).  The timer runs while ``loop()`` runs, and
    ``loop()`` returns when the map is empty, timers or not.
    """
    return reactor_for(socket_map if map is None else map).timers.add(delay, fn)


def call_every(interval: float, fn: Callable[[], object], map: Optional[dict] = None) -> Timer:
    """Call ``fn()`` on the loop thread every ``interval`` seconds, first in ``interval`` seconds.

    A late run does not cause a burst of catch-up calls.
    """
    return reactor_for(socket_map if map is None else map).timers.add(interval, fn, interval)


# poll() event bits and the handler each calls, in the order asyncore called
# them.  The values are the same on every POSIX system; the fallbacks serve
# where select has no poll() (Windows), so that readwrite() still works there.
_POLLHANGUP = (
    getattr(select, "POLLHUP", 16) | getattr(select, "POLLERR", 8) | getattr(select, "POLLNVAL", 32)
)
_POLL_HANDLERS = (
    (getattr(select, "POLLIN", 1), "handle_read_event"),
    (getattr(select, "POLLOUT", 4), "handle_write_event"),
    (getattr(select, "POLLPRI", 2), "handle_expt_event"),
    (_POLLHANGUP, "handle_close"),
)


def read(obj: Any) -> None:
    """Deliver a read event to ``obj``: ``obj.handle_read_event()``.

    For a loop of one's own.  ``ExitNow``, KeyboardInterrupt and SystemExit
    propagate, so that they can stop that loop; any other exception goes to
    ``obj.handle_error()``, so that one failing dispatcher does not.
    """
    _deliver(obj.handle_read_event, obj)


def write(obj: Any) -> None:
    """Deliver a write event to ``obj``: ``obj.handle_write_event()``; errors as in ``read()``."""
    _deliver(obj.handle_write_event, obj)


def _deliver(handler: Callable[[], object], obj: Any) -> None:
    try:
        handler()
    except EXIT_EXCEPTIONS:
        raise
    except BaseException:
        obj.handle_error()


def readwrite(obj: Any, flags: int) -> None:
    """Deliver the events of a ``select.poll()`` result (``flags``) to ``obj``.

    POLLIN reads, POLLOUT writes, POLLPRI calls ``handle_expt_event()``,
    POLLHUP/POLLERR/POLLNVAL call ``handle_close()``, in that order.  An
    OSError that means the peer is gone (ECONNRESET, EPIPE, EBADF, ...)
    closes ``obj`` quietly through ``handle_close()``; ``ExitNow``,
    KeyboardInterrupt and SystemExit propagate; anything else goes to
    ``obj.handle_error()``.
    """
    try:
        for mask, handler in _POLL_HANDLERS:
            if flags & mask:
                getattr(obj, handler)()
    except EXIT_EXCEPTIONS:
        raise
    except OSError as why:
        if why.errno in DISCONNECTED:
            obj.handle_close()
        else:
            obj.handle_error()
    except BaseException:
        obj.handle_error()
