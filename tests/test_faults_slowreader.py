"""Back-pressure: a client that reads a 100 MB streamed response slowly must
not make the server hold the response in memory (outbuf_high_watermark,
default 16 MiB; beyond outbuf_overflow the buffer spills to a file).

The server runs in a subprocess; its RSS comes from /proc/PID/status.
"""

import socket
import sys
import time

import pytest
from server_support import RawConnection, SubprocessServer, get

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CHUNK = 65536
CHUNKS = 1600  # 100 MiB
RSS_GROWTH_LIMIT = 60 * 1024 * 1024
SLOW_PHASE = 3.0


def test_slow_reader_of_a_100mb_stream_keeps_memory_bounded():
    with SubprocessServer("fixtureapps.router:app") as proc:
        assert get(proc.address, "/stream/?n=2&size=10").status == 200
        baseline = proc.rss_bytes()
        peak = baseline
        conn = RawConnection(proc.address, timeout=30)
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        try:
            conn.request("GET", "/stream/?n=%d&size=%d" % (CHUNKS, CHUNK), version="HTTP/1.0")
            head = conn.read_head()
            assert head.status == 200
            received = len(conn.buffer)
            conn.buffer = b""
            deadline = time.monotonic() + SLOW_PHASE
            while time.monotonic() < deadline:  # the slow reader: 16 KiB every 20 ms
                received += len(conn.sock.recv(16384))
                peak = max(peak, proc.rss_bytes())
                time.sleep(0.02)
            assert received < CHUNK * CHUNKS
            last_sample = received
            tail = b""
            while True:  # then drain as fast as possible
                piece = conn.sock.recv(1 << 20)
                if not piece:
                    break
                received += len(piece)
                tail = (tail + piece)[-CHUNK:]
                if received - last_sample > 8 * 1024 * 1024:
                    peak = max(peak, proc.rss_bytes())
                    last_sample = received
        finally:
            conn.close()
        assert received == CHUNK * CHUNKS
        assert tail == bytes(((CHUNKS - 1) % 256,)) * CHUNK
        growth = peak - baseline
        assert growth < RSS_GROWTH_LIMIT, "RSS grew by %.1f MiB" % (growth / 2**20)
        assert get(proc.address, "/hello/").status == 200


def test_slow_reader_does_not_hold_up_other_clients():
    with SubprocessServer("fixtureapps.router:app", threads=2) as proc:
        slow = RawConnection(proc.address, timeout=30)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        try:
            slow.request("GET", "/stream/?n=%d&size=%d" % (CHUNKS, CHUNK))
            assert slow.read_head().status == 200
            for index in range(10):
                assert get(proc.address, "/hello/%d" % index).status == 200
        finally:
            slow.reset_close()
        assert get(proc.address, "/hello/").status == 200


@pytest.mark.parametrize("trickle", [False, True])
def test_a_stream_to_a_client_that_stopped_reading_frees_its_worker(trickle):
    """Past ``outbuf_high_watermark`` the worker waits for the client; a
    client that takes nothing for ``channel_timeout`` seconds is closed and
    the worker goes back to serving others, even if the client keeps
    sending a byte now and then."""
    import threading

    from fixtureapps import router
    from server_support import ThreadedServer, tcp_address

    with ThreadedServer(router.app, threads=1, channel_timeout=1, cleanup_interval=1,
                        outbuf_high_watermark=1 << 20) as server:
        target = tcp_address(server)
        hog = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hog.connect(target)
        try:
            hog.sendall(b"GET /stream/?n=400&size=65536 HTTP/1.1\r\nHost: x\r\n\r\n")
            stop = threading.Event()

            def send_a_byte_now_and_then():
                for byte in b"GET /hello/next HTTP/1.1\r\nX-Pad: " + b"a" * 200:
                    if stop.wait(0.3):
                        return
                    try:
                        hog.send(bytes((byte,)))
                    except OSError:
                        return

            if trickle:
                threading.Thread(target=send_a_byte_now_and_then, daemon=True).start()
            try:
                assert get(target, "/hello/after", timeout=30).status == 200
            finally:
                stop.set()
            hog.settimeout(10)
            received = 0
            try:
                while True:
                    piece = hog.recv(1 << 20)
                    if not piece:
                        break
                    received += len(piece)
            except ConnectionResetError:
                pass
            assert received < 400 * 65536, "the stalled stream was closed, not finished"
        finally:
            hog.close()
