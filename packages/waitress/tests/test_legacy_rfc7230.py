"""waitress.rfc7230: the grammar patterns code adding its own header rules imports."""

import pytest
from waitress import rfc7230


@pytest.mark.parametrize(
    "line, name, value",
    [
        (b"Host: example.com", b"Host", b"example.com"),
        (b"X-Empty:", b"X-Empty", b""),
        (b"X-Pad: \t a  b \t", b"X-Pad", b"a  b"),
        (b"X-Latin1: caf\xe9", b"X-Latin1", b"caf\xe9"),
    ],
)
def test_header_field_re_splits_name_and_value(line, name, value):
    match = rfc7230.HEADER_FIELD_RE.match(line)
    assert match.group("name") == name and match.group("value") == value


@pytest.mark.parametrize(
    "line",
    [b"Host : x", b" Host: x", b"Bad Name: x", b"X: a\x00b", b"X: a\rb", b"NoColon", b"X: a\n"],
)
def test_header_field_re_refuses_what_the_server_refuses(line):
    assert rfc7230.HEADER_FIELD_RE.match(line) is None


def test_quoted_string_and_pair():
    assert rfc7230.QUOTED_STRING_RE.fullmatch('"a \\"quoted\\" word"')
    assert not rfc7230.QUOTED_STRING_RE.fullmatch('"unterminated')
    assert rfc7230.QUOTED_PAIR_RE.fullmatch("\\x")


def test_chunk_extensions_and_digit_patterns():
    assert rfc7230.CHUNK_EXT_RE.match(b';name=value;flag;q="a b"')
    assert rfc7230.CHUNK_EXT_RE.match(b"")
    assert not rfc7230.CHUNK_EXT_RE.match(b";=value")
    assert rfc7230.ONLY_DIGIT_RE.match(b"123") and not rfc7230.ONLY_DIGIT_RE.match(b"+1")
    assert not rfc7230.ONLY_DIGIT_RE.match(b"1\n")
    assert rfc7230.ONLY_HEXDIG_RE.match(b"fF09") and not rfc7230.ONLY_HEXDIG_RE.match(b"0x3")


def test_a_long_hostile_value_is_refused_without_retrying_splits():
    # Many spaces between visible characters, then a byte that fails the
    # match: a backtracking pattern would retry every split (CVE-2020-5236).
    line = b"X: " + b"a " * 50000 + b"\x00"
    assert rfc7230.HEADER_FIELD_RE.match(line) is None
