"""Faults injected into the steps of a stop: each failing step is logged and
the stop goes on, so ``close()`` and ``run()`` return, nothing listens and
nothing is left open.  Found by a report-only audit; each test fails on the
code before the fix (where ``run()`` never returned and, for most, the
listener kept accepting after ``close()`` had given up).
"""

import contextlib
import errno
import logging
import socket
import threading

import pytest
import waitress.lifecycle
import waitress.task
from fixtureapps import hello
from server_support import (
    RawConnection,
    ThreadedServer,
    needs_unix,
    read_until_closed,
    refuses_connections,
    tcp_address,
    wait_until,
)
from waitress.channel import HTTPChannel
from waitress_wasyncore.trigger import trigger


@pytest.fixture(autouse=True)
def short_drain(monkeypatch):
    monkeypatch.setattr(waitress.lifecycle, "SHUTDOWN_TIMEOUT", 0.5)


def _raising_after(owner, name, error, monkeypatch):
    """``owner.name`` does its work, then raises ``error`` (as a close that
    fails halfway does)."""
    original = getattr(owner, name)

    def failing(self, *args, **kw):
        original(self, *args, **kw)
        raise error

    monkeypatch.setattr(owner, name, failing)


def _stop(server_context, server, with_connection):
    """Stop, with an idle keep-alive connection open or none; return the address."""
    address = tcp_address(server)
    if not with_connection:
        assert server_context.stop(), "run() did not return"
        return address
    with RawConnection(address) as conn:
        conn.request("GET", "/")
        assert conn.read_response().status == 200
        assert server_context.stop(), "run() did not return"
    return address


_FAILING_STEPS = [
    ("listener", "del_channel_and_close", OSError(errno.EIO, "injected")),
    ("listener", "take_backlog", RuntimeError("injected")),
    ("channel", "shutdown_gracefully", RuntimeError("injected")),
    ("channel", "handle_close", RuntimeError("injected")),
    ("trigger", "close", RuntimeError("injected")),
]


@pytest.mark.parametrize(
    "owner, step, error, with_connection",
    [
        pytest.param(owner, step, error, with_connection,
                     id=f"{owner}-{step}-{'a-connection-open' if with_connection else 'no-connection'}")
        for owner, step, error in _FAILING_STEPS
        for with_connection in (True, False)
        if with_connection or owner != "channel"  # no connection, no channel to fail
    ],
)
def test_a_failing_step_of_the_stop_does_not_stop_the_others(
    owner, step, error, with_connection, monkeypatch, caplog
):
    context = ThreadedServer(hello.app)
    server = context.__enter__()
    try:
        cls = {"listener": type(server), "channel": HTTPChannel, "trigger": trigger}[owner]
        _raising_after(cls, step, error, monkeypatch)
        address = _stop(context, server, with_connection)
        assert not server._map, "something was left in the loop's map"
        assert refuses_connections(address)
        assert context.run_error is None
        if not isinstance(error, OSError):
            assert "Exception while stopping the server" in caplog.text
    finally:
        monkeypatch.undo()
        context.__exit__(None, None, None)


@contextlib.contextmanager
def _two_requests(server):
    """Two connections, each with a GET sent and its answer not read."""
    with RawConnection(tcp_address(server)) as first, RawConnection(tcp_address(server)) as second:
        first.request("GET", "/")
        second.request("GET", "/")
        yield


def _waiting_for(release):
    """``hello``, once ``release`` is set (10 s at most): a request in flight."""

    def slow(environ, start_response):
        release.wait(10)
        return hello.app(environ, start_response)

    return slow


def test_a_request_past_the_deadline_whose_close_fails_still_ends_the_stop(monkeypatch):
    """The forced close at the deadline: one connection's close raising
    stopped the others' and left the map full, and the loop ran on."""
    release = threading.Event()
    context = ThreadedServer(_waiting_for(release), threads=2)
    server = context.__enter__()
    try:
        with _two_requests(server):
            assert wait_until(lambda: sum(1 for ch in list(server._map.values())
                                          if isinstance(ch, HTTPChannel) and ch.busy) == 2)
            _raising_after(HTTPChannel, "handle_close", RuntimeError("injected"), monkeypatch)
            assert context.stop(), "run() did not return"
            assert not server._map
    finally:
        release.set()
        monkeypatch.undo()
        context.__exit__(None, None, None)


class _RaisingHandler(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            raise RuntimeError("the log handler broke")


def test_a_raising_log_handler_and_a_failing_thunk_leave_the_trigger_working(monkeypatch):
    """The thunk's failure was logged unguarded; the handler's exception
    then closed the trigger, and with it every later close() and signal."""
    log = logging.getLogger("waitress")
    handler = _RaisingHandler()
    with ThreadedServer(hello.app) as server:
        log.addHandler(handler)
        try:
            ran = threading.Event()

            def failing_thunk():
                raise RuntimeError("a thunk that fails")

            server.trigger.pull_trigger(failing_thunk)
            server.trigger.pull_trigger(ran.set)
            assert ran.wait(10), "the thunk queued behind the failing one never ran"
            assert not server.trigger._closed
        finally:
            log.removeHandler(handler)


def test_a_raising_log_handler_does_not_make_run_raise_nor_skip_the_cancels(monkeypatch):
    """The pool's stop logged its warnings unguarded: ``run()`` raised the
    handler's error and the queued tasks were never cancelled."""
    release = threading.Event()
    cancelled = []
    monkeypatch.setattr(waitress.task.WSGITask, "cancel", lambda self: cancelled.append(self), raising=False)
    log = logging.getLogger("waitress")
    handler = _RaisingHandler()
    context = ThreadedServer(_waiting_for(release), threads=1)
    server = context.__enter__()
    try:
        with _two_requests(server):
            assert wait_until(lambda: server.task_dispatcher.queue_depth == 1)
            log.addHandler(handler)
            assert context.stop(), "run() did not return"
        assert context.run_error is None
        assert len(cancelled) == 1
    finally:
        log.removeHandler(handler)
        release.set()
        context.__exit__(None, None, None)


@needs_unix
def test_an_unread_response_on_a_unix_socket_does_not_hold_the_stop(tmp_path, caplog):
    """On a UNIX socket SIOCOUTQ counts what the client has not read (a close
    loses none of it), not what is unacknowledged: the drain took an idle
    client that had not read its last response for one still receiving it,
    and the stop waited out its whole deadline."""
    path = str(tmp_path / "s.sock")
    context = ThreadedServer(hello.app, unix_socket=path)
    server = context.__enter__()
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(10)
        with client:
            client.connect(path)
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(1, socket.MSG_PEEK)  # the response is there, unread
            channel = wait_until(lambda: next((ch for ch in list(server._map.values())
                                               if isinstance(ch, HTTPChannel) and not ch.busy), None))
            assert context.stop()
            assert not channel.lingering, "closed in stages, as if the response were still in flight"
            received, _ = read_until_closed(client)
        assert received.startswith(b"HTTP/1.1 200 OK")
    finally:
        context.__exit__(None, None, None)


def test_unsent_bytes_is_zero_on_a_unix_socket_whatever_the_peer_has_not_read():
    from waitress.teardown import unsent_bytes

    ours, peer = socket.socketpair()
    with ours, peer:
        ours.sendall(b"x" * 1000)
        assert unsent_bytes(ours) == 0
