"""CVE-2024-49769: clients that connect and reset at once must leave nothing
behind: no descriptor, no channel spinning the loop, no refused service.

Runs the server in a subprocess so the process's descriptors and CPU time
can be read from /proc.
"""

import socket
import sys

import pytest
from server_support import SubprocessServer, get, reset_close

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CONNECTIONS = 500
IDLE_CPU_LIMIT = 0.5  # seconds of CPU in 2 s of wall time: a liveness check, not a speed one


def _baseline(proc):
    assert get(proc.address, "/hello/warmup").status == 200
    return proc.settled_fd_count()


def test_connect_and_reset_storm_leaves_no_trace():
    with SubprocessServer("fixtureapps.router:app") as proc:
        baseline = _baseline(proc)
        for _ in range(CONNECTIONS):
            sock = socket.create_connection(proc.address, timeout=5)
            reset_close(sock)
        assert get(proc.address, "/hello/after-storm").status == 200
        count = proc.wait_fd_count_at_most(baseline, timeout=5)
        assert count <= baseline, "descriptors leaked: %d > %d\n%s" % (
            count,
            baseline,
            "\n".join(proc.descriptors()),
        )
        spent = proc.cpu_seconds_during(2.0)
        assert spent < IDLE_CPU_LIMIT, "the idle server used %.2f s of CPU in 2 s" % spent
        assert proc.alive()


def test_reset_after_a_partial_request_leaves_no_trace():
    with SubprocessServer("fixtureapps.router:app") as proc:
        baseline = _baseline(proc)
        for index in range(200):
            sock = socket.create_connection(proc.address, timeout=5)
            sock.sendall(b"GET /hello/%d HTTP/1.1\r\nHost: x\r\n" % index)
            reset_close(sock)
        assert get(proc.address, "/hello/after").status == 200
        count = proc.wait_fd_count_at_most(baseline, timeout=5)
        assert count <= baseline, "\n".join(proc.descriptors())
        assert proc.cpu_seconds_during(2.0) < IDLE_CPU_LIMIT


def test_half_closed_clients_leave_no_trace():
    with SubprocessServer("fixtureapps.router:app") as proc:
        baseline = _baseline(proc)
        for _ in range(200):
            sock = socket.create_connection(proc.address, timeout=5)
            sock.shutdown(socket.SHUT_WR)
            sock.close()
        assert get(proc.address, "/hello/after").status == 200
        count = proc.wait_fd_count_at_most(baseline, timeout=5)
        assert count <= baseline, "\n".join(proc.descriptors())
        assert proc.cpu_seconds_during(2.0) < IDLE_CPU_LIMIT
