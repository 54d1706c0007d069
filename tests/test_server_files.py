"""Files larger than the socket buffers through ``wsgi.file_wrapper``.

The worker queues such a file (the output buffer sends it through a
duplicate of its descriptor) and goes on; the loop sends the rest as the
client reads.  These tests hold the server to delivering every byte in order
to a slow reader, keeping the connection usable afterwards, never letting a
download hold a worker thread, and letting go of every descriptor of the
file when the client leaves mid-way or the server closes.
"""

import hashlib
import os
import socket
import time

import pytest
from fixtureapps import filewrapper
from server_support import RawConnection, ThreadedServer, get, reset_close, tcp_address, wait_until

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


def descriptors_on(path: str) -> int:
    """How many of this process's descriptors (the in-process server's) refer to ``path``."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == path:
                count += 1
        except OSError:
            pass
    return count


LARGE_PATH = filewrapper.data_path(filewrapper.LARGE_REPEAT)


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


def test_a_download_in_progress_does_not_hold_the_only_thread(one_thread_server):
    filewrapper.OPENED.clear()
    stalled = small_window_connection(one_thread_server)
    try:
        stalled.sendall(REQUEST)
        read_head(stalled)
        # That client reads no further; the file waits in its output buffer,
        # not in the worker, which serves everyone else meanwhile.
        for offset in (0, 100, 102300):
            response = get(one_thread_server, f"/seekable?offset={offset}", timeout=10)
            assert response.status == 200
            assert response.body == filewrapper.DATA[offset:]
        # The answered requests' files are closed; the stalled one's stays
        # open until its bytes are out (PEP 3333 calls close() on
        # completion: an application may rewrite or unlock the file there).
        stalled_file, *answered = filewrapper.OPENED
        assert wait_until(lambda: all(f.closed for f in answered), timeout=10)
        assert not stalled_file.closed
        assert descriptors_on(LARGE_PATH) == 2, "the application's file and the output's duplicate"
    finally:
        stalled.close()
    assert wait_until(lambda: descriptors_on(LARGE_PATH) == 0, timeout=10)
    assert stalled_file.closed


def test_a_file_wrapper_is_closed_only_once_its_file_is_sent(one_thread_server):
    """The worker goes on while the loop sends the file, but the
    application's close() waits for the last byte, as with Waitress."""
    filewrapper.OPENED.clear()
    sock = small_window_connection(one_thread_server)
    try:
        sock.sendall(REQUEST)
        body = read_head(sock)
        # The only worker answers another request: it has left the file behind.
        assert get(one_thread_server, "/seekable?offset=102300").status == 200
        large_file = filewrapper.OPENED[0]
        assert not large_file.closed
        while len(body) < filewrapper.LARGE_SIZE:
            piece = sock.recv(1 << 20)
            assert piece
            body += piece
        assert hashlib.sha256(body).hexdigest() == expected_digest()
        assert wait_until(lambda: large_file.closed, timeout=10)
        assert wait_until(lambda: descriptors_on(LARGE_PATH) == 0, timeout=10)
    finally:
        sock.close()


def test_a_request_pipelined_behind_a_file_is_answered_after_it(one_thread_server):
    sock = small_window_connection(one_thread_server)
    try:
        sock.sendall(REQUEST + b"GET /seekable?offset=102000 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        body = read_head(sock)
        while len(body) < filewrapper.LARGE_SIZE:
            piece = sock.recv(65536)
            assert piece
            body += piece
        follow = body[filewrapper.LARGE_SIZE :]
        assert hashlib.sha256(body[: filewrapper.LARGE_SIZE]).hexdigest() == expected_digest()
        while not follow.endswith(filewrapper.DATA[102000:]):
            piece = sock.recv(65536)
            assert piece
            follow += piece
        assert follow.startswith(b"HTTP/1.1 200 ")
        assert b"Content-Length: 400\r\n" in follow
    finally:
        sock.close()


def test_pipelined_files_for_a_client_that_reads_nothing_hold_one_descriptor(one_thread_server):
    filewrapper.OPENED.clear()
    small = filewrapper.data_path()
    count = 100  # 10 MB: more than the socket buffers hold
    sock = small_window_connection(one_thread_server)
    try:
        sock.sendall(b"GET /seekable HTTP/1.1\r\nHost: localhost\r\n\r\n" * count)
        # The first files fill the socket buffers; then the worker queues one
        # file and waits for it to go out before queueing another descriptor.
        assert wait_until(lambda: len(filewrapper.OPENED) >= 2, timeout=10)
        time.sleep(0.5)  # room for a server that would go on queueing to do so
        assert descriptors_on(small) <= 2, "the queued file's descriptor, and the app's next file"
        expected = len(filewrapper.DATA) * count
        data = b""
        while data.count(filewrapper.DATA) < count:
            piece = sock.recv(65536)
            assert piece, "closed after %d of %d bytes of bodies" % (len(data), expected)
            data += piece
        assert data.count(b"HTTP/1.1 200 ") == count
    finally:
        sock.close()
    assert wait_until(lambda: descriptors_on(small) == 0, timeout=10)


def test_a_download_stalled_past_channel_timeout_is_closed_and_lets_go_of_the_file():
    with ThreadedServer(filewrapper.app, threads=1, channel_timeout=1, cleanup_interval=1) as server:
        sock = small_window_connection(tcp_address(server))
        try:
            sock.sendall(REQUEST)
            read_head(sock)
            # The rest of the file waits in the output buffer, on a descriptor
            # of its own; the application's file stays open until then.
            assert wait_until(lambda: descriptors_on(LARGE_PATH) == 2, timeout=10)
            # The client reads no further: nothing moves, so the connection is
            # inactive in channel_timeout's sense and the sweep closes it.
            assert wait_until(lambda: descriptors_on(LARGE_PATH) == 0, timeout=15)
            received = 0
            while True:
                try:
                    piece = sock.recv(1 << 20)
                except ConnectionResetError:  # closed with unsent data: a reset
                    break
                if not piece:
                    break
                received += len(piece)
            assert received < filewrapper.LARGE_SIZE, "closed before the end of the body"
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
    assert get(one_thread_server, "/seekable?offset=102300").status == 200
    assert wait_until(lambda: all(f.closed for f in filewrapper.OPENED), timeout=10)
    assert wait_until(lambda: descriptors_on(LARGE_PATH) == 0, timeout=10)


def test_closing_the_server_stops_a_file_sent_to_a_client_that_never_reads():
    filewrapper.OPENED.clear()
    server = ThreadedServer(filewrapper.app, threads=1)
    target = tcp_address(server.__enter__())
    sock = small_window_connection(target)
    try:
        sock.sendall(REQUEST)
        read_head(sock)
        assert wait_until(lambda: filewrapper.OPENED, timeout=10)
        # The rest of the file waits for room that never comes; the loop
        # closes the socket at the end of the graceful drain, and with it
        # the descriptor the output buffer held.
        assert server.stop(), "server did not stop"
        assert wait_until(lambda: all(f.closed for f in filewrapper.OPENED), timeout=10)
        assert descriptors_on(LARGE_PATH) == 0
    finally:
        sock.close()


def never_reading_client(target, request: bytes, count: int) -> socket.socket:
    """A client that pipelines ``count`` requests and reads nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(target)
    sock.sendall(request * count)
    return sock


@pytest.mark.parametrize("path, count", [("/large", 2), ("/bytesio", 1), ("/bytesio", 2)])
def test_clients_that_pipeline_files_and_read_nothing_hold_no_worker(path, count):
    """With the only worker thread, another client is still answered: the
    next pipelined request waits for the previous response to go out, and a
    file without a descriptor is copied into the output, not waited on."""
    with ThreadedServer(filewrapper.app, threads=1) as server:
        target = tcp_address(server)
        request = b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode()
        hogs = [never_reading_client(target, request, count) for _ in range(2)]
        try:
            time.sleep(0.5)  # let the server take up their requests
            response = get(target, "/seekable?offset=102000", timeout=15)
            assert response.status == 200 and len(response.body) == 400
        finally:
            for sock in hogs:
                reset_close(sock)


def test_a_file_without_a_descriptor_arrives_whole():
    with ThreadedServer(filewrapper.app) as server:
        response = get(tcp_address(server), "/bytesio", timeout=30)
    assert response.header("Content-Length") == str(filewrapper.LARGE_SIZE)
    assert hashlib.sha256(response.body).hexdigest() == expected_digest()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_subclass_of_the_file_wrapper_is_sent_as_the_wrapper_is(method):
    """Waitress recognises a subclass of its file wrapper (``isinstance``)
    and sends the file with its length; here a subclass was iterated as an
    unknown stream: chunked, and a HEAD answer without Content-Length."""

    def app(environ, start_response):
        class Wrapper(environ["wsgi.file_wrapper"]):
            pass

        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Wrapper(open(filewrapper.data_path(), "rb"))

    with ThreadedServer(app) as server, RawConnection(tcp_address(server)) as conn:
        conn.request(method, "/")
        response = conn.read_response(method)
    assert response.header("Content-Length") == str(len(filewrapper.DATA))
    assert response.header("Transfer-Encoding") is None
    assert response.body == (filewrapper.DATA if method == "GET" else b"")


@pytest.mark.parametrize("length", [0, 7, 102400])
def test_the_applications_content_length_bounds_the_file(length):
    """PEP 3333: a file_wrapper is sent until its end or Content-Length bytes."""
    with ThreadedServer(filewrapper.app) as server:
        target = tcp_address(server)
        response = get(target, "/seekable?length=%d" % length)
        assert get(target, "/seekable?offset=102399").body == filewrapper.DATA[-1:]
    assert response.header("Content-Length") == str(length)
    assert response.body == filewrapper.DATA[:length]


def test_a_file_shorter_than_its_content_length_ends_the_connection(caplog):
    """PEP 3333: too little data for the stated length closes the connection
    and is reported; the client sees an incomplete body, not a complete one
    of another length (Waitress rewrites the length; audit AI)."""
    with ThreadedServer(filewrapper.app) as server, RawConnection(tcp_address(server)) as conn:
        conn.request("GET", "/seekable?length=200000")
        conn.request("GET", "/seekable")
        data = conn.read_until_eof()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"\r\nContent-Length: 200000\r\n" in head + b"\r\n"
    assert body == filewrapper.DATA  # then the close: the second request is not served
    assert any("too few bytes" in r.getMessage() for r in caplog.records)


def test_a_file_cut_while_it_is_sent_ends_the_connection_and_is_reported(tmp_path, caplog):
    """Shrunk after it was measured: the client, promised more, sees the
    connection end; PEP 3333 wants the shortfall reported (audit AK)."""
    path = tmp_path / "shrinking.bin"
    path.write_bytes(b"x" * 8_000_000)

    def app(environ, start_response):
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](open(path, "rb"))

    with ThreadedServer(app) as server:
        sock = small_window_connection(tcp_address(server))
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            received = len(sock.recv(65536))
            os.truncate(path, 100_000)
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                received += len(piece)
        finally:
            sock.close()
    assert received < 8_000_000
    assert any("ended before the Content-Length" in r.getMessage() for r in caplog.records)
