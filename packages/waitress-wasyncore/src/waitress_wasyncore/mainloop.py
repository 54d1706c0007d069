"""The module-level functions of asyncore's API: ``loop``, ``poll``, ``close_all``, timers.

Each takes an optional socket map (default: ``socket_map``) and works on
that map's reactor, which is created on first use.
"""

import errno
from typing import Callable, Optional

from .dispatcher import socket_map
from .errors import EXIT_EXCEPTIONS
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
