"""The attack bytes of Waitress's security advisories, end to end.

For each vector the server must answer the right error with
``Connection: close``, close the connection (EOF), never hand the request
to the application, and keep serving other clients.  The request-smuggling
ones (CVE-2024-49768) also check that nothing after the bad request runs.
"""

import threading

import pytest
from fixtureapps import echo, hello
from server_support import RawConnection, ThreadedServer, build_request, exchange, get, tcp_address


def expect_rejected(target, data, statuses, recorder):
    """Send ``data``; expect one error in ``statuses``, close, EOF, app untouched."""
    with RawConnection(target) as conn:
        conn.send(data)
        response = conn.read_response()
        assert response.status in statuses, response
        assert "close" in response.connection_tokens(), response
        assert conn.closed_by_server(), "connection left open after %d" % response.status
        leftover = conn.buffer
    assert leftover == b"", "bytes after the error response: %r" % leftover[:200]
    assert recorder.notes("hit") == [], "the application was called"
    assert get(target, "/healthy").status == 200  # the server goes on
    return response


# CVE-2019-16785: only CRLF ends a line --------------------------------------------


def test_bare_lf_in_headers_is_rejected(hello_target, recorder):
    data = (
        b"GET /lf HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
        b"X-Header: x\nContent-Length: 0\r\n\r\n"
    )
    expect_rejected(hello_target, data, {400}, recorder)


def test_bare_cr_in_headers_is_rejected(hello_target, recorder):
    expect_rejected(
        hello_target, b"GET /cr HTTP/1.1\r\nHost: x\r\nX-Header: x\rfoo\r\n\r\n", {400}, recorder
    )


def test_bare_lf_request_line_is_rejected(hello_target, recorder):
    expect_rejected(hello_target, b"GET /lf HTTP/1.1\nHost: x\r\n\r\n", {400}, recorder)


def test_lf_only_chunk_terminator_is_rejected(hello_target, recorder):
    data = (
        build_request("POST", "/chunk", [("Transfer-Encoding", "chunked")]) + b"3\nabc\r\n0\r\n\r\n"
    )
    expect_rejected(hello_target, data, {400}, recorder)


def test_chunk_data_not_followed_by_crlf_is_rejected(hello_target, recorder):
    data = (
        build_request("POST", "/chunk", [("Transfer-Encoding", "chunked")])
        + b"3\r\nabcX\r\n0\r\n\r\n"
    )
    expect_rejected(hello_target, data, {400}, recorder)


# CVE-2019-16786: Transfer-Encoding is a list; only chunked is supported ------------


def test_transfer_encoding_gzip_chunked_is_not_implemented(hello_target, recorder):
    data = build_request("POST", "/te", [("Transfer-Encoding", "gzip, chunked")]) + b"0\r\n\r\n"
    expect_rejected(hello_target, data, {501}, recorder)


def test_transfer_encoding_gzip_chunked_with_content_length(hello_target, recorder):
    data = (
        b"POST /te HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
    )
    # 501 for the coding or 400 for CL with TE: either way refused and closed.
    expect_rejected(hello_target, data, {400, 501}, recorder)


def test_transfer_encoding_not_ending_with_chunked_is_a_bad_request(hello_target, recorder):
    """RFC 9112 6.3: the length cannot be known: 400, then close."""
    data = build_request("POST", "/te", [("Transfer-Encoding", "identity")]) + b"0\r\n\r\n"
    expect_rejected(hello_target, data, {400}, recorder)


def test_transfer_encoding_chunked_twice_is_refused(hello_target, recorder):
    data = build_request("POST", "/te", [("Transfer-Encoding", "chunked, chunked")]) + b"0\r\n\r\n"
    expect_rejected(hello_target, data, {400, 501}, recorder)


@pytest.mark.parametrize(
    "lines",
    [
        [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "")],
        [("Transfer-Encoding", ""), ("Transfer-Encoding", "chunked")],
        [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", ",")],
        [("Transfer-Encoding", "chunked,")],
    ],
    ids=["then-empty", "empty-then", "then-comma", "trailing-comma"],
)
def test_transfer_encoding_with_an_empty_element_is_refused(hello_target, recorder, lines):
    """TE.0: a front end keeping the empty line sees no body, and the chunked
    'body' (here a whole request) would be a second request to it."""
    smuggled = build_request("GET", "/smuggled")
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled)
    data = build_request("POST", "/te", lines) + chunk
    # 400 when the empty element comes last (RFC 9112 6.3), else 501.
    expect_rejected(hello_target, data, {400, 501}, recorder)


def test_an_absolute_form_target_names_the_host(echo_target):
    """RFC 9112 3.2.2: the target's host, not the Host field's."""
    with RawConnection(echo_target) as conn:
        conn.request("GET", "http://target.example:8080/p?q", headers=[("Host", "field.example")])
        environ = conn.read_response().json()
    assert environ["HTTP_HOST"] == "target.example:8080"
    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == ("/p", "q")


def test_nothing_after_a_connect_is_read_as_http(echo_target):
    """A 2xx to CONNECT makes a tunnel (RFC 9110 9.3.6), which this server
    cannot: the connection ends with the response, unread bytes unserved."""
    with RawConnection(echo_target) as conn:
        conn.send(build_request("CONNECT", "example.com:443", [("Host", "example.com:443")])
                  + build_request("GET", "/second"))
        response = conn.read_response()
        assert response.status == 200
        assert response.connection_tokens() == ["close"]
        # RFC 9110 9.3.6: no framing fields; what follows would be the tunnel.
        assert response.header("Content-Length") is None
        assert response.header("Transfer-Encoding") is None
        assert response.body == b""
        assert conn.closed_by_server()
        assert conn.buffer == b""


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GET /" + b"a" * 262144 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 262144 + b"\r\n\r\n", 431),
    ],
    ids=["request-line", "field-line"],
)
def test_a_request_line_past_the_head_limit_is_a_uri_too_long(hello_target, recorder, data, status):
    """RFC 9112 3: 414, where a long field line is a 431."""
    expect_rejected(hello_target, data, {status}, recorder)


def test_transfer_encoding_on_http10_is_refused_or_ignored_safely(echo_target):
    """RFC 9112 6.1: TE in a 1.0 request is faulty framing; the server must close after."""
    data = (
        b"POST /te10 HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 3\r\n\r\nabc"
    )
    with RawConnection(echo_target) as conn:
        conn.send(data)
        response = conn.read_response()
        assert response.status in (200, 400)
        assert conn.closed_by_server()


# CVE-2019-16789: only SP and HTAB are whitespace -------------------------------------


def test_nel_before_chunked_is_not_chunked(hello_target, recorder):
    data = b"POST /nel HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x85chunked\r\n\r\n0\r\n\r\n"
    expect_rejected(hello_target, data, {400, 501}, recorder)


def test_vertical_tab_in_header_value_is_rejected(hello_target, recorder):
    expect_rejected(
        hello_target, b"GET /vt HTTP/1.1\r\nHost: x\r\nfoo: \x0bbar\r\n\r\n", {400}, recorder
    )


def test_fold_line_starting_with_tab_and_vertical_tab_is_rejected(hello_target, recorder):
    expect_rejected(
        hello_target,
        b"GET /fold HTTP/1.1\r\nHost: x\r\nfoo: bar\r\n\t\x0bbaz\r\n\r\n",
        {400},
        recorder,
    )


def test_nul_in_header_value_is_rejected(hello_target, recorder):
    expect_rejected(
        hello_target, b"GET /nul HTTP/1.1\r\nHost: x\r\nfoo: a\x00b\r\n\r\n", {400}, recorder
    )


def test_space_before_colon_is_rejected(hello_target, recorder):
    expect_rejected(hello_target, b"GET /sp HTTP/1.1\r\nHost : x\r\n\r\n", {400}, recorder)


# CVE-2019-16792: Content-Length must be one number ---------------------------------


@pytest.mark.parametrize("values", [("10", "10"), ("10", "11")])
def test_duplicate_content_length_is_rejected(hello_target, recorder, values):
    headers = b"".join(b"Content-Length: %s\r\n" % v.encode() for v in values)
    data = (
        b"POST /cl HTTP/1.1\r\nHost: x\r\n"
        + headers
        + b"\r\n"
        + b"a" * 10
        + b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    expect_rejected(hello_target, data, {400}, recorder)


def test_content_length_list_in_one_header_is_rejected(hello_target, recorder):
    data = b"POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc"
    expect_rejected(hello_target, data, {400}, recorder)


# CVE-2022-24761: digits only; chunk extensions by the grammar ----------------------


@pytest.mark.parametrize("value", ["abc", "+10", "-1", "0x3", "1_0", " "])
def test_malformed_content_length_is_rejected(hello_target, recorder, value):
    data = (
        b"POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + value.encode()
        + b"\r\n\r\n"
        + b"a" * 10
    )
    expect_rejected(hello_target, data, {400}, recorder)


@pytest.mark.parametrize(
    "chunk",
    [
        b"0x3\r\nabc\r\n",
        b"+3\r\nabc\r\n",
        b"-3\r\nabc\r\n",
        b"3;\r\nabc\r\n",
        b"3;a\x00b\r\nabc\r\n",
        b"\r\nabc\r\n",
    ],
    ids=["0x-prefix", "plus", "minus", "bare-semicolon", "nul-in-extension", "empty-size"],
)
def test_malformed_chunk_size_or_extension_is_rejected(hello_target, recorder, chunk):
    data = (
        build_request("POST", "/chunk", [("Transfer-Encoding", "chunked")]) + chunk + b"0\r\n\r\n"
    )
    expect_rejected(hello_target, data, {400}, recorder)


def test_valid_chunk_extension_is_accepted(echo_target):
    data = (
        build_request("POST", "/ext", [("Transfer-Encoding", "chunked")])
        + b"3;name=value\r\nabc\r\n0\r\n\r\n"
    )
    assert exchange(echo_target, data).json()["body"] == "abc"


def test_whitespace_before_chunk_extension_is_either_refused_or_parsed_right(echo_target):
    """RFC 7230 forbade it, RFC 9112 allows BWS: accept both, but never misparse."""
    data = (
        build_request("POST", "/ext", [("Transfer-Encoding", "chunked")])
        + b"3 ;ext\r\nabc\r\n0\r\n\r\n"
    )
    with RawConnection(echo_target) as conn:
        conn.send(data)
        response = conn.read_response()
        if response.status == 200:
            assert response.json()["body"] == "abc"
        else:
            assert response.status == 400
            assert conn.closed_by_server()


# CVE-2020-5236: no catastrophic backtracking --------------------------------------


def test_long_invalid_header_is_rejected_while_others_are_served(hello_target, recorder):
    results = []

    def other_client():
        results.append(get(hello_target, "/meanwhile").status)

    data = b"GET /redos HTTP/1.1\r\nHost: x\r\nBad-header: " + b"x" * 50000 + b"\x10\r\n\r\n"
    with RawConnection(hello_target) as conn:
        conn.send(data)
        helper = threading.Thread(target=other_client)
        helper.start()
        response = conn.read_response()
        helper.join(10)
        assert response.status == 400
        assert conn.closed_by_server()
    assert results == [200]
    assert recorder.notes("hit") == ["/meanwhile"]


# CVE-2024-49768: nothing after a bad request runs, whatever the lookahead ---------


def _padded_bad_head(total: int, bad_line: bytes) -> bytes:
    start = b"GET /bad HTTP/1.1\r\nHost: localhost\r\nX-Pad: "
    tail = b"\r\n" + bad_line + b"\r\n\r\n"
    head = start + b"a" * (total - len(start) - len(tail)) + tail
    assert len(head) == total
    return head


@pytest.mark.parametrize("lookahead", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    "bad_line, status",
    [(b"Bad\x00Header: x", 400), (b"Content-Length: +1", 400), (b"Transfer-Encoding: gzip, chunked", 501)],
    ids=["nul-in-name", "bad-content-length", "unsupported-coding"],
)
def test_pipelined_request_after_a_bad_8192_byte_head_never_runs(
    recorder, lookahead, bad_line, status
):
    canary = b"GET /canary HTTP/1.1\r\nHost: localhost\r\n\r\n"
    data = _padded_bad_head(8192, bad_line) + canary
    with ThreadedServer(hello.app, channel_request_lookahead=lookahead) as server:
        target = tcp_address(server)
        with RawConnection(target) as conn:
            conn.send(data)
            response = conn.read_response()
            assert response.status == status, response
            assert "close" in response.connection_tokens()
            assert conn.closed_by_server()
            assert conn.buffer == b"", "a second response followed: %r" % conn.buffer[:200]
        assert get(target, "/after").status == 200
    assert "/canary" not in recorder.notes("hit")
    assert recorder.notes("hit") == ["/after"]


# 3.0.2: untrusted forwarded hops never reach the application -----------------------


def test_trusted_proxy_forwarded_for_keeps_only_trusted_hops():
    with ThreadedServer(
        echo.app,
        trusted_proxy="127.0.0.1",
        trusted_proxy_headers="x-forwarded-for",
        trusted_proxy_count=1,
    ) as server:
        environ = get(
            tcp_address(server), "/", headers=[("X-Forwarded-For", "1.1.1.1, 2.2.2.2")]
        ).json()
    assert environ["REMOTE_ADDR"] == "2.2.2.2"
    assert environ["HTTP_X_FORWARDED_FOR"] == "2.2.2.2"


@pytest.mark.parametrize("name", ["X-Forwarded-Proto", "X-Forwarded-Port"])
def test_a_client_cannot_choose_the_scheme_behind_two_proxies(recorder, name):
    """Audit AC: with a count of 2 (two proxies append to X-Forwarded-For)
    and one proxy that appends X-Forwarded-Proto, the second value from
    the right was the client's.  Several values are refused, as Waitress does."""
    value = "https, http" if name == "X-Forwarded-Proto" else "443, 8080"
    with ThreadedServer(
        hello.app,
        trusted_proxy="127.0.0.1",
        trusted_proxy_headers="x-forwarded-for x-forwarded-proto x-forwarded-port",
        trusted_proxy_count=2,
    ) as server:
        response = get(tcp_address(server), "/", headers=[(name, value)])
    assert response.status == 400
    assert b'Header "%s" malformed. Unspecified behavior for multiple values' % name.encode() in response.body
    assert recorder.notes("hit") == []


def test_untrusted_proxy_headers_are_removed_by_default(echo_target):
    environ = get(
        echo_target,
        "/",
        headers=[
            ("X-Forwarded-For", "6.6.6.6"),
            ("X-Forwarded-Proto", "https"),
            ("Forwarded", "for=6.6.6.6"),
        ],
    ).json()
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.url_scheme"] == "http"
    for key in ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED"):
        assert key not in environ
