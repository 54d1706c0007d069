"""Platforms whose sockets have no ``sendmsg`` (Windows): every kind of
response still goes out whole.

The worker's send used ``sendmsg`` alone, so there every response failed
(an AttributeError logged, the connection closed with nothing sent, not
even a 500); a portability audit found it by emulating Windows.  Here the
accepted sockets hide ``sendmsg``, as Windows' do.
"""

import hashlib

import pytest
from fixtureapps import filewrapper, hello, lengths, router, streaming
from server_support import (
    RawConnection,
    SocketStandIn,
    ThreadedServer,
    assert_served_whole_twice,
    channel_with_socket,
    tcp_address,
)


class _NoSendmsg(SocketStandIn):
    """An accepted socket as on Windows: everything but ``sendmsg``."""

    def __getattr__(self, name):
        if name == "sendmsg":
            raise AttributeError(name)
        return super().__getattr__(name)


_WindowsLikeChannel = channel_with_socket(_NoSendmsg)


@pytest.fixture
def server():
    with ThreadedServer(router.app) as server:
        server.channel_class = _WindowsLikeChannel
        yield server


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/hello/", hello.BODY),  # head and body in one send
        ("/lengths/large?size=3000000&chunk=65536", lengths.large_body(3000000)),  # past the socket's room
        ("/stream/?n=300&size=1000", streaming.expected_body(300, 1000)),  # chunked, gathered pieces
    ],
    ids=["small", "large", "chunked"],
)
def test_responses_go_out_whole_without_sendmsg(server, path, expected):
    assert_served_whole_twice(server, path, expected)


def test_error_answers_go_out_without_sendmsg(server):
    with RawConnection(tcp_address(server), timeout=20) as conn:
        conn.request("GET", "/nonexistent")
        assert conn.read_response().status == 404
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
        assert conn.read_response().status == 400


def test_a_file_wrapper_goes_out_without_sendmsg():
    with ThreadedServer(filewrapper.app) as server:
        server.channel_class = _WindowsLikeChannel
        with RawConnection(tcp_address(server), timeout=30) as conn:
            conn.request("GET", "/large")
            response = conn.read_response()
    assert response.header("Content-Length") == str(filewrapper.LARGE_SIZE)
    digest = hashlib.sha256(filewrapper.DATA * filewrapper.LARGE_REPEAT).hexdigest()
    assert hashlib.sha256(response.body).hexdigest() == digest
