"""A body delimited by the close, cut by the application, over a UNIX socket.

Over TCP the server resets such a connection; a UNIX socket has no reset
but one: closing with unread input.  The server holds back the request's
last byte while the response is made (``waitress.holdback``): a whole
response consumes it and ends in a plain EOF, a cut one closes with it
unread, and the client's read fails with ECONNRESET.
"""

import socket
import sys
import threading
import time

import pytest
from fixtureapps import echo, error
from server_support import ThreadedServer, read_until_closed, wait_until
from waitress.channel import HTTPChannel

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's UNIX socket reset")


def _connected(path) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(path)
    return client


def _exchange(path, request: bytes):
    with _connected(path) as client:
        client.sendall(request)
        return read_until_closed(client)


def _a_channel_with(server, attribute) -> bool:
    return any(getattr(ch, attribute, False) for ch in list(server._map.values()))


@pytest.fixture
def unix_server(tmp_path):
    path = str(tmp_path / "cut.sock")

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/echo":
            return echo.app(environ, start_response)
        return error.app(environ, start_response)

    with ThreadedServer(app, unix_socket=path) as server:
        yield path, server


@pytest.mark.parametrize("path, ending", [("/after_headers_sent", "reset"), ("/whole_stream", "fin")],
                         ids=["cut", "whole"])
def test_a_cut_http10_body_ends_in_a_reset_a_whole_one_in_a_plain_close(unix_server, path, ending):
    socket_path, _ = unix_server
    received, how = _exchange(socket_path, b"GET %s HTTP/1.0\r\n\r\n" % path.encode())
    assert received.startswith(b"HTTP/1.0 200 OK")
    assert received.endswith(error.FIRST_CHUNK)
    assert how == ending


@pytest.mark.parametrize("path, ending", [("/after_headers_sent", "reset"), ("/whole_stream", "fin")],
                         ids=["cut", "whole"])
def test_a_keep_alive_http10_request_answered_until_the_close_is_covered_too(unix_server, path, ending):
    """An HTTP/1.0 request asking for keep-alive whose response has no
    length ends with the close as well: its byte was not held back, so a
    cut body ended in a plain EOF and looked whole (a chaos audit).  Whole
    responses with a length keep the connection, the byte released for
    each, and the connection's last request is covered as the first."""
    socket_path, _ = unix_server
    keep_alive = b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    with _connected(socket_path) as client:
        _served_three_times(client, keep_alive, b"HTTP/1.0 200 OK", _has_its_length)
        client.sendall(b"GET %s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" % path.encode())
        received, how = read_until_closed(client)
    assert received.startswith(b"HTTP/1.0 200 OK")
    assert received.endswith(error.FIRST_CHUNK)
    assert how == ending


def _has_its_length(data: bytes) -> bool:
    """Whether ``data`` holds a whole response framed by its Content-Length."""
    head, found, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return bool(found) and len(body) >= int(value)
    return False


def _served_three_times(client, request: bytes, status_line: bytes, complete) -> None:
    """Three keep-alive exchanges of ``request``, each read until ``complete(data)``."""
    for _ in range(3):
        client.sendall(request)
        data = b""
        while not complete(data):
            data += client.recv(65536)
        assert data.startswith(status_line)


def test_a_body_sent_with_the_request_is_read_whole_and_the_close_is_plain(unix_server):
    path, _ = unix_server
    body = b"b" * 300000
    request = b"POST /echo HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    received, how = _exchange(path, request)
    assert received.startswith(b"HTTP/1.0 200 OK")
    assert b'"body": "' + b"b" * 1000 in received
    assert how == "fin"


def test_keep_alive_connections_are_served_as_before(unix_server):
    path, server = unix_server
    request = b"GET /whole_stream HTTP/1.1\r\nHost: x\r\n\r\n"
    with _connected(path) as client:
        _served_three_times(client, request, b"HTTP/1.1 200 OK", lambda data: data.endswith(b"0\r\n\r\n"))
        client.sendall(b"GET /after_headers_sent HTTP/1.1\r\nHost: x\r\n\r\n")
        received, how = read_until_closed(client)
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert not received.endswith(b"0\r\n\r\n")  # chunked, its last chunk missing


# --- what a review of the held-back byte found ----------------------------------


class _CloseRequestHeldBack(HTTPChannel):
    """Holds back the worker's request to close, so that the drain finds the
    connection idle with its response whole and the byte still held."""

    def _call_on_loop(self, fn):
        if fn == self._close_when_sent:
            self.close_held_back = True
            return
        super()._call_on_loop(fn)


def test_the_drain_closing_a_whole_response_plainly_releases_the_byte(tmp_path):
    """The drain (or any close but the loop's own after the response) closed
    with the byte unread, resetting a response that was complete."""
    path = str(tmp_path / "drain.sock")
    context = ThreadedServer(error.app, unix_socket=path)
    server = context.__enter__()
    try:
        server.channel_class = _CloseRequestHeldBack
        with _connected(path) as client:
            client.sendall(b"GET /whole_stream HTTP/1.0\r\n\r\n")
            assert wait_until(lambda: _a_channel_with(server, "close_held_back"))
            assert context.stop()
            received, how = read_until_closed(client)
        assert received.endswith(error.FIRST_CHUNK)
        assert how == "fin"
    finally:
        context.__exit__(None, None, None)


def test_an_application_sees_the_client_leave_while_the_byte_is_held(tmp_path):
    """The loop does not watch a socket whose byte is held back: the
    disconnect check asks the socket itself."""
    path = str(tmp_path / "gone.sock")
    seen = threading.Event()
    release = threading.Event()

    def long_poll(environ, start_response):
        gone = environ["waitress.client_disconnected"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not release.is_set():
            if gone():
                seen.set()
                break
            time.sleep(0.02)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    with ThreadedServer(long_poll, unix_socket=path):
        client = _connected(path)
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        time.sleep(0.2)  # not a timing assertion: only lets the request start
        client.close()
        try:
            assert seen.wait(10), "the application never saw the client leave"
        finally:
            release.set()


def test_bytes_sent_after_the_request_while_the_byte_is_held_do_not_reset_a_whole_response(tmp_path):
    """A client that sends a stray CRLF after its HTTP/1.0 request: those
    bytes were never read, and the close, taken as promised, reset them
    away with the response."""
    path = str(tmp_path / "stray.sock")
    go = threading.Event()

    def waits(environ, start_response):
        go.wait(10)
        return error.app(environ, start_response)

    with ThreadedServer(waits, unix_socket=path) as server:
        with _connected(path) as client:
            client.sendall(b"GET /whole_stream HTTP/1.0\r\n\r\n")
            assert wait_until(lambda: _a_channel_with(server, "holding_back"))
            client.sendall(b"\r\n")
            go.set()
            received, how = read_until_closed(client)
    assert received.endswith(error.FIRST_CHUNK)
    assert how == "fin"
