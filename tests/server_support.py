"""Start a real server for a test and talk to it over real sockets.

Two ways to run a server:

* :class:`ThreadedServer` runs ``create_server(...).run()`` in a daemon
  thread of the test process, so a test can look at the server object
  (``adj``, ``queue_depth``, channels) and capture its log with ``caplog``.
* :class:`SubprocessServer` runs ``fixtureapps/runserver.py`` in a child
  process, so a test can count the process's descriptors, memory and CPU
  time, and read its stderr.

And a raw HTTP client, :class:`RawConnection`, that sends exact bytes and
reads responses one by one (keep-alive, pipelining, chunked, close-delimited)
without the repairs a real client library would make.

Every wait here is bounded: a server that misbehaves fails the test instead
of hanging it.
"""

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
RUNSERVER = os.path.join(TESTS_DIR, "fixtureapps", "runserver.py")

Target = Union[Tuple[str, int], str]
"""Where to connect: ``(host, port)`` for TCP, a path for a UNIX socket."""

DEFAULT_TIMEOUT = 10.0


#: A close waits for delivery by the kernel's count of unsent bytes
#: (SIOCOUTQ, FIONWRITE, SO_NWRITE): Windows has none (differences.md).
needs_unsent_count = pytest.mark.skipif(
    not sys.platform.startswith(("linux", "freebsd", "netbsd", "darwin")),
    reason="no count of the kernel's unsent bytes on this system",
)

#: UNIX sockets (the ``unix_socket`` option): not on Windows.
needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX here")


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something true; return that or False."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def ipv6_loopback_available() -> bool:
    """True when this machine can bind a TCP socket on ::1."""
    if not socket.has_ipv6:
        return False
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        probe.bind(("::1", 0))
    except OSError:
        return False
    finally:
        probe.close()
    return True


# ---------------------------------------------------------------------------
# Server addresses


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (bound, read, released)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, 0))
        return probe.getsockname()[1]
    finally:
        probe.close()


def two_free_ports() -> Tuple[int, int]:
    """Two distinct ports that were free a moment ago, for a two-entry ``listen``."""
    first = free_tcp_port()
    second = free_tcp_port()
    while second == first:
        second = free_tcp_port()
    return first, second


def tcp_address(server: Any) -> Tuple[str, int]:
    """``(host, port)`` of a single-listener TCP server.

    Waitress reports ``effective_port`` as a string; accept either.
    """
    return str(server.effective_host), int(server.effective_port)


def open_channels(server: Any) -> List[Any]:
    """The server's HTTP connections, as its socket map holds them now."""
    from waitress.channel import HTTPChannel

    return [obj for obj in list(server._map.values()) if isinstance(obj, HTTPChannel)]


def lingering_channels(server: Any) -> List[Any]:
    """The connections answered and lingering until their clients close,
    oldest first (the server's ``ConnectionSlots.lingering``; none before
    its first connection made the slots)."""
    slots = server._existing_slots()
    return list(slots.lingering) if slots is not None else []


def listen_addresses(server: Any) -> List[Tuple[str, int]]:
    """Every TCP ``(host, port)`` a server listens on (one or several)."""
    if hasattr(server, "effective_listen"):
        return [(str(host), int(port)) for host, port in server.effective_listen]
    return [tcp_address(server)]


# ---------------------------------------------------------------------------
# Sockets of other platforms


class SocketStandIn:
    """An accepted socket as another platform has it: a subclass defines
    what differs there, everything else is the real socket's."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def channel_with_socket(stand_in: Callable[[socket.socket], Any]) -> type:
    """An ``HTTPChannel`` class whose accepted sockets are ``stand_in(sock)``
    (set it as a server's ``channel_class``)."""
    from waitress.channel import HTTPChannel

    class StandInChannel(HTTPChannel):
        def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
            super().__init__(server, sock, addr, adj, map)
            self.socket = stand_in(self.socket)

    return StandInChannel


def assert_served_whole_twice(server: Any, path: str, expected: bytes) -> None:
    """GET ``path`` twice on one connection: 200 and ``expected`` both times
    (so the first response also left the connection usable)."""
    with RawConnection(tcp_address(server), timeout=20) as conn:
        for _ in range(2):
            conn.request("GET", path)
            response = conn.read_response()
            assert response.status == 200
            assert response.body == expected


# The threaded server


class ThreadedServer:
    """Serve ``app`` in a daemon thread for the length of a ``with`` block.

    Without any of ``listen``, ``host``, ``port``, ``unix_socket`` or
    ``sockets`` the server listens on ``127.0.0.1`` on an ephemeral port.
    The block receives the server object; leaving it closes the server and
    joins the thread (bounded).  :meth:`stop` does the same early.
    """

    LOCATION_OPTIONS = ("listen", "host", "port", "unix_socket", "sockets")

    def __init__(self, app: Callable, join_timeout: float = 15.0, **kw: Any) -> None:
        if not any(name in kw for name in self.LOCATION_OPTIONS):
            kw["listen"] = "127.0.0.1:0"
        self.app = app
        self.kw = kw
        self.join_timeout = join_timeout
        self.server: Any = None
        self.thread: Optional[threading.Thread] = None
        self.run_error: Optional[BaseException] = None
        self._stopped = False

    def __enter__(self) -> Any:
        from waitress import create_server

        self.server = create_server(self.app, **self.kw)
        self.thread = threading.Thread(target=self._run, name="test-server-loop", daemon=True)
        self.thread.start()
        return self.server

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as error:  # reported by stop(), not lost in the thread
            self.run_error = error

    def stop(self) -> bool:
        """Close the server and join its thread; True if the thread ended."""
        if self._stopped:
            return self.thread is None or not self.thread.is_alive()
        self._stopped = True
        self.server.close()
        self.thread.join(self.join_timeout)
        return not self.thread.is_alive()

    def __exit__(self, exc_type, exc, tb) -> None:
        ended = self.stop()
        if exc_type is None:
            assert ended, "server.run() still running %.0f s after close()" % self.join_timeout
            if self.run_error is not None and not isinstance(self.run_error, SystemExit):
                raise AssertionError("server.run() raised %r" % (self.run_error,))


# ---------------------------------------------------------------------------
# The subprocess server


class SubprocessServer:
    """Serve ``app_spec`` (``"fixtureapps.echo:app"``) in a child process.

    ``mode="create"`` waits for the runner's JSON line and exposes
    ``listen`` (a list of ``(host, port)``) and ``address`` (the first).
    ``mode="serve"`` runs ``waitress.serve`` and only starts it; the test
    reads the log with :meth:`stderr_text`.  Leaving the block sends
    SIGTERM, waits 10 s, then kills.
    """

    def __init__(
        self,
        app_spec: str,
        mode: str = "create",
        env: Optional[Dict[str, str]] = None,
        startup_timeout: float = 20.0,
        **kw: Any,
    ) -> None:
        if mode == "create" and not any(name in kw for name in ThreadedServer.LOCATION_OPTIONS):
            kw["listen"] = "127.0.0.1:0"
        self.app_spec = app_spec
        self.mode = mode
        self.kw = kw
        self.extra_env = env or {}
        self.startup_timeout = startup_timeout
        self.process: Optional[subprocess.Popen] = None
        self.listen: List[Tuple[str, int]] = []
        self._stderr_chunks: List[bytes] = []
        self._stderr_lock = threading.Lock()
        self._stderr_thread: Optional[threading.Thread] = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> Tuple[str, int]:
        return self.listen[0]

    def __enter__(self) -> "SubprocessServer":
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [TESTS_DIR, env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        command = [sys.executable, RUNSERVER, self.app_spec, json.dumps(self.kw), self.mode]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=TESTS_DIR,
        )
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        if self.mode == "create":
            try:
                self._read_listen_line()
            except BaseException:
                self.stop()
                raise
        return self

    def _drain_stderr(self) -> None:
        stream = self.process.stderr
        while True:
            piece = stream.read1(65536) if hasattr(stream, "read1") else stream.read(1)
            if not piece:
                return
            with self._stderr_lock:
                self._stderr_chunks.append(piece)

    def _read_listen_line(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        stdout = self.process.stdout
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("server subprocess did not start:\n" + self.stderr_text())
            ready, _, _ = select.select([stdout], [], [], remaining)
            if not ready:
                continue
            piece = os.read(stdout.fileno(), 4096)
            if not piece:
                time.sleep(0.2)  # let the stderr reader catch the traceback
                raise AssertionError(
                    "server subprocess exited before listening:\n" + self.stderr_text()
                )
            line += piece
        info = json.loads(line.decode("utf-8").splitlines()[0])
        self.listen = [(host, int(port)) for host, port in info["listen"]]

    def stderr_text(self) -> str:
        with self._stderr_lock:
            return b"".join(self._stderr_chunks).decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> Optional[int]:
        """SIGTERM, wait up to 10 s, then SIGKILL; return the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._stderr_thread is not None:
            self._stderr_thread.join(5)
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop()

    # What /proc says about the process -----------------------------------

    def fd_count(self) -> int:
        """How many file descriptors the server process holds open."""
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def rss_bytes(self) -> int:
        """Resident set size, from /proc/PID/status (VmRSS)."""
        with open("/proc/%d/status" % self.pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line for pid %d" % self.pid)

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far, from /proc/PID/stat."""
        with open("/proc/%d/stat" % self.pid) as stat:
            text = stat.read()
        fields = text[text.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def settled_fd_count(self, timeout: float = 5.0, quiet: float = 0.5) -> int:
        """The descriptor count once it has not changed for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last = self.fd_count()
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            count = self.fd_count()
            if count != last:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since >= quiet:
                break
        return last

    def cpu_seconds_during(self, wall_seconds: float) -> float:
        """CPU time the process uses while the test sleeps ``wall_seconds``."""
        before = self.cpu_seconds()
        time.sleep(wall_seconds)
        return self.cpu_seconds() - before

    def descriptors(self) -> List[str]:
        """What each open descriptor points at, for failure messages."""
        names = []
        for fd in sorted(os.listdir("/proc/%d/fd" % self.pid), key=int):
            try:
                names.append("%s -> %s" % (fd, os.readlink("/proc/%d/fd/%s" % (self.pid, fd))))
            except OSError:
                continue
        return names

    def wait_fd_count_at_most(self, limit: int, timeout: float = 5.0) -> int:
        """Poll the descriptor count until it is ``<= limit``; return the last count."""
        deadline = time.monotonic() + timeout
        while True:
            count = self.fd_count()
            if count <= limit or time.monotonic() >= deadline:
                return count
            time.sleep(0.05)


# ---------------------------------------------------------------------------
# A raw HTTP client


class RawResponse:
    """One response as it came off the wire."""

    def __init__(
        self, version: str, status: int, reason: str, headers: List[Tuple[str, str]]
    ) -> None:
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = b""
        self.complete = True
        self.chunked = False
        self.raw_head = b""

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of header ``name`` (case-insensitive)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    def header_values(self, name: str) -> List[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    @property
    def header_names(self) -> List[str]:
        return [key for key, _ in self.headers]

    def connection_tokens(self) -> List[str]:
        """The Connection header's tokens, lower-cased."""
        tokens = []
        for value in self.header_values("Connection"):
            tokens.extend(token.strip().lower() for token in value.split(",") if token.strip())
        return tokens

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self) -> str:
        return "<RawResponse %s %d %r headers=%r body=%d bytes%s>" % (
            self.version,
            self.status,
            self.reason,
            self.headers,
            len(self.body),
            "" if self.complete else " INCOMPLETE",
        )


class IncompleteResponse(AssertionError):
    """The connection ended before the response was complete."""

    def __init__(self, response: RawResponse, detail: str) -> None:
        super().__init__("%s: %r" % (detail, response))
        self.response = response


def connect(
    target: Target, timeout: float = DEFAULT_TIMEOUT, receive_buffer: Optional[int] = None
) -> socket.socket:
    """A blocking client socket connected to ``target``.

    ``receive_buffer`` (SO_RCVBUF, set before connecting so that it bounds
    the TCP window) makes a slow reader: the server's bytes then wait,
    unacknowledged, in its kernel.
    """
    if isinstance(target, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: Any = target
    else:
        host, port = target
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        address = (host, port)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    sock.connect(address)
    return sock


def refuses_connections(target: Target) -> bool:
    """True once nothing accepts at ``target`` (refused, reset or unreachable)."""
    try:
        probe = connect(target, timeout=2)
    except OSError:
        return True
    probe.close()
    return False


@contextlib.contextmanager
def closing_in_background(close: Callable[[], Any], target: Target, timeout: float = 20.0):
    """Run ``close()`` in a thread for the length of the block (it waits for
    the drain, which the block lets happen).  The block starts once the
    listener at ``target`` refuses connections; leaving it, ``close()`` must
    have returned within ``timeout`` seconds."""
    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    assert wait_until(lambda: refuses_connections(target), timeout=5), (
        "listener still open while closing"
    )
    yield closer
    closer.join(timeout)
    assert not closer.is_alive(), "close() did not return"


@contextlib.contextmanager
def request_held_in_flight(path: str = "/in-flight"):
    """A server of ``fixtureapps.gate.app`` with a request to ``path`` inside the app.

    Yields ``(context, server, conn, gate)``: ``conn`` sent the request,
    which waits in the application until ``gate.set()``.  Leaving the block
    opens the gate and stops the server.
    """
    from fixtureapps import gate
    from fixtureapps.recorder import RECORDER

    context = ThreadedServer(gate.app)
    server = context.__enter__()
    try:
        with gate.released() as opened, RawConnection(tcp_address(server), timeout=20) as conn:
            conn.request("GET", path)
            assert RECORDER.wait_for_kind("entered", timeout=10)
            yield context, server, conn, opened
    finally:
        gate.GATE.set()
        context.__exit__(None, None, None)


def reset_close(sock: socket.socket) -> None:
    """Close with SO_LINGER 0, so the peer gets an RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    sock.close()


def read_until_closed(sock: socket.socket) -> Tuple[bytes, str]:
    """What arrives before the server closes ``sock``, and how it closed:
    ``"fin"`` (a clean end) or ``"reset"``."""
    received = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return received, "reset"
        if not data:
            return received, "fin"
        received += data


NO_BODY_STATUSES = (204, 304)


class RawConnection:
    """A client connection that sends raw bytes and parses responses itself.

    ``read_response()`` returns the next response on the connection;
    bytes after it stay buffered for the next call (pipelining).
    """

    def __init__(
        self, target: Target, timeout: float = DEFAULT_TIMEOUT, receive_buffer: Optional[int] = None
    ) -> None:
        self.sock = connect(target, timeout, receive_buffer)
        self.buffer = b""
        self.eof = False
        self.reset = False

    # sending ---------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        headers: Optional[List[Tuple[str, str]]] = None,
        body: bytes = b"",
        version: str = "HTTP/1.1",
    ) -> None:
        """Send one well-formed request (Host added unless given)."""
        self.send(build_request(method, path, headers, body, version))

    # receiving -------------------------------------------------------------

    def _fill(self, size: int = 65536) -> bool:
        """Receive more bytes into the buffer; False at EOF or reset."""
        if self.eof:
            return False
        try:
            piece = self.sock.recv(size)
        except ConnectionResetError:
            self.reset = True
            piece = b""
        if not piece:
            self.eof = True
            return False
        self.buffer += piece
        return True

    def _take(self, size: int) -> bytes:
        piece, self.buffer = self.buffer[:size], self.buffer[size:]
        return piece

    def _read_line(self) -> Optional[bytes]:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                return None
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_head(self) -> Optional[RawResponse]:
        """The next status line and headers, or None at a clean EOF."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                if self.buffer:
                    raise AssertionError(
                        "connection ended inside a response head: %r" % self.buffer[:500]
                    )
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status_line = lines[0].decode("latin-1")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        assert version.startswith("HTTP/") and code.isdigit(), "bad status line %r" % status_line
        headers = []
        for raw in lines[1:]:
            name, sep, value = raw.decode("latin-1").partition(":")
            assert sep and name == name.strip(), "bad response header line %r" % raw
            headers.append((name, value.strip(" \t")))
        response = RawResponse(version, int(code), reason, headers)
        response.raw_head = head
        return response

    def read_response(
        self, method: str = "GET", allow_incomplete: bool = False, skip_continue: bool = True
    ) -> RawResponse:
        """Read the next complete response.

        ``method`` tells whether a body can follow (HEAD: never).  Interim
        1xx responses are skipped unless ``skip_continue`` is False.  With
        ``allow_incomplete`` a truncated body comes back with
        ``complete=False`` instead of raising :class:`IncompleteResponse`.
        """
        while True:
            response = self.read_head()
            if response is None:
                raise AssertionError("connection closed before a response (reset=%s)" % self.reset)
            if 100 <= response.status < 200 and response.status != 101:
                if skip_continue:
                    continue
                return response
            break
        try:
            self._read_body(response, method)
        except IncompleteResponse:
            if not allow_incomplete:
                raise
        return response

    def _read_body(self, response: RawResponse, method: str) -> None:
        if method == "HEAD" or response.status in NO_BODY_STATUSES or response.status < 200:
            return
        encoding = (response.header("Transfer-Encoding") or "").lower()
        if encoding:
            assert encoding == "chunked", "unexpected Transfer-Encoding %r" % encoding
            response.chunked = True
            self._read_chunked(response)
            return
        length = response.header("Content-Length")
        if length is not None:
            size = int(length)
            while len(self.buffer) < size:
                if not self._fill(max(65536, size - len(self.buffer))):
                    response.body = self._take(len(self.buffer))
                    response.complete = False
                    raise IncompleteResponse(
                        response, "EOF after %d of %d body bytes" % (len(response.body), size)
                    )
            response.body = self._take(size)
            return
        # No length: the body runs to the end of the connection.
        while self._fill():
            pass
        response.body = self._take(len(self.buffer))

    def _read_chunked(self, response: RawResponse) -> None:
        pieces = []
        while True:
            line = self._read_line()
            if line is None:
                response.body = b"".join(pieces)
                response.complete = False
                raise IncompleteResponse(response, "EOF inside a chunked body")
            size_text = line.split(b";", 1)[0].strip()
            size = int(size_text, 16)
            if size == 0:
                while True:  # trailer section, ended by an empty line
                    trailer = self._read_line()
                    if trailer is None:
                        response.body = b"".join(pieces)
                        response.complete = False
                        raise IncompleteResponse(response, "EOF inside the chunked trailer")
                    if trailer == b"":
                        response.body = b"".join(pieces)
                        return
            while len(self.buffer) < size + 2:
                if not self._fill(max(65536, size + 2 - len(self.buffer))):
                    pieces.append(self.buffer[:size])
                    response.body = b"".join(pieces)
                    response.complete = False
                    raise IncompleteResponse(response, "EOF inside a chunk")
            data = self._take(size + 2)
            assert data.endswith(b"\r\n"), "chunk not followed by CRLF"
            pieces.append(data[:-2])

    def read_until_eof(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        while self._fill():
            pass
        return self._take(len(self.buffer))

    def closed_by_server(self, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """True if the server closes the connection (EOF or reset) within ``timeout``.

        Bytes that arrive meanwhile stay in ``buffer``.
        """
        previous = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    if not self._fill():
                        return True
                except socket.timeout:
                    return False
            return False
        finally:
            self.sock.settimeout(previous)

    def is_idle_open(self, wait: float = 0.2) -> bool:
        """True if nothing arrives and the connection stays open for ``wait`` s."""
        ready, _, _ = select.select([self.sock], [], [], wait)
        return not ready

    def close(self) -> None:
        self.sock.close()

    def reset_close(self) -> None:
        reset_close(self.sock)

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def build_request(
    method: str = "GET",
    path: str = "/",
    headers: Optional[List[Tuple[str, str]]] = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    """The bytes of a well-formed request; Host and Content-Length added when missing."""
    headers = list(headers or [])
    names = {name.lower() for name, _ in headers}
    if "host" not in names:
        headers.insert(0, ("Host", "localhost"))
    if body and "content-length" not in names and "transfer-encoding" not in names:
        headers.append(("Content-Length", str(len(body))))
    lines = ["%s %s %s" % (method, path, version)]
    lines.extend("%s: %s" % pair for pair in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def exchange(
    target: Target, data: bytes, method: str = "GET", timeout: float = DEFAULT_TIMEOUT
) -> RawResponse:
    """Send ``data`` on a new connection and return the first response."""
    with RawConnection(target, timeout) as conn:
        conn.send(data)
        return conn.read_response(method)


def get(
    target: Target,
    path: str = "/",
    headers: Optional[List[Tuple[str, str]]] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RawResponse:
    """One GET on a fresh connection."""
    return exchange(target, build_request("GET", path, headers), timeout=timeout)
