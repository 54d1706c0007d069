"""The cache of parsed heads: a head seen before gives the same answer, and
nothing a client sends can share state between requests or grow memory."""

import pytest
from waitress_http import head as head_module
from waitress_http.errors import BadRequest
from waitress_http.head import HEAD_CACHE_BYTES, HEAD_CACHE_LIMIT, HEAD_CACHE_MAX_SIZE, parse_head

BLOCK = b"POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nX-A: 1\r\n"


def fields(head):
    return (
        head.method,
        head.target,
        head.version,
        head.headers,
        head.content_length,
        head.chunked,
        head.expect_continue,
        head.keep_alive,
    )


@pytest.fixture(autouse=True)
def empty_cache():
    head_module._parsed_heads.clear()
    yield
    head_module._parsed_heads.clear()


def test_a_head_seen_again_parses_the_same_into_new_objects():
    first = parse_head(BLOCK)
    second = parse_head(bytearray(BLOCK))  # a bytearray finds the same entry
    assert BLOCK in head_module._parsed_heads
    assert fields(first) == fields(second) == fields(head_module._parse_head(BLOCK))
    assert first is not second and first.headers is not second.headers


def test_changing_a_returned_head_does_not_change_the_next_one():
    first = parse_head(BLOCK)
    first.headers.append(("Transfer-Encoding", "chunked"))
    first.content_length = 99
    assert fields(parse_head(BLOCK)) == fields(head_module._parse_head(BLOCK))


def test_an_invalid_head_is_refused_every_time_and_never_kept():
    bad = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
    for _ in range(2):
        with pytest.raises(BadRequest):
            parse_head(bad)
    assert head_module._parsed_heads == {}


def test_the_cache_stays_bounded_under_ever_new_heads():
    for number in range(HEAD_CACHE_LIMIT * 3):
        parse_head(b"GET /%d HTTP/1.1\r\nHost: example.com\r\n" % number)
        assert len(head_module._parsed_heads) <= HEAD_CACHE_LIMIT


def test_large_heads_are_bounded_by_their_bytes_not_only_by_their_number():
    """256 different heads of 4 KiB each, parsed, pinned some 17 MB for the
    life of the process; the byte budget bounds what a client can pin."""
    filler = b"X-F%03d: v\r\n"
    for number in range(HEAD_CACHE_LIMIT):
        block = b"GET /%d HTTP/1.1\r\nHost: example.com\r\n" % number
        field = 0
        while len(block) + 12 <= HEAD_CACHE_MAX_SIZE:
            block += filler % field
            field += 1
        parse_head(block)
        assert sum(map(len, head_module._parsed_heads)) <= HEAD_CACHE_BYTES
    assert len(head_module._parsed_heads) < HEAD_CACHE_LIMIT


def test_a_long_head_is_parsed_but_not_kept():
    block = b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Big: " + b"x" * HEAD_CACHE_MAX_SIZE + b"\r\n"
    assert parse_head(block).headers[1] == ("X-Big", "x" * HEAD_CACHE_MAX_SIZE)
    assert head_module._parsed_heads == {}
