"""Response: start_response checks, framing, keep-alive, added headers, logging."""

import http.client
import io
import sys

import pytest
from waitress_http.dates import http_date
from waitress_http.response import CONTINUE_RESPONSE, HOP_BY_HOP_HEADERS, Response


class ListLogger:
    """Collects warnings as formatted strings."""

    def __init__(self):
        self.messages = []

    def warning(self, msg, *args):
        self.messages.append(msg % args)


def parse_head(head):
    """The status line and the header list of a serialized head."""
    assert head.endswith(b"\r\n\r\n")
    # Every line ends in CRLF, and no CR or LF stands alone inside one
    # (http.client would split on a bare CR and hide it).
    lines = head[:-4].split(b"\r\n")
    assert not any(b"\r" in line or b"\n" in line for line in lines), head
    status_line, _, fields = head.partition(b"\r\n")
    message = http.client.parse_headers(io.BytesIO(fields + b"\r\n" if fields else b"\r\n"))
    return status_line.decode("latin-1"), list(message.items())


def make(version="1.1", method="GET", keep_alive=True, ident="waitress", **kw):
    logger = ListLogger()
    response = Response(version, method, keep_alive, ident, logger=logger, **kw)
    return response, logger


def run(response, chunks, app_iter=None):
    """Drive ``response`` like a server: prepare, body per chunk, end; join it all."""
    response.prepare(chunks if app_iter is None else app_iter)
    out = []
    for chunk in chunks:
        out.extend(response.body(chunk))
    out.extend(response.end())
    raw = b"".join(out)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, headers = parse_head(head + b"\r\n\r\n")
    return status_line, headers, body


def names(headers):
    return [name.lower() for name, _ in headers]


def value(headers, name):
    found = [v for n, v in headers if n.lower() == name.lower()]
    assert len(found) == 1, (name, headers)
    return found[0]


def generator(*chunks):
    yield from chunks


# -- start_response ---------------------------------------------------------


class TestStartResponse:
    def test_returns_write_callable(self):
        def write(data):
            pass

        response, _ = make(write=write)
        assert response.start_response("200 OK", []) is write

    def test_default_write_refuses(self):
        response, _ = make()
        write = response.start_response("200 OK", [])
        with pytest.raises(RuntimeError):
            write(b"x")

    def test_with_send_later_write_frames_and_hands_over(self):
        sent = []
        response, _ = make(send_later=sent.append)
        write = response.start_response("200 OK", [("Content-Length", "5")])
        assert write == response.write
        write(b"he")
        write(b"")  # nothing to send: send_later is not called
        write(b"llo")
        assert len(sent) == 2
        raw = b"".join(b"".join(bytes(b) for b in buffers) for buffers in sent)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 5" in head
        assert body == b"hello"

    @pytest.mark.parametrize("headers", [[], [("Content-Length", "5")]], ids=["unknown-length", "content-length"])
    def test_a_first_write_of_no_bytes_sends_the_head(self, headers):
        """PEP 3333: the head goes out upon the first write(), even of no
        bytes (an application pushing its headers before a long wait); it
        waited for the first non-empty write or the end."""
        sent = []
        response, _ = make(send_later=sent.append)
        write = response.start_response("200 OK", headers)
        write(b"")
        assert len(sent) == 1
        status_line, fields = parse_head(b"".join(sent[0]))
        assert status_line == "HTTP/1.1 200 OK"
        assert ("Content-Length", "5") in fields if headers else ("Transfer-Encoding", "chunked") in fields
        write(b"")  # the head is out: nothing more to send
        assert len(sent) == 1
        # From now on an error cannot replace the response: exc_info is re-raised.
        try:
            raise ValueError("late")
        except ValueError:
            with pytest.raises(ValueError, match="late"):
                response.start_response("500 Internal Server Error", [], sys.exc_info())

    def test_write_before_start_response_is_an_error(self):
        sent = []
        response, _ = make(send_later=sent.append)
        with pytest.raises(RuntimeError, match="before start_response"):
            response.write(b"x")
        assert sent == []

    @pytest.mark.parametrize(
        "version, headers",
        [("1.1", []), ("1.0", []), ("1.1", [("Content-Length", "5")]),
         ("1.1", [("Content-Length", "2")])],
        ids=["chunked", "until-close", "length-short", "length-one-byte-short"],
    )
    def test_write_after_the_end_is_an_error(self, version, headers):
        """From an iterable's close() or a thread left behind, the bytes would
        follow the body's framing, where the client reads the next response."""
        sent = []
        response, _ = make(version=version, send_later=sent.append)
        response.start_response("200 OK", headers)
        sent += response.body(b"x")
        sent += response.end()
        with pytest.raises(RuntimeError, match="after the response ended"):
            response.write(b"late")
        assert b"late" not in b"".join(bytes(b) for b in sent)

    @pytest.mark.parametrize(
        "status, headers, late",
        [
            ("200 OK", [("Content-Length", "1")], b"late"),  # past a complete length
            ("302 Found", [("Content-Length", "0")], b"late"),  # a length of 0 (audit AK)
            ("204 No Content", [], b"late"),  # no body at all
            ("200 OK", [], b""),  # nothing to send
        ],
        ids=["complete-length", "zero-length", "no-body", "empty"],
    )
    def test_a_write_after_the_end_that_cannot_break_framing_is_dropped(self, status, headers, late):
        """As Waitress drops them: such bytes can never reach the client."""
        sent = []
        response, log = make(send_later=sent.append)
        response.start_response(status, headers)
        if headers != [("Content-Length", "0")]:
            response.body(b"x")
        response.end()
        response.write(late)
        assert sent == []

    def test_an_explicit_write_wins_over_send_later(self):
        def write(data):
            pass

        response, _ = make(write=write, send_later=[].append)
        assert response.start_response("200 OK", []) is write

    @pytest.mark.parametrize(
        "status, code",
        [
            ("200 OK", 200),
            ("404 Not Found", 404),
            ("200 ", 200),
            ("599 Custom\treason", 599),
            ("200 caf\xe9", 200),
        ],
    )
    def test_valid_status(self, status, code):
        response, _ = make()
        response.start_response(status, [])
        assert response.headers_set
        assert response.status == status
        assert response.status_code == code

    @pytest.mark.parametrize(
        "status",
        [
            "20 OK",
            "2000 OK",
            "200OK",
            " 200 OK",
            "abc OK",
            "099 Low",
            "600 Beyond",  # RFC 9110 15: 100 to 599
            "999 Custom",
            "200 OK\r\nX-Injected: y",
            "200 OK\n",
            "200 OK\r",
            "200 OK\x00",
            "200 OK\x7f",
            "200 OK\x1b",
            "200 \u2603",
            "",
        ],
    )
    def test_invalid_status(self, status):
        response, _ = make()
        with pytest.raises(ValueError):
            response.start_response(status, [])
        assert not response.headers_set

    @pytest.mark.parametrize("status", [b"200 OK", 200, None])
    def test_status_wrong_type(self, status):
        response, _ = make()
        with pytest.raises(TypeError):
            response.start_response(status, [])

    @pytest.mark.parametrize(
        "headers",
        [
            {"A": "b"},  # iterated, a dict gives its names alone
            None,
            ["A: b"],
            ["ab"],
            [("A", "b", "c")],
            [("A",)],
            [(b"A", "b")],
            [("A", b"b")],
            [("A", 1)],
            [(None, "b")],
        ],
    )
    def test_headers_wrong_type(self, headers):
        response, _ = make()
        with pytest.raises(TypeError):
            response.start_response("200 OK", headers)
        assert not response.headers_set

    @pytest.mark.parametrize("headers", [(("A", "b"),), {"A": "b"}.items(), iter([("A", "b")])])
    def test_any_iterable_of_pairs_is_taken_as_waitress_takes_it(self, headers):
        response, _ = make()
        response.start_response("200 OK", headers)
        assert b"\r\nA: b\r\n" in response.head_bytes()

    def test_list_pairs_accepted(self):
        response, _ = make()
        response.start_response("200 OK", [["X-A", "1"]])
        assert parse_head(response.head_bytes())[1][0] == ("X-A", "1")

    @pytest.mark.parametrize(
        "name", ["", "Bad Name", "X:Y", "X\r\nY", "X\n", "\xdcber", "X(1)", "X/Y", "X\x00"]
    )
    def test_invalid_name(self, name):
        response, _ = make()
        with pytest.raises(ValueError, match="header name"):
            response.start_response("200 OK", [(name, "v")])

    @pytest.mark.parametrize(
        "bad", ["a\r\nb", "a\nb", "a\rb", "a\x00b", "\x7f", "\x01", "a\x1fb", "\u2603", "\x0b"]
    )
    def test_invalid_value(self, bad):
        response, _ = make()
        with pytest.raises(ValueError, match="X-Thing"):
            response.start_response("200 OK", [("X-Ok", "fine"), ("X-Thing", bad)])
        assert not response.headers_set

    @pytest.mark.parametrize("good", ["a\tb", "caf\xe9", "", " padded ", "\x80\xff", "!~"])
    def test_valid_value(self, good):
        response, _ = make()
        response.start_response("200 OK", [("X-Thing", good)])
        head = response.head_bytes()
        assert b"X-Thing: " + good.encode("latin-1") + b"\r\n" in head

    @pytest.mark.parametrize("name", sorted(HOP_BY_HOP_HEADERS))
    @pytest.mark.parametrize("spelling", [str.lower, str.upper, str.title])
    def test_hop_by_hop_refused(self, name, spelling):
        response, _ = make()
        with pytest.raises(ValueError, match="hop-by-hop"):
            response.start_response("200 OK", [(spelling(name), "x")])
        assert not response.headers_set

    def test_hop_by_hop_list(self):
        """RFC 2616's list, as PEP 3333 and Waitress have it ("trailers")."""
        assert HOP_BY_HOP_HEADERS == {
            "connection",
            "keep-alive",
            "transfer-encoding",
            "upgrade",
            "te",
            "trailers",
            "proxy-authenticate",
            "proxy-authorization",
        }

    def test_trailer_is_an_ordinary_header(self):
        """RFC 9110 6.6.2: not connection-specific; Waitress lets it through."""
        response, _ = make()
        response.start_response("200 OK", [("Trailer", "X-Checksum")])
        assert b"\r\nTrailer: X-Checksum\r\n" in response.head_bytes()

    def test_similar_names_allowed(self):
        response, _ = make()
        response.start_response("200 OK", [("X-Trailer", "x"), ("X-Connection", "y")])
        assert response.headers_set

    @pytest.mark.parametrize("length", ["abc", "-1", "+5", "1 ", " 1", "", "0x5", "1.0", "\u0661"])
    def test_invalid_content_length(self, length):
        response, _ = make()
        with pytest.raises(ValueError, match="Content-Length"):
            response.start_response("200 OK", [("Content-Length", length)])

    def test_conflicting_content_lengths(self):
        response, _ = make()
        with pytest.raises(ValueError, match="different"):
            response.start_response("200 OK", [("Content-Length", "1"), ("content-length", "2")])

    @pytest.mark.parametrize("second", ["Content-Length", "content-length"])
    def test_a_repeated_equal_content_length_is_sent_once(self, second):
        # RFC 9110 5.3: a field that is no list is not repeated (nginx
        # answers 502 to an upstream's two Content-Length lines).
        response, _ = make()
        response.start_response(
            "200 OK", [("Content-Length", "2"), ("X-A", "1"), (second, "2"), ("X-B", "2")]
        )
        status_line, headers, body = run(response, [b"ok"])
        assert [h for h in headers if h[0].lower() == "content-length"] == [("Content-Length", "2")]
        assert names(headers)[:3] == ["content-length", "x-a", "x-b"]
        assert body == b"ok"
        assert not response.close_connection

    def test_a_repeated_content_length_is_dropped_once_for_a_head_request(self):
        response, _ = make(method="HEAD")
        response.start_response("200 OK", [("Content-Length", "2"), ("Content-Length", "2")])
        status_line, headers, body = run(response, [b"ok"])
        assert [v for n, v in headers if n.lower() == "content-length"] == ["2"]
        assert body == b""

    def test_second_call_without_exc_info(self):
        response, _ = make()
        response.start_response("200 OK", [])
        with pytest.raises(AssertionError, match="already called"):
            response.start_response("500 Oops", [])
        assert response.status == "200 OK"

    def test_exc_info_before_head_sent_replaces(self):
        response, _ = make()
        response.start_response("200 OK", [("X-First", "1"), ("Content-Length", "99")])
        try:
            raise KeyError("boom")
        except KeyError:
            response.start_response(
                "500 Internal Server Error", [("X-Second", "2")], sys.exc_info()
            )
        assert response.status_code == 500
        status_line, headers, body = run(response, [b"oops"])
        assert status_line == "HTTP/1.1 500 Internal Server Error"
        assert "x-first" not in names(headers)
        assert value(headers, "X-Second") == "2"
        assert value(headers, "Content-Length") == "4"
        assert body == b"oops"

    def test_exc_info_after_head_built_but_unsent_rebuilds(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.head_bytes()
        try:
            raise KeyError("boom")
        except KeyError:
            response.start_response("500 Err", [], sys.exc_info())
        assert response.end()[0].startswith(b"HTTP/1.1 500 Err\r\n")

    def test_exc_info_after_head_sent_reraises(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.body(b"partial")
        assert response.headers_sent
        error = KeyError("boom")
        try:
            raise error
        except KeyError:
            info = sys.exc_info()
        with pytest.raises(KeyError) as raised:
            response.start_response("500 Err", [], info)
        assert raised.value is error
        assert raised.value.__traceback__ is not None
        assert response.status == "200 OK"

    def test_headers_copied(self):
        response, _ = make()
        headers = [("X-A", "1")]
        response.start_response("200 OK", headers)
        headers.append(("X-Evil", "a\r\nb"))
        headers[0] = ("X-A", "changed")
        _, parsed = parse_head(response.head_bytes())
        assert ("X-A", "1") in parsed
        assert "x-evil" not in names(parsed)

    def test_properties_before_start(self):
        response, _ = make()
        assert not response.headers_set
        assert not response.headers_sent
        assert response.status is None
        assert response.status_code is None
        assert response.send_body
        assert response.declared_length is None
        assert not (response.delimited_by_close or response.cut_looks_complete)
        with pytest.raises(RuntimeError):
            response.head_bytes()
        with pytest.raises(RuntimeError):
            response.body(b"x")
        with pytest.raises(RuntimeError):
            response.end()


# -- framing ----------------------------------------------------------------


class TestFraming:
    def test_app_content_length(self):
        response, log = make()
        response.start_response("200 OK", [("Content-Length", "10")])
        status_line, headers, body = run(response, [b"hello", b"world"])
        assert status_line == "HTTP/1.1 200 OK"
        assert value(headers, "Content-Length") == "10"
        assert "transfer-encoding" not in names(headers)
        assert "connection" not in names(headers)
        assert body == b"helloworld"
        assert not response.close_connection
        assert log.messages == []

    def test_one_chunk_iterable_gets_length(self):
        response, _ = make()
        response.start_response("200 OK", [("Content-Type", "text/plain")])
        status_line, headers, body = run(response, [b"Hello"])
        assert value(headers, "Content-Length") == "5"
        assert "transfer-encoding" not in names(headers)
        assert body == b"Hello"
        assert not response.close_connection

    def test_first_body_call_returns_head_then_chunk(self):
        response, _ = make()
        response.start_response("200 OK", [("Content-Length", "5")])
        response.prepare([b"Hello"])
        chunk = b"Hello"
        out = response.body(chunk)
        assert len(out) == 2
        assert out[0] == response.head_bytes()
        assert out[1] is chunk
        assert response.headers_sent
        assert response.end() == []

    def test_len_that_raises_is_unknown(self):
        class Weird:
            def __len__(self):
                raise RuntimeError("no length")

        response, _ = make()
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [b"ab", b"c"], app_iter=Weird())
        assert value(headers, "Transfer-Encoding") == "chunked"

    def test_unknown_length_http11_is_chunked_and_kept_alive(self):
        response, _ = make()
        response.start_response("200 OK", [])
        big = b"x" * 5000
        response.prepare(generator())
        first = response.body(b"a" * 255)
        assert first[1] == b"FF\r\n" + b"a" * 255 + b"\r\n"
        second = response.body(big)
        assert second[0] == b"1388\r\n"
        assert second[1] is big  # large chunks are never copied
        assert second[2] == b"\r\n"
        assert response.body(b"") == []
        assert response.end() == [b"0\r\n\r\n"]
        _, headers = parse_head(first[0])
        assert value(headers, "Transfer-Encoding") == "chunked"
        assert "content-length" not in names(headers)
        assert "connection" not in names(headers)
        assert not response.close_connection

    def test_chunked_body_decodes(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.prepare(generator())
        raw = b"".join(
            b"".join(response.body(c)) for c in [b"one", b"", b"two" * 1000, b"3"]
        ) + b"".join(response.end())
        head, _, body = raw.partition(b"\r\n\r\n")
        decoded = b""
        while True:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                assert body == b"\r\n"
                break
            decoded += body[:size]
            assert body[size : size + 2] == b"\r\n"
            body = body[size + 2 :]
        assert decoded == b"one" + b"two" * 1000 + b"3"

    def test_unknown_length_http11_not_keep_alive_still_chunked(self):
        response, _ = make(keep_alive=False)
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [b"a", b"b"], app_iter=generator())
        assert value(headers, "Transfer-Encoding") == "chunked"
        assert value(headers, "Connection") == "close"
        assert response.close_connection

    def test_unknown_length_http10_closes(self):
        response, _ = make(version="1.0", keep_alive=True)
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [b"a", b"b"], app_iter=generator())
        assert status_line == "HTTP/1.0 200 OK"
        assert "transfer-encoding" not in names(headers)
        assert "content-length" not in names(headers)
        assert value(headers, "Connection") == "close"
        assert body == b"ab"
        assert response.close_connection

    def test_http10_keep_alive_with_length(self):
        response, _ = make(version="1.0", keep_alive=True)
        response.start_response("200 OK", [("Content-Length", "2")])
        status_line, headers, body = run(response, [b"a", b"b"], app_iter=generator())
        assert status_line == "HTTP/1.0 200 OK"
        assert value(headers, "Connection") == "Keep-Alive"
        assert not response.close_connection

    def test_http10_without_keep_alive_closes(self):
        response, _ = make(version="1.0", keep_alive=False)
        response.start_response("200 OK", [("Content-Length", "2")])
        status_line, headers, body = run(response, [b"ab"])
        assert value(headers, "Connection") == "close"
        assert response.close_connection

    def test_http11_close_requested(self):
        response, _ = make(keep_alive=False)
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [b"ab"])
        assert value(headers, "Connection") == "close"
        assert value(headers, "Content-Length") == "2"
        assert response.close_connection

    @pytest.mark.parametrize("version", ["1.0", "1.1"])
    def test_empty_body_gets_zero_length(self, version):
        response, _ = make(version=version)
        response.start_response("200 OK", [])
        response.prepare([])
        out = response.end()
        assert len(out) == 1
        status_line, headers = parse_head(out[0])
        assert value(headers, "Content-Length") == "0"
        assert "transfer-encoding" not in names(headers)
        assert not response.close_connection

    def test_only_empty_chunks_gets_zero_length(self):
        response, _ = make()
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [b"", b""], app_iter=generator())
        assert value(headers, "Content-Length") == "0"
        assert body == b""

    def test_head_sent_only_with_first_non_empty_chunk(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.prepare(generator())
        assert response.body(b"") == []
        assert not response.headers_sent
        out = response.body(b"x")
        assert out[0].startswith(b"HTTP/1.1 200 OK\r\n")
        assert response.headers_sent

    def test_head_bytes_then_body_uses_same_framing(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.prepare([b"abc"])
        head = response.head_bytes()
        assert b"Transfer-Encoding: chunked" in head
        assert not response.headers_sent
        out = response.body(b"abc")
        assert out[0] is head
        assert b"".join(out[1:]) == b"3\r\nabc\r\n"

    def test_end_is_final(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.prepare(generator())
        response.body(b"a")
        assert response.end() == [b"0\r\n\r\n"]
        assert response.end() == []

    def test_set_content_length_replaces_app_value(self):
        response, _ = make()
        response.start_response("200 OK", [("Content-Length", "999"), ("X-A", "1")])
        response.set_content_length(6)
        status_line, headers, body = run(response, [b"abc", b"def"], app_iter=generator())
        assert [v for n, v in headers if n.lower() == "content-length"] == ["6"]
        assert body == b"abcdef"
        assert not response.close_connection

    def test_set_content_length_without_app_value(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.set_content_length(3)
        status_line, headers, body = run(response, [b"abc"], app_iter=generator())
        assert value(headers, "Content-Length") == "3"

    def test_a_set_length_of_zero_is_a_length(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.set_content_length(0)
        status_line, headers, body = run(response, [])
        assert value(headers, "Content-Length") == "0" and body == b""
        assert not response.close_connection

    def test_a_negative_length_is_refused(self):
        response, _ = make()
        response.start_response("200 OK", [])
        with pytest.raises(ValueError, match="negative"):
            response.set_content_length(-1)

    def test_set_content_length_too_late(self):
        response, _ = make()
        response.start_response("200 OK", [])
        response.body(b"a")
        with pytest.raises(RuntimeError):
            response.set_content_length(3)

    def test_bytearray_and_memoryview_pass(self):
        response, _ = make()
        response.start_response("200 OK", [("Content-Length", "6")])
        status_line, headers, body = run(
            response, [bytearray(b"ab"), memoryview(b"cd"), b"ef"], app_iter=generator()
        )
        assert body == b"abcdef"

    def test_memoryview_counts_bytes_not_items(self):
        import array

        data = memoryview(array.array("i", [1, 2]))  # 2 items, 8 bytes
        response, _ = make()
        response.start_response("200 OK", [])
        response.prepare(generator())
        out = response.body(data)
        assert out[1].startswith(b"%X\r\n" % data.nbytes)

    @pytest.mark.parametrize("chunk", ["text", 5, None, [b"a"]])
    def test_non_bytes_chunk(self, chunk):
        response, _ = make()
        response.start_response("200 OK", [])
        with pytest.raises(TypeError):
            response.body(chunk)


class TestLengthMismatch:
    def test_too_many_bytes_truncated_and_logged_once(self):
        response, log = make()
        response.start_response("200 OK", [("Content-Length", "5")])
        status_line, headers, body = run(
            response, [b"hel", b"lo world", b"more"], app_iter=generator()
        )
        assert body == b"hello"
        assert log.messages == [
            "application-written content exceeded the number of bytes specified "
            "by Content-Length header (5)"
        ]
        assert not response.close_connection

    def test_truncation_of_large_chunk_does_not_copy_all(self):
        response, _ = make()
        response.start_response("200 OK", [("Content-Length", "3")])
        response.prepare(generator())
        out = response.body(b"x" * 100000)
        assert bytes(out[1]) == b"xxx"

    def test_truncation_of_memoryview(self):
        import array

        response, _ = make()
        response.start_response("200 OK", [("Content-Length", "5")])
        response.prepare(generator())
        out = response.body(memoryview(array.array("i", [1, 2])))
        assert len(bytes(out[1])) == 5

    def test_too_few_bytes_closes(self):
        response, log = make()
        response.start_response("200 OK", [("Content-Length", "10")])
        status_line, headers, body = run(response, [b"abc", b"de"], app_iter=generator())
        assert body == b"abcde"
        assert response.close_connection
        assert log.messages == [
            "application returned too few bytes (5) for specified Content-Length (10) via app_iter"
        ]

    def test_one_byte_too_few_closes(self):
        response, log = make()
        response.start_response("200 OK", [("Content-Length", "3")])
        run(response, [b"ab"], app_iter=generator())
        assert response.close_connection
        assert log.messages == [
            "application returned too few bytes (2) for specified Content-Length (3) via app_iter"
        ]

    def test_no_bytes_at_all_for_declared_length_closes(self):
        response, log = make()
        response.start_response("200 OK", [("Content-Length", "10")])
        status_line, headers, body = run(response, [])
        assert value(headers, "Content-Length") == "10"
        assert response.close_connection
        assert "too few bytes (0)" in log.messages[0]

    def test_exact_length_is_quiet(self):
        response, log = make()
        response.start_response("200 OK", [("Content-Length", "0")])
        run(response, [])
        assert log.messages == []
        assert not response.close_connection


class TestHead:
    def test_app_length_kept_body_dropped(self):
        response, log = make(method="HEAD")
        response.start_response("200 OK", [("Content-Length", "11")])
        response.prepare([b"hello world"])
        out = response.body(b"hello world")
        assert len(out) == 1
        _, headers = parse_head(out[0])
        assert value(headers, "Content-Length") == "11"
        assert response.end() == []
        assert not response.close_connection
        assert log.messages == []
        assert not response.send_body

    def test_one_chunk_length_computed(self):
        response, _ = make(method="HEAD")
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [b"hello"])
        assert value(headers, "Content-Length") == "5"
        assert body == b""

    def test_unknown_length_has_no_framing(self):
        response, log = make(method="HEAD")
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [b"a", b"b"], app_iter=generator())
        assert "content-length" not in names(headers)
        assert "transfer-encoding" not in names(headers)
        assert "connection" not in names(headers)
        assert body == b""
        assert not response.close_connection
        assert log.messages == []

    def test_empty_app_iter_claims_no_length(self):
        response, _ = make(method="HEAD")
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [])
        assert "content-length" not in names(headers)

    def test_http10_keep_alive(self):
        response, _ = make(version="1.0", method="HEAD", keep_alive=True)
        response.start_response("200 OK", [])
        status_line, headers, body = run(response, [], app_iter=generator())
        assert value(headers, "Connection") == "Keep-Alive"
        assert not response.close_connection

    def test_declared_length_without_bytes_is_fine(self):
        response, log = make(method="HEAD")
        response.start_response("200 OK", [("Content-Length", "100")])
        run(response, [])
        assert log.messages == []
        assert not response.close_connection


def test_a_status_without_a_reason_goes_out_with_its_space():
    """PEP 3333 wants a reason, but Waitress and gunicorn send "200" as given
    and frameworks produce it; RFC 9112 needs the space even when the reason
    is empty."""
    response, _ = make()
    response.start_response("299", [("Content-Length", "0")])
    status_line, _, _ = run(response, [])
    assert status_line == "HTTP/1.1 299 "
    assert response.status_code == 299


@pytest.mark.parametrize("status", ["100 Continue", "101 Switching Protocols", "103 Early Hints", "199 X"])
def test_an_interim_status_is_refused(status):
    """A 1xx is never a final response (RFC 9110 15.2): the client would wait for
    the real answer, or read the next request's as this one's."""
    response, _ = make()
    with pytest.raises(ValueError, match="interim"):
        response.start_response(status, [])
    assert not response.headers_set


def test_the_declared_length_is_the_applications():
    response, _ = make()
    response.start_response("200 OK", [("Content-Length", "7")])
    assert response.declared_length == 7
    other, _ = make()
    other.start_response("200 OK", [])
    assert other.declared_length is None


class TestNoBodyStatuses:
    @pytest.mark.parametrize(
        "status", ["204 No Content", "304 Not Modified"]
    )
    def test_length_dropped_and_body_ignored(self, status):
        response, log = make()
        response.start_response(status, [("Content-Length", "5"), ("X-A", "1")])
        assert not response.send_body
        status_line, headers, body = run(response, [b"hello", b"again"], app_iter=generator())
        assert status_line == "HTTP/1.1 " + status
        assert "content-length" not in names(headers)
        assert "transfer-encoding" not in names(headers)
        assert "connection" not in names(headers)
        assert value(headers, "X-A") == "1"
        assert body == b""
        assert not response.close_connection
        assert log.messages == [  # Waitress's words, the status included
            "application-written content was ignored due to HTTP response "
            "that may not contain a message-body: (%s)" % status
        ]

    def test_no_log_without_body(self):
        response, log = make()
        response.start_response("304 Not Modified", [])
        status_line, headers, body = run(response, [])
        assert "content-length" not in names(headers)
        assert log.messages == []

    def test_http10_keep_alive_204(self):
        response, _ = make(version="1.0")
        response.start_response("204 No Content", [])
        status_line, headers, body = run(response, [])
        assert value(headers, "Connection") == "Keep-Alive"
        assert not response.close_connection

    def test_send_body(self):
        for method, status, expected in [
            ("GET", "200 OK", True),
            ("GET", "204 X", False),
            ("GET", "304 X", False),
            ("GET", "205 X", False),
            ("GET", "404 X", True),
            ("CONNECT", "200 X", False),
            ("CONNECT", "299 X", False),
            ("CONNECT", "405 X", True),
        ]:
            response, _ = make(method=method)
            response.start_response(status, [])
            assert response.send_body is expected, (method, status)

    def test_205_says_it_has_no_content(self):
        """RFC 9110 15.3.6: a server must not generate content in a 205."""
        response, log = make()
        response.start_response("205 Reset Content", [("Content-Length", "2")])
        status_line, headers, body = run(response, [b"ok"])
        assert [v for n, v in headers if n.lower() == "content-length"] == ["0"]
        assert body == b""
        assert not response.close_connection
        assert "(205 Reset Content)" in log.messages[0]

    def test_a_205_to_connect_has_no_length_either(self):
        """RFC 9110 9.3.6 forbids Content-Length in any 2xx to CONNECT, 205 included."""
        response, _ = make(method="CONNECT", keep_alive=False)
        response.start_response("205 Reset Content", [])
        status_line, got, body = run(response, [])
        assert "content-length" not in names(got) and body == b""

    @pytest.mark.parametrize("headers", [[], [("Content-Length", "5")]])
    def test_a_2xx_to_connect_has_no_framing_and_no_content(self, headers):
        """RFC 9110 9.3.6: the client takes what follows the head for the tunnel."""
        response, _ = make(method="CONNECT", keep_alive=False)
        response.start_response("200 Connection Established", headers)
        status_line, got, body = run(response, [b"hello"])
        assert "content-length" not in names(got)
        assert "transfer-encoding" not in names(got)
        assert body == b""
        assert response.close_connection

    def test_a_refusal_of_connect_keeps_its_body(self):
        response, _ = make(method="CONNECT", keep_alive=False)
        response.start_response("405 Method Not Allowed", [("Content-Length", "5")])
        status_line, got, body = run(response, [b"hello"])
        assert body == b"hello" and value(got, "Content-Length") == "5"


# -- headers the server adds ------------------------------------------------


class TestAddedHeaders:
    def test_date_and_server(self):
        response, _ = make()
        response.start_response("200 OK", [("Content-Length", "0")])
        status_line, headers, body = run(response, [])
        date = value(headers, "Date")
        assert date in (http_date(), http_date(http_date_seconds() - 1))
        assert value(headers, "Server") == "waitress"
        assert "via" not in names(headers)

    def test_app_date_kept(self):
        response, _ = make()
        app_date = "Sun, 06 Nov 1994 08:49:37 GMT"
        response.start_response("200 OK", [("date", app_date)])
        status_line, headers, body = run(response, [])
        assert [(n, v) for n, v in headers if n.lower() == "date"] == [("date", app_date)]

    def test_custom_ident(self):
        response, _ = make(ident="acme/1.0")
        response.start_response("200 OK", [])
        assert value(run(response, [])[1], "Server") == "acme/1.0"

    @pytest.mark.parametrize("ident", ["", None])
    def test_no_ident_no_server(self, ident):
        response, _ = make(ident=ident)
        response.start_response("200 OK", [])
        headers = run(response, [])[1]
        assert "server" not in names(headers)
        assert "via" not in names(headers)

    def test_app_server_kept_with_via(self):
        response, _ = make()
        response.start_response("200 OK", [("Server", "app/2")])
        headers = run(response, [])[1]
        assert value(headers, "Server") == "app/2"
        assert value(headers, "Via") == "waitress"

    def test_app_server_without_ident(self):
        response, _ = make(ident="")
        response.start_response("200 OK", [("SERVER", "app/2")])
        headers = run(response, [])[1]
        assert value(headers, "Server") == "app/2"
        assert "via" not in names(headers)

    def test_app_order_and_spelling_kept(self):
        response, _ = make()
        app_headers = [
            ("x-zeta", "1"),
            ("Content-Type", "text/html"),
            ("X-ALPHA", "2"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("content-length", "0"),
        ]
        response.start_response("200 OK", app_headers)
        headers = run(response, [])[1]
        assert headers[: len(app_headers)] == app_headers

    def test_status_line_version(self):
        for version, prefix in [("1.0", b"HTTP/1.0 "), ("1.1", b"HTTP/1.1 ")]:
            response, _ = make(version=version)
            response.start_response("418 I'm a teapot", [])
            assert response.head_bytes().startswith(prefix + b"418 I'm a teapot\r\n")

    def test_head_is_latin1(self):
        response, _ = make()
        response.start_response("200 Caf\xe9", [("X-Name", "\xfcber")])
        head = response.head_bytes()
        assert head.startswith(b"HTTP/1.1 200 Caf\xe9\r\n")
        assert b"X-Name: \xfcber\r\n" in head


def http_date_seconds():
    import time

    return time.time()


def test_continue_response():
    assert CONTINUE_RESPONSE == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_start_file_sets_length_and_completes_the_body():
    from waitress_http import Response

    response = Response("1.1", "GET", True, "waitress")
    response.start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    head = response.start_file(10)
    assert b"Content-Length: 10\r\n" in head
    assert b"Content-Length: 3" not in head
    assert response.headers_sent
    assert response.end() == []
    assert not response.close_connection


def test_start_file_for_head_sends_only_the_head():
    from waitress_http import Response

    response = Response("1.1", "HEAD", True, "waitress")
    response.start_response("200 OK", [])
    head = response.start_file(10)
    assert b"Content-Length: 10\r\n" in head
    assert not response.send_body


def test_complete_once_the_declared_length_is_out_with_the_head():
    response, _ = make()
    response.start_response("200 OK", [("Content-Length", "6")])
    assert not response.complete
    response.body(b"abc")
    assert not response.complete
    response.body(b"def")
    assert response.complete
    assert response.end() == []


def test_complete_when_the_application_overshoots_its_length():
    response, logger = make()
    response.start_response("200 OK", [("Content-Length", "2")])
    out = response.body(b"abcd")
    assert out[-1] == b"ab"
    assert response.complete
    assert response.body(b"more") == []
    assert logger.messages  # the excess is reported


@pytest.mark.parametrize(
    "version, method, headers",
    [
        ("1.1", "GET", []),  # chunked: only end() knows the body is over
        ("1.0", "GET", []),  # until the close
        ("1.1", "HEAD", [("Content-Length", "3")]),  # no body at all
    ],
)
def test_never_complete_without_a_length_to_fill(version, method, headers):
    response, _ = make(version=version, method=method)
    response.start_response("200 OK", headers)
    response.body(b"abc")
    assert not response.complete


@pytest.mark.parametrize(
    "version, headers, ended, expected",
    [
        ("1.0", [], False, True),  # delimited by the close, cut: only a reset tells
        ("1.0", [], True, False),  # end() finished it: the close is its end
        ("1.1", [], False, False),  # chunked: the missing last chunk tells
        ("1.0", [("Content-Length", "9")], False, False),  # the short length tells
    ],
    ids=["until-close-cut", "until-close-ended", "chunked-cut", "length-cut"],
)
def test_a_cut_looks_complete_only_for_an_unfinished_body_ended_by_the_close(
    version, headers, ended, expected
):
    response, _ = make(version=version, keep_alive=False)
    response.start_response("200 OK", headers)
    assert not response.cut_looks_complete  # nothing framed yet: a 500 can still go out
    response.prepare(generator(b"abc"))
    response.body(b"abc")
    if ended:
        response.end()
    assert response.cut_looks_complete is expected
    assert response.delimited_by_close is (version == "1.0" and not headers)


# -- found by mutation testing: each pins a decision no test reached -----------------


def test_whole_after_write_sent_the_head_does_not_send_it_again():
    sent = []
    response, _ = make(send_later=sent.extend)
    write = response.start_response("200 OK", [("Content-Length", "4")])
    write(b"")
    assert len(sent) == 1 and sent[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert response.whole(b"data") == [b"data"]


def test_whole_measures_a_view_of_wide_items_in_bytes():
    from array import array

    response, _ = make()
    response.start_response("200 OK", [])
    head, body = response.whole(memoryview(array("H", [0x4141, 0x4242])))
    assert value(parse_head(head)[1], "Content-Length") == "4"
    assert bytes(body) == b"AABB"


def test_a_view_that_is_not_contiguous_is_sent_as_its_bytes():
    response, _ = make()
    response.start_response("200 OK", [])
    response.prepare(generator())
    out = response.body(memoryview(b"abcdef")[::2])
    assert out[-1] == b"3\r\nace\r\n"


def test_server_and_date_filled_in_per_header_list_not_per_second():
    # One list without Server, then one with it, in the same second: the
    # cached Date/Server lines must follow each list's own fields.
    plain, _ = make()
    plain.start_response("200 OK", [("Content-Length", "0")])
    _, fields = parse_head(plain.whole(b"")[0])
    assert value(fields, "Server") == "waitress" and "via" not in names(fields)
    branded, _ = make()
    branded.start_response("200 OK", [("Content-Length", "0"), ("Server", "app/1")])
    _, fields = parse_head(branded.whole(b"")[0])
    assert value(fields, "Server") == "app/1" and value(fields, "Via") == "waitress"
    dated, _ = make()
    dated.start_response("200 OK", [("Content-Length", "0"), ("Date", "Mon, 07 Dec 2026 00:00:00 GMT")])
    _, fields = parse_head(dated.whole(b"")[0])
    assert names(fields) == ["content-length", "date", "server"]
    assert value(fields, "Date") == "Mon, 07 Dec 2026 00:00:00 GMT"


def test_a_304_keeps_its_other_fields_byte_for_byte():
    response, _ = make()
    response.start_response(
        "304 Not Modified", [("Content-Length", "5"), ("ETag", '"x"'), ("Cache-Control", "max-age=1")]
    )
    head = response.whole(b"")[0]
    assert head.startswith(b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nCache-Control: max-age=1\r\nDate: ')
    parse_head(head)


def test_a_304_with_two_equal_lengths_sends_neither():
    response, _ = make()
    response.start_response("304 Not Modified", [("Content-Length", "5"), ("Content-Length", "5")])
    assert "content-length" not in names(parse_head(response.whole(b"")[0])[1])


@pytest.mark.parametrize("finish", ["whole", "start_file"])
def test_a_body_complete_by_its_length_drops_what_follows(finish):
    sent = []
    response, logger = make(send_later=sent.extend)
    write = response.start_response("200 OK", [("Content-Length", "4")])
    if finish == "whole":
        response.whole(b"data")
    else:
        response.start_file(4)
    assert response.complete
    write(b"late")  # after the whole body: dropped, not an error
    assert sent == [] and response.body(b"more") == []


def test_a_set_length_not_met_is_logged_and_ends_the_connection():
    response, logger = make()
    response.start_response("200 OK", [])
    response.set_content_length(10)
    response.prepare(generator(b"abc"))
    response.body(b"abc")
    response.end()
    assert response.close_connection
    assert any("too few" in message for message in logger.messages), logger.messages


def test_a_3xx_answer_to_connect_has_its_body():
    response, _ = make(method="CONNECT")
    status_line, fields, body = run(response_started(response, "300 Multiple Choices",
                                                     [("Content-Length", "2")]), [b"ok"])
    assert status_line == "HTTP/1.1 300 Multiple Choices" and body == b"ok"


def response_started(response, status, headers):
    response.start_response(status, headers)
    return response


def test_the_response_caches_stay_bounded_under_ever_new_values():
    # An application may make every header list, field name or status new
    # (a session cookie, a request id): what is remembered must not grow.
    from waitress_http import response_checks

    for number in range(response_checks.CACHE_LIMIT * 2 + 50):
        response, _ = make()
        response.start_response(f"{200 + number % 7} Reason {number}",
                                [(f"X-Name-{number}", "v"), ("Set-Cookie", f"id={number}")])
        assert len(response_checks.checked_headers) <= response_checks.CACHE_LIMIT
        assert len(response_checks.name_kinds) <= response_checks.CACHE_LIMIT
        assert len(response_checks.status_codes) <= response_checks.CACHE_LIMIT


def test_the_added_lines_are_spelled_as_waitress_spells_them():
    # Byte for byte (http.client would forgive a missing space or odd case).
    response, _ = make()
    response.start_response("200 OK", [("Content-Length", "0")])
    assert b"\r\nServer: waitress\r\n" in response.head_bytes()
    response, _ = make()
    response.start_response("200 OK", [("Content-Length", "0"), ("Server", "app/2")])
    assert b"\r\nServer: app/2\r\nDate: " in response.head_bytes()
    assert b"\r\nVia: waitress\r\n" in response.head_bytes()
    response, _ = make()
    response.start_response("205 Reset Content", [])
    assert b"\r\nContent-Length: 0\r\n" in response.head_bytes()


def test_by_default_the_server_is_waitress_and_logs_to_its_logger(caplog):
    caplog.set_level("WARNING", logger="waitress")
    response = Response("1.1", "GET", True)
    response.start_response("200 OK", [("Content-Length", "5")])
    status_line, headers, _ = run(response, [b"abc"])
    assert value(headers, "Server") == "waitress"
    assert [record.name for record in caplog.records] == ["waitress"]
    assert "too few bytes (3)" in caplog.records[0].getMessage()


def test_whole_before_start_response_is_refused():
    response, _ = make()
    with pytest.raises(RuntimeError, match="start_response"):
        response.whole(b"data")


@pytest.mark.parametrize("version, headers", [("1.1", [("Content-Length", "3")]), ("1.0", [])])
def test_a_view_that_is_not_contiguous_never_reaches_the_socket_as_a_view(version, headers):
    # sendmsg() refuses a non-contiguous buffer: the bytes go out as a copy.
    response, _ = make(version=version)
    response.start_response("200 OK", headers)
    response.prepare(generator())
    out = response.body(memoryview(b"abcdef")[::2])
    assert all(memoryview(buffer).c_contiguous for buffer in out)
    assert b"".join(out).endswith(b"\r\n\r\nace")
