"""Property tests: generated requests round-trip through the parser whatever
the split, and no input at all makes it raise anything but its own HTTPError."""

import ipaddress
from typing import Any, Dict, List, Optional, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from waitress_http.errors import HTTPError
from waitress_http.events import NEED_DATA, Body, EndOfMessage, RequestHead
from waitress_http.grammar import HOST_VALUE
from waitress_http.parser import RequestParser

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
METHOD_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Fields the parser checks (framing, and Content-Type, which may appear
# once): random fields never take these names.
CHECKED_NAMES = {
    "host", "content-length", "transfer-encoding", "connection", "expect", "content-type"
}
VALUE_CHARS = "\t" + "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0x80, 0x100)))
TARGET_CHARS = "".join(map(chr, range(0x21, 0x7F)))

field_names = st.text(TCHARS, min_size=1, max_size=12).filter(lambda n: n.lower() not in CHECKED_NAMES)
field_values = st.text(VALUE_CHARS, max_size=30).map(lambda v: v.strip(" \t"))
ows = st.sampled_from(["", " ", "\t", "  ", " \t "])
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "M-SEARCH"]) | st.text(
    METHOD_CHARS, min_size=1, max_size=8
).filter(lambda m: m != "CONNECT")
chunk_extensions = st.sampled_from(["", ";a", ";a=b", '; q = "x \\" y"', ";n;m=1", ";x=\"\""])

Expected = Dict[str, Any]


def connection_keeps_alive(version: str, connection: Optional[str]) -> bool:
    options = [o.strip(" \t").lower() for o in (connection or "").split(",")]
    if "close" in options:
        return False
    return version == "1.1" or "keep-alive" in options


@st.composite
def requests(draw: Any) -> Tuple[bytes, Expected]:
    """A valid request as raw bytes, and what the parser must make of it."""
    version = draw(st.sampled_from(["1.0", "1.1"]))
    method = draw(methods)
    target = "/" + draw(st.text(TARGET_CHARS, max_size=40))
    fields = draw(st.lists(st.tuples(field_names, field_values), max_size=6))
    if version == "1.1" or draw(st.booleans()):
        host = draw(st.sampled_from(["example.com", "example.com:8080", "[::1]", "127.0.0.1:80", ""]))
        fields.append((draw(st.sampled_from(["Host", "host", "HOST"])), host))
    connection = draw(
        st.none() | st.sampled_from(["close", "keep-alive", "Keep-Alive, Upgrade", "upgrade", "foo, CLOSE"])
    )
    if connection is not None:
        fields.append(("Connection", connection))
    expect = draw(st.booleans())
    if expect:
        fields.append(("Expect", "100-continue"))
    body = draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["length", "chunked"] if version == "1.1" else ["length"]))
    if not body and draw(st.booleans()):
        framing = "none"
    if framing == "length":
        fields.append(("Content-Length", str(len(body))))
    elif framing == "chunked":
        fields.append(("Transfer-Encoding", draw(st.sampled_from(["chunked", "Chunked", " chunked "]).map(str.strip))))
    fields = draw(st.permutations(fields))

    lines = [f"{method} {target} HTTP/{version}"]
    lines += [f"{name}:{draw(ows)}{value}{draw(ows) if value else ''}" for name, value in fields]
    raw = "".join(line + "\r\n" for line in lines).encode("latin-1") + b"\r\n"
    if framing == "chunked":
        raw += draw(chunked_body(body))
    else:
        raw += body
    expected = {
        "method": method,
        "target": target,
        "version": version,
        "headers": fields,
        "body": body,
        "content_length": len(body) if framing == "length" else None,
        "chunked": framing == "chunked",
        "keep_alive": connection_keeps_alive(version, connection),
        # Only a body to come is worth a 100 Continue.
        "expect_continue": expect and version == "1.1" and (framing == "chunked" or bool(body)),
    }
    return raw, expected


@st.composite
def chunked_body(draw: Any, body: bytes) -> bytes:
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=5))))
    cuts = [c for c in cuts if 0 < c < len(body)]
    chunks = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)]) if body[a:b]]
    out = b""
    for chunk in chunks:
        size = draw(st.sampled_from(["%x", "%X", "%04x"])) % len(chunk)
        out += (size + draw(chunk_extensions)).encode() + b"\r\n" + chunk + b"\r\n"
    out += b"0" + draw(chunk_extensions).encode() + b"\r\n"
    for name, value in draw(st.lists(st.tuples(field_names, field_values), max_size=3)):
        out += f"{name}: {value}\r\n".encode("latin-1")
    return out + b"\r\n"


def split(raw: bytes, cuts: List[int]) -> List[bytes]:
    points = sorted({min(max(c, 0), len(raw)) for c in cuts} | {0, len(raw)})
    return [raw[a:b] for a, b in zip(points, points[1:])]


def parse(pieces: List[bytes]) -> Tuple[List[Expected], Optional[int]]:
    """Feed the pieces; return the requests seen (bodies merged) and the error status."""
    parser = RequestParser()
    seen: List[Expected] = []
    for piece in pieces:
        parser.feed(piece)
        while True:
            try:
                event = parser.next_event()
            except HTTPError as error:
                # Failed for good, with the same error.
                try:
                    parser.next_event()
                except HTTPError as again:
                    assert again is error
                else:
                    raise AssertionError("the parser recovered from an error")
                return seen, error.code
            if event is NEED_DATA:
                break
            if isinstance(event, RequestHead):
                seen.append(
                    {
                        "method": event.method,
                        "target": event.target,
                        "version": event.version,
                        "headers": event.headers,
                        "body": b"",
                        "content_length": event.content_length,
                        "chunked": event.chunked,
                        "keep_alive": event.keep_alive,
                        "expect_continue": event.expect_continue,
                        "complete": False,
                    }
                )
            elif isinstance(event, Body):
                assert event.data and type(event.data) is bytes
                seen[-1]["body"] += event.data
            else:
                assert isinstance(event, EndOfMessage)
                seen[-1]["complete"] = True
    return seen, None


def completed(expected: Expected) -> Expected:
    return dict(expected, complete=True)


@SETTINGS
@given(requests(), st.lists(st.integers(0, 2000), max_size=12))
def test_any_split_of_a_request_gives_the_request(request: Tuple[bytes, Expected], cuts: List[int]) -> None:
    raw, expected = request
    assert parse([raw]) == ([completed(expected)], None)
    assert parse(split(raw, cuts)) == ([completed(expected)], None)


@SETTINGS
@given(st.lists(requests(), min_size=2, max_size=4), st.lists(st.integers(0, 3000), max_size=12))
def test_pipelined_requests_in_any_split(batch: List[Tuple[bytes, Expected]], cuts: List[int]) -> None:
    raw = b"".join(r for r, _ in batch)
    expected = [completed(e) for _, e in batch]
    assert parse(split(raw, cuts)) == (expected, None)


@SETTINGS
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=8))
def test_arbitrary_bytes_give_events_or_http_error(data: bytes, cuts: List[int]) -> None:
    parse(split(data, cuts))  # any other exception fails the test


@SETTINGS
@given(
    st.binary(max_size=200).map(lambda b: b"GET / HTTP/1.1\r\nHost: x\r\n" + b),
    st.lists(st.integers(0, 300), max_size=8),
)
def test_arbitrary_field_bytes_give_events_or_http_error(data: bytes, cuts: List[int]) -> None:
    assert parse(split(data, cuts))[1] == parse([data])[1]


@st.composite
def mutated_requests(draw: Any) -> bytes:
    raw = bytearray(draw(requests())[0])
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        if kind == "replace" and position < len(raw):
            raw[position] = draw(st.sampled_from([0, 9, 10, 13, 32, 44, 58, 59, 0x7F, 0x85, 0xA0, 0xFF]) | st.integers(0, 255))
        elif kind == "insert":
            raw[position:position] = draw(st.sampled_from([b"\r\n", b"\n", b"\r", b" ", b":", b"\x00", b"0"]) | st.binary(max_size=3))
        else:
            del raw[position : position + draw(st.integers(1, 4))]
    return bytes(raw)


@SETTINGS
@given(mutated_requests(), st.lists(st.integers(0, 2000), max_size=12))
def test_mutated_requests_same_outcome_whole_or_split(raw: bytes, cuts: List[int]) -> None:
    # The outcome must not depend on how the bytes arrived.
    assert parse(split(raw, cuts)) == parse([raw])


# Host (RFC 9112 3.2): an IP-literal is an IPv6 address, as the standard
# library reads one, and nothing else of the same characters.

IPV6_CHARS = "0123456789abcdefABCDEF:."


def ip_literal_is_valid(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


@SETTINGS
@given(st.integers(0, 2**128 - 1), st.sampled_from(["compressed", "exploded"]), st.booleans())
def test_every_ipv6_address_is_a_host(number: int, form: str, with_port: bool) -> None:
    address = getattr(ipaddress.IPv6Address(number), form)
    host = "[%s]%s" % (address, ":8080" if with_port else "")
    assert HOST_VALUE.fullmatch(host) is not None, host


@settings(max_examples=2000, deadline=None)
@given(st.text(IPV6_CHARS, min_size=1, max_size=24))
def test_a_bracketed_host_is_valid_only_as_an_ipv6_address(text: str) -> None:
    assert (HOST_VALUE.fullmatch("[%s]" % text) is not None) == ip_literal_is_valid(text), text
