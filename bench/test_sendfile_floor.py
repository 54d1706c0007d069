"""bench/sendfile_floor.py serves its file, keep-alive, over a real socket."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "sendfile_floor.py"

pytestmark = pytest.mark.skipif(not hasattr(os, "sendfile") or sys.platform != "linux",
                                reason="the floor loop uses epoll and os.sendfile")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serves_the_file_twice_on_one_connection(tmp_path):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "file.bin"
    path.write_bytes(payload)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "127.0.0.1:%d" % port, str(path)])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(2):
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Content-Length") == str(len(payload))
            assert response.read() == payload
        conn.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
