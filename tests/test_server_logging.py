"""What the server tells its operators: the task-queue warning and depth,
and the "Serving on" banner of serve().
"""

import logging
import re

from fixtureapps import gate, hello
from server_support import (
    RawConnection,
    SubprocessServer,
    ThreadedServer,
    get,
    listen_addresses,
    needs_unix,
    tcp_address,
    two_free_ports,
    wait_until,
)


def test_queue_warning_and_depth_when_every_thread_is_busy(caplog, recorder):
    caplog.set_level(logging.WARNING, logger="waitress.queue")
    with ThreadedServer(gate.app, threads=1) as server, gate.released() as opened:
        assert server.queue_depth == 0
        target = tcp_address(server)
        conns = [RawConnection(target) for _ in range(3)]
        try:
            conns[0].request("GET", "/first")
            assert recorder.wait_for_kind("entered", timeout=10)
            for index, conn in enumerate(conns[1:], start=2):
                conn.request("GET", "/waiting-%d" % index)
            assert wait_until(lambda: server.queue_depth == 2, timeout=10), server.queue_depth
            assert server.task_dispatcher.queue_depth == 2
            assert isinstance(server.queue_depth, int)
            opened.set()
            for conn in conns:
                response = conn.read_response()
                assert response.body == b"released"
            assert wait_until(lambda: server.queue_depth == 0, timeout=10)
        finally:
            for conn in conns:
                conn.close()
    warnings = [r for r in caplog.records if r.name == "waitress.queue"]
    assert warnings, "no waitress.queue warning while all threads were busy"
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert any(re.match(r"Task queue depth is \d+", r.getMessage()) for r in warnings)


def test_no_queue_warning_while_threads_are_idle(caplog):
    caplog.set_level(logging.WARNING, logger="waitress.queue")
    with ThreadedServer(hello.app, threads=4) as server:
        target = tcp_address(server)
        for _ in range(5):
            assert get(target, "/").status == 200
        assert server.queue_depth == 0
    assert [r for r in caplog.records if r.name == "waitress.queue"] == []


def test_queue_depth_of_a_multi_socket_server(recorder):
    listen = "127.0.0.1:%d 127.0.0.1:%d" % two_free_ports()
    with ThreadedServer(gate.app, threads=1, listen=listen) as server, gate.released() as opened:
        assert server.queue_depth == 0
        one, other = listen_addresses(server)
        first, second = RawConnection(one), RawConnection(other)
        try:
            first.request("GET", "/a")
            assert recorder.wait_for_kind("entered", timeout=10)
            second.request("GET", "/b")
            assert wait_until(lambda: server.queue_depth == 1, timeout=10)
            opened.set()
            assert first.read_response().status == 200
            assert second.read_response().status == 200
        finally:
            first.close()
            second.close()


def _wait_for_banner(proc, pattern, timeout=20):
    found = wait_until(
        lambda: re.search(pattern, proc.stderr_text()) or (not proc.alive() and "dead"), timeout
    )
    assert found and found != "dead", "no banner in stderr:\n" + proc.stderr_text()
    return found


def test_serve_logs_serving_on_for_a_tcp_listener():
    with SubprocessServer("fixtureapps.hello:app", mode="serve", host="127.0.0.1", port=0) as proc:
        match = _wait_for_banner(proc, r"Serving on http://127\.0\.0\.1:(\d+)")
        port = int(match.group(1))
        assert port != 0
        assert get(("127.0.0.1", port), "/").body == hello.BODY


@needs_unix
def test_serve_logs_serving_on_for_a_unix_socket(tmp_path):
    path = str(tmp_path / "banner.sock")
    with SubprocessServer("fixtureapps.hello:app", mode="serve", unix_socket=path) as proc:
        _wait_for_banner(proc, re.escape("Serving on http://unix:" + path))
        assert get(path, "/").body == hello.BODY


def test_serve_logs_one_banner_per_listener():
    with SubprocessServer(
        "fixtureapps.hello:app", mode="serve", listen="127.0.0.1:0 127.0.0.1:0"
    ) as proc:

        def banner_ports():
            ports = re.findall(r"Serving on http://127\.0\.0\.1:(\d+)", proc.stderr_text())
            return ports if len(ports) >= 2 else None

        ports = wait_until(banner_ports, timeout=20)
        assert ports, proc.stderr_text()
        assert len(set(ports)) == 2
        for port in ports:
            assert get(("127.0.0.1", int(port)), "/").status == 200


def test_serve_logs_application_errors_with_their_traceback():
    with SubprocessServer("fixtureapps.error:app", mode="serve", host="127.0.0.1", port=0) as proc:
        match = _wait_for_banner(proc, r"Serving on http://127\.0\.0\.1:(\d+)")
        response = get(("127.0.0.1", int(match.group(1))), "/before_start_response")
        assert response.status == 500
        assert wait_until(lambda: "FixtureError" in proc.stderr_text(), timeout=10), (
            proc.stderr_text()
        )
        log = proc.stderr_text()
        assert "Exception while serving /before_start_response" in log
        assert "Traceback (most recent call last)" in log


def test_a_huge_malformed_proxy_header_is_not_logged_whole(waitress_log):
    """One 100 KB header would otherwise be one 100 KB log line."""
    value = 'for="' + "a" * 100_000  # unbalanced quote: malformed
    with ThreadedServer(hello.app, trusted_proxy="127.0.0.1",
                        trusted_proxy_headers="forwarded") as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/", headers=[("Forwarded", value)])
            assert conn.read_response().status == 400
    [line] = [r.getMessage() for r in waitress_log.records if "Malformed proxy header" in r.getMessage()]
    assert len(line) < 1000
    assert "(99749 more characters)" in line


def test_a_malformed_proxy_header_cannot_forge_a_log_line(waitress_log):
    """NEL (0x85) is obs-text a header may carry, and a line break to
    str.splitlines() and some log viewers: it is logged escaped."""
    with ThreadedServer(hello.app, trusted_proxy="127.0.0.1",
                        trusted_proxy_headers="x-forwarded-for") as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n"
                      b"X-Forwarded-For: 1.2.3.4\x85ERROR:waitress:forged\r\n\r\n")
            assert conn.read_response().status == 400
    [line] = [r.getMessage() for r in waitress_log.records if "Malformed proxy header" in r.getMessage()]
    assert line.splitlines() == [line]
    assert "1.2.3.4\\x85ERROR:waitress:forged" in line


def test_log_lines_name_the_decoded_path_escaped_and_never_the_query_string(caplog):
    """As Waitress's do: a query string may carry a token (a reset link's,
    say), which has no place in a log."""

    def failing(environ, start_response):
        raise RuntimeError("boom")

    with caplog.at_level(logging.INFO, logger="waitress"):
        with ThreadedServer(failing) as server:
            response = get(tcp_address(server), "/reset/a%20b?token=s3cret")
            assert response.status == 500
            response = get(tcp_address(server), "/x%0D%0AERROR%20forged%00")
            assert response.status == 500
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("waitress")]
    assert "Exception while serving /reset/a b" in messages
    assert not any("s3cret" in message for message in messages)
    # Control characters are escaped: a client cannot end the line and forge the next.
    assert "Exception while serving /x\\x0d\\x0aERROR forged\\x00" in messages
    assert not any(char in message for message in messages for char in "\r\n\x00")


def test_a_server_stopping_at_the_connection_limit_does_not_say_it_listens_again(caplog):
    """The drain closes the connections of a server at its limit: the
    "listening again" line of a reopened listener would be false then."""
    caplog.set_level(logging.INFO, logger="waitress")
    running = ThreadedServer(hello.app, connection_limit=1)
    with running as server, RawConnection(tcp_address(server)) as conn:
        conn.request("GET", "/")
        assert conn.read_response().status == 200
        assert wait_until(lambda: server.in_connection_overflow)
        assert "no longer accepting new connections" in caplog.text
        assert running.stop()  # the drain closes the idle connection
        assert conn.closed_by_server()
    assert "listening again" not in caplog.text


def test_every_message_about_a_connection_goes_to_the_channel_s_logger(caplog):
    # HTTPChannel.logger may be replaced (Waitress's attribute); the response's
    # and the proxy rules' warnings went to the module's logger regardless.
    from waitress.channel import HTTPChannel

    mine = logging.getLogger("myapp.connections")

    class LoggedChannel(HTTPChannel):
        logger = mine

    def too_long(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"abc"]

    caplog.set_level(logging.WARNING)
    with ThreadedServer(too_long, trusted_proxy="127.0.0.1", trusted_proxy_headers="forwarded") as server:
        server.channel_class = LoggedChannel
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/", headers=[("Forwarded", "for=1.2.3.4;secret=x")])
            assert conn.read_response().body == b"ab"
    by_logger = {(r.name, r.getMessage().split(":")[0].split(" (")[0]) for r in caplog.records}
    assert ("myapp.connections", "Unknown Forwarded token") in by_logger
    assert ("myapp.connections", "application-written content exceeded the number of bytes "
            "specified by Content-Length header") in by_logger
