"""The options that change what a request sees or what the server accepts:
url_scheme, url_prefix, ident, server_name, expose_tracebacks, the size
limits, the buffer spill thresholds, channel_timeout and log_socket_errors.
"""

import hashlib
import logging
import os
import socket
import time

from fixtureapps import echo, error, hello, lengths, pressure
from server_support import (
    RawConnection,
    ThreadedServer,
    build_request,
    exchange,
    get,
    tcp_address,
    wait_until,
)


def test_url_scheme_sets_wsgi_url_scheme():
    with ThreadedServer(echo.app, url_scheme="https") as server:
        assert get(tcp_address(server), "/").json()["wsgi.url_scheme"] == "https"


def test_default_url_scheme_is_http():
    with ThreadedServer(echo.app) as server:
        assert get(tcp_address(server), "/").json()["wsgi.url_scheme"] == "http"


def test_url_prefix_becomes_script_name_and_is_stripped_from_path_info():
    with ThreadedServer(echo.app, url_prefix="/app/") as server:
        target = tcp_address(server)
        below = get(target, "/app/some/page?x=1").json()
        assert below["SCRIPT_NAME"] == "/app"
        assert below["PATH_INFO"] == "/some/page"
        assert below["QUERY_STRING"] == "x=1"
        exact = get(target, "/app").json()
        assert exact["SCRIPT_NAME"] == "/app"
        assert exact["PATH_INFO"] == ""


def test_without_url_prefix_script_name_is_empty():
    with ThreadedServer(echo.app) as server:
        environ = get(tcp_address(server), "/some/page").json()
        assert environ["SCRIPT_NAME"] == ""
        assert environ["PATH_INFO"] == "/some/page"


def test_ident_names_the_server_header_and_server_software():
    with ThreadedServer(echo.app, ident="fixture-server") as server:
        response = get(tcp_address(server), "/")
        assert response.header("Server") == "fixture-server"
        assert response.json()["SERVER_SOFTWARE"] == "fixture-server"


def test_default_ident_is_waitress():
    with ThreadedServer(hello.app) as server:
        assert get(tcp_address(server), "/").header("Server") == "waitress"


def test_empty_ident_sends_no_server_header():
    with ThreadedServer(hello.app, ident="") as server:
        response = get(tcp_address(server), "/")
        assert response.status == 200
        assert response.header("Server") is None


def test_server_name_sets_server_name_not_the_host_header():
    with ThreadedServer(echo.app, server_name="example.test") as server:
        environ = get(tcp_address(server), "/", headers=[("Host", "other.example")]).json()
        assert environ["SERVER_NAME"] == "example.test"
        assert environ["HTTP_HOST"] == "other.example"


def test_default_server_name_is_waitress_invalid():
    with ThreadedServer(echo.app) as server:
        assert get(tcp_address(server), "/").json()["SERVER_NAME"] == "waitress.invalid"


def test_expose_tracebacks_puts_the_traceback_in_the_500_body():
    with ThreadedServer(error.app, expose_tracebacks=True) as server:
        response = get(tcp_address(server), "/before_start_response")
        assert response.status == 500
        assert b"Traceback" in response.body
        assert error.MARKER.encode() in response.body
        assert b"unexpected internal server error" not in response.body  # in its place, as Waitress

def test_a_traceback_that_utf8_cannot_encode_still_gives_a_500():
    """An undecodable file name (a lone surrogate, from os.fsdecode) in the
    exception: the page could not be made, and the client waited for ever
    (audit AE)."""

    def app(environ, start_response):
        raise LookupError("no such page: " + os.fsdecode(b"/x/caf\xe9.txt"))

    with ThreadedServer(app, expose_tracebacks=True) as server:
        response = get(tcp_address(server), "/", timeout=10)
    assert response.status == 500
    assert b"caf\\udce9.txt" in response.body


def test_without_expose_tracebacks_the_500_body_hides_the_traceback():
    with ThreadedServer(error.app) as server:
        response = get(tcp_address(server), "/before_start_response")
        assert response.status == 500
        assert b"Traceback" not in response.body
        assert error.MARKER.encode() not in response.body


def test_head_larger_than_max_request_header_size_gets_431_and_close():
    with ThreadedServer(hello.app, max_request_header_size=1024) as server:
        target = tcp_address(server)
        with RawConnection(target) as conn:
            conn.request("GET", "/", headers=[("X-Big", "a" * 2000)])
            response = conn.read_response()
            assert response.status == 431
            assert "close" in response.connection_tokens()
            assert conn.closed_by_server()
        assert get(target, "/").status == 200  # the server goes on


def test_head_below_max_request_header_size_is_served():
    with ThreadedServer(hello.app, max_request_header_size=1024) as server:
        assert get(tcp_address(server), "/", headers=[("X-Small", "a" * 500)]).status == 200


def test_body_over_max_request_body_size_gets_413_and_close(recorder):
    with ThreadedServer(hello.app, max_request_body_size=100) as server:
        target = tcp_address(server)
        with RawConnection(target) as conn:
            conn.request("POST", "/too-big", body=b"x" * 200)
            response = conn.read_response()
            assert response.status == 413
            assert "close" in response.connection_tokens()
            assert conn.closed_by_server()
        assert get(target, "/after").status == 200
    assert "/too-big" not in recorder.notes("hit")


def test_chunked_body_growing_over_max_request_body_size_gets_413(recorder):
    with ThreadedServer(hello.app, max_request_body_size=100) as server:
        chunks = b"".join(b"20\r\n" + b"y" * 32 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"
        request = build_request("POST", "/chunked-big", [("Transfer-Encoding", "chunked")]) + chunks
        response = exchange(tcp_address(server), request)
        assert response.status == 413
    assert "/chunked-big" not in recorder.notes("hit")


def test_chunk_extensions_count_against_max_request_body_size(recorder):
    """Ten data bytes, each under 4 KB of chunk extension: counting data
    alone let a client make the server parse 4,000 times the limit."""
    with ThreadedServer(hello.app, max_request_body_size=20000) as server:
        chunk = b"1;pad=" + b"p" * 4000 + b"\r\nx\r\n"
        request = build_request("POST", "/extended", [("Transfer-Encoding", "chunked")])
        response = exchange(tcp_address(server), request + chunk * 10 + b"0\r\n\r\n")
        assert response.status == 413
    assert "/extended" not in recorder.notes("hit")


def test_body_under_max_request_body_size_is_served():
    with ThreadedServer(echo.app, max_request_body_size=100) as server:
        response = exchange(tcp_address(server), build_request("POST", "/", body=b"z" * 50))
        assert response.json()["body"] == "z" * 50


def test_body_above_inbuf_overflow_arrives_intact():
    body = bytes(range(256)) * 4096  # 1 MiB, far above the 1 KiB threshold
    with ThreadedServer(echo.digest_app, inbuf_overflow=1024) as server:
        response = exchange(
            tcp_address(server), build_request("POST", "/upload", body=body), timeout=30
        )
        assert response.json() == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_chunked_body_above_inbuf_overflow_arrives_intact():
    body = bytes(range(251)) * 2000
    framed = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 7000]), body[i : i + 7000])
        for i in range(0, len(body), 7000)
    )
    request = (
        build_request("POST", "/upload", [("Transfer-Encoding", "chunked")]) + framed + b"0\r\n\r\n"
    )
    with ThreadedServer(echo.digest_app, inbuf_overflow=1024) as server:
        response = exchange(tcp_address(server), request, timeout=30)
        assert response.json() == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_response_above_outbuf_overflow_arrives_intact():
    size = 5 * 1024 * 1024 + 17
    with ThreadedServer(lengths.app, outbuf_overflow=4096) as server:
        response = get(tcp_address(server), "/large?size=%d&chunk=100000" % size, timeout=30)
        assert response.status == 200
        assert int(response.header("Content-Length")) == size
        assert (
            hashlib.sha256(response.body).digest()
            == hashlib.sha256(lengths.large_body(size)).digest()
        )


def test_idle_keep_alive_connection_is_closed_after_channel_timeout():
    with ThreadedServer(hello.app, channel_timeout=1, cleanup_interval=1) as server:
        with RawConnection(tcp_address(server), timeout=15) as conn:
            conn.request("GET", "/")
            response = conn.read_response()
            assert response.status == 200
            assert "close" not in response.connection_tokens()
            assert conn.closed_by_server(timeout=10), "idle connection outlived channel_timeout"
            assert conn.buffer == b""  # closed without another response


def test_log_socket_errors_false_logs_nothing_when_a_client_resets(caplog):
    caplog.set_level(logging.DEBUG, logger="waitress")
    with ThreadedServer(lengths.app, log_socket_errors=False) as server:
        target = tcp_address(server)
        for _ in range(5):
            conn = RawConnection(target)
            conn.request("GET", "/large?size=%d" % (8 * 1024 * 1024))
            conn.sock.recv(1000)
            conn.reset_close()
        assert get(target, "/large?size=10").status == 200
    noisy = [r for r in caplog.records if r.name == "waitress" and r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]


def test_log_socket_errors_option_is_kept():
    with ThreadedServer(hello.app, log_socket_errors=False) as server:
        assert server.adj.log_socket_errors is False
    with ThreadedServer(hello.app) as server:
        assert server.adj.log_socket_errors is True


def _largest_kernel_send_buffer() -> int:
    """The most a TCP socket may buffer on the sending side here (Linux autotuning)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as limits:
            return int(limits.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


def test_outbuf_high_watermark_stops_pulling_from_a_stalled_response():
    watermark = 1024 * 1024
    total = 64 * 1024 * 1024
    pressure.reset()
    with ThreadedServer(pressure.app, outbuf_high_watermark=watermark) as server:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.settimeout(30)
        sock.connect(tcp_address(server))
        try:
            sock.sendall(build_request("GET", "/?n=%d&size=65536" % (total // 65536)))
            # Read nothing; wait until the producer has started, then stops moving.
            assert wait_until(pressure.produced, timeout=10)
            last = -1
            deadline = time.monotonic() + 20
            while pressure.produced() != last and time.monotonic() < deadline:
                last = pressure.produced()
                time.sleep(0.3)
            limit = watermark + _largest_kernel_send_buffer() + 4 * 1024 * 1024
            assert pressure.produced() < min(limit, total), (
                "the app produced %d bytes for a client that read nothing" % pressure.produced()
            )
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            received = len(rest)
            while received < total:
                piece = sock.recv(1 << 20)
                if not piece:
                    break
                received += len(piece)
        finally:
            sock.close()
    assert received == total  # the whole body arrived once the client read
