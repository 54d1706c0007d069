"""A client that sends its request head one byte every 100 ms (slowloris), or
its body, is cut off after channel_timeout, and the application never sees it.

channel_timeout=2 and cleanup_interval=1; the bound below (12 s) only keeps a
broken server from hanging the test.
"""

import os
import select
import socket
import time

from fixtureapps.recorder import RECORD_PATH_VARIABLE, read_record_file
from server_support import SubprocessServer, connect, get, read_until_closed

GIVE_UP_AFTER = 12.0


def _dribble_until_closed(sock, head: bytes):
    """Send ``head`` on ``sock`` a byte at a time; return (closed, bytes received, seconds)."""
    received = b""
    started = time.monotonic()
    try:
        for byte_index in range(100000):
            if time.monotonic() - started > GIVE_UP_AFTER:
                return False, received, time.monotonic() - started
            try:
                sock.send(head[byte_index % len(head) : byte_index % len(head) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return True, received, time.monotonic() - started
            ready, _, _ = select.select([sock], [], [], 0.1)
            if ready:
                try:
                    piece = sock.recv(65536)
                except ConnectionResetError:
                    return True, received, time.monotonic() - started
                if not piece:
                    return True, received, time.monotonic() - started
                received += piece
        return False, received, time.monotonic() - started
    finally:
        sock.close()


def _assert_dribbling_is_cut_off(tmp_path, at_once: bytes, dribbled: bytes) -> None:
    """Send ``at_once``, then ``dribbled`` a byte every 100 ms: the server
    closes the connection without calling the application, and goes on."""
    record = str(tmp_path / "notes.jsonl")
    with SubprocessServer(
        "fixtureapps.hello:app",
        channel_timeout=2,
        cleanup_interval=1,
        env={RECORD_PATH_VARIABLE: record},
    ) as proc:
        sock = connect(proc.address, timeout=2)
        with sock:
            sock.sendall(at_once)
            closed, received, seconds = _dribble_until_closed(sock, dribbled)
        assert closed, "a dribbling client was still connected after %.0f s" % seconds
        assert not received.startswith(b"HTTP/1.1 200"), received[:200]
        assert get(proc.address, "/healthy").status == 200
    assert [value for kind, value in read_record_file(record) if kind == "hit"] == ["/healthy"]


def test_dribbling_request_head_is_cut_off(tmp_path):
    # A head that never ends: one long header value, a byte at a time.
    _assert_dribbling_is_cut_off(tmp_path, b"GET /dribble HTTP/1.1\r\nHost: x\r\n", b"X-Slow: " + b"a" * 100000)


def test_idle_connection_without_any_bytes_is_closed(tmp_path):
    with SubprocessServer("fixtureapps.hello:app", channel_timeout=2, cleanup_interval=1) as proc:
        sock = connect(proc.address, timeout=GIVE_UP_AFTER)
        try:
            try:
                data = sock.recv(1024)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                raise AssertionError("a silent connection was kept for %.0f s" % GIVE_UP_AFTER)
            assert not data.startswith(b"HTTP/1.1 200")
        finally:
            sock.close()
        assert os.path.exists("/proc/%d" % proc.pid)
        assert get(proc.address, "/").status == 200


def test_a_body_dribbled_below_the_minimum_rate_is_cut_off(tmp_path):
    """A complete head, then the body a byte every 100 ms: each byte made the
    connection active again, so it held its slot for as long as the client
    liked (an audit's 40 such clients kept ``connection_limit=20`` full and
    an honest client out).  A body must arrive at 500 bytes a second on
    average, after channel_timeout of grace."""
    body = b"b" * 100000
    head = b"POST /dribble HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
    _assert_dribbling_is_cut_off(tmp_path, head, body)


def test_a_body_sent_slowly_but_above_the_minimum_rate_is_served(tmp_path):
    """The rule is a rate, not a deadline: 2,000 bytes every 200 ms (10 KB/s)
    for longer than channel_timeout is a slow upload, not an attack."""
    with SubprocessServer("fixtureapps.echo:app", channel_timeout=2, cleanup_interval=1) as proc:
        pieces = [b"%04d" % index * 500 for index in range(20)]  # 4 s at one piece per 200 ms
        sock = connect(proc.address, timeout=20)
        with sock:
            sock.sendall(b"POST /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
            sock.sendall(b"Content-Length: %d\r\n\r\n" % sum(map(len, pieces)))
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(0.2)
            response, _ = read_until_closed(sock)
        assert response.startswith(b"HTTP/1.1 200"), response[:200]
        assert b"".join(pieces) in response
