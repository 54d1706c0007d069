"""Stopping while work is in flight: what the drain serves, what it says, what
it releases, and that no caller of close() can deadlock it.

Each test serves in a thread of this process (``ThreadedServer``), so it can
reach the loop thread through the server's trigger, as a signal handler or a
thunk would run there.  Every wait is bounded.
"""

import contextlib
import signal
import socket
import threading

import pytest
import waitress.connection_slots
import waitress.lifecycle
from fixtureapps import echo, gate
from server_support import (
    RawConnection,
    ThreadedServer,
    closing_in_background,
    needs_unsent_count,
    open_channels,
    read_until_closed,
    request_held_in_flight,
    tcp_address,
    wait_until,
)
from waitress.channel import HTTPChannel
from waitress_wasyncore.reactor import existing_reactor


def _assert_served_last(conn, path, body=None, method="GET"):
    """The echo app's 200 for ``path`` (with ``body``), marked the connection's last."""
    response = conn.read_response(method)
    assert response.status == 200
    assert response.json()["PATH_INFO"] == path
    if body is not None:
        assert response.json()["body"] == body
    assert response.connection_tokens() == ["close"]


def _send_as_the_drain_begins(server, send):
    """``send()``, then the stop, both on the loop thread: nothing sent is
    read (or accepted) before the drain begins."""

    def thunk():
        send()
        server._begin_shutdown()

    assert _on_loop(server, thunk).wait(10)


def _on_loop(server, fn):
    """Run ``fn`` on the loop thread; an Event set once it has returned."""
    done = threading.Event()

    def thunk():
        try:
            fn()
        finally:
            done.set()

    server.trigger.pull_trigger(thunk)
    return done


class _ShutdownSpy:
    """Records the ``timeout`` each ``task_dispatcher.shutdown`` call got."""

    def __init__(self, dispatcher):
        self.timeouts = []
        self._shutdown = dispatcher.shutdown
        dispatcher.shutdown = self

    def __call__(self, cancel_pending=True, timeout=5):
        self.timeouts.append(timeout)
        return self._shutdown(cancel_pending, timeout)


def test_close_on_the_loop_thread_while_it_holds_a_connection_lock():
    """A SIGTERM handler calling close() may interrupt the loop inside a
    connection's lock; the drain then needs that lock.  close() there must
    only ask for the shutdown (it used to run it, and hung for good)."""
    with ThreadedServer(echo.app) as server:
        with RawConnection(tcp_address(server)) as idle:
            idle.request("GET", "/")
            assert idle.read_response().status == 200
            [channel] = open_channels(server)

            def interrupted_handle_read():
                with channel.lock:
                    server.close()

            done = _on_loop(server, interrupted_handle_read)
            assert done.wait(10), "close() on the loop thread deadlocked on the channel's lock"
            assert idle.closed_by_server(timeout=10)


def test_close_on_the_loop_thread_while_it_holds_the_trigger_lock():
    context = ThreadedServer(echo.app)
    server = context.__enter__()
    try:
        def interrupted_pull():
            with server.trigger._lock:
                server.close()

        done = _on_loop(server, interrupted_pull)
        assert done.wait(10), "close() deadlocked on the trigger's lock"
        assert context.stop()
    finally:
        context.__exit__(None, None, None)


def test_close_from_inside_the_application_lets_its_response_out():
    """close() on a worker must not wait for the drain: the drain would wait
    for that worker's own request (the client got nothing, 5 s later)."""
    holder = {}

    def app(environ, start_response):
        holder["server"].close()
        start_response("200 OK", [("Content-Length", "7")])
        return [b"stopped"]

    context = ThreadedServer(app)
    server = holder["server"] = context.__enter__()
    try:
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.request("GET", "/stop")
            response = conn.read_response()
            assert (response.status, response.body) == (200, b"stopped")
            assert response.connection_tokens() == ["close"]
            assert conn.closed_by_server(timeout=10)
        assert context.stop()
    finally:
        context.__exit__(None, None, None)


def test_responses_begun_during_the_drain_say_connection_close(recorder):
    """RFC 9112 9.6: the last response on a connection says so, or a client's
    pool reuses a connection that is about to close; the request pipelined
    behind is not served (the client may retry it)."""
    with request_held_in_flight() as (_, server, conn, opened):
        conn.request("GET", "/pipelined")
        with closing_in_background(server.close, tcp_address(server)):
            opened.set()
            response = conn.read_response()
            assert (response.status, response.body) == (200, b"released")
            assert response.connection_tokens() == ["close"]
            assert conn.closed_by_server(timeout=10)
        assert recorder.notes("entered") == ["/in-flight"]


def test_the_drain_serves_connections_waiting_past_the_connection_limit():
    """At its limit the server leaves new connections in the backlog; a stop
    then reset them (nginx: "upstream prematurely closed"), though the
    drain promises to serve what the kernel had completed."""
    with ThreadedServer(echo.app, connection_limit=1) as server:
        address = tcp_address(server)
        with RawConnection(address) as first, RawConnection(address) as waiting:
            first.request("GET", "/first")
            assert first.read_response().status == 200  # at the limit now
            waiting.request("GET", "/waiting")  # completed by the kernel, not accepted
            assert wait_until(lambda: server.in_connection_overflow)
            with closing_in_background(server.close, address):
                _assert_served_last(waiting, "/waiting")


@pytest.mark.parametrize(
    "first, rest, path, body",
    [
        (b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello", b"world",
         "/upload", "helloworld"),
        (b"GET /half HTTP/1.1\r\nHost: x\r\n", b"\r\n", "/half", ""),
    ],
    ids=["body-arriving", "head-read-in-part"],
)
def test_a_request_arriving_when_the_drain_begins_is_served(first, rest, path, body):
    """Its head is in and its body arriving, or the loop has read part of its
    head: either way it is in flight, not idle (as one whose bytes wait
    unread in the socket), and gets its response."""
    with ThreadedServer(echo.app) as server:
        target = tcp_address(server)
        with RawConnection(target, timeout=20) as conn:
            conn.send(first)
            assert wait_until(lambda: any(ch.current is not None or ch.parser.buffered
                                          for ch in open_channels(server)))
            with closing_in_background(server.close, target):
                conn.send(rest)
                _assert_served_last(conn, path, body)


def test_a_request_still_unread_when_the_drain_begins_is_served():
    """Its bytes are in the socket, not yet read: in flight, not idle (closing
    then would reset the connection and the client would get nothing)."""
    context = ThreadedServer(echo.app)
    server = context.__enter__()
    try:
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.request("GET", "/first")
            assert conn.read_response().status == 200
            _send_as_the_drain_begins(server, lambda: conn.request("GET", "/unread"))
            _assert_served_last(conn, "/unread")
        assert context.stop()
    finally:
        context.__exit__(None, None, None)


def test_run_closes_its_reactor():
    """The map's reactor holds an epoll descriptor: it goes when run() ends,
    not at some later garbage collection (one leaked per stopped server)."""
    with ThreadedServer(echo.app) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/")
            assert conn.read_response().status == 200
        assert existing_reactor(server._map) is not None
    assert existing_reactor(server._map) is None


def test_workers_get_only_what_is_left_of_the_drain(recorder, monkeypatch):
    """The drain is bounded by SHUTDOWN_TIMEOUT; joining the workers after a
    forced close must not add another 5 s (Docker's stop waits 10)."""
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 0.5)
    context = ThreadedServer(gate.app, join_timeout=30)
    server = context.__enter__()
    spy = _ShutdownSpy(server.task_dispatcher)
    try:
        with RawConnection(tcp_address(server)) as stuck:
            stuck.request("GET", "/stuck")
            assert recorder.wait_for_kind("entered", timeout=10)
            assert context.stop()
            assert stuck.closed_by_server(timeout=10)
        assert spy.timeouts and spy.timeouts[0] is not None and spy.timeouts[0] <= 0.5
    finally:
        gate.GATE.set()
        context.__exit__(None, None, None)


def test_the_drain_deadline_resets_a_body_ended_by_the_close(monkeypatch):
    """A stream still going at the drain's deadline is cut.  On HTTP/1.0
    without a length a plain close would end it as if whole: the client
    (or nginx relaying it) must get a reset instead."""
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 0.5)
    streaming, go_on = threading.Event(), threading.Event()

    def endless(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first piece\n"
        streaming.set()
        go_on.wait(20)  # bounded: the test opens it on its way out
        yield b"never sent\n"

    context = ThreadedServer(endless, join_timeout=30)
    context.__enter__()
    try:
        with socket.create_connection(tcp_address(context.server), timeout=20) as client:
            client.sendall(b"GET /stream HTTP/1.0\r\nHost: x\r\n\r\n")
            assert streaming.wait(10)
            assert context.stop()
            received, how = read_until_closed(client)
        assert how == "reset"
        assert b"never sent" not in received
    finally:
        go_on.set()
        context.__exit__(None, None, None)


def _raise_interrupt(server):
    raise KeyboardInterrupt


def _stop_signal(server):
    # The handler a server running on the main thread installs for Ctrl-C
    # (and waitress-serve's SIGTERM): it raises nothing.
    server._on_stop_signal(signal.SIGINT, None)


@contextlib.contextmanager
def _first_stop(kind, server):
    """The first request to stop: ``kind`` as for the second, or ``close``
    (a caller of ``server.close()``, waiting meanwhile)."""
    if kind == "close":
        with closing_in_background(server.close, tcp_address(server)):
            yield
        return
    server.trigger.pull_trigger(lambda: kind(server))
    yield


@contextlib.contextmanager
def _request_stuck_for_good(recorder, monkeypatch):
    """A server whose one request stays in the application and whose drain
    only a second stop ends (its deadline is 60 s).  Yields ``(context,
    server, stuck)``; on leaving, run() must have returned within 10 s and
    the workers got no wait at all (``shutdown(timeout=0.0)``)."""
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 60.0)
    context = ThreadedServer(gate.app, join_timeout=30)
    server = context.__enter__()
    spy = _ShutdownSpy(server.task_dispatcher)
    try:
        with RawConnection(tcp_address(server), timeout=20) as stuck:
            stuck.request("GET", "/stuck")
            assert recorder.wait_for_kind("entered", timeout=10)
            yield context, server, stuck
        context.thread.join(10)
        assert not context.thread.is_alive(), "run() still waits after the second stop"
        assert context.run_error is None
        assert spy.timeouts == [0.0]
    finally:
        gate.GATE.set()
        context.__exit__(None, None, None)


@pytest.mark.parametrize(
    "first, second",
    [(_raise_interrupt, _raise_interrupt), (_stop_signal, _stop_signal), ("close", _stop_signal)],
    ids=["raised", "signal", "close-then-signal"],
)
def test_a_second_interrupt_while_draining_stops_at_once(recorder, monkeypatch, first, second):
    """A second Ctrl-C or SIGTERM means now: connections are closed and run()
    returns without waiting for the stuck worker.  After a caller's close(),
    a signal is that second request."""
    with _request_stuck_for_good(recorder, monkeypatch) as (context, server, stuck):
        with _first_stop(first, server):
            assert wait_until(lambda: server._shutting_down, timeout=10)
            assert context.thread.is_alive()  # draining: the stuck request has its time
            server.trigger.pull_trigger(lambda: second(server))
            assert stuck.closed_by_server(timeout=10)


def test_a_streamed_head_built_during_the_drain_says_connection_close():
    """The application returned before the drain began, but its generator
    yields its first piece only afterwards: that head is the connection's
    last, and says so (RFC 9112 9.6)."""
    entered, go = threading.Event(), threading.Event()

    def late(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            entered.set()
            go.wait(20)
            yield b"late"

        return body()

    with ThreadedServer(late) as server:
        target = tcp_address(server)
        try:
            with RawConnection(target, timeout=20) as conn:
                conn.request("GET", "/late")
                assert entered.wait(10)
                with closing_in_background(server.close, target):
                    assert wait_until(lambda: all(ch.draining for ch in open_channels(server)))
                    go.set()
                    response = conn.read_response()
                    assert (response.status, response.body) == (200, b"late")
                    assert response.connection_tokens() == ["close"]
                    assert conn.closed_by_server(timeout=10)
        finally:
            go.set()


# --- what the drain audit found (each test failed before its fix) -----------------


def test_a_queued_response_sent_through_write_says_connection_close():
    """Its head goes out from inside the application, through write():
    the drain had begun before it ran, so it is the connection's last."""
    held, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/hold":
            held.set()
            release.wait(20)
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written")
        return []

    with ThreadedServer(app, threads=1) as server:
        target = tcp_address(server)
        try:
            with RawConnection(target, timeout=20) as first, RawConnection(target, timeout=20) as queued:
                first.request("GET", "/hold")
                assert held.wait(10)
                queued.request("GET", "/queued")
                assert wait_until(lambda: len(open_channels(server)) == 2
                                  and all(ch.busy for ch in open_channels(server)))
                with closing_in_background(server.close, target):
                    release.set()
                    for conn in (first, queued):
                        response = conn.read_response()
                        assert (response.status, response.body) == (200, b"written")
                        assert response.connection_tokens() == ["close"]
        finally:
            release.set()


def test_a_request_awaiting_100_continue_gets_it_during_the_drain():
    """The drain serves the request; a client that waits for the 100 before
    sending its body must get it, or both wait until the drain's deadline."""
    context = ThreadedServer(echo.app)
    server = context.__enter__()
    try:
        with RawConnection(tcp_address(server), timeout=20) as conn:
            _send_as_the_drain_begins(server, lambda: conn.send(
                b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                b"Expect: 100-continue\r\n\r\n"))
            interim = conn.read_response("POST", skip_continue=False)
            assert interim.status == 100
            conn.send(b"hello")
            _assert_served_last(conn, "/upload", "hello", method="POST")
        assert context.stop()
    finally:
        context.__exit__(None, None, None)


BIG = 3 << 20  # more than the kernel takes while the client does not read


def _big_or_broken(environ, start_response):
    """``/big``: BIG bytes with a length; anything else: a body delimited by
    the close that the application breaks off after its first piece."""
    if environ["PATH_INFO"] == "/big":
        start_response("200 OK", [("Content-Length", str(BIG))])
        return [b"b" * BIG]
    start_response("200 OK", [("Content-Type", "text/plain")])

    def broken():
        yield b"partial"
        raise RuntimeError("broken off")

    return broken()


def _not_reading_client(target, request: bytes) -> socket.socket:
    """A client with a small receive buffer that sends ``request`` and reads nothing yet."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    client.settimeout(20)
    client.connect(target)
    client.sendall(request)
    return client


@needs_unsent_count
def test_the_drain_stages_the_close_of_a_response_still_in_the_kernel():
    """The server has handed the whole response to the kernel; the client
    is still reading it when the drain closes the idle connection, and then
    sends its next request.  Closed at once, that request made the kernel
    reset the connection and the client lost the rest of the response."""
    with ThreadedServer(_big_or_broken) as server:
        target = tcp_address(server)
        client = _not_reading_client(target, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        with client:
            received = b""

            def all_in_the_kernel():
                nonlocal received
                received += client.recv(65536)
                return all(not ch.busy and not ch.total_outbufs_len for ch in open_channels(server))

            assert wait_until(all_in_the_kernel, timeout=20, interval=0.002)
            with closing_in_background(server.close, target):
                client.sendall(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
                rest, how = read_until_closed(client)
        received += rest
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert (len(body), how) == (BIG, "fin")


def test_the_drain_closes_an_idle_pool_connection_once_its_last_response_is_delivered(monkeypatch):
    """A client's pool keeps its connection open, and silent, after its last
    response.  A stop right after that response (a test fixture's teardown
    after its last request) found it not yet acknowledged, the client's ACK
    being delayed, and staged the close; the linger then ended only after
    2 s of the client's silence, and ``close()`` waited for it.  It ends once
    the client has the response and our FIN.  (Here the drain is made to see
    the response unacknowledged, and neither silence nor the deadline could
    end the linger before the test gives up.)"""
    import waitress.channel

    monkeypatch.setattr(waitress.channel, "unsent_bytes", lambda sock: 1)
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 3600.0)
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 40.0)
    with ThreadedServer(echo.app) as server:
        target = tcp_address(server)
        with RawConnection(target, timeout=30) as conn:
            conn.request("GET", "/last")
            assert conn.read_response().status == 200
            with closing_in_background(server.close, target, timeout=20):
                assert conn.closed_by_server(timeout=20)
            assert conn.buffer == b""


def test_the_drain_closes_a_silent_client_once_its_last_response_is_delivered(monkeypatch):
    """The response the drain lets finish says ``Connection: close``, and the
    server's close after it lingered until 2 s of the client's silence: a
    client that does not close on its own (a pool that closes only on its
    next use) made ``close()`` wait for that.  It ends once the client has
    the response and the FIN.  (Neither silence nor the deadline could end
    the linger here before the test gives up.)"""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 3600.0)
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 40.0)
    with request_held_in_flight() as (_, server, conn, opened):
        with closing_in_background(server.close, tcp_address(server), timeout=20):
            opened.set()
            response = conn.read_response()
            assert (response.status, response.body) == (200, b"released")
            assert response.connection_tokens() == ["close"]
            assert conn.closed_by_server(timeout=20)  # and the client stays silent


def test_connections_waiting_in_the_backlog_are_drained_not_reset():
    """The kernel completed them and their requests arrived, but the loop had
    not accepted them yet when the stop began (it was busy): closing the
    listener reset them.  They are accepted and served instead."""
    context = ThreadedServer(echo.app)
    server = context.__enter__()
    conns = []
    try:
        target = tcp_address(server)

        def connect_and_send():  # none of them accepted yet
            for index in range(5):
                conn = RawConnection(target, timeout=20)
                conns.append(conn)
                conn.request("GET", "/backlog/%d" % index)

        _send_as_the_drain_begins(server, connect_and_send)
        for index, conn in enumerate(conns):
            _assert_served_last(conn, "/backlog/%d" % index)
        assert context.stop()
    finally:
        for conn in conns:
            conn.close()
        context.__exit__(None, None, None)


def test_two_signals_before_the_loop_acts_stop_at_once(recorder, monkeypatch):
    """The second came before the loop began the drain the first asked for:
    the drain's set-up must keep the second's "now", not start 5 s afresh."""
    with _request_stuck_for_good(recorder, monkeypatch) as (_, server, stuck):

        def both():
            _stop_signal(server)
            _stop_signal(server)

        _on_loop(server, both)
        assert stuck.closed_by_server(timeout=10)


def test_a_signal_while_run_waits_for_the_workers_ends_the_wait(recorder, monkeypatch):
    """The loop has stopped (its last connection went) but a worker is still
    in the application: a stop signal now means now, as during the drain."""
    with _request_stuck_for_good(recorder, monkeypatch) as (context, server, stuck):
        with closing_in_background(server.close, tcp_address(server)):
            stuck.reset_close()  # the loop's last connection: it stops
        assert server._stopped.is_set() and context.thread.is_alive()
        _stop_signal(server)


# --- what the review of those fixes found -----------------------------------------


@needs_unsent_count
@pytest.mark.parametrize("half_close", [False, True], ids=["open", "half-closed"])
def test_the_reset_of_a_cut_body_waits_for_the_response_before_it(half_close, caplog):
    """A reset discards what the kernel still holds: the complete response
    pipelined before the cut one would go with it.  The reset waits until
    the client has everything before the cut, also when the client has
    shut down its sending side (its EOF ended the wait at once)."""
    with ThreadedServer(_big_or_broken) as server:
        client = _not_reading_client(
            tcp_address(server),
            b"GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            b"GET /fail HTTP/1.0\r\n\r\n",
        )
        with client:
            if half_close:
                client.shutdown(socket.SHUT_WR)
            # The cut has happened (what the client then reads shows whether
            # the reset waited; the channel may be gone by the time we look).
            assert wait_until(lambda: "Exception while serving /fail" in caplog.text
                              or any(ch.reset_on_close for ch in open_channels(server)))
            received, how = read_until_closed(client)
    first, _, rest = received.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.0 200 ") and b"Content-Length: %d" % BIG in first
    assert rest[:BIG] == b"b" * BIG
    assert rest[BIG:].startswith(b"HTTP/1.0 200 ")
    assert how == "reset"


MID = 512 << 10  # fits in the server's send buffer below, not in the client's window


class _EofBeforeCloseChannel(HTTPChannel):
    """Forces one ordering of a race: the client's EOF is read after the cut
    and before the loop runs the close the worker asked for.  The worker's
    close request is held back until the EOF has been handled."""

    def __init__(self, *args, **kw):
        # Set before the base's __init__, which puts the channel in the map
        # where the test (another thread) may find it at once.
        self.held_back = []
        self.eof_handled = threading.Event()
        super().__init__(*args, **kw)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)

    def _call_on_loop(self, fn):
        if fn == self._close_when_sent and not self.eof_handled.is_set():
            self.held_back.append(fn)
            return
        super()._call_on_loop(fn)

    def _peer_eof(self):
        super()._peer_eof()
        self.eof_handled.set()
        for fn in self.held_back:
            super()._call_on_loop(fn)


@needs_unsent_count
def test_an_eof_read_between_the_cut_and_its_close_does_not_reset_the_response_before_it():
    """The deterministic form of a race the half-closed case above met now
    and then (twice red in CI): the EOF found the cut connection idle and
    reset it at once, discarding the complete response still in the kernel."""

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/mid":
            start_response("200 OK", [("Content-Length", str(MID))])
            return [b"m" * MID]
        return _big_or_broken(environ, start_response)

    with ThreadedServer(app) as server:
        server.channel_class = _EofBeforeCloseChannel
        client = _not_reading_client(
            tcp_address(server),
            b"GET /mid HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            b"GET /fail HTTP/1.0\r\n\r\n",
        )
        with client:
            channel = wait_until(lambda: next(iter(open_channels(server)), None))
            assert wait_until(lambda: channel.held_back)  # cut, idle, its close held back
            assert channel.reset_on_close and not channel.total_outbufs_len
            client.shutdown(socket.SHUT_WR)
            assert channel.eof_handled.wait(10)
            received, how = read_until_closed(client)
    first, _, rest = received.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.0 200 ")
    assert rest[:MID] == b"m" * MID
    assert rest[MID:].startswith(b"HTTP/1.0 200 ")
    assert how == "reset"


@pytest.mark.parametrize("stopper", ["drain", "sweep"])
def test_a_finished_body_ended_by_the_close_and_cut_in_the_queue_is_reset(monkeypatch, stopper):
    """The application produced the whole body, but the client reads slowly
    and most of it is still queued when the drain's deadline or the idle
    sweep ends the connection: a plain close would make the part the
    client got look like the whole response."""
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 0.5)
    piece = b"p" * 65536

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (piece for _ in range(128))  # 8 MiB, no length

    options = {"channel_timeout": 1, "cleanup_interval": 1} if stopper == "sweep" else {}
    context = ThreadedServer(app, join_timeout=30, **options)
    server = context.__enter__()
    try:
        client = _not_reading_client(tcp_address(server), b"GET /long HTTP/1.0\r\n\r\n")
        with client:
            assert wait_until(lambda: any(ch.close_delimited and ch.total_outbufs_len
                                          for ch in open_channels(server)))
            if stopper == "drain":
                assert context.stop()
            else:
                assert wait_until(lambda: not open_channels(server), timeout=20)
            received, how = read_until_closed(client)
        assert len(received) < 128 * len(piece)
        assert how == "reset"
    finally:
        context.__exit__(None, None, None)


def test_a_pool_with_its_own_handler_thread_is_not_waited_for_idle(monkeypatch):
    """The wait for busy workers reads the pool's own idle count, which an
    override of handler_thread need not keep: such a pool is left to
    shutdown(), which joins threads that are idle at once."""
    from waitress.pool import _STOP, ThreadedTaskDispatcher

    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 60.0)

    class OwnLoop(ThreadedTaskDispatcher):
        def handler_thread(self, thread_no):
            while True:
                task = self.queue.get()
                if task is _STOP:
                    with self.lock:
                        self._stopping -= 1
                        self.threads.discard(thread_no)
                    return
                task.service()

    pool = OwnLoop()
    pool.set_thread_count(2)
    context = ThreadedServer(echo.app, join_timeout=10, _dispatcher=pool)
    server = context.__enter__()
    try:
        with RawConnection(tcp_address(server), timeout=10) as conn:
            conn.request("GET", "/")
            assert conn.read_response().status == 200
        assert context.stop(), "run() waited out the drain's deadline for idle workers"
    finally:
        context.__exit__(None, None, None)


class _SlowClose(list):
    """A whole body whose close() keeps the worker busy for 1.5 s."""

    def close(self):
        import time

        time.sleep(1.5)


def _slow_close_app(environ, start_response):
    start_response("200 OK", [("Content-Length", str(4_000_000))])
    return _SlowClose([b"b" * 4_000_000])


@pytest.mark.parametrize("worker", ["done", "still in close()"])
def test_a_whole_response_cut_by_the_deadline_is_logged_once(monkeypatch, waitress_log, worker):
    """The application had returned its whole body, but the client had not
    read it when the drain's deadline closed the connection: the cut was
    silent, although the log names every response a stop cuts (and, with
    the worker still in the iterable's close(), each side left it to the
    other)."""
    from fixtureapps import lengths

    app, path = (lengths.app, "/large?size=4000000") if worker == "done" else (_slow_close_app, "/slow")
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 0.5)
    running = ThreadedServer(app)
    server = running.__enter__()
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    busy = worker != "done"
    try:
        client.connect(tcp_address(server))
        client.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
        # All of it queued, for a client that reads nothing.
        assert wait_until(
            lambda: any(c.outbuf.pending and c.busy is busy for c in open_channels(server)), timeout=10
        )
        assert running.stop(), "server did not stop"
    finally:
        client.close()
    line = "Connection closed during shutdown while serving " + path.split("?")[0]

    def logged():
        return [r.getMessage() for r in waitress_log.records].count(line)

    assert wait_until(logged, timeout=10)  # the worker says it as it leaves
    assert logged() == 1
