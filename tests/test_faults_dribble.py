"""A client that sends its request head one byte every 100 ms (slowloris) is
cut off after channel_timeout, and the application never sees it.

channel_timeout=2 and cleanup_interval=1; the bound below (12 s) only keeps a
broken server from hanging the test.
"""

import os
import select
import socket
import time

from fixtureapps.recorder import RECORD_PATH_VARIABLE, read_record_file
from server_support import SubprocessServer, connect, get

GIVE_UP_AFTER = 12.0


def _dribble_until_closed(target, head: bytes):
    """Send ``head`` a byte at a time; return (closed, bytes received, seconds)."""
    sock = connect(target, timeout=2)
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


def test_dribbling_request_head_is_cut_off(tmp_path):
    record = str(tmp_path / "notes.jsonl")
    with SubprocessServer(
        "fixtureapps.hello:app",
        channel_timeout=2,
        cleanup_interval=1,
        env={RECORD_PATH_VARIABLE: record},
    ) as proc:
        # A head that never ends: one long header value, a byte at a time.
        head = b"GET /dribble HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
        closed, received, seconds = _dribble_until_closed(proc.address, head)
        assert closed, "a dribbling client was still connected after %.0f s" % seconds
        assert not received.startswith(b"HTTP/1.1 200"), received[:200]
        assert get(proc.address, "/healthy").status == 200
    assert [value for kind, value in read_record_file(record) if kind == "hit"] == ["/healthy"]


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
