"""HTTP/1.x connection handling end to end: keep-alive, pipelining, request
lookahead, Expect: 100-continue, chunked bodies both ways, HEAD, 204/304,
and the RFC 9112 rules where this server is stricter than Waitress 3.0.2.

Where a test checks that a connection stays open, it proves it by sending
another request on it; where it checks that one closes, it waits (bounded)
for EOF.
"""

import socket

import pytest
from fixtureapps import disconnect, echo, hello, streaming
from server_support import (
    RawConnection,
    ThreadedServer,
    build_request,
    exchange,
    tcp_address,
    wait_until,
)


@pytest.fixture(scope="module")
def streaming_target():
    with ThreadedServer(streaming.app) as server:
        yield tcp_address(server)


def assert_still_open(conn, path="/again"):
    """Prove the connection is usable by sending one more request on it."""
    conn.request("GET", path)
    response = conn.read_response()
    assert response.status == 200, response
    return response


# --- keep-alive ---------------------------------------------------------------


def test_http11_connection_persists_by_default(hello_target):
    with RawConnection(hello_target) as conn:
        for _ in range(3):
            conn.request("GET", "/")
            response = conn.read_response()
            assert response.status == 200
            assert response.version == "HTTP/1.1"
            assert "close" not in response.connection_tokens()


def test_http11_connection_close_closes(hello_target):
    with RawConnection(hello_target) as conn:
        conn.request("GET", "/", headers=[("Connection", "close")])
        response = conn.read_response()
        assert response.status == 200
        assert "close" in response.connection_tokens()
        assert conn.closed_by_server()


def test_connection_close_among_other_tokens_closes(hello_target):
    """RFC 9110 7.6.1: Connection is a token list; Waitress 3.0.2 compared the whole value."""
    with RawConnection(hello_target) as conn:
        conn.request("GET", "/", headers=[("Connection", "close, foo")])
        response = conn.read_response()
        assert response.status == 200
        assert "close" in response.connection_tokens()
        assert conn.closed_by_server()


def test_http10_closes_by_default(hello_target):
    with RawConnection(hello_target) as conn:
        conn.request("GET", "/", version="HTTP/1.0")
        response = conn.read_response()
        assert response.status == 200
        assert response.version == "HTTP/1.0"
        assert conn.closed_by_server()


def test_http10_keep_alive_with_known_length_persists(hello_target):
    with RawConnection(hello_target) as conn:
        for _ in range(2):
            conn.request("GET", "/", headers=[("Connection", "keep-alive")], version="HTTP/1.0")
            response = conn.read_response()
            assert response.status == 200
            assert response.body == hello.BODY
            assert "keep-alive" in response.connection_tokens()
        conn.request("GET", "/", version="HTTP/1.0")  # no keep-alive this time
        assert conn.read_response().status == 200
        assert conn.closed_by_server()


def test_http10_keep_alive_without_known_length_is_close_delimited(streaming_target):
    with RawConnection(streaming_target) as conn:
        conn.request(
            "GET", "/?n=4&size=3", headers=[("Connection", "keep-alive")], version="HTTP/1.0"
        )
        response = conn.read_response()
        assert response.status == 200
        assert response.header("Transfer-Encoding") is None
        assert response.header("Content-Length") is None
        assert response.body == streaming.expected_body(4, 3)
        assert conn.eof  # the body was delimited by the close


# --- pipelining ---------------------------------------------------------------


def test_three_pipelined_requests_answered_in_order(echo_target):
    data = (
        build_request("GET", "/first")
        + build_request("POST", "/second", body=b"body of the second")
        + build_request("GET", "/third")
    )
    with RawConnection(echo_target) as conn:
        conn.send(data)
        answers = [conn.read_response().json() for _ in range(3)]
    assert [a["PATH_INFO"] for a in answers] == ["/first", "/second", "/third"]
    assert [a["body"] for a in answers] == ["", "body of the second", ""]
    assert answers[1]["REQUEST_METHOD"] == "POST"


def test_pipelined_requests_with_a_chunked_body_between(echo_target):
    data = (
        build_request("GET", "/a")
        + build_request("PUT", "/b", [("Transfer-Encoding", "chunked")])
        + b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        + build_request("GET", "/c")
    )
    with RawConnection(echo_target) as conn:
        conn.send(data)
        answers = [conn.read_response().json() for _ in range(3)]
    assert [a["PATH_INFO"] for a in answers] == ["/a", "/b", "/c"]
    assert answers[1]["body"] == "hello world"
    assert answers[1]["CONTENT_LENGTH"] == "11"
    assert "HTTP_TRANSFER_ENCODING" not in answers[1]


def test_pipelined_requests_sent_byte_by_byte(echo_target):
    data = build_request("GET", "/one") + build_request("POST", "/two", body=b"xyz")
    with RawConnection(echo_target) as conn:
        for index in range(len(data)):
            conn.send(data[index : index + 1])
        answers = [conn.read_response().json() for _ in range(2)]
    assert [(a["PATH_INFO"], a["body"]) for a in answers] == [("/one", ""), ("/two", "xyz")]


def test_pipelined_request_after_close_is_not_served(recorder):
    with ThreadedServer(hello.app) as server:
        data = build_request("GET", "/last", [("Connection", "close")]) + build_request(
            "GET", "/ignored"
        )
        with RawConnection(tcp_address(server)) as conn:
            conn.send(data)
            assert conn.read_response().status == 200
            assert conn.closed_by_server()
            assert conn.buffer == b""
    assert recorder.notes("hit") == ["/last"]


# --- lookahead and client_disconnected ----------------------------------------


def test_client_disconnected_turns_true_when_the_client_leaves(recorder):
    with ThreadedServer(disconnect.app, channel_request_lookahead=1) as server:
        conn = RawConnection(tcp_address(server))
        conn.request("GET", "/watch?seconds=10")
        assert recorder.wait_for_kind("watching", timeout=10)
        conn.sock.shutdown(socket.SHUT_WR)
        conn.close()
        assert recorder.wait_for_kind("disconnected", timeout=12)
    assert recorder.notes("disconnected") == [True]


def test_client_disconnected_stays_false_while_the_client_waits(recorder):
    with ThreadedServer(disconnect.app, channel_request_lookahead=1) as server:
        with RawConnection(tcp_address(server)) as conn:
            conn.request("GET", "/watch?seconds=0.5")
            response = conn.read_response()
            assert response.body == b"still here"
    assert recorder.notes("disconnected") == [False]


def test_lookahead_keeps_pipelined_responses_in_order():
    with ThreadedServer(echo.app, channel_request_lookahead=3) as server:
        data = b"".join(build_request("POST", "/%d" % i, body=b"n%d" % i) for i in range(5))
        with RawConnection(tcp_address(server)) as conn:
            conn.send(data)
            answers = [conn.read_response().json() for _ in range(5)]
    assert [(a["PATH_INFO"], a["body"]) for a in answers] == [
        ("/%d" % i, "n%d" % i) for i in range(5)
    ]


def test_environ_always_has_client_disconnected(echo_target):
    with RawConnection(echo_target) as conn:
        conn.request("GET", "/")
        assert "waitress.client_disconnected" in conn.read_response().json()


# --- Expect: 100-continue ------------------------------------------------------


def test_expect_100_continue_is_answered_before_the_body_is_sent(echo_target):
    body = b"the body, sent only after 100 Continue"
    head = build_request(
        "POST", "/upload", [("Expect", "100-continue"), ("Content-Length", str(len(body)))]
    )
    with RawConnection(echo_target) as conn:
        conn.send(head)
        interim = conn.read_head()  # bounded by the socket timeout
        assert interim is not None
        assert interim.status == 100
        assert interim.version == "HTTP/1.1"
        conn.send(body)
        response = conn.read_response()
        assert response.status == 200
        assert response.json()["body"] == body.decode()
        assert_still_open(conn)


def test_expect_100_continue_with_body_sent_at_once(echo_target):
    body = b"eager client"
    request = build_request("POST", "/upload", [("Expect", "100-continue")], body=body)
    with RawConnection(echo_target) as conn:
        conn.send(request)
        response = conn.read_response()  # a 100 before it, if any, is skipped
        assert response.status == 200
        assert response.json()["body"] == "eager client"
        assert_still_open(conn)


def test_no_100_continue_for_bodies_that_came_with_their_heads(echo_target):
    """RFC 9110 10.1.1: a server may omit the 100 once it has the body;
    a client that sends (or pipelines) its requests whole is not waiting."""
    requests = b"".join(
        build_request("POST", "/upload", [("Expect", "100-continue")], body=b"body %d" % i)
        for i in range(3)
    )
    with RawConnection(echo_target) as conn:
        conn.send(requests)
        for i in range(3):
            response = conn.read_response(skip_continue=False)
            assert response.status == 200
            assert response.json()["body"] == "body %d" % i
        assert_still_open(conn)


def test_expect_100_continue_is_ignored_for_http10(echo_target):
    body = b"old client"
    request = build_request(
        "POST", "/upload", [("Expect", "100-continue")], body=body, version="HTTP/1.0"
    )
    with RawConnection(echo_target) as conn:
        conn.send(request)
        response = conn.read_response(skip_continue=False)
        assert response.status == 200  # RFC 9110 10.1.1: no 100 for HTTP/1.0
        assert response.json()["body"] == "old client"


@pytest.mark.parametrize("method, headers", [
    ("GET", []), ("POST", [("Content-Length", "0")]),
])
def test_expect_100_continue_without_a_body_gets_the_response_alone(echo_target, method, headers):
    """No content to come, so no 100 (RFC 9110 10.1.1 lets the server omit it)."""
    request = build_request(method, "/nobody", [("Expect", "100-continue")] + headers)
    with RawConnection(echo_target) as conn:
        conn.send(request)
        response = conn.read_response(skip_continue=False)
        assert response.status == 200
        assert response.json()["PATH_INFO"] == "/nobody"
        assert_still_open(conn)


def test_expect_100_continue_with_a_too_large_body_gets_413_without_the_body(recorder):
    with ThreadedServer(hello.app, max_request_body_size=1000) as server:
        head = build_request(
            "POST", "/big", [("Expect", "100-continue"), ("Content-Length", "5000")]
        )
        with RawConnection(tcp_address(server)) as conn:
            conn.send(head)  # the body is never sent: the 413 must come anyway
            response = conn.read_response()
            assert response.status == 413
            assert conn.closed_by_server()
    assert recorder.notes("hit") == []


# --- chunked request bodies ----------------------------------------------------


def test_chunked_request_body_is_dechunked_with_content_length_set(echo_target):
    request = (
        build_request("POST", "/", [("Transfer-Encoding", "chunked")])
        + b"4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n"
    )
    environ = exchange(echo_target, request).json()
    assert environ["body"] == "Wikipedia in\r\n\r\nchunks."
    assert environ["CONTENT_LENGTH"] == str(len("Wikipedia in\r\n\r\nchunks."))
    assert "HTTP_TRANSFER_ENCODING" not in environ


def test_chunked_request_with_trailers(echo_target):
    request = (
        build_request("POST", "/", [("Transfer-Encoding", "chunked")])
        + b"3\r\nabc\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    with RawConnection(echo_target) as conn:
        conn.send(request)
        assert conn.read_response().json()["body"] == "abc"
        assert_still_open(conn)


def test_empty_chunked_request_body(echo_target):
    request = build_request("POST", "/", [("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n"
    environ = exchange(echo_target, request).json()
    assert environ["body"] == ""


# --- HEAD, 204, 304 --------------------------------------------------------------


def test_head_response_has_no_body_and_keeps_the_connection(lengths_target):
    with RawConnection(lengths_target) as conn:
        conn.request("HEAD", "/head")
        response = conn.read_response("HEAD")
        assert response.status == 200
        assert response.header("Content-Length") == "11"
        # Had the server sent the body, it would now be read as the next response.
        conn.request("GET", "/head")
        follow = conn.read_response()
        assert follow.status == 200, follow
        assert follow.body == b"head body\r\n"


def test_head_of_a_streamed_response_has_no_body(streaming_target):
    with RawConnection(streaming_target) as conn:
        conn.request("HEAD", "/?n=3&size=100")
        response = conn.read_response("HEAD")
        assert response.status == 200
        conn.request("GET", "/?n=2&size=4")
        follow = conn.read_response()
        assert follow.status == 200, follow
        assert follow.body == streaming.expected_body(2, 4)


@pytest.mark.parametrize("code", [204, 304])
def test_no_content_statuses_have_no_body_and_keep_the_connection(lengths_target, code):
    with RawConnection(lengths_target) as conn:
        conn.request("GET", "/status?code=%d" % code)
        response = conn.read_response()
        assert response.status == code
        assert response.header("Transfer-Encoding") is None
        assert "close" not in response.connection_tokens()
        follow = assert_still_open(conn, "/status?code=200")
        assert follow.body == b"should not appear\n"


# --- response framing ------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_content_length_the_application_repeats_is_sent_once(lengths_target, method):
    """RFC 9110 5.3: a field that is no list is not repeated.  Waitress sent
    both lines, which a strict front end refuses (newer nginx answers such
    an upstream with 502)."""
    with RawConnection(lengths_target) as conn:
        conn.request(method, "/twice")
        response = conn.read_response(method)
        assert response.status == 200
        assert response.header_values("Content-Length") == ["5"]
        follow = assert_still_open(conn, "/twice")
        assert follow.body == b"twice"


def test_http11_response_without_length_is_chunked_and_keeps_the_connection(streaming_target):
    with RawConnection(streaming_target) as conn:
        conn.request("GET", "/?n=5&size=1000")
        response = conn.read_response()
        assert response.status == 200
        assert response.chunked
        assert response.header("Content-Length") is None
        assert response.body == streaming.expected_body(5, 1000)
        assert "close" not in response.connection_tokens()
        follow = assert_still_open(conn, "/?n=1&size=3")
        assert follow.body == streaming.expected_body(1, 3)


def test_http10_response_without_length_is_close_delimited(streaming_target):
    with RawConnection(streaming_target) as conn:
        conn.request("GET", "/?n=5&size=1000", version="HTTP/1.0")
        response = conn.read_response()
        assert response.status == 200
        assert response.header("Transfer-Encoding") is None
        assert response.body == streaming.expected_body(5, 1000)
        assert conn.eof


def test_single_chunk_app_iter_gets_a_content_length(echo_target):
    with RawConnection(echo_target) as conn:
        conn.request("GET", "/")
        response = conn.read_response()
        assert response.header("Content-Length") == str(len(response.body))
        assert not response.chunked


def test_response_has_date_and_server_headers(hello_target):
    with RawConnection(hello_target) as conn:
        conn.request("GET", "/")
        response = conn.read_response()
        assert response.header("Date", "").endswith(" GMT")
        assert response.header("Server") == "waitress"


# --- stricter than Waitress 3.0.2 -----------------------------------------------


def _expect_error(target, data, statuses, recorder=None):
    with RawConnection(target) as conn:
        conn.send(data)
        response = conn.read_response()
        assert response.status in statuses, response
        assert "close" in response.connection_tokens()
        assert conn.closed_by_server()
    return response


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/1.2", b"HTTP/3.0", b"HTTP/0.9"])
def test_other_http_versions_get_505(hello_target, version, recorder):
    _expect_error(hello_target, b"GET /v HTTP/" + version[5:] + b"\r\nHost: x\r\n\r\n", {505})
    assert recorder.notes("hit") == []


def test_obs_fold_is_rejected(hello_target, recorder):
    _expect_error(
        hello_target, b"GET /fold HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n", {400}
    )
    assert recorder.notes("hit") == []


def test_missing_host_on_http11_is_rejected(hello_target, recorder):
    _expect_error(hello_target, b"GET /nohost HTTP/1.1\r\n\r\n", {400})
    assert recorder.notes("hit") == []


def test_missing_host_on_http10_is_fine(hello_target):
    assert exchange(hello_target, b"GET / HTTP/1.0\r\n\r\n").status == 200


def test_duplicate_host_is_rejected(hello_target, recorder):
    _expect_error(hello_target, b"GET /dup HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {400})
    assert recorder.notes("hit") == []


def test_duplicate_content_type_is_rejected(hello_target, recorder):
    data = b"POST /ct HTTP/1.1\r\nHost: a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n"
    _expect_error(hello_target, data, {400})
    assert recorder.notes("hit") == []


def test_content_length_with_transfer_encoding_is_rejected(hello_target, recorder):
    data = (
        b"POST /both HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    _expect_error(hello_target, data, {400})
    assert recorder.notes("hit") == []


def test_unknown_uppercase_method_reaches_the_app(echo_target):
    assert exchange(echo_target, build_request("FOO", "/")).json()["REQUEST_METHOD"] == "FOO"


def test_lowercase_method_is_rejected(hello_target, recorder):
    _expect_error(hello_target, b"get / HTTP/1.1\r\nHost: x\r\n\r\n", {400})
    assert recorder.notes("hit") == []


def test_no_100_continue_after_a_response_that_closes():
    """RFC 9112 9.6: after ``Connection: close`` no further request is
    processed, so the pipelined request's ``100 Continue`` is never sent."""
    from fixtureapps import router

    data = (b"GET /hello/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            b"POST /echo/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    with ThreadedServer(router.app, channel_request_lookahead=5) as server:
        conn = RawConnection(tcp_address(server))
        try:
            conn.send(data)
            assert conn.closed_by_server()
        finally:
            conn.close()
    received = bytes(conn.buffer)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert b"100 Continue" not in received and received.count(b"HTTP/1.1 ") == 1


def test_a_client_gone_before_its_100_continue_is_no_error(caplog):
    """The 100 Continue for a pipelined request finds the client gone: the
    connection closes quietly (this logged a traceback)."""
    from fixtureapps import router

    with ThreadedServer(router.app, threads=1) as server:
        target = tcp_address(server)
        for _ in range(3):
            sock = socket.create_connection(target)
            sock.sendall(b"GET /sleepy/?seconds=0.2 HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"POST /echo/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         b"Content-Length: 5\r\n\r\n")
            sock.close()
        assert wait_until(lambda: not server.active_channels, timeout=10)
        assert exchange(target, build_request("GET", "/hello/after")).status == 200
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("status", ["103 Early Hints", "100 Continue", "199 Whatever"])
@pytest.mark.parametrize("version", [b"1.1", b"1.0"])
def test_an_interim_status_from_the_application_is_a_500(status, version, caplog):
    """A 1xx is never a final response: a client would wait for the real one
    or take the next request's answer as this one's."""

    def interim_app(environ, start_response):
        if environ["PATH_INFO"] == "/interim":
            start_response(status, [("Link", "</a>")])
            return [b"body"]
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    with ThreadedServer(interim_app) as server:
        conn = RawConnection(tcp_address(server))
        try:
            conn.send(b"GET /interim HTTP/" + version + b"\r\nHost: x\r\n\r\n"
                      b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert conn.closed_by_server()
        finally:
            conn.close()
    received = bytes(conn.buffer)
    assert received.startswith(b"HTTP/" + version + b" 500 ")
    assert status.encode() not in received
    assert received.count(b"HTTP/1.") == 1  # closed after the 500: nothing shifted
    assert "interim" in caplog.text
