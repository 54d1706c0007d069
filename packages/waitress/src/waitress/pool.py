"""The worker threads that run the application.

Tasks are handed over through a ``queue.SimpleQueue`` (a C-level queue: the
hand-off costs a lock and a wake-up, nothing more).  A task is any object with
``service()`` and ``cancel()``; the pool knows nothing of HTTP.  Workers ask
for the ``SCHED_BATCH`` policy on Linux (see ``scheduling``).
"""

import math
import queue
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set

from .logs import log_quietly, logger, queue_logger
from .scheduling import prefer_batch_scheduling

__all__ = ["ThreadedTaskDispatcher", "QUEUE_WARNING_INTERVAL"]

#: The queue-depth warning is written at most this often (seconds): under
#: sustained load Waitress wrote one per request, which buried real messages.
QUEUE_WARNING_INTERVAL = 1.0

_STOP = object()


class TaskQueue(queue.SimpleQueue):
    """The pool's queue; ``len()`` is the number of tasks waiting, as with Waitress's deque.

    Monitoring code reads ``len(server.task_dispatcher.queue)``.
    """

    __slots__ = ()

    def __len__(self) -> int:
        return self.qsize()


#: The least ``shutdown`` waits: enough for idle threads to end.
IDLE_EXIT_GRACE = 0.1


class ThreadedTaskDispatcher:
    """A pool of daemon threads named ``waitress-0`` ... ``waitress-N-1``.

    ``set_thread_count(n)`` grows or shrinks it: a thread asked to stop
    finishes the tasks queued before the request, then leaves ``threads``.
    What monitoring and shutdown code reads of Waitress's pool is here too:
    ``len(queue)`` (tasks waiting), ``threads`` and ``active_count``
    (threads serving a task now), ``lock`` (held while ``threads`` changes).

    As in Waitress, ``threads`` is the set of the running threads' numbers,
    each thread runs ``handler_thread(number)``, and a stopping thread
    removes its number with ``threads.discard(number)`` from that thread.
    Applications hook both to release per-thread resources (a database
    connection) as a worker ends: a subclass may override
    ``handler_thread`` or replace ``threads`` with a set subclass.  Also
    as in Waitress, ``start_new_thread(target, thread_no)`` starts each
    thread (a subclass may wrap it), and ``logger`` and ``queue_logger``
    are where the pool's messages go.
    """

    logger = logger
    queue_logger = queue_logger

    def __init__(self) -> None:
        self.queue = TaskQueue()
        #: The numbers of the running threads (``waitress-N`` is thread N).
        self.threads: Set[int] = set()
        self._workers: Dict[int, threading.Thread] = {}
        self.lock = threading.Lock()
        #: Stop requests queued and not yet taken by a thread.
        self._stopping = 0
        # One entry per worker blocked on the queue.  list.append() and
        # list.pop() are single C calls, atomic under the GIL: cheaper than a
        # lock around a counter, on the path of every request.
        self._idle: List[None] = []
        self._last_warning = 0.0
        self._last_depth = 0  # the depth the last warning gave

    @property
    def active_count(self) -> int:
        """How many threads are serving a task right now."""
        return max(0, len(self.threads) - len(self._idle))

    @property
    def stop_count(self) -> int:
        """How many threads were asked to stop and have not yet (Waitress's name)."""
        return self._stopping

    @property
    def queue_depth(self) -> int:
        """How many tasks wait for a free thread right now."""
        return max(0, self.queue.qsize() - len(self._idle))

    def runs_in(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` is one of this pool's workers (which must never
        wait for the server to drain: it would wait for its own request)."""
        return any(worker is thread for worker in list(self._workers.values()))

    def set_thread_count(self, count: int) -> None:
        """Run ``count`` threads: start new ones, or ask the extra ones to stop."""
        with self.lock:
            running = len(self.threads) - self._stopping
            if running < count:
                number = 0
                while running < count:
                    while number in self.threads:
                        number += 1
                    self.threads.add(number)
                    thread = self.start_new_thread(self.handler_thread, number)
                    if thread is not None:  # an override may return nothing
                        self._workers[number] = thread
                    running += 1
            else:
                self._request_stops(running - count)

    def start_new_thread(self, target: Callable[[int], Any], thread_no: int) -> threading.Thread:
        """Start daemon thread ``waitress-<thread_no>`` running ``target(thread_no)``."""
        thread = threading.Thread(
            target=target, args=(thread_no,), name=f"waitress-{thread_no}", daemon=True
        )
        thread.start()
        return thread

    def _request_stops(self, count: int) -> None:
        """Queue ``count`` stop requests (with ``lock`` held)."""
        for _ in range(count):
            self._stopping += 1
            self.queue.put(_STOP)

    def handler_thread(self, thread_no: int) -> None:
        """The body of worker thread ``thread_no``: serve tasks until asked to stop."""
        # Known here too, should an overridden start_new_thread not return it.
        self._workers[thread_no] = threading.current_thread()
        prefer_batch_scheduling()
        get = self.queue.get
        idle = self._idle
        while True:
            idle.append(None)
            task = get()
            idle.pop()
            if task is _STOP:
                with self.lock:
                    self._stopping -= 1
                    self._workers.pop(thread_no, None)
                    self.threads.discard(thread_no)
                return
            try:
                task.service()
            except BaseException:  # a task must never take its thread down
                log_quietly(self.logger.exception, "Exception when servicing %r", task)
            # Not kept while idle: the last connection (and whatever its
            # application hung on it) would live until the next request.
            task = None

    def add_task(self, task: Any) -> None:
        """Queue ``task``; warn when every thread is busy: at most once a
        second, and at once when the depth has doubled since the last line,
        so that a burst's height shows (1, 2, 4 ... 32 for a burst of 48)
        without a line per request."""
        self.queue.put(task)
        depth = self.queue.qsize() - len(self._idle)
        if depth > 0:
            now = time.monotonic()
            if now - self._last_warning >= QUEUE_WARNING_INTERVAL or depth >= 2 * self._last_depth:
                self._last_warning = now
                self._last_depth = depth
                self.queue_logger.warning("Task queue depth is %d", depth)

    def shutdown(self, cancel_pending: bool = True, timeout: Optional[float] = 5) -> bool:
        """Stop the threads; tasks still queued are cancelled when asked.

        Returns True when every thread stopped within ``timeout`` seconds.
        """
        pending = []
        with self.lock:
            if cancel_pending:
                while True:
                    try:
                        task = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if task is _STOP:
                        self._stopping -= 1
                    else:
                        pending.append(task)
            threads = [t for t in self._workers.values() if t.is_alive()]
            self._request_stops(len(self.threads) - self._stopping)
        if timeout is not None and math.isnan(timeout):
            timeout = None
        # Idle threads take their stop at once; the grace lets them, so that
        # the warning below counts only threads still running a task.
        deadline = None if timeout is None else time.monotonic() + max(timeout, IDLE_EXIT_GRACE)
        for thread in threads:
            if thread is threading.current_thread():
                continue
            if deadline is None:
                thread.join()
            else:
                # float("inf") means no limit (callers pass it): join() itself
                # refuses waits past TIMEOUT_MAX.
                left = min(deadline - time.monotonic(), threading.TIMEOUT_MAX)
                thread.join(max(0.0, left))
        still = [t for t in threads if t.is_alive() and t is not threading.current_thread()]
        # The cancels first, and every log line quietly: a logging handler
        # that raises must not skip them, nor make the server's run() raise.
        for task in pending:
            try:
                task.cancel()
            except Exception:
                log_quietly(self.logger.exception, "Exception while canceling %r", task)
        busy = len(still) - len(self._idle)  # idle ones are about to take their stop
        if busy > 0:
            log_quietly(self.logger.warning, "%d thread(s) still running", busy)
        if pending:
            log_quietly(self.logger.warning, "Canceling %d pending task(s)", len(pending))
        return not still
