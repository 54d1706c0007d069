"""What the idle sweep, the linger and request lookahead must not cut, and must cut.

Found unpinned by a mutation audit: each test names the check in the server
it guards, and fails when that check is deleted or weakened.
"""

import contextlib
import io
import socket
import threading

import pytest
import waitress.connection_slots
from fixtureapps import filewrapper, router
from server_support import (
    RawConnection,
    ThreadedServer,
    open_channels,
    read_until_closed,
    tcp_address,
    wait_until,
)


def _read_slowly(sock: socket.socket, expected: int, pause: float = 0.02) -> int:
    """Read ``expected`` bytes or to EOF, 64 KiB at a time with a pause between."""
    received = 0
    stop = threading.Event()
    while received < expected:
        piece = sock.recv(65536)
        if not piece:
            break
        received += len(piece)
        stop.wait(pause)
    return received


def _small_window(target) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.settimeout(30)
    sock.connect(target)
    return sock


@contextlib.contextmanager
def _downloading(server, request: bytes):
    """A small-window connection that sent ``request`` and read the head of its answer."""
    sock = _small_window(tcp_address(server))
    with sock:
        sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        yield sock


def test_the_sweep_spares_a_connection_whose_application_is_still_running():
    # channel.py: the sweep's "busy" check.  The request is served, not closed.
    with ThreadedServer(router.app, channel_timeout=1, cleanup_interval=1) as server:
        with RawConnection(tcp_address(server), timeout=30) as conn:
            conn.request("GET", "/sleepy/?seconds=3")
            response = conn.read_response()
    assert response.status == 200 and response.body == b"slept"


@pytest.mark.parametrize("path, size, options", [
    # The loop sends a queued file: each send is activity (output.py, handle_write).
    ("/large", filewrapper.LARGE_SIZE, {}),
    # A worker waits above the watermark while the client reads (output.py, _wait_for_room).
    ("/stream/?n=1&size=8388608", 8388608, {"outbuf_high_watermark": 65536}),
], ids=["file", "stream-over-watermark"])
def test_a_download_longer_than_channel_timeout_is_not_cut_while_its_client_reads(path, size, options):
    app = filewrapper.app if path == "/large" else router.app
    with ThreadedServer(app, channel_timeout=1, cleanup_interval=1, **options) as server:
        # HTTP/1.0: the body as it is, to the close (no chunk framing to count);
        # about 2 MB/s, so seconds past the timeout.
        with _downloading(server, f"GET {path} HTTP/1.0\r\n\r\n".encode()) as sock:
            received = _read_slowly(sock, size + 1, pause=0.03)
    assert received == size


def test_no_write_interest_is_left_once_a_queued_response_is_out():
    # channel.py handle_write: left set, the loop would spin at full CPU on
    # the writable socket for as long as the connection stays open.
    with ThreadedServer(filewrapper.app) as server:
        with _downloading(server, b"GET /large HTTP/1.1\r\nHost: x\r\n\r\n") as sock:
            assert _read_slowly(sock, filewrapper.LARGE_SIZE, pause=0) == filewrapper.LARGE_SIZE
            [channel] = open_channels(server)
            assert wait_until(lambda: not channel.outbuf.pending and not channel.busy)
            assert wait_until(lambda: not channel.write_wanted)


@contextlib.contextmanager
def _served_while_a_request_runs(recorder):
    """A connection with lookahead whose first request (0.5 s in its
    application) is being served: what is sent next is read meanwhile."""
    with ThreadedServer(router.app, channel_request_lookahead=1, threads=2) as server:
        with RawConnection(tcp_address(server), timeout=30) as conn:
            conn.send(b"GET /sleepy/?seconds=0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert recorder.wait_for_kind("entered", timeout=10)
            yield conn


def test_lookahead_keeps_an_error_behind_the_response_before_it(recorder):
    # channel.py _queue_error_locked: a second worker would answer the bad
    # request, read while the first is served, first, and its close would
    # cut the response before it.
    with _served_while_a_request_runs(recorder) as conn:
        conn.send(b"BAD\r\n\r\n")
        first = conn.read_response()
        second = conn.read_response()
    assert (first.status, first.body) == (200, b"slept")
    assert second.status == 400


def test_lookahead_sends_100_continue_only_after_the_response_before_it(recorder):
    # channel.py _maybe_continue_locked and the worker's check at the end of
    # its queue: for a head read while the earlier request is served, the
    # 100 comes after that response, and does come.
    with _served_while_a_request_runs(recorder) as conn:
        conn.send(b"POST /echo/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        first = conn.read_response(skip_continue=False)
        assert (first.status, first.body) == (200, b"slept")
        assert conn.read_response(skip_continue=False).status == 100
        conn.send(b"hello")
        echoed = conn.read_response()
    assert echoed.status == 200 and b"\"CONTENT_LENGTH\": \"5\"" in echoed.body


def test_a_lingering_client_that_keeps_trickling_is_closed_at_the_linger_bound(monkeypatch):
    # connection_slots.py: LINGER_MAX_SECONDS bounds a linger however
    # active the client; without it a trickle held the slot for good.
    monkeypatch.setattr(waitress.connection_slots, "LINGER_MAX_SECONDS", 1.0)

    with ThreadedServer(router.app) as server:
        sock = socket.create_connection(tcp_address(server), timeout=20)
        stop = threading.Event()

        def trickle():
            while not stop.wait(0.2):
                try:
                    sock.send(b"x")
                except OSError:
                    return

        with sock:
            sock.sendall(b"GET /hello/ HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n")  # 400, then our close
            threading.Thread(target=trickle, daemon=True).start()
            try:
                data, how = read_until_closed(sock)  # our FIN: the linger begins
                assert data.startswith(b"HTTP/1.1 400 ")
                # Never silent for LINGER_IDLE_SECONDS: only the bound ends it.
                assert wait_until(
                    lambda: not open_channels(server),
                    timeout=8,
                )
            finally:
                stop.set()


class _OneByteShortReads(io.BytesIO):
    """Measures its whole length by seek and tell, but its reads stop one byte short."""

    def read(self, size=-1):
        left = len(self.getbuffer()) - 1 - self.tell()
        return super().read(max(0, left if size is None or size < 0 else min(size, left)))


def test_a_file_without_a_descriptor_ending_one_byte_early_ends_the_connection(caplog):
    # task.py _copy_file: the shortfall check was "> 1"; one byte short then
    # kept the connection under a head promising one byte more.
    data = b"y" * 100_000

    def app(environ, start_response):
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](_OneByteShortReads(data))

    with ThreadedServer(app) as server, RawConnection(tcp_address(server), timeout=30) as conn:
        conn.request("GET", "/")
        conn.request("GET", "/")
        received = conn.read_until_eof()
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"\r\nContent-Length: 100000" in head
    assert body == data[:-1]  # then the end: the second request is not served on a misframed stream
    assert "ended 1 bytes before its end" in caplog.text


def test_a_file_whose_descriptor_cannot_be_duplicated_is_still_sent_whole(monkeypatch):
    # output.py send_file_soon: out of descriptors (EMFILE at dup), the file
    # is read as it goes out, so the worker must keep it open until it is
    # sent; closing it at once cut the body.
    import errno
    import os
    import types

    import waitress_wasyncore.output_queue as output_queue

    def no_descriptors(fd):
        raise OSError(errno.EMFILE, "Too many open files")

    without_dup = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os) if not name.startswith("__")})
    without_dup.dup = no_descriptors
    monkeypatch.setattr(output_queue, "os", without_dup)
    with ThreadedServer(filewrapper.app) as server:
        with _downloading(server, b"GET /large HTTP/1.0\r\n\r\n") as sock:
            received = _read_slowly(sock, filewrapper.LARGE_SIZE + 1, pause=0.001)
    assert received == filewrapper.LARGE_SIZE
