"""RequestParser behaviour that data files cannot show: the event sequence,
buffering, limits at their exact boundaries, copying, the failed state, and
linear time on hostile input (bounded by a timeout, never by a stopwatch)."""

import traceback
from typing import List, Union

import pytest
from waitress_http.errors import (
    BadRequest,
    HTTPError,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    URITooLong,
)
from waitress_http.events import END_OF_MESSAGE, NEED_DATA, Body, EndOfMessage, RequestHead
from waitress_http.head import MAX_HEADER_FIELDS
from waitress_http.parser import MAX_EMPTY_LINES, RequestParser

Event = Union[RequestHead, Body, EndOfMessage]

GET = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"


def drain(parser: RequestParser) -> List[Event]:
    """Every event available now, up to NEED_DATA."""
    events = []
    while True:
        event = parser.next_event()
        if event is NEED_DATA:
            return events
        events.append(event)


def post(body: bytes, target: str = "/") -> bytes:
    return f"POST {target} HTTP/1.1\r\nHost: example.com\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def chunked(*chunks: bytes, trailer: bytes = b"") -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return (
        b"POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
        + body
        + b"0\r\n"
        + trailer
        + b"\r\n"
    )


class TestEventSequence:
    def test_new_parser_needs_data(self) -> None:
        parser = RequestParser()
        assert parser.next_event() is NEED_DATA
        assert parser.buffered == 0

    def test_request_without_body_ends_right_after_its_head(self) -> None:
        parser = RequestParser()
        parser.feed(GET)
        head = parser.next_event()
        assert isinstance(head, RequestHead)
        assert (head.method, head.target, head.version) == ("GET", "/", "1.1")
        assert head.headers == [("Host", "example.com")]
        assert head.content_length is None and not head.chunked
        assert parser.next_event() is END_OF_MESSAGE
        assert parser.next_event() is NEED_DATA

    def test_content_length_body(self) -> None:
        parser = RequestParser()
        parser.feed(post(b"hello"))
        head = parser.next_event()
        assert isinstance(head, RequestHead) and head.content_length == 5
        assert parser.next_event() == Body(b"hello")
        assert parser.next_event() is END_OF_MESSAGE

    def test_body_pieces_follow_what_was_fed(self) -> None:
        raw = post(b"0123456789")
        parser = RequestParser()
        parser.feed(raw[:-7])
        assert isinstance(parser.next_event(), RequestHead)
        assert parser.next_event() == Body(b"012")
        assert parser.next_event() is NEED_DATA
        parser.feed(raw[-7:-3])
        assert parser.next_event() == Body(b"3456")
        parser.feed(raw[-3:])
        assert parser.next_event() == Body(b"789")
        assert parser.next_event() is END_OF_MESSAGE

    def test_chunked_body_is_dechunked(self) -> None:
        parser = RequestParser()
        parser.feed(chunked(b"abc", b"de", trailer=b"X-Sum: 5\r\n"))
        events = drain(parser)
        assert isinstance(events[0], RequestHead) and events[0].chunked
        assert events[0].content_length is None
        assert events[1:] == [Body(b"abc"), Body(b"de"), END_OF_MESSAGE]

    def test_chunk_split_inside_its_data(self) -> None:
        raw = chunked(b"abcdef")
        split = raw.index(b"abcdef") + 2
        parser = RequestParser()
        parser.feed(raw[:split])
        assert [type(e) for e in drain(parser)] == [RequestHead, Body]
        parser.feed(raw[split:])
        assert drain(parser) == [Body(b"cdef"), END_OF_MESSAGE]

    def test_need_data_is_stable(self) -> None:
        parser = RequestParser()
        parser.feed(GET[:10])
        assert parser.next_event() is NEED_DATA
        assert parser.next_event() is NEED_DATA
        parser.feed(GET[10:])
        assert isinstance(parser.next_event(), RequestHead)

    def test_empty_feed_is_ignored(self) -> None:
        parser = RequestParser()
        parser.feed(b"")
        parser.feed(GET)
        parser.feed(b"")
        assert [type(e) for e in drain(parser)] == [RequestHead, EndOfMessage]

    def test_leading_empty_line_split_across_feeds(self) -> None:
        parser = RequestParser()
        parser.feed(b"\r")
        assert parser.next_event() is NEED_DATA
        parser.feed(b"\n")
        assert parser.next_event() is NEED_DATA
        parser.feed(GET)
        assert isinstance(parser.next_event(), RequestHead)

    def test_too_many_empty_lines(self) -> None:
        parser = RequestParser()
        for _ in range(MAX_EMPTY_LINES):
            parser.feed(b"\r\n")
            assert parser.next_event() is NEED_DATA
        parser.feed(b"\r\n")
        with pytest.raises(BadRequest):
            parser.next_event()


class TestPipelining:
    def test_two_requests_in_one_feed(self) -> None:
        parser = RequestParser()
        parser.feed(GET.replace(b"/", b"/a", 1) + GET.replace(b"/", b"/b", 1))
        events = drain(parser)
        assert [type(e) for e in events] == [RequestHead, EndOfMessage] * 2
        assert [e.target for e in events if isinstance(e, RequestHead)] == ["/a", "/b"]

    def test_body_then_next_request(self) -> None:
        parser = RequestParser()
        parser.feed(post(b"GET / HTTP/1.1\r\n") + GET)
        events = drain(parser)
        assert events[1] == Body(b"GET / HTTP/1.1\r\n")
        assert [type(e) for e in events] == [RequestHead, Body, EndOfMessage, RequestHead, EndOfMessage]

    def test_chunked_then_next_request(self) -> None:
        parser = RequestParser()
        parser.feed(chunked(b"x") + GET)
        assert [type(e) for e in drain(parser)] == [
            RequestHead,
            Body,
            EndOfMessage,
            RequestHead,
            EndOfMessage,
        ]

    def test_buffered_counts_what_is_not_parsed_yet(self) -> None:
        raw = post(b"abc") + GET
        parser = RequestParser()
        parser.feed(raw)
        assert parser.buffered == len(raw)
        parser.next_event()  # head
        assert parser.buffered == 3 + len(GET)
        parser.next_event()  # body
        assert parser.buffered == len(GET)
        parser.next_event()  # end
        assert parser.buffered == len(GET)
        parser.next_event()  # next head
        assert parser.buffered == 0

    def test_buffered_keeps_a_partial_next_request(self) -> None:
        parser = RequestParser()
        parser.feed(GET + b"GET /next")
        drain(parser)
        assert parser.buffered == len(b"GET /next")
        parser.feed(b" HTTP/1.0\r\n\r\n")
        head = parser.next_event()
        assert isinstance(head, RequestHead) and head.target == "/next"


class TestCopies:
    def test_body_fed_alone_is_handed_back_without_a_copy(self) -> None:
        parser = RequestParser()
        body = b"x" * 100_000
        parser.feed(post(body)[: -len(body)])
        assert isinstance(parser.next_event(), RequestHead)
        parser.feed(body)
        event = parser.next_event()
        assert isinstance(event, Body) and event.data is body

    def test_chunk_data_fed_alone_is_not_copied(self) -> None:
        parser = RequestParser()
        parser.feed(chunked()[: -len(b"0\r\n\r\n")] + b"186a0\r\n")
        assert isinstance(parser.next_event(), RequestHead)
        assert parser.next_event() is NEED_DATA  # reads the chunk-size line
        data = b"y" * 100_000
        parser.feed(data)
        event = parser.next_event()
        assert isinstance(event, Body) and event.data is data

    def test_callers_buffer_may_be_reused(self) -> None:
        parser = RequestParser()
        scratch = bytearray(GET[:20])
        parser.feed(scratch)
        scratch[:] = b"X" * 20
        parser.feed(memoryview(GET)[20:])
        head = parser.next_event()
        assert isinstance(head, RequestHead) and head.headers == [("Host", "example.com")]

    def test_body_from_a_grown_buffer_is_bytes(self) -> None:
        parser = RequestParser()
        raw = post(b"abcdef")
        parser.feed(raw[:3])
        parser.next_event()
        parser.feed(raw[3:])
        events = drain(parser)
        assert events[1] == Body(b"abcdef") and type(events[1].data) is bytes


class TestHeaderLimit:
    @pytest.mark.parametrize("extra", [-1, 0, 1])
    def test_terminated_head_at_the_limit(self, extra: int) -> None:
        raw = GET
        parser = RequestParser(max_header_size=len(raw) + extra)
        parser.feed(raw)
        if extra > 0:
            assert isinstance(parser.next_event(), RequestHead)
        else:
            with pytest.raises(RequestHeaderFieldsTooLarge) as info:
                parser.next_event()
            assert info.value.code == 431 and info.value.version is None

    def test_unterminated_head_fails_as_soon_as_it_reaches_the_limit(self) -> None:
        parser = RequestParser(max_header_size=100)
        parser.feed(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 75)
        assert parser.buffered == 99
        assert parser.next_event() is NEED_DATA
        parser.feed(b"a")
        with pytest.raises(RequestHeaderFieldsTooLarge):
            parser.next_event()

    def test_default_limit(self) -> None:
        start = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
        end = b"\r\n\r\n"
        fits = start + b"v" * (262144 - 1 - len(start) - len(end)) + end
        parser = RequestParser()
        parser.feed(fits)
        assert isinstance(parser.next_event(), RequestHead)
        parser = RequestParser()
        parser.feed(fits.replace(b"X-Big: ", b"X-Big: v"))
        with pytest.raises(RequestHeaderFieldsTooLarge):
            parser.next_event()

    @pytest.mark.parametrize("fields, refused", [(MAX_HEADER_FIELDS, False), (MAX_HEADER_FIELDS + 1, True)])
    def test_the_number_of_fields_is_bounded(self, fields: int, refused: bool) -> None:
        """Well within the size limit, 40,000 one-byte fields cost 3 MB of
        pairs per head waiting for a worker: past MAX_HEADER_FIELDS, 431."""
        parser = RequestParser()
        parser.feed(b"HEAD / HTTP/1.1\r\nHost: x\r\n" + b"A: v\r\n" * (fields - 1) + b"\r\n")
        if not refused:
            head = parser.next_event()
            assert isinstance(head, RequestHead) and len(head.headers) == fields
            return
        with pytest.raises(RequestHeaderFieldsTooLarge) as info:
            parser.next_event()
        assert (info.value.code, info.value.version, info.value.method) == (431, "1.1", "HEAD")
        assert "limit of %d fields" % MAX_HEADER_FIELDS in info.value.detail

    @pytest.mark.parametrize("end", [b"", b" HTTP/1.1\r\nHost: x\r\n\r\n"])
    def test_a_request_line_alone_past_the_limit_is_a_uri_too_long(self, end: bytes) -> None:
        """RFC 9112 3: 414 for a target longer than the server parses."""
        parser = RequestParser(max_header_size=100)
        parser.feed(b"GET /" + b"a" * 100 + end)
        with pytest.raises(URITooLong) as info:
            parser.next_event()
        assert info.value.code == 414 and info.value.method == "GET"

    def test_garbage_past_the_limit_is_not_called_a_uri(self) -> None:
        parser = RequestParser(max_header_size=100)
        parser.feed(b"G" * 100)
        with pytest.raises(RequestHeaderFieldsTooLarge):
            parser.next_event()

    def test_limit_applies_to_each_pipelined_head(self) -> None:
        parser = RequestParser(max_header_size=len(GET) + 1)
        parser.feed(GET * 3)
        assert [type(e) for e in drain(parser)] == [RequestHead, EndOfMessage] * 3


class TestTrailerLimit:
    def test_trailers_count_on_their_own(self) -> None:
        trailer = b"X-T: " + b"t" * 100 + b"\r\n"
        raw = chunked(b"x", trailer=trailer)
        section = len(trailer) + 2
        parser = RequestParser(max_header_size=section)
        parser.feed(raw)
        assert isinstance(parser.next_event(), RequestHead)
        assert parser.next_event() == Body(b"x")
        with pytest.raises(RequestHeaderFieldsTooLarge) as info:
            parser.next_event()
        assert info.value.version == "1.1"
        parser = RequestParser(max_header_size=section + 1)
        parser.feed(raw)
        assert drain(parser)[-1] is END_OF_MESSAGE


class TestBodyLimit:
    @pytest.mark.parametrize("length", [9, 10, 11])
    def test_content_length_at_the_limit(self, length: int) -> None:
        parser = RequestParser(max_body_size=10)
        parser.feed(post(b"b" * length)[:-length])  # the body is never sent
        if length < 10:
            assert isinstance(parser.next_event(), RequestHead)
        else:
            with pytest.raises(RequestEntityTooLarge) as info:
                parser.next_event()
            assert info.value.code == 413 and info.value.version == "1.1"

    def test_chunked_total_reaching_the_limit(self) -> None:
        """A chunked body counts as sent, as Waitress counts it: "4\r\n1234\r\n"
        is 9 bytes, and the last chunk and the empty trailer section 5."""
        parser = RequestParser(max_body_size=25)
        parser.feed(chunked(b"1234", b"56789"))  # 9 + 10 + 5 bytes
        assert [type(e) for e in drain(parser)][-1] is EndOfMessage
        parser = RequestParser(max_body_size=25)
        parser.feed(chunked(b"1234", b"567890"))  # 9 + 11 + 5 bytes: 10 of data
        with pytest.raises(RequestEntityTooLarge):
            drain(parser)

    def test_the_last_chunk_and_the_trailers_count_too(self) -> None:
        body = chunked(b"12345678", trailer=b"X-Trailer: " + b"t" * 50 + b"\r\n")
        sent = len(body) - body.index(b"\r\n\r\n") - 4
        parser = RequestParser(max_body_size=sent + 1)
        parser.feed(body)
        assert [type(e) for e in drain(parser)][-1] is EndOfMessage
        parser = RequestParser(max_body_size=sent)
        parser.feed(body)
        with pytest.raises(RequestEntityTooLarge):
            drain(parser)

    def test_chunk_extensions_count_against_the_limit(self) -> None:
        """Counted as data alone, 4 KiB of extension could ride on every
        byte: a 1 MB limit let a client make the server parse 4 GB."""
        chunk = b"1;a=" + b"b" * 4000 + b"\r\nx\r\n"
        parser = RequestParser(max_body_size=100000)
        parser.feed(chunked()[: -len(b"0\r\n\r\n")] + chunk * 24)
        assert len([e for e in drain(parser) if isinstance(e, Body)]) == 24
        parser.feed(chunk)
        with pytest.raises(RequestEntityTooLarge):
            drain(parser)

    def test_chunk_refused_before_its_data_arrives(self) -> None:
        parser = RequestParser(max_body_size=1000)
        parser.feed(chunked()[: -len(b"0\r\n\r\n")] + b"3e8\r\n")
        assert isinstance(parser.next_event(), RequestHead)
        with pytest.raises(RequestEntityTooLarge):
            parser.next_event()


class TestFailure:
    def test_error_repeats_and_later_bytes_are_ignored(self) -> None:
        parser = RequestParser()
        parser.feed(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
        with pytest.raises(BadRequest) as first:
            parser.next_event()
        assert parser.buffered == 0
        parser.feed(GET)
        assert parser.buffered == 0
        for _ in range(50):
            with pytest.raises(BadRequest) as again:
                parser.next_event()
            assert again.value is first.value
        # Re-raising must not grow the traceback without bound.
        assert len(traceback.extract_tb(again.value.__traceback__)) < 5

    def test_the_kept_error_keeps_none_of_the_refused_bytes_alive(self) -> None:
        """The error stays with the parser (it is raised again), and a
        traceback would keep the frames it came through, whose locals held
        the refused head: up to max_header_size per refused connection."""
        parser = RequestParser(max_header_size=1024)
        parser.feed(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 8192)
        with pytest.raises(HTTPError) as info:
            parser.next_event()
        held = [
            name
            for frame, _ in traceback.walk_tb(info.value.__traceback__)
            for name, value in frame.f_locals.items()
            if isinstance(value, (bytes, bytearray)) and len(value) >= 1024
        ]
        assert held == []
        assert info.value.__context__ is None and info.value.__cause__ is None

    @pytest.mark.parametrize(
        "raw, method",
        [
            (b"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "HEAD"),
            (b"HEAD / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "HEAD"),
            (b"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n", "HEAD"),
            (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "GET"),
            # Refused whole, the head still begins with its method.
            (b"GET / HTTP/1.1 extra\r\n\r\n", "GET"),
            (b"HEAD / HTTP/2.0\r\nHost: x\r\n\r\n", "HEAD"),  # 505
            (b"\r\nHEAD /" + b"a" * 2000, "HEAD"),  # 431 before the line ends
            (b"HEAD / HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n", "HEAD"),  # 431
            (b"\x16\x03\x01\x00", None),  # not HTTP
            (b"HE{D / HTTP/1.1\r\n\r\n", None),  # not a token
            (b"A" * 40 + b" / HTTP/2.0\r\n\r\n", None),  # longer than any method
        ],
    )
    def test_errors_name_the_method_the_head_begins_with(self, raw, method) -> None:
        parser = RequestParser(max_header_size=1024, max_body_size=1000)
        parser.feed(raw)
        with pytest.raises(HTTPError) as info:
            parser.next_event()
        assert info.value.method == method

    def test_version_is_known_after_the_request_line(self) -> None:
        parser = RequestParser()
        parser.feed(b"GET / HTTP/1.0\r\nBad Name: x\r\n\r\n")
        with pytest.raises(BadRequest) as info:
            parser.next_event()
        assert info.value.version == "1.0"

    def test_version_unknown_for_a_bad_request_line(self) -> None:
        parser = RequestParser()
        parser.feed(b"GET / HTTP/1.1 extra\r\n\r\n")
        with pytest.raises(BadRequest) as info:
            parser.next_event()
        assert info.value.version is None

    def test_not_http_is_refused_without_waiting(self) -> None:
        parser = RequestParser()
        parser.feed(b"\x16\x03\x01\x00")
        with pytest.raises(BadRequest):
            parser.next_event()

    @pytest.mark.parametrize(
        "start", [b"GET / HTTP/1.1\nHost: x\n", b"GET / HTTP/1.1\r\nHost: x\n\r\n", b"GET /\rx"]
    )
    def test_lf_only_client_is_refused_without_waiting(self, start) -> None:
        # No CRLFCRLF will ever end these heads: waiting for one would hold
        # the connection until the timeout.
        parser = RequestParser()
        parser.feed(start)
        with pytest.raises(BadRequest, match="Bare CR or LF"):
            parser.next_event()

    def test_a_cr_at_the_end_of_a_read_waits_for_its_lf(self) -> None:
        parser = RequestParser()
        parser.feed(b"GET / HTTP/1.1\r")
        assert parser.next_event() is NEED_DATA
        parser.feed(b"\nHost: x\r")
        assert parser.next_event() is NEED_DATA
        parser.feed(b"\n\r\n")
        assert isinstance(parser.next_event(), RequestHead)

    def test_errors_carry_a_detail(self) -> None:
        parser = RequestParser()
        parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n")
        with pytest.raises(HTTPError) as info:
            parser.next_event()
        assert info.value.code == 400 and "Content-Length" in info.value.detail


class TestHead:
    def test_expect_continue_only_for_http11(self) -> None:
        for version, expected in [(b"1.1", True), (b"1.0", False)]:
            parser = RequestParser()
            parser.feed(
                b"PUT / HTTP/" + version + b"\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"
            )
            head = parser.next_event()
            assert isinstance(head, RequestHead) and head.expect_continue is expected

    @pytest.mark.parametrize(
        "version, connection, keep_alive",
        [
            (b"1.1", None, True),
            (b"1.1", b"close", False),
            (b"1.1", b"Close", False),
            (b"1.1", b"close, foo", False),
            (b"1.1", b"keep-alive", True),
            (b"1.1", b"closed", True),
            (b"1.0", None, False),
            (b"1.0", b"keep-alive", True),
            (b"1.0", b"Keep-Alive, Upgrade", True),
            (b"1.0", b"keep-alive, close", False),
        ],
    )
    def test_keep_alive(self, version: bytes, connection: bytes, keep_alive: bool) -> None:
        lines = [b"GET / HTTP/" + version, b"Host: x"]
        if connection is not None:
            lines.append(b"Connection: " + connection)
        parser = RequestParser()
        parser.feed(b"\r\n".join(lines) + b"\r\n\r\n")
        head = parser.next_event()
        assert isinstance(head, RequestHead) and head.keep_alive is keep_alive

    def test_values_are_latin1_text(self) -> None:
        parser = RequestParser()
        parser.feed(b"GET /%C3%A9 HTTP/1.1\r\nHost: x\r\nX-Name: Andr\xe9\r\n\r\n")
        head = parser.next_event()
        assert isinstance(head, RequestHead)
        assert head.target == "/%C3%A9" and head.headers[1] == ("X-Name", "Andr\xe9")


@pytest.mark.timeout(60)
class TestLinearTime:
    """Each input would take minutes if some step were quadratic."""

    def test_redos_header_values(self) -> None:
        for value in [
            b"x" * 200_000 + b"\x10",
            b" " * 200_000 + b"\x10",
            b"x " * 100_000 + b"\x10",
            b"a\t" * 100_000 + b"\x7f",
        ]:
            parser = RequestParser()
            parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\nBad: " + value + b"\r\n\r\n")
            with pytest.raises(BadRequest):
                parser.next_event()

    def test_many_lines_failing_late(self) -> None:
        # Bare LFs everywhere and the CRs bunched at the end: no line may be
        # searched beyond itself.
        head = b"GET / HTTP/1.1\r\n" + b"A:x\n" * 50_000 + b"\r" * 50_000 + b"\r\n\r\n"
        parser = RequestParser()
        parser.feed(head)
        with pytest.raises(BadRequest):
            parser.next_event()

    def test_many_short_bad_lines(self) -> None:
        parser = RequestParser()
        parser.feed(b"GET / HTTP/1.1\r\n" + b"a b:c\r\n" * 30_000 + b"\r\n")
        with pytest.raises(BadRequest):
            parser.next_event()

    def test_head_fed_one_byte_at_a_time(self) -> None:
        raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 150_000 + b"\r\n\r\n"
        parser = RequestParser()
        for index in range(len(raw) - 1):
            parser.feed(raw[index : index + 1])
            assert parser.next_event() is NEED_DATA
        parser.feed(raw[-1:])
        head = parser.next_event()
        assert isinstance(head, RequestHead) and len(head.headers[1][1]) == 150_000

    def test_search_resumes_where_it_stopped(self) -> None:
        # White-box companion of the test above: an unfinished head is not
        # searched again from its start on every feed.
        parser = RequestParser()
        parser.feed(b"GET / HTTP/1.1\r\nX: " + b"v" * 1000)
        assert parser.next_event() is NEED_DATA
        assert parser._scanned == parser.buffered - 3

    def test_chunk_lines_fed_one_byte_at_a_time(self) -> None:
        raw = chunked(*[b"z"] * 5_000)
        parser = RequestParser()
        body = b""
        for index in range(len(raw)):
            parser.feed(raw[index : index + 1])
            for event in drain(parser):
                if isinstance(event, Body):
                    body += event.data
        assert body == b"z" * 5_000


def test_body_remaining_counts_down_a_content_length_body():
    from waitress_http import RequestParser

    parser = RequestParser()
    assert parser.body_remaining == 0
    parser.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n1234")
    parser.next_event()
    assert parser.body_remaining == 10
    parser.next_event()
    assert parser.body_remaining == 6
    parser.feed(b"567890")
    parser.next_event()
    parser.next_event()
    assert parser.body_remaining == 0


def test_a_parser_for_a_chunked_body_alone():
    parser = RequestParser.for_chunked_body(max_body_size=100)
    parser.feed(b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\nGET / HTTP/1.1\r\n")
    events = []
    while True:
        event = parser.next_event()
        events.append(event)
        if event is END_OF_MESSAGE or event is NEED_DATA:
            break
    assert events == [Body(b"abc"), Body(b"de"), END_OF_MESSAGE]
    assert parser.buffered == len(b"GET / HTTP/1.1\r\n")


def test_a_parser_for_a_chunked_body_keeps_the_limit_and_the_framing_rules():
    parser = RequestParser.for_chunked_body(max_body_size=4)
    parser.feed(b"5\r\nabcde\r\n")
    with pytest.raises(RequestEntityTooLarge):
        parser.next_event()
    parser = RequestParser.for_chunked_body(version="1.1")
    parser.feed(b"0x3\r\nabc\r\n")
    with pytest.raises(BadRequest) as raised:
        parser.next_event()
    assert raised.value.version == "1.1"


def test_a_trailer_section_scanned_in_pieces_leaves_no_offset_for_the_next_head():
    # The scan offset of an unfinished trailer section outlived it: the next
    # head, arriving in the same read as the trailer's end, was searched from
    # that offset, past its own end, and waited for ever.
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: " + b"a" * 60)
    assert [type(event) for event in drain(parser)] == [RequestHead, Body]
    parser.feed(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert [type(event) for event in drain(parser)] == [EndOfMessage, RequestHead, EndOfMessage]


def test_a_parser_for_a_chunked_body_counts_from_zero():
    body = b"1\r\nx\r\n0\r\n\r\n"  # 11 bytes as sent, framing included
    parser = RequestParser.for_chunked_body(max_body_size=len(body) + 1)
    parser.feed(body)
    assert drain(parser) == [Body(b"x"), END_OF_MESSAGE]
    parser = RequestParser.for_chunked_body(max_body_size=len(body))
    parser.feed(body)
    with pytest.raises(RequestEntityTooLarge):
        drain(parser)


def _first_event(raw: bytes):
    parser = RequestParser()
    parser.feed(raw)
    try:
        return parser.next_event()
    except HTTPError as error:
        return error


@pytest.mark.parametrize("count, refused", [(MAX_HEADER_FIELDS, False), (MAX_HEADER_FIELDS + 1, True)])
def test_the_field_count_limit_is_exact(count, refused):
    head = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(count - 1)) + b"\r\n"
    event = _first_event(head)
    if refused:
        assert isinstance(event, RequestHeaderFieldsTooLarge)
    else:
        assert isinstance(event, RequestHead) and len(event.headers) == count


def test_errors_of_an_http10_head_carry_its_version():
    # A bad target of a 1.0 request is a 400 in HTTP/1.0, not a 505.
    error = _first_event(b"GET /caf\xe9 HTTP/1.0\r\n\r\n")
    assert (error.code, error.detail, error.version) == (400, "Invalid request target", "1.0")
    error = _first_event(b"GET / HTTP/1.0\r\nX-A: a\nb\r\n\r\n")
    assert (error.code, error.version) == (400, "1.0")


def test_parse_head_refuses_a_field_after_the_empty_line():
    from waitress_http.head import parse_head

    with pytest.raises(BadRequest, match="Invalid header"):
        parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nX: y\r\n")


@pytest.mark.parametrize("count, refused", [(1000, False), (1001, True)])
def test_the_field_limit_is_the_documented_thousand(count, refused):
    # docs/differences.md promises 431 for more than 1000 field lines, not
    # whatever MAX_HEADER_FIELDS says: the number itself is the interface.
    head = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: v\r\n" * (count - 1) + b"\r\n"
    event = _first_event(head)
    assert isinstance(event, RequestHeaderFieldsTooLarge if refused else RequestHead)


@pytest.mark.parametrize("piece", [None, 1], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("line_end", [b"\n", b"\r"], ids=["LF", "CR"])
def test_a_trailer_section_with_a_bare_line_end_names_it_however_it_arrives(line_end, piece):
    # Fed whole, the trailers reach the field-line checks; fed in pieces,
    # the scan for a section that can no longer end.  Both must say what is
    # wrong, in the same words (rather than call the CR or LF a control
    # character, or name a header line).
    raw = chunked(b"x", trailer=b"X-T: a" + line_end + b"y: b\r\n")
    parser = RequestParser()
    with pytest.raises(BadRequest) as info:
        for start in range(0, len(raw), piece or len(raw)):
            parser.feed(raw[start : start + (piece or len(raw))])
            drain(parser)
    assert info.value.detail == "Bare CR or LF found in trailer line"
