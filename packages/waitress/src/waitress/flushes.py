"""Delayed flushes: output a worker gathers goes out within FLUSH_DELAY.

A worker streaming a body in pieces (from any iterable but a list, such
as the ones Flask and Django return, or through the ``write()`` callable)
gathers them
(``HTTPChannel.write_later``) and sends them in one system call when the
body ends or enough has gathered.  If the application pauses in between,
the loop must send what is gathered anyway, so that a stream of events
reaches the client promptly.

One timer per listener serves every connection.  A worker that starts
gathering lists its channel with a deadline (a deque append: no lock, no
system call) and wakes the loop only when no timer is armed; the timer
flushes what is due and re-arms while anything is listed.  (A timer and a
wake-up of the loop for every response made a one-chunk streamed body cost
about a third more than the same body returned in a list.)

The arming needs no lock: a worker appends, then reads ``armed``; the loop
clears ``armed``, then looks at the deque again.  Under the GIL one of the
two sees the other's write, so a listed channel never waits without a timer.
"""

import time
from collections import deque
from typing import Any, Deque, Tuple

from waitress_wasyncore import call_later

from .logs import logger

#: Gathered output goes out at the latest this many seconds after it began.
FLUSH_DELAY = 0.001

_monotonic = time.monotonic


class DelayedFlushes:
    """The channels of one listener whose gathered output is due soon."""

    def __init__(self, socket_map: dict, trigger: Any) -> None:
        self._map = socket_map
        self._trigger = trigger
        self._due: Deque[Tuple[float, Any]] = deque()
        self.armed = False

    def add(self, channel: Any) -> None:
        """Any thread: call ``channel.flush_gathered()`` within FLUSH_DELAY."""
        self._due.append((_monotonic() + FLUSH_DELAY, channel))
        if not self.armed:
            self._trigger.pull_trigger(self._arm)

    def _arm(self) -> None:
        if not self.armed:
            self.armed = True
            call_later(FLUSH_DELAY, self._run, self._map)

    def _run(self) -> None:
        due = self._due
        now = _monotonic()
        while due and due[0][0] <= now:
            channel = due.popleft()[1]
            try:
                channel.flush_gathered()
            except Exception:  # one channel's failure must not strand the others
                logger.exception("Flushing the output of %r failed", channel)
        if due:
            call_later(due[0][0] - now, self._run, self._map)
            return
        self.armed = False
        if due:  # listed after the loop above by a worker that saw ``armed`` still set
            self._arm()
