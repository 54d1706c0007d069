"""waitress.parser.HTTPRequestParser: Waitress 3.0.2's per-request parser interface.

Code in the wild drives this object directly (an asyncio protocol, a test of
an application's body limits, a subclass adding header rules); these tests
pin the interface it relies on and that the rules are the server's.
"""

import copy
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from waitress import buffers, utilities
from waitress.adjustments import Adjustments
from waitress.parser import (
    HEADER_FIELD_RE,
    HTTPRequestParser,
    ParsingError,
    TransferEncodingNotImplemented,
    crack_first_line,
    get_header_lines,
    split_uri,
    unquote_bytes_to_wsgi,
)
from waitress.receiver import ChunkedReceiver, FixedStreamReceiver


def feed(parser, data):
    """Feed ``data`` as Waitress's channel does; return the bytes left over."""
    while data and not parser.completed:
        taken = parser.received(data)
        data = data[taken:]
    return data


def parse(data, **kw):
    parser = HTTPRequestParser(Adjustments(**kw))
    rest = feed(parser, data)
    return parser, rest


POST = (
    b"POST /a%20b/c?x=1&y=%41 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Content-Type: text/plain\r\n"
    b"X-Forwarded-For: 192.0.2.1\r\n"
    b"x-forwarded-for: 192.0.2.2\r\n"
    b"X_Forwarded_For: forged\r\n"
    b"Content-Length: 5\r\n"
    b"\r\n"
    b"hello"
)

CHUNKED = (
    b"PUT /up HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"5;name=value\r\nhello\r\n"
    b"6\r\n world\r\n"
    b"0\r\n"
    b"Trailer-Field: x\r\n"
    b"\r\n"
)


def test_a_request_with_a_body_and_the_next_one_pipelined():
    parser, rest = parse(POST + b"GET / HTTP/1.1\r\n")
    assert rest == b"GET / HTTP/1.1\r\n"
    assert parser.completed and parser.error is None
    assert (parser.command, parser.version) == ("POST", "1.1")
    assert (parser.path, parser.query) == ("/a b/c", "x=1&y=%41")
    assert parser.request_uri == "/a%20b/c?x=1&y=%41"
    assert parser.first_line == b"POST /a%20b/c?x=1&y=%41 HTTP/1.1"
    assert parser.url_scheme == "http"
    assert parser.headers == {
        "HOST": "example.com",
        "CONTENT_TYPE": "text/plain",
        "X_FORWARDED_FOR": "192.0.2.1, 192.0.2.2",
        "CONTENT_LENGTH": "5",
    }
    assert parser.content_length == 5 and not parser.chunked
    assert isinstance(parser.body_rcv, FixedStreamReceiver)
    assert parser.get_body_stream().read() == b"hello"
    assert not parser.connection_close


def test_received_stops_at_the_end_of_the_head_then_takes_the_body():
    parser = HTTPRequestParser(Adjustments())
    head_size = POST.index(b"\r\n\r\n") + 4
    assert parser.received(POST) == head_size
    assert parser.headers_finished and not parser.completed
    assert parser.received(POST[head_size:] + b"extra") == 5
    assert parser.completed
    assert parser.received(b"more") == 0


def test_a_head_sent_a_byte_at_a_time():
    parser = HTTPRequestParser(Adjustments())
    taken = 0
    while not parser.headers_finished:
        taken += parser.received(POST[taken : taken + 1])
    assert POST[taken:] == b"hello" and parser.headers["HOST"] == "example.com"
    assert parser.header_plus == POST[: taken - 4]


def test_a_chunked_body_is_dechunked_and_given_a_length():
    parser, rest = parse(CHUNKED + b"NEXT")
    assert rest == b"NEXT"
    assert parser.completed and parser.error is None
    assert parser.chunked and isinstance(parser.body_rcv, ChunkedReceiver)
    assert parser.get_body_stream().read() == b"hello world"
    assert parser.headers["CONTENT_LENGTH"] == "11"
    assert "TRANSFER_ENCODING" not in parser.headers


def test_a_request_without_a_body_completes_with_its_head():
    parser, rest = parse(b"GET /x HTTP/1.0\r\nHost: h\r\n\r\nGET")
    assert parser.completed and rest == b"GET"
    assert parser.body_rcv is None
    assert parser.get_body_stream().read() == b""
    assert parser.connection_close  # HTTP/1.0 without keep-alive


def test_connection_keep_alive_and_close_and_expect_continue():
    parser, _ = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert not parser.connection_close
    parser, _ = parse(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert parser.connection_close
    parser = HTTPRequestParser(Adjustments())
    parser.received(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
    assert parser.expect_continue and not parser.completed


def test_blank_lines_alone_make_an_empty_request():
    parser, _ = parse(b"\r\n\r\n")
    assert parser.empty and parser.completed and parser.error is None


def test_leading_blank_lines_are_skipped():
    parser, _ = parse(b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert parser.completed and parser.error is None and parser.command == "GET"


@pytest.mark.parametrize(
    "data, family, code",
    [
        (b"get / HTTP/1.1\r\nHost: h\r\n\r\n", utilities.BadRequest, 400),
        (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", utilities.BadRequest, 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", utilities.BadRequest, 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", utilities.BadRequest, 400),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            utilities.ServerNotImplemented,
            501,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n",
            utilities.BadRequest,
            400,
        ),
    ],
)
def test_bad_input_completes_with_the_servers_error(data, family, code):
    parser, _ = parse(data)
    assert parser.completed
    assert type(parser.error) is family
    assert parser.error.code == code and parser.error.body


def test_an_unsupported_version_keeps_its_505():
    parser, _ = parse(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n")
    assert parser.error.code == 505
    assert isinstance(parser.error, utilities.Error)


def test_a_head_at_the_header_limit_is_431_terminated_or_not():
    parser, _ = parse(b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 200, max_request_header_size=100)
    assert type(parser.error) is utilities.RequestHeaderFieldsTooLarge
    parser, _ = parse(b"GET / HTTP/1.1\r\nX: " + b"a" * 200 + b"\r\n\r\n", max_request_header_size=100)
    assert parser.error.code == 431


def test_a_content_length_at_the_body_limit_is_413_before_any_body():
    parser = HTTPRequestParser(Adjustments(max_request_body_size=10))
    parser.received(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
    assert parser.completed and type(parser.error) is utilities.RequestEntityTooLarge


def test_a_chunked_body_reaching_the_limit_is_413():
    body = b"8\r\n12345678\r\n" * 3 + b"0\r\n\r\n"
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    parser, _ = parse(head + body, max_request_body_size=20)
    assert parser.error.code == 413
    # Counted as sent, as Waitress counts it: 3 x 13 bytes of chunks, then 5.
    parser, _ = parse(head + body, max_request_body_size=44)
    assert parser.error.code == 413
    parser, _ = parse(head + body, max_request_body_size=45)
    assert parser.error is None and parser.get_body_stream().read() == b"12345678" * 3


def test_a_large_body_spills_to_a_temporary_file_and_close_releases_it():
    body = b"x" * 50000
    parser, _ = parse(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 50000\r\n\r\n" + body,
        inbuf_overflow=10000,
    )
    buf = parser.body_rcv.getbuf()
    assert buf.overflowed and isinstance(buf.buf, buffers.TempfileBasedBuffer)
    stream = parser.get_body_stream()
    assert stream.read() == body
    parser.close()
    assert stream.closed


class NarrowingParser(HTTPRequestParser):
    """As applications do: add a rule, then narrow the body limit per route."""

    def parse_header(self, header_plus):
        line_end = header_plus.find(b"\r\n")
        for line in get_header_lines(header_plus[line_end + 2 :]):
            field = HEADER_FIELD_RE.match(line)
            if field and field.group("name").lower() == b"x-refuse":
                raise ParsingError("refused by the application's rule")
        super().parse_header(header_plus)
        if self.path == "/contact":
            self.adj = copy.copy(self.adj)  # never narrow the shared one
            self.adj.max_request_body_size = 1001


def test_a_subclass_rule_in_parse_header_is_a_400():
    parser = NarrowingParser(Adjustments())
    feed(parser, b"GET / HTTP/1.1\r\nHost: h\r\nX-Refuse: 1\r\n\r\n")
    assert parser.error.code == 400 and "application's rule" in parser.error.body


@pytest.mark.parametrize("chunked", [False, True])
def test_a_narrowed_limit_refuses_the_body_before_it_reaches_the_disk(chunked, monkeypatch):
    def no_disk(*args, **kw):
        pytest.fail("the body was spilled to a temporary file")

    monkeypatch.setattr(buffers, "TempfileBasedBuffer", no_disk)
    size = 4000
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % size
    parser = NarrowingParser(Adjustments(inbuf_overflow=1001))
    parser.received(b"POST /contact HTTP/1.1\r\nHost: h\r\n" + framing + b"\r\n\r\n")
    sent = 0
    while sent < size and not parser.completed:
        data = b"y" * 500
        if chunked:
            data = b"1f4\r\n" + data + b"\r\n"
        for at in range(0, len(data), 64):
            parser.received(data[at : at + 64])
        sent += 500
    assert parser.completed and parser.error.code == 413
    parser.close()


REQUESTS = [POST, CHUNKED, b"GET /?q HTTP/1.1\r\nHost: h\r\n\r\n"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(REQUESTS), st.lists(st.integers(1, 40), max_size=30))
def test_any_split_of_the_bytes_gives_the_same_request(request_bytes, cuts):
    whole, _ = parse(request_bytes)
    parser = HTTPRequestParser(Adjustments())
    data, pieces = request_bytes, []
    for cut in cuts:
        pieces.append(data[:cut])
        data = data[cut:]
    pieces.append(data)
    for piece in pieces:
        assert feed(parser, piece) == b""
    assert parser.completed and parser.error is None
    assert parser.headers == whole.headers
    assert (parser.command, parser.path, parser.query) == (whole.command, whole.path, whole.query)
    assert parser.get_body_stream().read() == whole.get_body_stream().read()


def test_parse_header_raises_the_legacy_exceptions():
    parser = HTTPRequestParser(Adjustments())
    with pytest.raises(ParsingError):
        parser.parse_header(b"GET / HTTP/1.1\r\nBad Name: x")
    with pytest.raises(TransferEncodingNotImplemented):
        parser.parse_header(b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br, chunked")
    with pytest.raises(ParsingError):  # not ending with chunked: a 400 (RFC 9112 6.3)
        parser.parse_header(b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br")


def test_helper_functions():
    assert split_uri(b"/p%2Fq?a=b#frag") == ("", "", "/p/q", "a=b", "frag")
    assert split_uri(b"https://example.com:8443/x?y") == ("https", "example.com:8443", "/x", "y", "")
    assert crack_first_line(b"GET /x HTTP/1.0") == (b"GET", b"/x", b"1.0")
    with pytest.raises(ParsingError):
        crack_first_line(b"GET  /x HTTP/1.0")
    assert get_header_lines(b"A: 1\r\nB: 2") == [b"A: 1", b"B: 2"]
    with pytest.raises(ParsingError):
        get_header_lines(b"A: 1\r\n continued")
    with pytest.raises(ParsingError):
        get_header_lines(b"A: 1\nB: 2")
    assert unquote_bytes_to_wsgi(b"%C3%A9") == "\xc3\xa9"


def test_the_error_renders_as_the_servers_error_page():
    error = utilities.BadRequest("Bad thing")
    status, headers, body = error.to_response()
    assert status == "400 Bad Request"
    assert body == b"Bad Request\r\n\r\nBad thing\r\n\r\n(generated by server)"
    assert headers == [("Content-Type", "text/plain; charset=utf-8")]  # Waitress's, exactly
    assert error.to_response("waitress")[2].endswith(b"(generated by waitress)")
    seen = []
    chunks = list(error.wsgi_response({}, lambda s, h: seen.append(s)))
    assert seen == ["400 Bad Request"] and chunks == [body]
    codes = {
        utilities.BadRequest: 400,
        utilities.RequestHeaderFieldsTooLarge: 431,
        utilities.RequestEntityTooLarge: 413,
        utilities.InternalServerError: 500,
        utilities.ServerNotImplemented: 501,
    }
    for family, code in codes.items():
        assert family("x").code == code and issubclass(family, utilities.Error)
    assert issubclass(utilities.RequestEntityTooLarge, utilities.BadRequest)
    assert issubclass(utilities.RequestHeaderFieldsTooLarge, utilities.BadRequest)
    assert utilities.RequestEntityTooLarge("x").reason == "Request Entity Too Large"
    assert utilities.find_double_newline(b"a\r\n\r\nb") == 5
    assert utilities.find_double_newline(b"a\r\n") == -1


def test_find_double_newline_at_the_very_start():
    """Data that begins with CRLF CRLF (an empty head, or what is left after a
    request line was cut off) has its end at index 4; code that drives the
    old parser by hand reads -1 as "keep waiting" and would wait for ever."""
    assert utilities.find_double_newline(b"\r\n\r\nbody") == 4
    assert utilities.find_double_newline(b"\r\n\r\n") == 4


def test_the_receivers_alone():
    fixed = FixedStreamReceiver(4, buffers.OverflowableBuffer(100))
    assert fixed.received(b"abcdef") == 4 and fixed.completed
    assert fixed.getfile().read() == b"abcd" and len(fixed) == 4
    chunked = ChunkedReceiver(buffers.OverflowableBuffer(100))
    assert chunked.received(b"3\r\nabc\r\n") == 8 and not chunked.completed
    assert chunked.received(b"0\r\n\r\nrest") == 5
    assert chunked.completed and chunked.all_chunks_received
    assert chunked.getbuf().get() == b"abc"
    assert ChunkedReceiver(buffers.OverflowableBuffer(100)).max_body_size is None
    limited = ChunkedReceiver(buffers.OverflowableBuffer(100), max_body_size=5)
    assert limited.max_body_size == 5
    limited.received(b"5\r\nabcde\r\n")
    assert limited.completed and limited.error.code == 413 and len(limited) == 0
    bad = ChunkedReceiver(io.BytesIO())
    bad.received(b"zz\r\n")
    assert bad.completed and bad.error.code == 400
