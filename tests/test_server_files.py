"""Files larger than the socket buffers through ``wsgi.file_wrapper``.

The worker sends such a file itself with sendfile and waits for room with
poll() on the descriptor; these tests hold it to delivering every byte in
order to a slow reader, keeping the connection usable afterwards, and
letting go of the file and the thread when the client leaves mid-way.
"""

import hashlib
import socket
import time

import pytest
from fixtureapps import filewrapper
from server_support import ThreadedServer, get, reset_close, tcp_address, wait_until

pytestmark = pytest.mark.timeout(60)

REQUEST = b"GET /large HTTP/1.1\r\nHost: localhost\r\n\r\n"


def expected_digest() -> str:
    digest = hashlib.sha256()
    for _ in range(filewrapper.LARGE_REPEAT):
        digest.update(filewrapper.DATA)
    return digest.hexdigest()


def small_window_connection(target) -> socket.socket:
    """A client with a small receive buffer, so the server's sends block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.settimeout(20)
    sock.connect(target)
    return sock


def read_head(sock: socket.socket) -> bytes:
    """Read up to the end of the response head; return what followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, "connection closed inside the head"
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: %d" % filewrapper.LARGE_SIZE in head
    return rest


@pytest.fixture
def one_thread_server():
    with ThreadedServer(filewrapper.app, threads=1) as server:
        yield tcp_address(server)


def test_a_slow_reader_gets_every_byte_and_keeps_the_connection(one_thread_server):
    sock = small_window_connection(one_thread_server)
    try:
        sock.sendall(REQUEST)
        body = read_head(sock)
        digest = hashlib.sha256(body)
        received = len(body)
        reads = 0
        while received < filewrapper.LARGE_SIZE:
            piece = sock.recv(min(65536, filewrapper.LARGE_SIZE - received))
            assert piece, "connection closed after %d bytes" % received
            digest.update(piece)
            received += len(piece)
            reads += 1
            if reads % 64 == 0:
                time.sleep(0.005)  # a reader slower than the server: it must wait
        assert digest.hexdigest() == expected_digest()
        sock.sendall(b"GET /seekable?offset=0 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        follow = b""
        while not follow.endswith(filewrapper.DATA):
            piece = sock.recv(65536)
            assert piece
            follow += piece
        assert follow.startswith(b"HTTP/1.1 200 ")
    finally:
        sock.close()


@pytest.mark.parametrize("leave", ["reset", "close"])
def test_a_client_leaving_mid_file_frees_the_thread_and_the_file(one_thread_server, leave):
    filewrapper.OPENED.clear()
    sock = small_window_connection(one_thread_server)
    sock.sendall(REQUEST)
    read_head(sock)
    sock.recv(65536)
    assert wait_until(lambda: filewrapper.OPENED, timeout=10)
    if leave == "reset":
        reset_close(sock)
    else:
        sock.close()
    # The only worker was sending the file: it must notice and be free again.
    assert get(one_thread_server, "/seekable?offset=102300").status == 200
    assert wait_until(lambda: all(f.closed for f in filewrapper.OPENED), timeout=10)


def test_closing_the_server_stops_a_file_sent_to_a_client_that_never_reads():
    filewrapper.OPENED.clear()
    server = ThreadedServer(filewrapper.app, threads=1)
    target = tcp_address(server.__enter__())
    sock = small_window_connection(target)
    try:
        sock.sendall(REQUEST)
        read_head(sock)
        assert wait_until(lambda: filewrapper.OPENED, timeout=10)
        # The worker now waits for room that never comes; the loop closes the
        # socket at the end of the graceful drain and the worker must stop.
        assert server.stop(), "server did not stop"
        assert wait_until(lambda: all(f.closed for f in filewrapper.OPENED), timeout=10)
    finally:
        sock.close()
