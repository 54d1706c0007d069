"""Timers that run on the loop thread: one heap per reactor, ordered by due time.

A timer is cancelled lazily (flagged, then skipped when it reaches the top of
the heap), so ``cancel()`` is O(1); the heap is rebuilt when cancelled entries
outnumber live ones, so per-connection timeouts that are set and cancelled
over and over cannot make it grow without bound.  The clock is
``time.monotonic``: wall-clock jumps never fire or delay a timer.
"""

import heapq
import itertools
import logging
import time
from typing import Callable, List, Optional, Tuple

from .errors import EXIT_EXCEPTIONS

logger = logging.getLogger("waitress")


class Timer:
    """A scheduled call, returned by ``call_later`` and ``call_every``.

    ``cancel()`` may be called at any time from the loop thread, including
    from inside the timer's own callback (which stops a repeating timer).
    """

    __slots__ = ("due", "interval", "callback", "cancelled", "_queue", "_scheduled")

    def __init__(
        self,
        due: float,
        interval: Optional[float],
        callback: Callable[[], object],
        queue: "TimerQueue",
    ) -> None:
        self.due = due
        self.interval = interval
        self.callback = callback
        self.cancelled = False
        self._queue = queue
        self._scheduled = True

    def cancel(self) -> None:
        """Stop the timer; harmless when it already ran or was cancelled."""
        if self.cancelled:
            return
        self.cancelled = True
        if self._scheduled:
            self._queue._forget_one()

    def __repr__(self) -> str:
        kind = "every %ss" % self.interval if self.interval is not None else "once"
        state = "cancelled" if self.cancelled else "due at %.3f" % self.due
        return "<Timer %s %s %r>" % (kind, state, self.callback)


class TimerQueue:
    """The timers of one reactor."""

    def __init__(self) -> None:
        self._heap: List[Tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self._cancelled = 0

    def __len__(self) -> int:
        """The number of timers still to run (cancelled ones excluded)."""
        return len(self._heap) - self._cancelled

    def add(
        self, delay: float, callback: Callable[[], object], interval: Optional[float] = None
    ) -> Timer:
        """Schedule ``callback`` in ``delay`` seconds (then every ``interval`` seconds)."""
        if not callable(callback):
            raise TypeError("timer callback must be callable, got %r" % (callback,))
        if interval is not None and not interval > 0:
            raise ValueError(
                "timer interval must be a positive number of seconds, got %r" % (interval,)
            )
        due = time.monotonic() + max(0.0, delay)
        timer = Timer(due, interval, callback, self)
        heapq.heappush(self._heap, (due, next(self._sequence), timer))
        return timer

    def wait_time(self, timeout: Optional[float]) -> Optional[float]:
        """How long select() may sleep: ``timeout`` shortened to the next due timer."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)[2]._scheduled = False
            self._cancelled -= 1
        if not heap:
            return timeout
        delay = heap[0][0] - time.monotonic()
        if delay < 0.0:
            delay = 0.0
        if timeout is None or delay < timeout:
            return delay
        return timeout

    def run_due(self) -> None:
        """Run every timer due now, in due order; log (never raise) their failures.

        Only timers due when this call started run, so a callback that
        schedules another immediate call cannot keep the loop here forever.
        """
        heap = self._heap
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            due, _, timer = heapq.heappop(heap)
            if timer.cancelled:
                timer._scheduled = False
                self._cancelled -= 1
                continue
            interval = timer.interval
            if interval is None:
                timer._scheduled = False
            else:
                next_due = due + interval
                if next_due <= now:
                    next_due = now + interval
                timer.due = next_due
                heapq.heappush(heap, (next_due, next(self._sequence), timer))
            try:
                timer.callback()
            except EXIT_EXCEPTIONS:
                raise
            except BaseException:
                logger.exception("Timer callback %r raised", timer.callback)

    def clear(self) -> None:
        """Drop every timer (the reactor is shutting down)."""
        for _, _, timer in self._heap:
            timer._scheduled = False
            timer.cancelled = True
        self._heap = []
        self._cancelled = 0

    def _forget_one(self) -> None:
        self._cancelled += 1
        if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
            live = []
            for entry in self._heap:
                if entry[2].cancelled:
                    entry[2]._scheduled = False
                else:
                    live.append(entry)
            heapq.heapify(live)
            self._heap = live
            self._cancelled = 0
