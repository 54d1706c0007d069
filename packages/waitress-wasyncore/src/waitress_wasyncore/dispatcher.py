"""The asyncore-style dispatcher: one non-blocking socket and its event handlers.

The API is the one code written for ``waitress.wasyncore`` knows.  What
differs is how the loop learns what a dispatcher waits for: it is told, with
``set_interest(read, write)``, when that changes.  A subclass that overrides
``readable()`` or ``writable()`` is detected once, when the class is created,
and only such dispatchers are asked every iteration, as asyncore did.
"""

import logging
import os
import socket as socket_module
import sys
from typing import Any, Optional, Tuple

from .errors import ACCEPT_AGAIN, CONNECT_DONE, CONNECT_PENDING, DISCONNECTED, log_quietly
from .reactor import EVENT_READ, EVENT_WRITE, SocketMap, reactor_for

# ``socket_module``: the dispatcher has an attribute named ``socket`` (asyncore's
# API) that would shadow the module inside the class body.

#: The default map of every dispatcher, ``loop()`` and ``close_all()``.
socket_map: SocketMap = SocketMap()

_SEVERITY = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

_DISCONNECT_EXCEPTIONS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def compact_traceback() -> Tuple[Tuple[str, str, str], Any, Any, str]:
    """The exception being handled as ``((file, function, line), type, value, summary)``.

    ``summary`` lists every frame as ``[file|function|line]``, the shape
    asyncore log lines have always had.
    """
    exc_type, exc_value, tb = sys.exc_info()
    if tb is None:
        raise AssertionError("traceback does not exist")
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, code.co_name, str(tb.tb_lineno)))
        tb = tb.tb_next
    summary = " ".join("[%s|%s|%s]" % frame for frame in frames)
    return frames[-1], exc_type, exc_value, summary


class dispatcher:
    """A socket in the loop: override the ``handle_*`` methods to act on its events."""

    debug = False
    connected = False
    accepting = False
    connecting = False
    closing = False
    addr: Any = None
    socket: Optional[socket_module.socket] = None
    ignore_log_types = frozenset({"warning"})
    logger = logging.getLogger("waitress")
    compact_traceback = staticmethod(compact_traceback)

    # What the loop watches for this dispatcher (selectors.EVENT_* bits).
    _events = EVENT_READ
    _fileno: Optional[int] = None
    _reactor: Any = None
    # True for subclasses that override readable()/writable(): asked every iteration.
    _asks_interest = False

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._asks_interest = (
            cls.readable is not dispatcher.readable or cls.writable is not dispatcher.writable
        )

    def __init__(
        self,
        sock: Optional[socket_module.socket] = None,
        map: Optional[dict] = None,
        peer: Any = None,
    ) -> None:
        """Watch ``sock`` in ``map``.

        ``peer`` is the address ``accept()`` returned with ``sock``: the
        connection is then known to exist, so its peer is not asked again
        (a system call per connection that a busy server can spare).
        """
        self._map = socket_map if map is None else map
        self._fileno = None
        if sock is None:
            self.socket = None
            return
        sock.setblocking(False)
        self.set_socket(sock, map)
        self.connected = True
        if peer is not None:
            self.addr = peer
            return
        try:
            self.addr = sock.getpeername()
        except OSError:
            # Not connected (a listening socket), or the peer already reset
            # the connection (CVE-2024-49769).  Stay registered for reading:
            # the next recv() reports the reset and closes us cleanly.
            self.connected = False
            self.addr = None

    def __repr__(self) -> str:
        cls = type(self)
        status = [cls.__module__ + "." + cls.__qualname__]
        if self.accepting and self.addr:
            status.append("listening")
        elif self.connected:
            status.append("connected")
        if self.addr is not None:
            try:
                status.append("%s:%d" % self.addr)
            except TypeError:
                status.append(repr(self.addr))
        return "<%s at %#x>" % (" ".join(status), id(self))

    # -- interest ----------------------------------------------------------

    def set_interest(self, read: bool, write: bool) -> None:
        """Tell the loop whether to watch this socket for reading and writing.

        A no-op when nothing changes; call it from the loop thread only (a
        worker thread goes through ``trigger.pull_trigger``).
        """
        events = (EVENT_READ if read else 0) | (EVENT_WRITE if write else 0)
        if events != self._events:
            self._events = events
            reactor = self._reactor
            if reactor is not None:
                reactor.update(self, events)

    def readable(self) -> bool:
        """Whether the loop watches for reading.  Override only for asyncore-style code."""
        return bool(self._events & EVENT_READ)

    def writable(self) -> bool:
        """Whether the loop watches for writing.  Override only for asyncore-style code."""
        return bool(self._events & EVENT_WRITE)

    # -- the map -----------------------------------------------------------

    def add_channel(self, map: Optional[dict] = None) -> None:
        """Join ``map`` (default: the dispatcher's own) under the socket's fd."""
        if map is None:
            map = self._map
        else:
            self._map = map
        previous = self._reactor
        while True:
            reactor = reactor_for(map)
            if previous is not None and previous is not reactor:
                previous.detach(self, self._fileno)
                previous = None
            if reactor.attach(self, self._fileno):
                return
            # That reactor was released by another thread meanwhile: get the new one.

    def del_channel(self, map: Optional[dict] = None) -> None:
        """Leave the map and the selector.  Harmless when already out."""
        fd = self._fileno
        reactor = self._reactor
        if reactor is not None:
            reactor.detach(self, fd)
        elif fd is not None:
            owner = self._map if map is None else map
            if owner is not None and owner.get(fd) is self:
                del owner[fd]
        self._fileno = None

    def create_socket(
        self, family: int = socket_module.AF_INET, type: int = socket_module.SOCK_STREAM
    ) -> None:
        """Make a new non-blocking socket for this dispatcher and join the map."""
        sock = socket_module.socket(family, type)
        sock.setblocking(False)
        self.set_socket(sock)

    def set_socket(self, sock: socket_module.socket, map: Optional[dict] = None) -> None:
        """Adopt ``sock`` and join the map; on failure nothing stays registered."""
        self.socket = sock
        self._fileno = sock.fileno()
        try:
            self.add_channel(map)
        except BaseException:
            self._fileno = None
            raise

    def set_reuse_addr(self) -> None:
        """Set SO_REUSEADDR, so a restarted server can bind its port at once."""
        try:
            self.socket.setsockopt(
                socket_module.SOL_SOCKET,
                socket_module.SO_REUSEADDR,
                self.socket.getsockopt(socket_module.SOL_SOCKET, socket_module.SO_REUSEADDR) | 1,
            )
        except OSError:
            pass

    # -- socket operations -------------------------------------------------

    def listen(self, num: int) -> None:
        self.accepting = True
        self.socket.listen(num)

    def bind(self, addr: Any) -> None:
        self.addr = addr
        self.socket.bind(addr)

    def connect(self, address: Any) -> None:
        """Start connecting; ``handle_connect()`` runs when the connection is up."""
        self.connected = False
        self.connecting = True
        err = self.socket.connect_ex(address)
        if err in CONNECT_PENDING or (err == getattr(os, "EINVAL", 22) and os.name == "nt"):
            self.addr = address
            self.set_interest(False, True)
            return
        if err in CONNECT_DONE:
            self.addr = address
            self.handle_connect_event()
            return
        self.connecting = False
        raise OSError(err, os.strerror(err))

    def accept(self) -> Optional[Tuple[socket_module.socket, Any]]:
        """Accept a connection; None when there is none to take right now."""
        try:
            conn, addr = self.socket.accept()
        except TypeError:
            return None
        except OSError as why:
            if why.errno in ACCEPT_AGAIN:
                return None
            raise
        return conn, addr

    def send(self, data: Any) -> int:
        """Send what the socket takes now; 0 when it is full or the peer is gone."""
        try:
            return self.socket.send(data)
        except BlockingIOError:
            return 0
        except OSError as why:
            if why.errno in DISCONNECTED:
                self.handle_close()
                return 0
            raise

    def recv(self, buffer_size: int) -> bytes:
        """Receive up to ``buffer_size`` bytes; b"" at EOF (after ``handle_close()``) or when none are ready."""
        try:
            data = self.socket.recv(buffer_size)
        except BlockingIOError:
            return b""
        except OSError as why:
            if why.errno in DISCONNECTED:
                self.handle_close()
                return b""
            raise
        if not data:
            self.handle_close()
            return b""
        return data

    def close(self) -> None:
        """Leave the loop and close the socket.  Safe to call twice."""
        self.connected = False
        self.accepting = False
        self.connecting = False
        self.del_channel()
        sock = self.socket
        if sock is not None:
            try:
                sock.close()
            except OSError as why:
                if why.errno not in DISCONNECTED:
                    raise

    # -- logging -----------------------------------------------------------

    def log(self, message: Any) -> None:
        self.logger.debug("log: %s", message)

    def log_info(self, message: str, type: str = "info") -> None:
        if type not in self.ignore_log_types:
            self.logger.log(_SEVERITY.get(type, logging.INFO), message)

    # -- events (called by the loop) ---------------------------------------

    def handle_read_event(self) -> None:
        if self.accepting:
            self.handle_accept()
        elif not self.connected:
            if self.connecting:
                self._finish_connect()
            self.handle_read()
        else:
            self.handle_read()

    def handle_write_event(self) -> None:
        if self.accepting:
            return
        if not self.connected and self.connecting:
            self._finish_connect()
        self.handle_write()

    def _finish_connect(self) -> None:
        err = self.socket.getsockopt(socket_module.SOL_SOCKET, socket_module.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))
        self.handle_connect_event()

    def handle_connect_event(self) -> None:
        self.connected = True
        self.connecting = False
        self.set_interest(True, False)
        self.handle_connect()

    def handle_expt_event(self) -> None:
        """Kept for the API: selectors report no out-of-band condition, so ``loop()`` never calls it.

        ``readwrite()`` does, for POLLPRI, in loops of one's own.
        """
        self.handle_expt()

    def handle_error(self) -> None:
        """A handler raised: log the traceback (not for a plain disconnect), then close.

        The close happens even if logging fails (a handler that raises).
        """
        if isinstance(sys.exc_info()[1], _DISCONNECT_EXCEPTIONS):
            log_quietly(self.logger.debug, "Connection lost on %r", self, exc_info=True)
        else:
            log_quietly(self.logger.error, "Unexpected exception in %r", self, exc_info=True)
        self.handle_close()

    def handle_expt(self) -> None:
        self.log_info("unhandled incoming priority event", "warning")

    def handle_read(self) -> None:
        self.log_info("unhandled read event", "warning")

    def handle_write(self) -> None:
        self.log_info("unhandled write event", "warning")

    def handle_connect(self) -> None:
        self.log_info("unhandled connect event", "warning")

    def handle_accept(self) -> None:
        pair = self.accept()
        if pair is not None:
            self.handle_accepted(*pair)

    def handle_accepted(self, sock: socket_module.socket, addr: Any) -> None:
        sock.close()
        self.log_info("unhandled accepted event", "warning")

    def handle_close(self) -> None:
        self.log_info("unhandled close event", "warning")
        self.close()


class dispatcher_with_send(dispatcher):
    """A dispatcher that queues what ``send()`` could not write and finishes it when writable."""

    def __init__(
        self, sock: Optional[socket_module.socket] = None, map: Optional[dict] = None
    ) -> None:
        super().__init__(sock, map)
        self.out_buffer = bytearray()

    def initiate_send(self) -> None:
        """Write as much of the queue as the socket takes; watch for writability while some is left."""
        out = self.out_buffer
        if out and self.connected:
            sent = dispatcher.send(self, out[:65536])
            if sent:
                if type(out) is bytearray:
                    del out[:sent]
                else:
                    out = self.out_buffer = out[sent:]
        if self.socket is not None and self._fileno is not None:
            self.set_interest(bool(self._events & EVENT_READ), bool(out) or self.connecting)

    def handle_write(self) -> None:
        self.initiate_send()

    def send(self, data: Any) -> int:
        if self.debug:
            self.log_info("sending %r" % (data,))
        self.out_buffer += data
        self.initiate_send()
        return len(data)
