"""The last response on a connection survives the client sending more
(RFC 9112 9.6): the server shuts down its sending side and reads what still
comes until the client closes, instead of closing at once, which makes the
kernel answer those bytes with a reset that destroys the unacknowledged
rest of the response.
"""

import socket

from fixtureapps import echo, lengths
from server_support import RawConnection, ThreadedServer, tcp_address, wait_until
from waitress.channel import HTTPChannel


def _no_open_channel(server) -> bool:
    """Every connection is closed or lingering: the server sends nothing more."""
    return all(
        obj.lingering for obj in list(server._map.values()) if isinstance(obj, HTTPChannel)
    )


def _small_window(target) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)  # before connect: the window
    sock.settimeout(20)
    sock.connect(target)
    return sock


def _read_all(sock) -> bytes:
    data = b""
    while True:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece


def test_a_request_sent_after_connection_close_does_not_cut_the_response():
    """The client reads slowly, so most of 1 MB is still unacknowledged when
    the server is done with it; the client then sends another request."""
    size = 1_000_000
    with ThreadedServer(lengths.app) as server:
        sock = _small_window(tcp_address(server))
        try:
            sock.sendall(
                b"GET /large?size=%d&chunk=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                % (size, size)
            )
            data = sock.recv(1024)  # the response has begun
            assert wait_until(lambda: _no_open_channel(server), timeout=10)
            sock.sendall(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
            data += _read_all(sock)
        finally:
            sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert len(body) == size


def test_the_rest_of_a_refused_body_is_read_and_the_413_arrives():
    """A client still sending a body the server refused (413) can finish
    sending, then read the answer; its sends are not reset."""
    with ThreadedServer(echo.app, max_request_body_size=1000) as server:
        sock = _small_window(tcp_address(server))
        try:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n")
            sock.sendall(b"x" * 4096)
            assert wait_until(lambda: server.active_channels, timeout=10)
            assert wait_until(lambda: _no_open_channel(server), timeout=10)
            sock.sendall(b"x" * (3000000 - 4096))  # reset here when the server had closed
            sock.shutdown(socket.SHUT_WR)
            data = _read_all(sock)
        finally:
            sock.close()
    assert data.startswith(b"HTTP/1.1 413 ")


def test_a_client_that_never_closes_is_closed_after_the_linger_time(monkeypatch):
    import waitress.server

    monkeypatch.setattr(waitress.server, "LINGER_SECONDS", 0.2)
    with ThreadedServer(echo.app, max_request_body_size=10) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
            assert conn.read_response().status == 413
            assert conn.closed_by_server(timeout=10)
        assert wait_until(lambda: not server._lingering, timeout=10)
