"""A client may vanish at any moment: right after connecting, inside the
request head, inside the body, while the application works, or while the
response streams.  Each must cost nothing: the server frees the descriptor,
stays idle, and goes on serving.

One subprocess server is shared by the module; each test disconnects a few
clients at one moment, with a FIN and with an RST, then checks the
descriptor count is back to the module's baseline.
"""

import socket
import sys

import pytest
from server_support import RawConnection, SubprocessServer, build_request, get, reset_close

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

REPEATS = 10


@pytest.fixture(scope="module")
def proc():
    with SubprocessServer(
        "fixtureapps.router:app", threads=4, inbuf_overflow=4096, outbuf_overflow=65536
    ) as server:
        assert get(server.address, "/hello/warmup").status == 200
        server.baseline = server.settled_fd_count()
        yield server


def _after_connect(conn):
    pass


def _mid_head(conn):
    conn.send(b"GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Partial: abc")


def _mid_body(conn):
    conn.send(build_request("POST", "/digest/", [("Content-Length", "100000")]) + b"x" * 50000)


def _mid_chunked_body(conn):
    conn.send(
        build_request("POST", "/echo/", [("Transfer-Encoding", "chunked")]) + b"10\r\n0123456789"
    )


def _while_the_app_works(conn):
    conn.request("GET", "/sleepy/?seconds=0.3")


def _mid_response(conn):
    conn.request("GET", "/lengths/large?size=20000000&chunk=65536")
    conn.sock.recv(10000)


def _mid_streamed_response(conn):
    conn.request("GET", "/stream/?n=400&size=65536")
    conn.sock.recv(10000)


def _pipelined_then_gone(conn):
    conn.send(
        build_request("GET", "/hello/a") * 5 + build_request("GET", "/lengths/large?size=5000000")
    )


MOMENTS = [
    _after_connect,
    _mid_head,
    _mid_body,
    _mid_chunked_body,
    _while_the_app_works,
    _mid_response,
    _mid_streamed_response,
    _pipelined_then_gone,
]


def _fin_close(conn):
    conn.close()


def _shutdown_then_close(conn):
    try:
        conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


def _rst_close(conn):
    reset_close(conn.sock)


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize(
    "leave", [_fin_close, _shutdown_then_close, _rst_close], ids=["fin", "shutdown", "rst"]
)
def test_disconnect_at_any_moment_costs_nothing(proc, moment, leave):
    for _ in range(REPEATS):
        conn = RawConnection(proc.address)
        try:
            moment(conn)
        finally:
            leave(conn)
    assert get(proc.address, "/hello/health").status == 200
    count = proc.wait_fd_count_at_most(proc.baseline, timeout=5)
    assert count <= proc.baseline, "descriptors leaked: %d > %d\n%s" % (
        count,
        proc.baseline,
        "\n".join(proc.descriptors()),
    )
    assert proc.alive()


def test_server_is_idle_after_all_the_disconnects(proc):
    spent = proc.cpu_seconds_during(2.0)
    assert spent < 0.5, "the idle server used %.2f s of CPU in 2 s" % spent
    assert get(proc.address, "/echo/").status == 200
