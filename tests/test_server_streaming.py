"""Streamed bodies: gathered into few sends, yet never held back from the client.

The server gathers the small pieces of a streamed body (``write_later``) and
flushes them itself shortly after the first one, so a stream of events
reaches the client while the application waits for the next one.
"""

import socket
import threading
import time

import pytest
from server_support import ThreadedServer, reset_close, tcp_address, wait_until

FIRST = b"event: first\n\n"
SECOND = b"event: second\n\n"


def test_a_paused_stream_delivers_what_it_yielded_before_the_pause():
    first_seen = threading.Event()

    def events(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def body():
            yield FIRST
            # Only the client seeing FIRST lets the app go on: if the server
            # held FIRST back until the body ended, this would never happen.
            first_seen.wait(10)
            yield SECOND

        return body()

    with ThreadedServer(events) as server:
        with socket.create_connection(tcp_address(server), timeout=10) as client:
            client.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
            received = b""
            while FIRST not in received:
                data = client.recv(65536)
                assert data, "connection closed before the first event"
                received += data
            assert SECOND not in received
            first_seen.set()
            while not received.endswith(b"0\r\n\r\n"):
                data = client.recv(65536)
                assert data, "connection closed before the end of the stream"
                received += data
    assert b"Transfer-Encoding: chunked" in received
    assert received.index(FIRST) < received.index(SECOND)


def test_many_small_pieces_arrive_whole_and_in_order():
    pieces = [b"%05d," % i for i in range(3000)]

    def many(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter(pieces)

    with ThreadedServer(many) as server:
        with socket.create_connection(tcp_address(server), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            received = b""
            while not received.endswith(b"0\r\n\r\n"):
                data = client.recv(65536)
                assert data
                received += data
    head, _, body = received.partition(b"\r\n\r\n")
    decoded = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            break
        decoded += body[:size]
        body = body[size + 2 :]
    assert decoded == b"".join(pieces)


def _read_until(client, marker, received=b""):
    while marker not in received:
        data = client.recv(65536)
        assert data, "connection closed before %r" % marker
        received += data
    return received


def test_paused_streams_on_several_connections_each_get_every_event():
    """One flush timer serves every connection, and re-arms for each pause."""
    rounds, clients = 3, 4
    seen = [[threading.Event() for _ in range(rounds)] for _ in range(clients)]

    def events(environ, start_response):
        index = int(environ["PATH_INFO"].strip("/"))
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def body():
            for number in range(rounds):
                yield b"event %d.%d\n\n" % (index, number)
                seen[index][number].wait(10)  # the client must see it first

        return body()

    with ThreadedServer(events, threads=clients) as server:
        connections = [socket.create_connection(tcp_address(server), timeout=10)
                       for _ in range(clients)]
        try:
            for index, client in enumerate(connections):
                client.sendall(b"GET /%d HTTP/1.1\r\nHost: test\r\n\r\n" % index)
            received = [b""] * clients
            for number in range(rounds):
                for index, client in enumerate(connections):
                    received[index] = _read_until(
                        client, b"event %d.%d\n\n" % (index, number), received[index])
                    seen[index][number].set()
            for index, client in enumerate(connections):
                assert _read_until(client, b"0\r\n\r\n", received[index]).endswith(b"0\r\n\r\n")
        finally:
            for client in connections:
                client.close()


def test_a_buffer_the_application_reuses_after_yielding_is_sent_as_yielded():
    def reusing(environ, start_response):
        # With a Content-Length the pieces go out as they are (no chunk framing).
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "16")])
        buffer = bytearray(4)

        def body():
            for letter in b"abcd":
                buffer[:] = bytes([letter]) * 4
                yield buffer  # gathered, not sent yet: then overwritten

        return body()

    with ThreadedServer(reusing) as server:
        with socket.create_connection(tcp_address(server), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            received = _read_until(client, b"\r\n\r\n")
            while len(received.partition(b"\r\n\r\n")[2]) < 16:
                data = client.recv(65536)
                assert data, "connection closed before the end of the body"
                received += data
    assert received.partition(b"\r\n\r\n")[2] == b"aaaabbbbccccdddd"


def test_what_write_sent_reaches_the_client_while_the_application_waits():
    """The WSGI ``write()`` callable's output is gathered like a stream's."""
    written = threading.Event()

    def legacy(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(FIRST)
        written.wait(10)
        return [SECOND]

    with ThreadedServer(legacy) as server:
        with socket.create_connection(tcp_address(server), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            received = _read_until(client, FIRST)
            assert SECOND not in received
            written.set()
            received = _read_until(client, b"0\r\n\r\n", received)
    assert received.index(FIRST) < received.index(SECOND)


def test_a_first_write_of_no_bytes_sends_the_head_while_the_application_waits():
    """PEP 3333: the head goes out upon the first ``write()``, even of no
    bytes, which long-polling applications use to answer at once and send
    the body later; it waited for the first bytes of the body."""
    head_seen = threading.Event()

    def pushes_its_head(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"")
        head_seen.wait(10)
        return [SECOND]

    with ThreadedServer(pushes_its_head) as server:
        with socket.create_connection(tcp_address(server), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            received = _read_until(client, b"\r\n\r\n")
            assert received.startswith(b"HTTP/1.1 200 OK\r\n")
            head_seen.set()
            received = _read_until(client, b"0\r\n\r\n", received)
    assert SECOND in received.partition(b"\r\n\r\n")[2]


def test_a_stream_that_pauses_still_waits_for_a_client_that_reads_nothing():
    """The pauses let the loop's timed flushes queue every piece; the worker
    must still stop at ``outbuf_high_watermark``, and ``channel_timeout``
    then frees it."""
    produced = []
    closed = threading.Event()

    def events(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def body():
            try:
                for _ in range(5000):  # 80 MB if nothing held it back
                    produced.append(16384)
                    yield b"e" * 16384
                    time.sleep(0.002)  # past FLUSH_DELAY: the timer flushes each piece
            finally:
                closed.set()

        return body()

    with ThreadedServer(events, outbuf_high_watermark=65536, channel_timeout=1,
                        cleanup_interval=1) as server:
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(tcp_address(server))
        try:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            assert closed.wait(30), "the stream never stopped"  # channel_timeout ended it
        finally:
            client.close()
    # The socket buffers (a few MB on loopback) and the watermark, not 80 MB.
    assert sum(produced) < 16 * 1024 * 1024


def test_a_connection_reset_while_pieces_are_gathered_reports_nothing_pending(monkeypatch):
    """``total_outbufs_len`` (what graceful-shutdown code polls) drops to 0
    when the client goes away with pieces still gathered."""
    import waitress.flushes

    monkeypatch.setattr(waitress.flushes, "FLUSH_DELAY", 60.0)  # no timed flush meanwhile
    gathered, finish = threading.Event(), threading.Event()

    def stream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"x" * 1000
            gathered.set()
            finish.wait(10)
            yield b"y"

        return body()

    try:
        with ThreadedServer(stream) as server:
            client = socket.create_connection(tcp_address(server), timeout=10)
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            assert gathered.wait(10)
            (channel,) = server.active_channels.values()
            assert channel.total_outbufs_len > 1000
            reset_close(client)
            assert wait_until(lambda: channel.closed, timeout=10)
            assert channel.total_outbufs_len == 0
            finish.set()  # before the server stops: its drain would wait for the worker
    finally:
        finish.set()


def test_the_piece_that_completes_the_content_length_goes_out_at_once(monkeypatch):
    """Nothing can follow it, so it is not held back to be gathered with
    more: the client has the whole response while the application, a
    generator with work left after its last piece, still runs."""
    import waitress.flushes

    monkeypatch.setattr(waitress.flushes, "FLUSH_DELAY", 60.0)  # a held piece waits a minute
    finish = threading.Event()

    def stream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])

        def body():
            yield b"01234"  # gathered: more is due
            yield b"56789"  # the last byte declared
            finish.wait(30)  # longer than the client waits

        return body()

    try:
        with ThreadedServer(stream) as server:
            with socket.create_connection(tcp_address(server), timeout=5) as client:
                get_until(client, b"\r\n\r\n0123456789")
                assert not finish.is_set()
                finish.set()
                # The connection stays usable: the next response comes whole.
                get_until(client, b"\r\n\r\n0123456789")
    finally:
        finish.set()


def test_a_body_completed_through_write_goes_out_when_the_response_ends(monkeypatch):
    """write() only gathers, even the piece that completes the length: the
    end of the returned iterable must send it, not the flush timer."""
    import waitress.flushes

    monkeypatch.setattr(waitress.flushes, "FLUSH_DELAY", 60.0)  # a held piece waits a minute

    def written(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        write(b"hel")
        write(b"lo")
        return iter([b"dropped: past the length"])

    with ThreadedServer(written) as server:
        with socket.create_connection(tcp_address(server), timeout=5) as client:
            get_until(client, b"\r\n\r\nhello")


def get_until(client: socket.socket, ending: bytes) -> bytes:
    """Send a GET on ``client`` and read until what came ends with ``ending``."""
    client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    received = b""
    while not received.endswith(ending):
        data = client.recv(65536)
        assert data, f"connection closed before {ending!r}; got {received!r}"
        received += data
    return received


SIZE = 8 * 1024 * 1024  # more than loopback's socket buffers take at once


def read_slowly(address, request: bytes) -> bytes:
    """Send ``request``, let the server fill its socket first, then read to the close."""
    with socket.create_connection(address, timeout=10) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.sendall(request)
        threading.Event().wait(0.3)  # not a timing assertion: only lets the send go partial
        received = bytearray()
        while True:
            data = client.recv(1 << 20)
            if not data:
                return bytes(received)
            received += data


@pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_a_buffer_reused_after_the_piece_that_completes_the_length_is_sent_as_yielded(wrap):
    def reusing(environ, start_response):
        scratch = bytearray(b"A" * SIZE)
        start_response("200 OK", [("Content-Length", str(SIZE))])

        def body():
            yield scratch if wrap is bytearray else memoryview(scratch)
            scratch[:] = b"Z" * SIZE  # the application reuses its buffer

        return body()

    # Kept in memory however large (not spilled to a file, which copies).
    with ThreadedServer(reusing, outbuf_overflow=64 * SIZE) as server:
        raw = read_slowly(tcp_address(server), b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    body = raw.partition(b"\r\n\r\n")[2]
    assert len(body) == SIZE
    assert body.count(b"Z") == 0


@pytest.mark.parametrize("streamed", [False, True], ids=["list", "generator"])
def test_a_view_of_wide_items_is_sent_whole_when_the_socket_takes_part(streamed):
    import array

    numbers = array.array("i", range(SIZE // 4))
    expected = numbers.tobytes()

    def wide(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(expected)))])
        view = memoryview(numbers)  # format "i": len() counts items, not bytes
        return (piece for piece in [view]) if streamed else [view]

    with ThreadedServer(wide) as server:
        raw = read_slowly(tcp_address(server), b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert raw.partition(b"\r\n\r\n")[2] == expected


@pytest.mark.parametrize("streamed", [False, True], ids=["list", "generator"])
def test_a_view_that_is_not_contiguous_is_sent_as_its_bytes(streamed):
    source = bytes(range(256)) * 64
    expected = source[::2]

    def strided(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(expected)))])
        view = memoryview(source)[::2]  # no system call takes it as it is
        return (piece for piece in [view]) if streamed else [view]

    with ThreadedServer(strided) as server:
        raw = read_slowly(tcp_address(server), b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert raw.partition(b"\r\n\r\n")[2] == expected
