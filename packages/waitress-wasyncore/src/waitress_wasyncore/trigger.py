"""A thread-safe wake-up for the loop: other threads hand it work as thunks.

Rules: thunks run on the loop thread, in the order they were pulled; while
a wake-up is pending no further byte is written, so any number of pulls
before the loop wakes cost one byte and one wake-up; a thunk that raises is
logged and the rest still run.
"""

import errno
import logging
import socket
import threading
from typing import Callable, List, Optional

from .dispatcher import dispatcher
from .errors import EXIT_EXCEPTIONS, log_quietly

logger = logging.getLogger("waitress")

#: recv() errors that mean the trigger's socket itself is gone.
_BROKEN = frozenset({errno.EBADF, errno.ENOTSOCK, errno.ENOTCONN})

Thunk = Callable[[], object]


class trigger(dispatcher):
    """A dispatcher over a socket pair whose other end any thread can poke.

    ``pull_trigger(thunk)`` from a worker thread queues ``thunk`` and wakes
    the loop, which then runs it.  Pulls after ``close()`` are ignored.
    """

    def __init__(self, map: Optional[dict] = None) -> None:
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        if writer.family in (socket.AF_INET, socket.AF_INET6):
            # Windows pairs TCP sockets: without this, Nagle holds a wake-up
            # byte while the last one's ACK is delayed (up to 200 ms there).
            writer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writer = writer
        # Reentrant: a signal handler on the loop thread may pull while the
        # loop holds the lock (a server's close() from a SIGTERM handler).
        self._lock = threading.RLock()
        self._thunks: List[Thunk] = []
        self._wake_pending = False
        self._closed = False
        try:
            super().__init__(reader, map)
        except BaseException:
            reader.close()
            writer.close()
            raise

    def __repr__(self) -> str:
        return "<%s.trigger at %#x>" % (type(self).__module__, id(self))

    def pull_trigger(self, thunk: Optional[Thunk] = None) -> None:
        """Queue ``thunk`` (if any) and wake the loop.  Callable from any thread."""
        with self._lock:
            if self._closed:
                return
            if thunk is not None:
                self._thunks.append(thunk)
            if self._wake_pending:
                return
            self._wake_pending = True
            try:
                self._writer.send(b"x")
            except OSError:
                # Full (cannot happen with one byte pending) or closed:
                # the loop will still see the queued thunks on its next wake.
                self._wake_pending = False

    def handle_connect(self) -> None:
        pass

    def handle_read(self) -> None:
        try:
            if not self.socket.recv(8192):
                self.handle_close()  # the writing end is gone: never spin on EOF
                return
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno in _BROKEN:
                log_quietly(
                    logger.error, "The loop's trigger failed: other threads cannot wake the loop", exc_info=True
                )
                self.handle_close()
                return
            # Passing (out of memory or buffers): the byte stays unread, so
            # the loop comes back; the thunks queued so far run now.  Closed,
            # every later pull would have been dropped, silently.
        with self._lock:
            # This order is what a reentrant pull (above) needs: a thunk it
            # adds lands either in the list taken here or behind a new wake.
            self._wake_pending = False
            thunks = self._thunks
            self._thunks = []
        for index, thunk in enumerate(thunks):
            try:
                thunk()
            except EXIT_EXCEPTIONS:
                self._requeue(thunks[index + 1 :])
                raise
            except BaseException:
                # Quietly: a log handler that raised here lost the thunks
                # behind this one, and the trigger with them (handle_error).
                log_quietly(logger.exception, "Exception in a thunk run by the trigger: %r", thunk)

    def _requeue(self, thunks: List[Thunk]) -> None:
        """Put back thunks that did not run because one raised ExitNow, ahead of newer ones."""
        if not thunks:
            return
        with self._lock:
            self._thunks[:0] = thunks
        self.pull_trigger()

    def handle_error(self) -> None:
        """``handle_read`` raised past its own handling (a MemoryError from
        ``recv``, say): keep the trigger, whose byte stays unread, so the loop
        comes back for the thunks.  Closed, as other dispatchers are, it
        would drop every later pull, the server's ``close()`` among them."""
        log_quietly(logger.error, "Unexpected exception in the loop's trigger", exc_info=True)

    def handle_close(self) -> None:
        self.close()

    def close(self) -> None:
        """Close both ends; queued thunks are dropped.  Safe to call twice and from any thread."""
        with self._lock:
            self._closed = True
            self._thunks = []
            writer = self._writer
        super().close()
        writer.close()
