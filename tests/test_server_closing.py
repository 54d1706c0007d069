"""How a connection's last response ends, and how long a stop waits for one.

Found unpinned by a mutation audit: each test names the check in the
server it guards and fails when that check is deleted or its constant
changed.
"""

import logging
import socket
import threading

import waitress.connection_slots
from fixtureapps import gate
from server_support import (
    RawConnection,
    ThreadedServer,
    connect,
    open_channels,
    read_until_closed,
    request_held_in_flight,
    tcp_address,
    wait_until,
)

MIB = 1024 * 1024


# -- channel.py _close_when_sent: the FIN behind a queued last response ---------


def test_a_last_response_that_had_to_be_queued_is_followed_by_our_fin_at_once(monkeypatch):
    """A body delimited by the close (HTTP/1.0 kept alive, no length) ends
    the connection by the server's choice, and it is more than the socket
    takes at once: the worker leaves the rest queued, so the FIN cannot go
    with it.  Once the loop has sent the last byte, the FIN follows at once
    (the client sees the end while the server still lingers), not at the
    end of the linger (made long here)."""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 60.0)
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 60.0)
    piece = b"q" * MIB

    def unmeasured(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        for _ in range(8):
            yield piece

    with ThreadedServer(unmeasured) as server:
        with connect(tcp_address(server), timeout=20, receive_buffer=65536) as client:
            client.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            received, how = read_until_closed(client)  # a timeout here: no FIN came
            assert how == "fin"
            assert received.endswith(b"\r\n\r\n" + piece * 8)
            [channel] = open_channels(server)
            assert channel.lingering and not channel.closed
        # Our close ends the linger.
        assert wait_until(lambda: not open_channels(server))


# -- lifecycle.py SHUTDOWN_TIMEOUT: the drain's deadline (5 s) ------------------


def test_a_request_that_needs_two_seconds_more_when_the_stop_begins_is_answered(recorder):
    """In-flight requests get SHUTDOWN_TIMEOUT (5 s) to finish: one whose
    application returns 2 s after ``close()`` is answered whole, with
    ``Connection: close``."""
    with ThreadedServer(gate.app, join_timeout=30) as server, gate.released():
        with RawConnection(tcp_address(server), timeout=30) as conn:
            conn.request("GET", "/slow")
            assert recorder.wait_for_kind("entered", timeout=10)
            closer = threading.Thread(target=server.close, daemon=True)
            closer.start()
            threading.Event().wait(2.0)
            gate.GATE.set()
            response = conn.read_response()
            closer.join(30)
    assert (response.status, response.body) == (200, b"released")
    assert response.header("Connection") == "close"


def test_a_request_still_running_at_the_drain_deadline_does_not_hold_the_stop(recorder, caplog):
    """An application that never returns is cut off at the drain's deadline
    (5 s): the stop ends then, by the deadline's own timer, not by the
    caller's fallback wait (which would say "did not stop within")."""
    caplog.set_level(logging.INFO, logger="waitress")
    with request_held_in_flight("/stuck") as (_, server, stuck, _):
        closer = threading.Thread(target=server.close, daemon=True)
        closer.start()
        closer.join(20)  # the deadline is 5 s
        assert not closer.is_alive(), "close() still waiting 20 s after the stop began"
        assert not recorder.notes("left"), "the application was not cut off: it returned"
        assert stuck.closed_by_server(timeout=10)
    assert "did not stop within" not in caplog.text


# -- channel.py _peer_eof: a half-close while the response is queued ------------


def test_a_client_that_half_closes_while_its_response_is_queued_gets_all_of_it():
    """The client sends its request and shuts down its sending side (as
    ``nc -N`` does) while most of the response still waits in the server's
    queue, no worker serving it any more: the EOF must not close the
    connection before the queue is sent."""
    body = b"h" * (8 * MIB)

    def large(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    with ThreadedServer(large) as server:
        with connect(tcp_address(server), timeout=20, receive_buffer=65536) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            first = client.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 ")
            [channel] = open_channels(server)
            assert wait_until(lambda: not channel.busy)
            assert channel.outbuf.pending, "the test needs the response queued"
            client.shutdown(socket.SHUT_WR)
            rest, how = read_until_closed(client)
    assert first + rest == b"".join([first.partition(b"\r\n\r\n")[0], b"\r\n\r\n", body])
    assert how == "fin"


# -- channel.py awaits_delivery: the drain and a client that sent more ----------


def test_the_drain_lets_a_client_that_sent_more_close_first(monkeypatch, recorder):
    """A request is in flight when the stop begins, and its client sends
    another behind it (not read: the drain takes no new requests).  Once the
    response (``Connection: close``) is delivered, the connection is not
    closed at once, as an idle pool's is: what the client sent makes it
    linger as any, until the client closes (the silence allowed is made
    long here), so that the close does not reset what the client sends."""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 60.0)
    with ThreadedServer(gate.app, join_timeout=30) as server, gate.released():
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.request("GET", "/in-flight")
            assert recorder.wait_for_kind("entered", timeout=10)
            [channel] = open_channels(server)
            closer = threading.Thread(target=server.close, daemon=True)
            closer.start()
            assert wait_until(lambda: channel.draining)
            conn.request("GET", "/next")
            assert wait_until(lambda: channel.input_dropped)
            gate.GATE.set()
            response = conn.read_response()
            assert (response.status, response.header("Connection")) == (200, "close")
            assert wait_until(lambda: channel.lingering)
            # (Our FIN came with the response: only the server's side can tell.)
            assert not wait_until(lambda: channel.closed, timeout=1.0), "closed though its client sent more"
        closer.join(30)  # the client's close ends the linger, and the stop
        assert not closer.is_alive()


def test_the_drain_leaves_a_connection_already_lingering_to_its_linger(monkeypatch):
    """channel.py shutdown_gracefully: a connection answered and lingering
    (here after a 400) when the stop begins is not closed then: its close
    still waits for the client's, or for its silence, so that what the
    client sends meanwhile cannot reset its answer.  (The silence allowed
    is 4 s here, so the checks run every second.)"""
    monkeypatch.setattr(waitress.connection_slots, "LINGER_IDLE_SECONDS", 4.0)
    with ThreadedServer(gate.app, join_timeout=30) as server:
        with RawConnection(tcp_address(server), timeout=20) as conn:
            conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n")
            assert conn.read_response().status == 400
            [channel] = open_channels(server)
            assert wait_until(lambda: channel.lingering)
            closer = threading.Thread(target=server.close, daemon=True)
            closer.start()
            assert wait_until(lambda: server._shutting_down)
            assert not wait_until(lambda: channel.closed, timeout=2.0), "the drain closed a lingering connection"
        closer.join(30)  # the client's close ends the linger, and the stop
        assert not closer.is_alive()
