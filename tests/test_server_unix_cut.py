"""A body delimited by the close, cut by the application, over a UNIX socket.

Over TCP the server resets such a connection; a UNIX socket has no reset
but one: closing with unread input.  The server holds back the request's
last byte while the response is made (``waitress.holdback``): a whole
response consumes it and ends in a plain EOF, a cut one closes with it
unread, and the client's read fails with ECONNRESET.
"""

import socket
import sys

import pytest
from fixtureapps import echo, error
from server_support import ThreadedServer, read_until_closed

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's UNIX socket reset")


def _exchange(path, request: bytes):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    with client:
        client.connect(path)
        client.sendall(request)
        return read_until_closed(client)


@pytest.fixture
def unix_server(tmp_path):
    path = str(tmp_path / "cut.sock")

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/echo":
            return echo.app(environ, start_response)
        return error.app(environ, start_response)

    with ThreadedServer(app, unix_socket=path) as server:
        yield path, server


def test_a_cut_http10_body_ends_in_a_reset(unix_server):
    path, _ = unix_server
    received, how = _exchange(path, b"GET /after_headers_sent HTTP/1.0\r\n\r\n")
    assert received.startswith(b"HTTP/1.0 200 OK")
    assert received.endswith(error.FIRST_CHUNK)
    assert how == "reset"


def test_a_whole_http10_body_ends_in_a_plain_close(unix_server):
    path, _ = unix_server
    received, how = _exchange(path, b"GET /whole_stream HTTP/1.0\r\n\r\n")
    assert received.startswith(b"HTTP/1.0 200 OK")
    assert received.endswith(error.FIRST_CHUNK)
    assert how == "fin"


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
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    with client:
        client.connect(path)
        for _ in range(3):
            client.sendall(request)
            data = b""
            while not data.endswith(b"0\r\n\r\n"):
                data += client.recv(65536)
            assert data.startswith(b"HTTP/1.1 200 OK")
        client.sendall(b"GET /after_headers_sent HTTP/1.1\r\nHost: x\r\n\r\n")
        received, how = read_until_closed(client)
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert not received.endswith(b"0\r\n\r\n")  # chunked, its last chunk missing
