"""The last response on a connection survives the client sending more
(RFC 9112 9.6): the server shuts down its sending side and reads what still
comes until the client closes, instead of closing at once, which makes the
kernel answer those bytes with a reset that destroys the unacknowledged
rest of the response.
"""

import contextlib
import socket
import threading
import time

import pytest
import waitress.connection_slots
import waitress.server
from fixtureapps import echo, streaming
from server_support import (
    RawConnection,
    ThreadedServer,
    lingering_channels,
    needs_unsent_count,
    open_channels,
    reset_close,
    tcp_address,
    wait_until,
)
from waitress.channel import HTTPChannel


def _no_open_channel(server) -> bool:
    """Every connection is closed or lingering: the server sends nothing more."""
    return all(channel.lingering for channel in open_channels(server))


# A close the server decides: the client asked for a persistent HTTP/1.0
# connection, but a body of unknown length can only end with the close.
KEEP_ALIVE_10 = [("Connection", "keep-alive")]


def test_a_request_sent_as_the_server_closes_does_not_cut_the_response():
    """The client reads slowly, so most of 1 MB is still unacknowledged when
    the server is done with it; the client, expecting the connection to
    persist, sends its next request."""
    n, size = 100, 10_000
    with ThreadedServer(streaming.app) as server:
        with RawConnection(tcp_address(server), timeout=20, receive_buffer=32768) as conn:
            conn.request("GET", "/?n=%d&size=%d" % (n, size), headers=KEEP_ALIVE_10,
                         version="HTTP/1.0")
            response = conn.read_head()  # the response has begun
            assert response.status == 200 and response.header("Content-Length") is None
            assert wait_until(lambda: _no_open_channel(server), timeout=10)
            conn.request("GET", "/next", headers=KEEP_ALIVE_10, version="HTTP/1.0")
            assert conn.read_until_eof() == streaming.expected_body(n, size)


def test_the_rest_of_a_refused_body_is_read_and_the_413_arrives():
    """A client still sending a body the server refused (413) can finish
    sending, then read the answer; its sends are not reset."""
    with ThreadedServer(echo.app, max_request_body_size=1000) as server:
        with RawConnection(tcp_address(server), timeout=20, receive_buffer=32768) as conn:
            conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n")
            conn.send(b"x" * 4096)
            assert wait_until(lambda: server.active_channels, timeout=10)
            assert wait_until(lambda: _no_open_channel(server), timeout=10)
            conn.send(b"x" * (3000000 - 4096))  # reset here when the server had closed
            conn.sock.shutdown(socket.SHUT_WR)
            assert conn.read_response().status == 413


def test_the_next_request_already_waiting_unread_is_not_reset():
    """The client's next bytes reached the kernel after the response was
    done and acknowledged but before the close: closing at once would reset
    (the close-delimited body would end in ECONNRESET, and on some systems
    the client would lose the response)."""
    original = HTTPChannel._close_when_sent
    clients = []

    def next_request_first(channel):
        clients[0].request("GET", "/next", headers=KEEP_ALIVE_10, version="HTTP/1.0")
        original(channel)

    with ThreadedServer(streaming.app) as server:
        with RawConnection(tcp_address(server)) as conn:
            clients.append(conn)
            HTTPChannel._close_when_sent = next_request_first
            try:
                conn.request("GET", "/?n=3&size=5", headers=KEEP_ALIVE_10, version="HTTP/1.0")
                assert conn.read_head().status == 200
                assert conn.read_until_eof() == streaming.expected_body(3, 5)
                assert not conn.reset, "the connection ended in a reset, not a FIN"
            finally:
                HTTPChannel._close_when_sent = original


def test_a_client_that_asked_to_close_is_closed_at_once(monkeypatch):
    """It may send nothing more (RFC 9112 9.6): no staged close, no linger."""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 60.0)  # staged: no end in sight
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 60.0)
    with ThreadedServer(echo.app) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/", headers=[("Connection", "close")])
            assert conn.read_response().status == 200
            assert conn.closed_by_server(timeout=10)
            # Gone while our side is still open (a staged close would wait
            # for it, LINGER_IDLE_SECONDS at least).
            assert wait_until(lambda: not open_channels(server), timeout=10)


def test_a_client_still_sending_keeps_lingering(monkeypatch):
    """The limit is silence, not total time: an upload still under way when
    the server answered 413 may finish, then read the answer."""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 1.0)
    with ThreadedServer(echo.app, max_request_body_size=10) as server:
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            assert wait_until(lambda: server.active_channels, timeout=10)
            assert wait_until(lambda: _no_open_channel(server), timeout=10)
            for _ in range(25):  # 2.5 s in all, 0.1 s apart: past 1 s of silence never
                conn.send(b"x" * 1000)
                time.sleep(0.1)
            conn.sock.shutdown(socket.SHUT_WR)
            assert conn.read_response().status == 413


def test_a_client_that_never_closes_is_closed_after_the_linger_time(monkeypatch):
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 0.2)
    with ThreadedServer(echo.app, max_request_body_size=10) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
            assert conn.read_response().status == 413
            assert conn.closed_by_server(timeout=10)
        assert wait_until(lambda: not lingering_channels(server), timeout=10)


def test_a_connect_is_closed_in_stages():
    """CONNECT is closed by the server's choice (no tunnel), not the client's:
    a client that already sends its tunnel bytes must not reset the answer."""
    with ThreadedServer(echo.app) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.request("CONNECT", "example.com:443", headers=[("Host", "example.com:443")])
            assert conn.read_response().status == 200
            assert wait_until(lambda: _no_open_channel(server) and open_channels(server), timeout=10)


def _answered_413(conn) -> None:
    """``conn`` sends a body too large; the server answers 413 and closes in stages."""
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
    assert conn.read_response().status == 413


@pytest.mark.parametrize(
    "delivery", [pytest.param("counted", marks=needs_unsent_count), "not known (Windows)"]
)
def test_lingering_connections_give_their_slots_to_new_clients(monkeypatch, delivery):
    """At ``connection_limit``, a new client is not kept waiting for
    connections already answered: the oldest lingering one closes, once the
    kernel says its client has everything.  Where it cannot say (Windows),
    taking that for "delivered" reset output away (the off-Linux audit):
    the slot is then freed only when the lingering connection ends."""
    if delivery != "counted":
        monkeypatch.setattr(waitress.connection_slots, "unsent_bytes", lambda sock: None)
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 600.0)  # only eviction ends them
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 600.0)
    with ThreadedServer(echo.app, connection_limit=2, max_request_body_size=10) as server:
        target = tcp_address(server)
        with RawConnection(target) as first, RawConnection(target) as second:
            for conn in (first, second):
                _answered_413(conn)
            assert wait_until(lambda: len(lingering_channels(server)) == 2, timeout=10)
            oldest, newer = lingering_channels(server)
            with RawConnection(target, timeout=20) as third:  # 600 s without the change
                third.request("GET", "/", headers=[("Connection", "close")])
                if delivery == "counted":
                    assert third.read_response().status == 200
                    assert oldest.closed and not newer.closed  # the oldest gave way
                    assert lingering_channels(server) == [newer]
                else:
                    assert third.is_idle_open(0.5), "a lingering connection gave its slot"
                    assert not oldest.closed
                    first.close()  # its client leaves: the linger ends, the slot is free
                    assert third.read_response().status == 200


@needs_unsent_count
def test_a_lingering_connection_gives_its_slot_only_once_its_client_has_its_output(monkeypatch):
    """At the limit, the oldest lingering connection was closed at once for
    a new client, its last response still in the kernel: the client, which
    had sent more, then had the rest of the response reset away (a chaos
    audit: a 1 MB response cut at 128 KB).  The new client now waits until
    the lingering client has everything, and then takes its slot."""
    from fixtureapps import lengths
    from server_support import read_until_closed

    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 600.0)  # only eviction ends it
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 600.0)
    size = 3 << 20  # more than the kernel holds for a client not reading
    with ThreadedServer(lengths.app, connection_limit=1) as server:
        target = tcp_address(server)
        first = socket.socket()
        first.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        first.settimeout(20)
        with first:
            first.connect(target)
            # Bytes after a request that ends the connection: the close must linger.
            first.sendall(b"GET /large?size=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nmore" % size)
            received = b""

            def all_in_the_kernel():  # read a little until the server lingers
                nonlocal received
                received += first.recv(4096)
                return bool(lingering_channels(server))

            assert wait_until(all_in_the_kernel, timeout=20, interval=0.002)
            (lingering,) = lingering_channels(server)
            with RawConnection(target, timeout=20) as second:
                second.request("GET", "/status?code=200", headers=[("Connection", "close")])
                # (Closed at once before: give the server the time to do it.)
                assert not wait_until(lambda: lingering.closed, timeout=1)
                first.sendall(b"still more")  # would reset a closed connection
                rest, how = read_until_closed(first)  # closed for the second, once delivered
                assert second.read_response().status == 200
        head, _, body = (received + rest).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert (len(body), how) == (size, "fin")
        assert body == lengths.large_body(size)


def test_at_the_limit_a_connection_that_starts_lingering_frees_its_slot(monkeypatch):
    """While new clients wait at ``connection_limit``, a connection the
    server closes after its response gives its slot to one of them."""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 600.0)
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 600.0)
    with ThreadedServer(echo.app, connection_limit=1, max_request_body_size=10) as server:
        target = tcp_address(server)
        with RawConnection(target) as first:
            first.request("GET", "/held")
            assert first.read_response().status == 200  # kept alive: the limit is reached
            assert wait_until(lambda: server.in_connection_overflow, timeout=10)
            (channel,) = open_channels(server)
            with RawConnection(target, timeout=20) as second:
                second.request("GET", "/", headers=[("Connection", "close")])  # waits
                _answered_413(first)
                assert second.read_response().status == 200  # 600 s without the change
            assert channel.closed and not lingering_channels(server)


def test_connections_never_outnumber_the_limit_while_some_linger(monkeypatch):
    """Each round a connection lingers (its client keeps the socket open) and
    two clients come: the longest waiting takes the lingering one's slot."""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 600.0)
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 600.0)
    limit = 3
    with ThreadedServer(echo.app, connection_limit=limit, max_request_body_size=10) as server:
        target = tcp_address(server)
        served, lingering, queued = [], [], []
        try:
            for _ in range(limit):
                served.append(RawConnection(target))
                served[-1].request("GET", "/")
                assert served[-1].read_response().status == 200
            for _ in range(4):
                queued += [RawConnection(target, timeout=20), RawConnection(target, timeout=20)]
                conn = served.pop(0)
                _answered_413(conn)
                lingering.append(conn)  # kept open: the server lingers on it
                first = queued.pop(0)
                first.request("GET", "/")
                assert first.read_response().status == 200
                served.append(first)
                assert len(server.active_channels) <= limit
        finally:
            for conn in served + lingering + queued:
                conn.close()


@pytest.mark.parametrize("reset_in_service", [False, True], ids=["closed", "reset-while-served"])
def test_closed_connections_are_freed_without_the_cycle_collector(reset_in_service):
    """A reference cycle through a closed connection would keep it, its
    buffers and its socket until a collection, and this server allocates so
    few containers per request that collections are rare.  Also when the
    client resets while a worker serves it (the response is made after the
    connection closed)."""
    import gc
    import weakref

    from waitress.task import WSGITask

    alive = []
    reset, go_on = threading.Event(), threading.Event()

    class Tracked(HTTPChannel):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            alive.append(weakref.ref(self))

    class Waiting(WSGITask):
        __slots__ = ()

        def get_environment(self):
            if reset_in_service:
                reset.set()
                go_on.wait(10)
            return super().get_environment()

    Tracked.task_class = Waiting

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return iter([b"ok"])  # streamed: the response is the channel's while served

    gc.collect()
    gc.disable()
    try:
        with ThreadedServer(app) as server:
            server.channel_class = Tracked
            for _ in range(3):
                client = socket.create_connection(tcp_address(server), timeout=10)
                client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if reset_in_service:
                    assert reset.wait(10)
                    reset.clear()
                    reset_close(client)
                    assert wait_until(lambda: not open_channels(server))
                    go_on.set()
                    assert wait_until(lambda: server.task_dispatcher.active_count == 0)
                    go_on.clear()
                else:
                    while client.recv(65536):
                        pass
                    client.close()
            assert wait_until(lambda: not open_channels(server))
        assert len(alive) == 3
        assert [ref() for ref in alive] == [None, None, None]
    finally:
        go_on.set()
        gc.enable()


def test_a_client_streaming_on_after_a_413_is_cut_off(monkeypatch):
    """The rest of a refused body is read and thrown away (so the client can
    finish and read the answer), but only so much: a client streaming on
    kept the loop thread reading for the whole linger (10 s, GBs)."""
    import waitress.channel

    monkeypatch.setattr(waitress.channel, "MAX_DISCARDED", 1 << 20)
    budget = 256 << 20
    with ThreadedServer(echo.app, max_request_body_size=1000) as server:
        with socket.create_connection(tcp_address(server), timeout=20) as client:
            client.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % budget)
            sent = 0
            chunk = b"x" * 65536
            try:
                while sent < budget:
                    sent += client.send(chunk)
            except OSError:  # reset, broken pipe: the server stopped taking it
                pass
    assert sent < budget // 2, "the server read on: %d bytes" % sent


BODIES = {
    "one piece": lambda: [b"ok"],
    "several pieces": lambda: [b"o", b"k"],
    "a generator": lambda: iter([b"o", b"k"]),
}


@contextlib.contextmanager
def _loop_held_while_serving(body: str = "one piece"):
    """A connection to a server whose app, before it answers, parks the
    loop thread (in a trigger thunk) until the block ends: what the client
    sees meanwhile came from the worker, not the loop."""
    loop_held = threading.Event()
    release = threading.Event()
    servers = []

    def hold_loop():
        loop_held.set()
        release.wait(30)

    def app(environ, start_response):
        servers[0].trigger.pull_trigger(hold_loop)
        assert loop_held.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return BODIES[body]()

    with ThreadedServer(app) as server:
        servers.append(server)
        try:
            with RawConnection(tcp_address(server), timeout=20) as conn:
                yield conn
                assert loop_held.is_set() and not release.is_set()
        finally:
            release.set()


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize("version, headers", [
    ("HTTP/1.1", [("Connection", "close")]),  # the client asked
    ("HTTP/1.0", []),  # HTTP/1.0 closes by default
])
def test_the_fin_follows_the_last_response_without_waiting_for_the_loop(version, headers, body):
    """A client that asked to close gets the server's FIN right behind the
    response, from the worker that sent it, even while the loop thread is
    busy elsewhere (RFC 9112 9.6: the server begins the close).  The client
    then closes second, so the TIME_WAIT is the server's, not the client's
    (a front end opening a connection per request runs out of ports)."""
    with _loop_held_while_serving(body) as conn:
        conn.request("GET", "/", headers=headers, version=version)
        assert conn.read_response().body == b"ok"
        assert conn.closed_by_server(timeout=10), "no FIN while the loop was busy"


def test_a_kept_alive_connection_gets_no_early_fin():
    """Only a closing response is followed by a FIN: a persistent connection
    stays open for the next request, however busy the loop."""
    with _loop_held_while_serving() as conn:
        conn.request("GET", "/")
        assert conn.read_response().body == b"ok"
        assert conn.is_idle_open(wait=0.5)


def test_a_worker_finishing_after_the_loop_closed_its_connection_leaves_the_next_one_alone():
    """CVE-2022-31015's shape, for the worker's early FIN: the loop closes a
    connection (its client reset) while a worker still runs its request; a
    new connection gets the same descriptor number; when the worker then
    ends its closing response, nothing it does (send, shutdown) may reach
    the new connection, which must keep serving."""
    entered, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            entered.set()
            release.wait(20)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    with ThreadedServer(app) as server:
        try:
            first = RawConnection(tcp_address(server))
            first.request("GET", "/slow", headers=[("Connection", "close")])
            assert entered.wait(10)
            (old_fd,) = server.active_channels
            first.reset_close()
            assert wait_until(lambda: old_fd not in server.active_channels)
            with RawConnection(tcp_address(server)) as second:
                second.request("GET", "/")
                assert second.read_response().status == 200
                assert list(server.active_channels) == [old_fd]  # the number was reused
                release.set()  # the worker answers the closed connection now
                assert wait_until(lambda: server.task_dispatcher.active_count == 0)
                second.request("GET", "/again")
                assert second.read_response().body == b"ok"
                assert second.is_idle_open(wait=0.3)
        finally:
            release.set()


def test_looking_for_unread_input_leaves_it_unread():
    # teardown.has_unread_input peeks: a request waiting in the kernel when
    # the drain looks must still be whole when it is read.
    from waitress.teardown import has_unread_input

    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        assert not has_unread_input(right)
        left.sendall(b"GET")
        assert wait_until(lambda: has_unread_input(right))
        assert right.recv(3) == b"GET"
