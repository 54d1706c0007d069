"""Windows' select() watches at most 512 sockets: the server stays below that.

Emulated here with a select() selector that fails, as Windows' does, once
it is handed more sockets than its capacity (shrunk to a few, so that a
test needs only a few connections).  Before, at the default
``connection_limit`` of 100 (or with several listeners, or when the drain
took the backlog past the limit), one socket too many made every select()
raise ValueError and ``run()`` died with it.
"""

import selectors

import pytest
import waitress_wasyncore.reactor as reactor_module
from fixtureapps import gate, hello
from server_support import RawConnection, ThreadedServer, tcp_address, wait_until

CAPACITY = 12  # the listener and the trigger leave 10 connections


class CappedSelectSelector(selectors.SelectSelector):
    """select() refusing more sockets than CAPACITY, as Windows' refuses 513."""

    def select(self, timeout=None):
        if len(self.get_map()) > CAPACITY:
            raise ValueError("too many file descriptors in select()")
        return super().select(timeout)


@pytest.fixture
def windows_select(monkeypatch):
    monkeypatch.setattr(reactor_module, "SELECT_CAPACITY", CAPACITY)
    monkeypatch.setattr(selectors, "DefaultSelector", CappedSelectSelector)


def test_connection_limit_is_lowered_to_what_select_can_watch(windows_select, waitress_log):
    with ThreadedServer(hello.app) as server:  # connection_limit=100
        target = tcp_address(server)
        held = [RawConnection(target) for _ in range(CAPACITY - 2)]
        try:
            for conn in held:
                conn.request("GET", "/held")
                assert conn.read_response().status == 200
            waiting = RawConnection(target)
            try:
                waiting.request("GET", "/waiting")
                assert waiting.is_idle_open(0.5), "served past what select() can watch"
                held.pop().close()
                assert waiting.read_response().status == 200
            finally:
                waiting.close()
        finally:
            for conn in held:
                conn.close()
    messages = [r.getMessage() for r in waitress_log.records]
    assert any("connection_limit lowered from 100 to 10" in m for m in messages)


def test_the_drain_takes_no_more_of_the_backlog_than_select_can_watch(windows_select):
    """At a stop, the drain accepts the backlog past connection_limit, but
    not past the poller's capacity."""
    running = ThreadedServer(gate.sleepy_app, connection_limit=CAPACITY - 4, threads=2)
    server = running.__enter__()
    target = tcp_address(server)
    conns = [RawConnection(target) for _ in range(CAPACITY + 6)]
    try:
        for conn in conns:
            conn.request("GET", "/sleep?seconds=0.2")
        assert wait_until(lambda: server.in_connection_overflow, timeout=10)
        assert running.stop(), "server did not stop"
        assert running.run_error is None, running.run_error
    finally:
        for conn in conns:
            conn.close()
