"""Listeners: the sockets that accept connections, and the server objects.

The classes and signatures follow Waitress 3.0.2 (``create_server``,
``TcpWSGIServer`` alias ``WSGIServer``, ``UnixWSGIServer``,
``MultiSocketServer``), because libraries subclass them (WebTest's
``StopableWSGIServer``).  Everything here runs on the loop thread unless a
method says otherwise.
"""

import errno
import os
import socket
import stat
import sys
import time
from typing import Any, Dict, Optional, Tuple, Union

import waitress_wasyncore as wasyncore
from waitress_http import EnvironBuilder
from waitress_proxy import PROXY_HEADER_ENVIRON_KEYS, ProxySettings
from waitress_wasyncore.buffers import ReadOnlyFileBasedBuffer

from . import buffers as _buffers  # noqa: F401 (``waitress.buffers`` set, as Waitress's import did)
from . import wasyncore as _wasyncore_compat
from .adjustments import Adjustments
from .channel import HTTPChannel
from .connection_slots import ConnectionSlots
from .flushes import DelayedFlushes
from .lifecycle import LoopRunner
from .logs import log_quietly, logger
from .pool import ThreadedTaskDispatcher
from .proxy_headers import proxy_headers_middleware  # noqa: F401 (Waitress's server imported it)
from .utilities import cleanup_unix_socket

#: Connections accepted per readiness event of a listener (one listener
#: must not starve the loop).
ACCEPTS_PER_EVENT = 64
#: accept() errors that say the process or the system is out of a resource:
#: the listener rests for ``ACCEPT_PAUSE_SECONDS`` rather than retry at once.
_OUT_OF_RESOURCES = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))
ACCEPT_PAUSE_SECONDS = 0.25


def create_server(
    application: Any,
    map: Optional[Dict[int, Any]] = None,
    _start: bool = True,  # test shim
    _sock: Optional[socket.socket] = None,  # test shim
    _dispatcher: Optional[ThreadedTaskDispatcher] = None,  # test shim
    **kw: Any,
) -> Union["BaseWSGIServer", "MultiSocketServer"]:
    """Build the server for ``application`` from keyword options.

    Returns one server object when there is one listener, else a
    ``MultiSocketServer`` that runs them all on one loop.
    """
    if application is None:
        raise ValueError(
            'The "app" passed to ``create_server`` was ``None``.  You forgot '
            "to return a WSGI app within your application."
        )
    adj = Adjustments(**kw)
    if map is None:
        map = wasyncore.SocketMap()
    dispatcher = _dispatcher
    if dispatcher is None:
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)

    if adj.unix_socket and not hasattr(socket, "AF_UNIX"):
        # Waitress listened on ``listen`` (0.0.0.0:8080 by default) instead:
        # a public port for a server asked to be reachable only locally.
        raise ValueError(f"unix_socket={adj.unix_socket!r}: UNIX sockets are not available on this platform")
    servers = []
    try:
        if adj.unix_socket:
            sockinfo = (socket.AF_UNIX, socket.SOCK_STREAM, None, None)
            servers.append(
                UnixWSGIServer(
                    application, map, _start, _sock, dispatcher=dispatcher, adj=adj,
                    sockinfo=sockinfo,
                )
            )
        elif not adj.sockets:
            for sockinfo in adj.listen:
                servers.append(
                    TcpWSGIServer(
                        application, map, _start, _sock,
                        dispatcher=dispatcher, adj=adj, sockinfo=sockinfo,
                    )
                )
        else:
            for sock in adj.sockets:
                sockinfo = (sock.family, sock.type, sock.proto, sock.getsockname())
                unix = sock.family == getattr(socket, "AF_UNIX", None)
                cls = UnixWSGIServer if unix else TcpWSGIServer
                servers.append(
                    cls(
                        application, map, _start, sock, dispatcher=dispatcher, adj=adj,
                        bind_socket=False, sockinfo=sockinfo,
                    )
                )
    except BaseException:
        for server in servers:
            server.close()
        if _dispatcher is None:
            dispatcher.shutdown(timeout=1)
        raise
    if len(servers) == 1:
        return servers[0]
    effective_listen = [(s.effective_host, s.effective_port) for s in servers]
    # The last listener's log_info, as Waitress passes it: a class that
    # overrides log_info gets the banner of every listener.
    return MultiSocketServer(
        map,
        adj=adj,
        effective_listen=effective_listen,
        dispatcher=dispatcher,
        log_info=servers[-1].log_info,
        servers=servers,
    )


class BaseWSGIServer(LoopRunner, wasyncore.dispatcher):
    """A listening socket that hands each connection to an ``HTTPChannel``."""

    channel_class = HTTPChannel
    next_channel_cleanup = 0
    socketmod = socket  # test shim
    asyncore = _wasyncore_compat  # ``waitress.wasyncore``, as code written for Waitress expects
    family = None
    _owner = None  # the MultiSocketServer this listener belongs to, if any
    _accept = None  # the listener's accept(), set by accept_connections
    _accept_starved = False  # accept() ran out of descriptors; not logged again until it works
    _slots = None  # the ConnectionSlots this listener shares with its siblings (see slots)

    def __init__(
        self,
        application,
        map=None,
        _start=True,  # test shim
        _sock=None,  # test shim
        dispatcher=None,  # dispatcher
        adj=None,  # adjustments
        sockinfo=None,  # opaque object
        bind_socket=True,
        **kw,
    ):
        if adj is None:
            adj = Adjustments(**kw)
        dropped_keys = ()
        if (
            not adj.trusted_proxy
            and adj.clear_untrusted_proxy_headers
            and not adj.log_untrusted_proxy_headers
        ):
            # No peer is ever trusted and nothing is logged: the proxy headers
            # are simply never put in the environ.
            dropped_keys = PROXY_HEADER_ENVIRON_KEYS
            self.proxy_settings = None
        elif adj.trusted_proxy or adj.clear_untrusted_proxy_headers:
            # Here, not in create_server: WebTest builds TcpWSGIServer itself.
            self.proxy_settings = ProxySettings(
                trusted_proxy=adj.trusted_proxy,
                trusted_proxy_count=adj.trusted_proxy_count,
                trusted_proxy_headers=adj.trusted_proxy_headers,
                clear_untrusted_proxy_headers=adj.clear_untrusted_proxy_headers,
                log_untrusted_proxy_headers=adj.log_untrusted_proxy_headers,
            )
        else:
            self.proxy_settings = None
        if map is None:
            map = wasyncore.SocketMap()
        if sockinfo is None:
            sockinfo = self.default_sockinfo(adj)
        self.sockinfo = sockinfo
        self.family = sockinfo[0]
        self.socktype = sockinfo[1]
        self.application = application
        self.adj = adj
        self.trigger = wasyncore.trigger(map)
        self.delayed_flushes = DelayedFlushes(map, self.trigger)
        if dispatcher is None:
            dispatcher = ThreadedTaskDispatcher()
            dispatcher.set_thread_count(self.adj.threads)
        self.task_dispatcher = dispatcher
        self._sweeper = None
        self.asyncore.dispatcher.__init__(self, _sock, map=map)
        try:
            if _sock is None:
                self.create_socket(self.family, self.socktype)
                if self.family == socket.AF_INET6:
                    self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self.set_reuse_addr()
            if bind_socket:
                try:
                    self.bind_server_socket()
                except OSError as exc:
                    # With several listeners, say which one could not be had.
                    if exc.errno is None or exc.filename is not None:
                        raise
                    raise OSError(exc.errno, exc.strerror, self.bind_address()) from exc
            self.effective_host, self.effective_port = self.getsockname()
        except BaseException:
            self.trigger.close()
            self.del_channel_and_close()  # also a UNIX socket file already made
            raise
        self.server_name = adj.server_name
        self.active_channels = {}
        self.environ_builder = EnvironBuilder(
            server_name=adj.server_name,
            server_port=str(self.effective_port),
            url_scheme=adj.url_scheme,
            url_prefix=adj.url_prefix,
            ident=adj.ident,
            file_wrapper=ReadOnlyFileBasedBuffer,
            drop_keys=dropped_keys,
        )
        if _start:
            self.accept_connections()

    # -- Waitress API ---------------------------------------------------------

    def default_sockinfo(self, adj: Adjustments) -> Tuple[Any, ...]:
        """The listener's (family, type, proto, address) when none is given."""
        return adj.listen[0]

    def bind_server_socket(self) -> None:
        raise NotImplementedError  # pragma: no cover

    def bind_address(self) -> str:
        """The address ``bind_server_socket`` binds, as an error message names it."""
        return str(self.sockinfo[3])

    def getsockname(self) -> Tuple[str, Any]:
        raise NotImplementedError  # pragma: no cover

    def peer_strings(self, addr: Any) -> Tuple[str, str]:
        """REMOTE_ADDR and REMOTE_PORT for a peer address."""
        raise NotImplementedError  # pragma: no cover

    def accept_connections(self) -> None:
        self._accept = _accept_function(self.socket)
        self.accepting = True
        self.socket.listen(self.adj.backlog)
        self.set_interest(True, False)
        if self._sweeper is None and self.adj.cleanup_interval > 0:
            self._sweeper = wasyncore.call_every(
                self.adj.cleanup_interval, self._sweep, self._map
            )

    def add_task(self, task: Any) -> None:
        self.task_dispatcher.add_task(task)

    # -- connection_limit (see connection_slots) ------------------------------------

    @property
    def slots(self) -> ConnectionSlots:
        """The connection slots of the server this listener belongs to
        (made on first use, once its listeners are all known; kept here
        too, as every accept and close asks).  The loop thread's: other
        threads read ``in_connection_overflow``, which makes none."""
        slots = self._slots
        if slots is None:
            owner = self._owner or self
            slots = owner._slots
            if slots is None:
                slots = owner._slots = ConnectionSlots(owner, self.adj.connection_limit, self._map)
            self._slots = slots
        return slots

    def _existing_slots(self):
        return self._slots or (self._owner or self)._slots

    @property
    def in_connection_overflow(self) -> bool:
        """At ``connection_limit``: no listener of the server accepts (Waitress's name)."""
        slots = self._existing_slots()
        return slots is not None and slots.overflow

    def linger(self, channel: HTTPChannel) -> None:
        """``channel`` is answered and reads until its client closes (``ConnectionSlots.linger``)."""
        self.slots.linger(channel)

    def channel_closed(self, channel: HTTPChannel, fileno: int) -> None:
        """A connection closed (its descriptor was ``fileno``): maybe accept again."""
        if self.active_channels.get(fileno) is channel:  # not a newer channel on a reused fd
            del self.active_channels[fileno]
        slots = self._slots or self.slots
        if slots.overflow or slots.lingering:
            slots.released(channel)
        owner = self._owner or self
        if owner._shutting_down:
            owner._maybe_finish()

    def pull_trigger(self) -> None:
        self.trigger.pull_trigger()

    def handle_read(self) -> None:
        pass

    def handle_connect(self) -> None:
        pass

    def handle_read_event(self) -> None:
        if self.accepting:
            self.handle_accept()
        else:
            # Code outside the server set ``accepting = False`` to stop taking
            # connections (Waitress's loop then stopped polling the listener):
            # stop watching it, rather than wake for the same backlog forever.
            # ``accept_connections()`` resumes.
            self.set_interest(False, False)

    def handle_accept(self) -> None:
        # Accept what is waiting, bounded so one listener cannot starve the loop.
        self._accept_waiting(ACCEPTS_PER_EVENT)

    def _accept_waiting(self, limit: int, past_the_limit: bool = False) -> None:
        """Accept up to ``limit`` waiting connections (fewer: the backlog
        is empty, the connection limit reached unless ``past_the_limit``, or
        accepting paused)."""
        slots = self._slots or self.slots
        for _ in range(limit):
            if slots.overflow and not past_the_limit:
                return
            try:
                sock, addr = (self._accept or self.socket.accept)()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # ECONNABORTED...: the listener itself is fine.
                if exc.errno in _OUT_OF_RESOURCES:
                    self._pause_accepting(exc)
                elif self.adj.log_socket_errors:
                    logger.warning("server accept() threw an exception", exc_info=exc)
                return
            if self._accept_starved:
                self._accept_starved = False
            fd = sock.fileno()
            try:
                self.set_socket_options(sock)
                addr = self.fix_addr(addr)
                channel = self.channel_class(self, sock, addr, self.adj, map=self._map)
            except OSError:
                # The peer vanished between accept() and setup (CVE-2024-49769).
                self._discard_half_made(sock, fd)
                continue
            except Exception:
                # A bug (a subclass's channel or socket options) or MemoryError:
                # this connection is lost; the listener must not be (closing it,
                # as Waitress's error handling did, left a server that accepts nothing).
                self._discard_half_made(sock, fd)  # first: the log may raise too
                logger.exception("Exception while setting up a connection from %r", addr)
                continue
            self.active_channels[channel.accepted_fd] = channel
            if not past_the_limit:
                slots.accepted()

    def _discard_half_made(self, sock, fd: int) -> None:
        """Close ``sock`` (accepted as descriptor ``fd``), whose channel failed
        to finish setting up.  A channel that had joined the loop leaves it,
        and its socket is closed too: a subclass may have replaced ``sock``
        with another object over the same descriptor (a TLS wrapper does).
        """
        half_made = self._map.get(fd)
        if half_made is not None:
            half_made.del_channel()
            other = getattr(half_made, "socket", None)
            if other is not None and other is not sock:
                other.close()
        sock.close()

    def take_backlog(self) -> None:
        """The server is stopping: accept the connections the kernel has
        already completed, so that the drain serves the requests they sent
        rather than the listener's close resetting them (``backlog``
        connections at most).  Past ``connection_limit`` too: a server at
        its limit is when they wait (nginx's one connection per request at a
        restart), and the drain's deadline bounds what they cost."""
        if self.accepting:
            room = self.slots.room_past_the_limit(max(1, self.adj.backlog))
            if room:
                self._accept_waiting(room, past_the_limit=True)

    def _pause_accepting(self, exc: BaseException, unexpected: bool = False) -> None:
        """Out of descriptors (or memory): rest the listener for a moment.

        The connection stays in the backlog, readable: retrying at once spun
        the loop at full CPU and, logged, wrote the same line 100,000 times a
        second.  One line per episode; it ends with the next accept().
        ``unexpected``: not an OSError of accept() (``handle_error``), logged
        as an error whatever ``log_socket_errors`` says.
        """
        if not self._accept_starved:
            self._accept_starved = True
            if unexpected:
                log_quietly(logger.error, "Unexpected exception while accepting a connection", exc_info=exc)
            elif self.adj.log_socket_errors:
                log_quietly(logger.warning, "server accept() threw an exception", exc_info=exc)
        self.set_interest(False, False)
        wasyncore.call_later(ACCEPT_PAUSE_SECONDS, self._resume_accepting, self._map)

    def handle_error(self) -> None:
        """Something raised while this listener accepted, past the errors
        handled where they happen: a MemoryError from accept(), a logging
        handler that raises, a subclass's bug.  Rest the listener as for
        EMFILE.  asyncore's answer, closing the listener, stopped the server
        (its close is the server's) or left a process that accepts nothing."""
        self._pause_accepting(sys.exc_info()[1], unexpected=True)

    def _resume_accepting(self) -> None:
        if self.accepting and not self.in_connection_overflow:
            self.set_interest(True, False)

    def set_socket_options(self, conn: socket.socket) -> None:
        for level, optname, value in self.adj.socket_options:
            conn.setsockopt(level, optname, value)

    def fix_addr(self, addr: Any) -> Any:
        return addr

    def maintenance(self, now: float) -> None:
        """Close connections idle for longer than ``channel_timeout``.

        ``now`` is a ``time.monotonic()`` reading; Waitress's callers pass 0
        to mean "close nothing".
        """
        if not now:
            return
        timeout = self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            if channel.idle_for(now, timeout):
                channel.handle_close()

    def _sweep(self) -> None:
        self.maintenance(time.monotonic())

    def print_listen(self, format_str: str) -> None:
        # Through log_info, as in Waitress: code that overrides it gets the banner.
        self.log_info(format_str.format(*_bracket(self.effective_host, self.effective_port)))

    def del_channel_and_close(self) -> None:
        """Stop listening (shutdown): close the listening socket."""
        self.accepting = False
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        wasyncore.dispatcher.close(self)

    def close(self) -> None:
        if self._loop_thread is None and not self._shutting_down:
            # Never run (or run by someone else's loop, like WebTest's): Waitress semantics.
            self._shutting_down = True
            if self._sweeper is not None:
                self._sweeper.cancel()
                self._sweeper = None
            try:
                self.trigger.close()
            finally:
                wasyncore.dispatcher.close(self)
                if self._owner is None:
                    self.task_dispatcher.shutdown(timeout=1)
            return
        if self._loop_thread is None:
            wasyncore.dispatcher.close(self)
            return
        LoopRunner.close(self)

    def _listeners(self):
        return [self]


def _accept_function(listener, new_socket=socket.socket):
    """``listener.accept``, without what it costs on every call.

    ``socket.socket.accept()`` reads the listener's family and type as enums
    and checks the default timeout each time: about 100 bytecodes, 3.7% of
    a request on a connection of its own.  For a plain socket this makes the
    same accepted socket from ints read once; a subclass (a TLS wrapper)
    keeps its own ``accept``.  Should the socket object fail to be made (a
    MemoryError), the descriptor accepted for it is closed, not leaked.
    """
    if type(listener) is not socket.socket:
        return listener.accept
    raw_accept = listener._accept
    family, kind, proto = int(listener.family), int(listener.type), listener.proto

    def accept():
        fd, addr = raw_accept()
        try:
            return new_socket(family, kind, proto, fd), addr
        except BaseException:
            os.close(fd)
            raise

    return accept


#: The bytes of a path a UNIX socket address holds (``sun_path`` less its NUL).
_UNIX_PATH_MAX = 107 if sys.platform.startswith("linux") else 103


def _refuse_unix_socket_path(path: str) -> None:
    """Raise if the server may not bind ``path``, saying plainly why where
    ``bind()`` would say it vaguely ("AF_UNIX path too long" without the
    limit, "Address already in use" for a file or directory in the way):

    - too long for a socket address;
    - something that is not a socket is there (never removed);
    - a server is accepting on the socket file there.  A socket file left
      by a stopped server refuses connections and may be removed; any other
      answer may come from a running server (one that accepts, or one too
      busy to), which unlinking the file would silently cut off from every
      new client.
    """
    size = len(os.fsencode(path))
    if size > _UNIX_PATH_MAX:
        raise OSError(
            errno.ENAMETOOLONG, f"a UNIX socket path may have {_UNIX_PATH_MAX} bytes at most, this one has {size}", path
        )
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISSOCK(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "a file that is not a socket"
        raise OSError(errno.EADDRINUSE, f"Address already in use: {what} is in the way", path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return  # nobody listens: stale
    except OSError as exc:
        # A full backlog (EAGAIN), a timeout or no permission to connect:
        # a server may well be there, so the file is not ours to remove.
        raise OSError(
            errno.EADDRINUSE, f"a server may be listening on this socket ({exc})", path
        ) from exc
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "a server is already listening on this socket", path)


def _bracket(host, port):
    host = str(host)
    if ":" in host:
        host = f"[{host}]"
    return host, port


class TcpWSGIServer(BaseWSGIServer):
    """A listener on a TCP (IPv4 or IPv6) address."""

    def bind_server_socket(self) -> None:
        (_, _, _, sockaddr) = self.sockinfo
        self.bind(sockaddr)

    def bind_address(self) -> str:
        return "%s:%s" % _bracket(*self.sockinfo[3][:2])

    def getsockname(self) -> Tuple[str, str]:
        # Strings, as Waitress gives them (effective_port is a str there).
        return self.socketmod.getnameinfo(
            self.socket.getsockname(), self.socketmod.NI_NUMERICHOST | self.socketmod.NI_NUMERICSERV
        )

    def peer_strings(self, addr: Any) -> Tuple[str, str]:
        return addr[0], str(addr[1])

    def fix_addr(self, addr: Any) -> Any:
        if not addr:
            # macOS gives no address for a client that reset before accept()
            # on an IPv6 listener: a peer already gone, as its OSError would say.
            raise OSError(errno.ENOTCONN, "the client left before its address was known")
        return addr

    def set_socket_options(self, conn: socket.socket) -> None:
        for level, optname, value in self.adj.socket_options:
            try:
                conn.setsockopt(level, optname, value)
            except OSError:
                pass


WSGIServer = TcpWSGIServer


if hasattr(socket, "AF_UNIX"):

    class UnixWSGIServer(BaseWSGIServer):
        """A listener on a UNIX domain socket (``unix_socket``)."""

        def default_sockinfo(self, adj: Adjustments) -> Tuple[Any, ...]:
            return (socket.AF_UNIX, socket.SOCK_STREAM, None, None)

        _bound_file = None  # (st_dev, st_ino) of the socket file we made

        def bind_server_socket(self) -> None:
            path = self.adj.unix_socket
            _refuse_unix_socket_path(path)  # another server's: never take it over
            cleanup_unix_socket(path)  # a stale socket from an earlier run
            self.bind(path)
            made = os.stat(path)
            self._bound_file = (made.st_dev, made.st_ino)
            if self.adj.unix_socket_perms is not None:
                os.chmod(path, self.adj.unix_socket_perms)

        def bind_address(self) -> str:
            return self.adj.unix_socket

        def del_channel_and_close(self) -> None:
            super().del_channel_and_close()
            self._remove_socket_file()

        def close(self) -> None:
            super().close()
            self._remove_socket_file()

        def _remove_socket_file(self) -> None:
            """Unlink the socket file once we stop listening, if it is still ours
            (not one another server has bound since at the same path)."""
            bound, self._bound_file = self._bound_file, None
            if bound is None:
                return
            path = self.adj.unix_socket
            try:
                now = os.stat(path)
                if (now.st_dev, now.st_ino) == bound:
                    os.unlink(path)
            except OSError:
                pass

        def getsockname(self) -> Tuple[str, Any]:
            return ("unix", self.socket.getsockname())

        def fix_addr(self, addr: Any) -> Any:
            return ("localhost", None)

        def peer_strings(self, addr: Any) -> Tuple[str, str]:
            return "localhost", "None"

        def set_socket_options(self, conn: socket.socket) -> None:
            pass


class MultiSocketServer(LoopRunner):
    """Several listeners served by one loop and one worker pool.

    The positional arguments are Waitress's, ``log_info`` included: code
    that copies ``create_server`` builds the listeners into ``map`` itself
    and passes only these.  The listeners are then the servers found in
    ``map``, unless ``servers`` names them.
    """

    asyncore = _wasyncore_compat  # ``waitress.wasyncore``, as code written for Waitress expects
    _slots = None  # the ConnectionSlots its listeners share

    def __init__(
        self,
        map=None,
        adj=None,
        effective_listen=None,
        dispatcher=None,
        log_info=None,
        servers=None,
    ):
        self.adj = adj
        self.map = map
        self._map = map
        self.effective_listen = effective_listen
        self.task_dispatcher = dispatcher
        if log_info is not None:
            self.log_info = log_info
        if servers is None:
            servers = [obj for obj in (map or {}).values() if isinstance(obj, BaseWSGIServer)]
        self.servers = list(servers)
        for server in self.servers:
            server._owner = self

    def print_listen(self, format_str: str) -> None:
        for host, port in self.effective_listen:
            self.log_info(format_str.format(*_bracket(host, port)))

    def log_info(self, message: str, type: str = "info") -> None:
        getattr(logger, type, logger.info)(message)

    def _listeners(self):
        return self.servers

    def close(self) -> None:
        if self._loop_thread is None:
            for server in self.servers:
                server.close()
            self.task_dispatcher.shutdown(timeout=1)
            return
        LoopRunner.close(self)
