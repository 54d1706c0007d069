"""Running a server's loop, and stopping it without losing requests.

``LoopRunner`` is the ``run()``/``close()`` half of both server classes.
Rules it keeps:

- ``close()`` may come from any thread, and from a signal handler that
  interrupted the loop anywhere (inside a connection's lock, say): it only
  asks the loop for the shutdown, through the trigger, and waits for it
  only on a thread that is neither the loop's nor a worker's (a worker
  would wait for its own request).
- Stopping takes ``SHUTDOWN_TIMEOUT`` at most, from the first request to
  stop to ``run()`` returning: in-flight requests get that long, the
  workers what is left of it, and a second interrupt cuts it short.
- Everything ``run()`` opened is closed when it returns, the reactor too.
- On the main thread, a signal that would raise KeyboardInterrupt (Ctrl-C,
  or SIGTERM under ``waitress-serve``) asks for the shutdown instead of
  raising: raised in the loop, it could land between a send and the
  bookkeeping of what was sent, and the drain would send those bytes
  again.  The second such signal stops at once.
"""

import contextlib
import signal
import threading
import time
from typing import Any, Callable, Dict, Iterator

import waitress_wasyncore as wasyncore

from .channel import HTTPChannel
from .logs import log_quietly, logger
from .pool import ThreadedTaskDispatcher
from .scheduling import batch_scheduling

#: How long ``close()`` lets in-flight requests finish before cutting them off.
SHUTDOWN_TIMEOUT = 5.0
#: How often the wait for the workers, once the loop has stopped, looks at the deadline.
WORKER_POLL_SECONDS = 0.05

_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)
)


def interrupting(handler: Callable) -> Callable:
    """Mark a signal handler as one that stops the program by raising
    KeyboardInterrupt (as Ctrl-C's default does): while a server runs on
    the main thread, the signal asks it to drain instead (see ``run``)."""
    handler.interrupting = True  # type: ignore[attr-defined]
    return handler


def _interrupts(handler: Any) -> bool:
    return handler is signal.default_int_handler or getattr(handler, "interrupting", False)


def _stop_step(step: Callable[[], object]) -> bool:
    """Run one step of a stop (one listener's, one connection's); False if it
    raised.  A failing step (a subclass's close, a socket's EIO) is logged
    and the others still run: raised out of the stop, it left the server
    accepting and ``run()`` waiting forever.  An OSError from a close is
    the socket's own end, as it always was: not worth a log line."""
    try:
        step()
    except OSError:
        return False
    except Exception:
        log_quietly(logger.exception, "Exception while stopping the server, in %r", step)
        return False
    return True


class LoopRunner:
    """``run()`` and ``close()`` shared by single and multi-listener servers.

    ``close()`` may be called from any thread: it asks the loop thread to
    stop accepting, lets in-flight requests finish (at most
    ``SHUTDOWN_TIMEOUT`` seconds), closes every connection and returns once
    the loop has stopped.  Ctrl-C in ``run()`` does the same.
    """

    _loop_thread = None
    _stopped = None
    _shutting_down = False
    _shutdown_deadline = None  # monotonic time by which the drain is cut off
    _stop_signalled = False  # a Ctrl-C or SIGTERM came (see _on_stop_signal)

    def _listeners(self):
        raise NotImplementedError

    def run(self) -> None:
        # _stopped first: close() from another thread reads _loop_thread,
        # then _stopped, and must never see the one without the other.
        self._stopped = threading.Event()
        self._loop_thread = threading.current_thread()
        with self._signals_drain():  # until the workers are gone, too
            self._run_loop()

    def _run_loop(self) -> None:
        adj = self.adj
        map = self._map
        try:
            with batch_scheduling():
                try:
                    wasyncore.loop(adj.asyncore_loop_timeout, adj.asyncore_use_poll, map)
                except (SystemExit, KeyboardInterrupt):
                    try:
                        self._begin_shutdown()
                        wasyncore.loop(0.1, adj.asyncore_use_poll, map)
                    except (SystemExit, KeyboardInterrupt):
                        # A second Ctrl-C or SIGTERM while draining: stop now.
                        self._shutdown_deadline = time.monotonic()
                        self._force_close()
        finally:
            self._stopped.set()
            # The reactor (an epoll descriptor) goes with the loop, not with
            # the next garbage collection; so do timers still pending.
            wasyncore.close_all(map, ignore_all=True)
            # The drain already had its SHUTDOWN_TIMEOUT: the workers get
            # what is left of it (they are daemon threads), not 5 s more.
            if self._shutdown_deadline is None:
                self.task_dispatcher.shutdown()
            else:
                self._wait_for_workers()
                left = max(0.0, self._shutdown_deadline - time.monotonic())
                self.task_dispatcher.shutdown(timeout=left)

    def _wait_for_workers(self) -> None:
        """Until no worker runs a request or the deadline passes, re-reading
        the deadline: a signal now (the loop has stopped) moves it to now,
        which a single wait inside ``shutdown()`` would not see."""
        dispatcher = self.task_dispatcher
        # The busy count is kept by the pool's own handler_thread: with an
        # override of it, or a dispatcher of the application's own, shutdown()
        # waits alone.
        if getattr(type(dispatcher), "handler_thread", None) is not ThreadedTaskDispatcher.handler_thread:
            return
        while time.monotonic() < self._shutdown_deadline and dispatcher.active_count:
            time.sleep(WORKER_POLL_SECONDS)

    @contextlib.contextmanager
    def _signals_drain(self) -> Iterator[None]:
        """While the loop runs on the main thread, interrupting signals drain."""
        replaced: Dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in _STOP_SIGNALS:
                handler = signal.getsignal(signum)
                if _interrupts(handler):
                    replaced[signum] = handler
                    signal.signal(signum, self._on_stop_signal)
        try:
            yield
        finally:
            for signum, handler in replaced.items():
                signal.signal(signum, handler)

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        """The first signal asks for the drain; one during the drain ends it.

        Both only pull the trigger (safe wherever the signal interrupted the
        loop thread): the loop acts between events, with its books straight.
        Once the loop has stopped, the second ends the wait for the workers.
        """
        if not self._stop_signalled and not self._shutting_down:
            self._stop_signalled = True
            self.close()  # on the loop thread: asks, and returns at once
            return
        self._shutdown_deadline = time.monotonic()
        if not self._stopped.is_set():
            self._trigger().pull_trigger(self._force_close)

    @property
    def queue_depth(self) -> int:
        """Requests waiting for a free worker thread (Waitress only logged it)."""
        return self.task_dispatcher.queue_depth

    def close(self) -> None:
        loop_thread = self._loop_thread
        stopped = self._stopped
        running = (
            loop_thread is not None
            and stopped is not None
            and loop_thread.is_alive()
            and not stopped.is_set()
        )
        if running:
            # Always through the trigger, even on the loop thread: there,
            # close() may be a signal handler that interrupted the loop
            # holding a connection's lock, which the drain must take.
            self._trigger().pull_trigger(self._begin_shutdown)
            current = threading.current_thread()
            if current is loop_thread:
                return
            runs_in = getattr(self.task_dispatcher, "runs_in", None)  # a custom pool may lack it
            if runs_in is not None and runs_in(current):
                # From the application: never wait (the drain would wait for
                # this very request), and its response is the connection's last.
                self._mark_last_response(threading.get_ident())
                return
            if not stopped.wait(SHUTDOWN_TIMEOUT + 5):
                # The deadline's timer did not end it: the loop is stuck or
                # the timer never ran.  Say so rather than return as if stopped.
                log_quietly(logger.error, "The server did not stop within %s s; closing it now", SHUTDOWN_TIMEOUT + 5)
                self._trigger().pull_trigger(self._force_close)
            return
        # Not running: close everything here and now.
        self._shutting_down = True
        self._close_everything()
        self.task_dispatcher.shutdown(timeout=1)

    def _mark_last_response(self, worker_ident: int) -> None:
        """The worker ``worker_ident`` asked the server to stop: the response
        it is making says ``Connection: close`` (marked on its own thread,
        so before the application returns and the head is built)."""
        for obj in list(self._map.values()):
            if isinstance(obj, HTTPChannel) and obj.busy and obj.worker_ident == worker_ident:
                obj.draining = True
                obj._mark_response_last()

    def _trigger(self):
        return self._listeners()[0].trigger

    def _begin_shutdown(self) -> None:
        """Loop thread: stop accepting, close idle connections, drain the rest."""
        if self._shutting_down:
            return
        self._shutting_down = True
        now = time.monotonic()
        deadline = now + SHUTDOWN_TIMEOUT
        if self._shutdown_deadline is not None:
            # A second signal came before the loop got to the first: it said now.
            deadline = min(deadline, self._shutdown_deadline)
        self._shutdown_deadline = deadline
        # The deadline first: whatever a step below does, it ends the stop.
        wasyncore.call_later(max(0.0, deadline - now), self._force_close, self._map)
        listeners = self._listeners()
        for listener in listeners:
            _stop_step(listener.take_backlog)
        # Connections first: once a listener refuses, anyone may take the
        # stop as begun, and a response finished then must say it is the last.
        channels = [obj for obj in list(self._map.values()) if isinstance(obj, HTTPChannel)]
        for channel in channels:
            _stop_step(channel.shutdown_gracefully)
        for listener in listeners:
            _stop_step(listener.del_channel_and_close)
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if not any(isinstance(obj, HTTPChannel) for obj in list(self._map.values())):
            self._force_close()

    def _force_close(self) -> None:
        try:
            self._close_everything()
        finally:
            self._map.clear()  # the loop ends, whatever failed to close

    def _close_everything(self) -> None:
        """Close every connection, listener and trigger in the map; one that
        fails to close loses its socket anyway, and the rest still close."""
        listeners = self._listeners()
        for obj in list(self._map.values()):
            if isinstance(obj, HTTPChannel):
                step = obj.handle_close
            elif any(obj is listener for listener in listeners):
                step = obj.del_channel_and_close  # its close() would come back here
            else:
                step = obj.close
            if not _stop_step(step):
                sock = getattr(obj, "socket", None)
                if sock is not None:
                    _stop_step(sock.close)
