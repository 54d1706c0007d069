"""The dispatcher API over real sockets: interest, socket operations and their error paths."""

import errno
import logging
import select
import socket
import struct
import sys

import pytest
import waitress_wasyncore
from waitress_wasyncore import compact_traceback, dispatcher, dispatcher_with_send, loop
from waitress_wasyncore.reactor import existing_reactor, reactor_for


def registered_events(socket_map, fd):
    """What the selector watches for ``fd`` (0: not registered)."""
    reactor = existing_reactor(socket_map)
    if reactor is None:
        return 0
    try:
        return reactor._selector.get_key(fd).events
    except KeyError:
        return 0


def run(socket_map, iterations=10, timeout=0.05):
    loop(timeout, map=socket_map, count=iterations)


def reset_peer(sock):
    """Close ``sock`` so that the peer gets a RST (SO_LINGER 0) instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Recorder(dispatcher):
    """Reads everything, remembers what happened."""

    def __init__(self, sock=None, map=None):
        self.received = bytearray()
        self.closed_by_handler = 0
        super().__init__(sock, map)

    def handle_read(self):
        self.received += self.recv(65536)

    def handle_close(self):
        self.closed_by_handler += 1
        self.close()


class EchoServer(dispatcher):
    """A listener whose connections are created by ``channel_class``."""

    def __init__(self, channel_class, socket_map):
        super().__init__(map=socket_map)
        self.channel_class = channel_class
        self.channels = []
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(64)
        self.port = self.socket.getsockname()[1]

    def handle_accepted(self, sock, addr):
        self.channels.append(self.channel_class(sock, map=self._map))


class ModernEcho(dispatcher):
    """An echo channel that declares its interest with set_interest()."""

    def __init__(self, sock=None, map=None):
        super().__init__(sock, map)
        self.pending = bytearray()

    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.pending += data
            self.flush()

    def handle_write(self):
        self.flush()

    def flush(self):
        if self.pending:
            sent = self.send(self.pending)
            del self.pending[:sent]
        if self.socket is not None and self._fileno is not None:
            self.set_interest(True, bool(self.pending))

    def handle_close(self):
        self.close()


class LegacyEcho(dispatcher):
    """An asyncore-style echo channel: the loop asks writable() every iteration."""

    def __init__(self, sock=None, map=None):
        super().__init__(sock, map)
        self.pending = b""
        self.writable_calls = 0

    def writable(self):
        self.writable_calls += 1
        return bool(self.pending)

    def handle_read(self):
        self.pending += self.recv(65536)

    def handle_write(self):
        sent = self.send(self.pending)
        self.pending = self.pending[sent:]

    def handle_close(self):
        self.close()


class SendEcho(dispatcher_with_send):
    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.send(data)

    def handle_close(self):
        self.close()


def round_trip(runner, port, payload):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = client.recv(65536)
            assert chunk, "the server closed the connection early"
            received += chunk
    return received


# -- interest ----------------------------------------------------------------


def test_a_new_dispatcher_waits_for_reading_only(smap, pair):
    a, _ = pair
    d = Recorder(a, map=smap)
    assert smap[a.fileno()] is d
    assert d.readable() and not d.writable()
    assert registered_events(smap, a.fileno()) == waitress_wasyncore.reactor.EVENT_READ


def test_set_interest_is_written_to_the_selector(smap, pair):
    a, _ = pair
    d = Recorder(a, map=smap)
    fd = a.fileno()
    d.set_interest(True, True)
    assert registered_events(smap, fd) == 3
    assert d.writable()
    d.set_interest(False, True)
    assert registered_events(smap, fd) == 2
    d.set_interest(False, False)
    assert registered_events(smap, fd) == 0
    assert smap[fd] is d, "no interest still leaves the dispatcher in the map"
    d.set_interest(True, False)
    assert registered_events(smap, fd) == 1


def test_set_interest_does_nothing_when_unchanged(smap, pair, monkeypatch):
    a, _ = pair
    d = Recorder(a, map=smap)
    reactor = reactor_for(smap)
    calls = []
    monkeypatch.setattr(reactor, "update", lambda obj, events: calls.append(events))
    d.set_interest(True, False)
    d.set_interest(True, False)
    assert calls == []
    d.set_interest(True, True)
    d.set_interest(True, True)
    assert calls == [3]


def test_an_accepting_dispatcher_only_reads(smap):
    server = EchoServer(ModernEcho, smap)
    assert registered_events(smap, server._fileno) == 1
    assert server.accepting


def test_only_classes_that_override_readable_or_writable_are_asked():
    class Plain(dispatcher):
        def handle_read(self):
            pass

    class AsksReadable(dispatcher):
        def readable(self):
            return True

    class Inherits(AsksReadable):
        pass

    assert not Plain._asks_interest
    assert not dispatcher_with_send._asks_interest
    assert AsksReadable._asks_interest
    assert Inherits._asks_interest
    assert LegacyEcho._asks_interest


def test_the_loop_never_asks_a_dispatcher_that_does_not_override(smap, pair):
    a, b = pair
    d = Recorder(a, map=smap)

    def explode():
        raise AssertionError("readable()/writable() must not be called")

    d.readable = explode  # instance attributes do not make it a legacy dispatcher
    d.writable = explode
    b.sendall(b"ping")
    run(smap, iterations=3)
    assert bytes(d.received) == b"ping"
    assert d.closed_by_handler == 0


def test_legacy_dispatchers_are_asked_each_iteration(smap, pair):
    a, b = pair
    d = LegacyEcho(a, map=smap)
    run(smap, iterations=3, timeout=0.01)
    assert d.writable_calls == 3
    b.sendall(b"hello")
    b.settimeout(10)
    for _ in range(20):
        run(smap, iterations=1, timeout=0.05)
        if not d.pending and d.writable_calls > 4:
            break
    assert b.recv(100) == b"hello"


def test_legacy_readable_false_keeps_data_unread(smap, pair):
    class Paused(Recorder):
        paused = True

        def readable(self):
            return not self.paused

    a, b = pair
    d = Paused(a, map=smap)
    b.sendall(b"later")
    run(smap, iterations=3, timeout=0.01)
    assert d.received == b""
    assert registered_events(smap, a.fileno()) == 0
    d.paused = False
    run(smap, iterations=3, timeout=0.01)
    assert bytes(d.received) == b"later"


# -- echo servers of the three styles ---------------------------------------------


@pytest.mark.parametrize("channel_class", [ModernEcho, LegacyEcho, SendEcho])
def test_echo_server_round_trip(loop_thread, channel_class):
    server = loop_thread.call(lambda: EchoServer(channel_class, loop_thread.map))
    payload = b"x" * 300000 + b"end"
    assert round_trip(loop_thread, server.port, payload) == payload
    assert round_trip(loop_thread, server.port, b"again") == b"again"


def test_dispatcher_with_send_queues_what_the_socket_refuses(smap, pair):
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    d = SendEcho(a, map=smap)
    payload = b"y" * 1_000_000
    d.send(payload)
    assert d.out_buffer, "a small send buffer cannot take a megabyte at once"
    assert d.writable()
    received = bytearray()
    b.settimeout(10)
    while len(received) < len(payload):
        run(smap, iterations=1, timeout=0.01)
        received += b.recv(1 << 20)
    assert received == payload
    run(smap, iterations=1, timeout=0.01)
    assert not d.out_buffer and not d.writable()


# -- socket operations ---------------------------------------------------------------


def test_accept_returns_none_when_nothing_is_waiting(smap):
    server = EchoServer(ModernEcho, smap)
    assert server.accept() is None


def test_send_returns_zero_when_the_socket_is_full(smap, pair):
    a, _ = pair
    d = Recorder(a, map=smap)
    total = 0
    while True:
        sent = d.send(b"z" * 65536)
        if sent == 0:
            break
        total += sent
    assert total > 0
    assert d.closed_by_handler == 0


def test_recv_returns_empty_without_closing_when_nothing_is_ready(smap, pair):
    a, _ = pair
    d = Recorder(a, map=smap)
    assert d.recv(10) == b""
    assert d.closed_by_handler == 0


def test_recv_at_eof_calls_handle_close(smap, pair):
    a, b = pair
    d = Recorder(a, map=smap)
    b.close()
    run(smap, iterations=3)
    assert d.closed_by_handler == 1
    assert smap == {}


def test_send_to_a_vanished_peer_closes_quietly(smap, pair, caplog):
    a, b = pair
    d = Recorder(a, map=smap)
    b.close()
    caplog.set_level(logging.DEBUG, logger="waitress")
    sent = 0
    for _ in range(10):
        if d.socket is None or d._fileno is None:
            break
        sent += d.send(b"data" * 1000)
    assert d.closed_by_handler == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_peer_reset_closes_without_traceback(loop_thread, caplog):
    caplog.set_level(logging.DEBUG, logger="waitress")
    server = loop_thread.call(lambda: EchoServer(Recorder, loop_thread.map))
    client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    client.sendall(b"hi")
    # wait until the server side has the channel and the bytes
    assert loop_thread.wait_for(lambda: server.channels and bytes(server.channels[0].received))
    channel = server.channels[0]
    reset_peer(client)
    assert loop_thread.wait_for(lambda: channel.closed_by_handler)
    assert channel.closed_by_handler == 1
    assert channel._fileno is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info and r.levelno > logging.DEBUG]


def test_connect_calls_handle_connect_then_talks(loop_thread):
    server = loop_thread.call(lambda: EchoServer(ModernEcho, loop_thread.map))
    events = []

    class Client(dispatcher_with_send):
        def handle_connect(self):
            events.append("connect")

        def handle_read(self):
            events.append(self.recv(100))

        def handle_close(self):
            self.close()

    def start():
        client = Client(map=loop_thread.map)
        client.create_socket()
        client.connect(("127.0.0.1", server.port))
        client.send(b"over")
        return client

    client = loop_thread.call(start)
    assert loop_thread.wait_for(lambda: b"over" in events)
    assert events == ["connect", b"over"]
    assert client.connected and not client.connecting


def test_refused_connect_goes_to_handle_error(smap, caplog):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    errors = []

    class Client(dispatcher):
        def handle_connect(self):
            errors.append("connected?!")

        def handle_error(self):
            errors.append(sys.exc_info()[1])
            self.close()

    client = Client(map=smap)
    client.create_socket()
    try:
        client.connect(("127.0.0.1", port))
    except OSError as exc:  # some systems refuse loopback connects at once
        errors.append(exc)
    run(smap, iterations=20, timeout=0.05)
    assert len(errors) == 1 and isinstance(errors[0], OSError)
    assert errors[0].errno == errno.ECONNREFUSED
    client.close()
    assert smap == {}


# -- set-up races and bad sockets -------------------------------------------------------


def accepted_after_reset():
    """An accepted socket whose peer reset the connection before we looked at it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    client = socket.create_connection(listener.getsockname(), timeout=10)
    reset_peer(client)
    listener.settimeout(10)
    conn, _ = listener.accept()
    listener.close()
    select.select([conn], [], [], 10)  # readable once the RST has arrived
    return conn


def test_half_set_up_connection_is_closable(smap):
    conn = accepted_after_reset()
    d = Recorder(conn, map=smap)  # must not raise (CVE-2024-49769)
    assert not d.connected
    assert smap[d._fileno] is d
    run(smap, iterations=5)
    assert d.closed_by_handler == 1
    assert smap == {}
    assert existing_reactor(smap) is None


def test_getpeername_failure_of_any_kind_is_survived(smap, pair):
    class Vanishing(socket.socket):
        def getpeername(self):
            raise OSError(errno.EINVAL, "gone")

    a, _ = pair
    sock = Vanishing(fileno=a.detach())
    d = Recorder(sock, map=smap)
    assert d.addr is None and not d.connected
    d.close()
    d.close()
    assert smap == {}


def test_a_closed_socket_is_refused_and_leaves_nothing_behind(smap):
    sock = socket.socket()
    sock.close()
    with pytest.raises((OSError, ValueError)):
        Recorder(sock, map=smap)
    assert smap == {}


def test_close_twice_is_harmless(smap, pair):
    a, _ = pair
    d = Recorder(a, map=smap)
    fd = a.fileno()
    d.close()
    assert fd not in smap and d._fileno is None and a.fileno() == -1
    d.close()
    assert smap == {}


def test_closed_dispatcher_is_unregistered_from_the_selector(smap, pair):
    a, _ = pair
    b_side = Recorder(pair[1], map=smap)
    d = Recorder(a, map=smap)
    fd = a.fileno()
    d.set_interest(True, True)
    d.close()
    assert registered_events(smap, fd) == 0
    assert b_side._fileno in smap


def test_add_channel_moves_a_dispatcher_to_another_map(smap, pair):
    a, b = pair
    other = {}
    d = Recorder(a, map=smap)
    d.add_channel(other)
    try:
        assert a.fileno() not in smap and other[a.fileno()] is d
        b.sendall(b"moved")
        run(other, iterations=3)
        assert bytes(d.received) == b"moved"
    finally:
        waitress_wasyncore.close_all(other)


def test_default_map_is_the_module_socket_map(pair):
    a, _ = pair
    d = Recorder(a)
    try:
        assert waitress_wasyncore.socket_map[a.fileno()] is d
    finally:
        d.close()
    assert a.fileno() not in waitress_wasyncore.socket_map


# -- logging and tracebacks --------------------------------------------------------


def test_log_info_ignores_warnings_by_default(caplog, smap):
    caplog.set_level(logging.DEBUG, logger="waitress")
    d = dispatcher(map=smap)
    d.log_info("a warning", "warning")
    d.log_info("an error", "error")
    d.log_info("some info")
    d.log("debug note")
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.ERROR, "an error") in messages
    assert (logging.INFO, "some info") in messages
    assert (logging.DEBUG, "log: debug note") in messages
    assert not any(m == "a warning" for _, m in messages)


def test_compact_traceback_names_the_innermost_frame():
    def inner():
        raise ValueError("boom")

    try:
        inner()
    except ValueError:
        (filename, function, line), exc_type, value, summary = compact_traceback()
    assert function == "inner"
    assert exc_type is ValueError and str(value) == "boom"
    assert filename.endswith("test_wasyncore_dispatcher.py")
    assert summary.startswith("[") and "|inner|" in summary
    assert dispatcher.compact_traceback is not None


def test_repr_mentions_the_address(smap):
    server = EchoServer(ModernEcho, smap)
    text = repr(server)
    assert "listening" in text and "127.0.0.1" in text


def test_a_peer_given_by_accept_is_not_asked_again(smap, pair):
    """accept() returned the address: no getpeername() system call."""
    asked = []

    class Counting(socket.socket):
        def getpeername(self):
            asked.append(True)
            return super().getpeername()

    a, _ = pair
    sock = Counting(fileno=a.detach())
    d = dispatcher(sock, map=smap, peer=("192.0.2.1", 4321))
    assert d.connected and d.addr == ("192.0.2.1", 4321)
    assert asked == []
    d.close()
