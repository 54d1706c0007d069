"""Syntax of a request head: the request line and the field lines (RFC 9112 2-5).

The fast path validates a whole head with a handful of C-level calls (one
``bytes.translate``, two regex calls) and gets the header list from one
``findall``, without a Python loop per line.  Only when that fails does a
slow, line-by-line pass run, and its one job is to say precisely what was
wrong.  Nothing here knows about framing or limits.

Parsing is a pure function of the head's bytes, and a server sees the same
head again and again (a health check, an API client polling, a load
balancer's probe), so what a valid head parsed to is remembered, keyed by
its bytes: a head seen before costs one dictionary look-up instead of two
regular expressions and the framing checks.  Only valid heads are kept,
only short ones, and only so many (a client inventing heads cannot grow it).
"""

from typing import Any, List, Optional, Tuple, Union

from .errors import BadRequest, HTTPVersionNotSupported, RequestHeaderFieldsTooLarge
from .events import RequestHead
from .framing import build_head
from .grammar import (
    ABSOLUTE_FORM,
    AUTHORITY_FORM,
    CONTROL_CHAR,
    FIELD_BYTES,
    FIELD_LINE,
    HTTP_VERSION,
    REQUEST_LINE,
    TOKEN,
)

Headers = List[Tuple[str, str]]

_VERSIONS = {"0": "1.0", "1": "1.1"}

#: A head with more field lines than this is refused (431).  Each field of
#: a head waiting for a worker is held as a (name, value) pair, some 12
#: times the bytes of its line: 40,000 one-byte fields within the default
#: 256 KiB head made 3 MB per queued request.  Browsers send a few dozen;
#: Apache, gunicorn and Tomcat refuse more than 100.  (Waitress: no limit.)
MAX_HEADER_FIELDS = 1000

#: Heads up to this size are remembered...
HEAD_CACHE_MAX_SIZE = 4096
#: ...this many of them, and this many bytes of them in all; the cache
#: starts afresh when either is reached.  The byte budget bounds what a
#: client sending ever-different large heads can pin: 256 heads of 4 KiB,
#: parsed, held some 17 MB for the life of the process.  Browsers' heads
#: run to 1-2 KiB, a proxy's to a few hundred bytes.
HEAD_CACHE_LIMIT = 256
HEAD_CACHE_BYTES = 128 * 1024


class HeadCache(dict):
    """A dict keyed by head bytes that starts afresh when a new entry would
    pass ``HEAD_CACHE_LIMIT`` entries or ``HEAD_CACHE_BYTES`` bytes of keys:
    what is cached per head (here, and per listener in ``EnvironBuilder``)
    stays bounded whatever heads clients send.  Lookups are plain ``get``."""

    __slots__ = ("key_bytes",)

    def __init__(self) -> None:
        super().__init__()
        self.key_bytes = 0

    def put(self, key: bytes, value: Any) -> None:
        if len(self) >= HEAD_CACHE_LIMIT or self.key_bytes + len(key) > HEAD_CACHE_BYTES:
            self.clear()
        self.key_bytes += len(key)
        self[key] = value

    def clear(self) -> None:
        super().clear()
        self.key_bytes = 0


# head bytes -> the RequestHead fields, headers as a tuple (never handed out)
_parsed_heads = HeadCache()


def parse_head(block: Union[bytes, bytearray]) -> RequestHead:
    """Parse a request head: ``block`` runs from the request line through the
    CRLF of the last field line (the empty line that ends the head left out).

    Each call returns a new ``RequestHead`` with its own ``headers`` list.
    """
    if len(block) > HEAD_CACHE_MAX_SIZE:
        return _parse_head(block)
    key = block if type(block) is bytes else bytes(block)
    known = _parsed_heads.get(key)
    if known is not None:
        method, target, version, headers, length, chunked, expect, keep_alive = known
        return RequestHead(
            method, target, version, list(headers), length, chunked, expect, keep_alive, key
        )
    head = _parse_head(key)
    head.key = key
    _parsed_heads.put(
        key,
        (
            head.method,
            head.target,
            head.version,
            tuple(head.headers),
            head.content_length,
            head.chunked,
            head.expect_continue,
            head.keep_alive,
        ),
    )
    return head


def _parse_head(block: Union[bytes, bytearray]) -> RequestHead:
    """``parse_head`` without the cache: validate and split the head."""
    # What is left without the bytes a field line may hold must be "\r\n"
    # repeated: no control byte, as many CRs as LFs, alternating.  Then
    # REQUEST_LINE (ending in CRLF), a FIELD_LINE match (starting with CRLF)
    # at every other line, and the CRLF that ends ``block`` account for every
    # CR and LF as a CRLF pair: no bare CR or LF anywhere.
    breaks = block.translate(None, FIELD_BYTES)
    lines = len(breaks) >> 1
    text = block.decode("latin-1")
    if breaks != b"\r\n" * lines:
        _reject_unclean_head(text)
    match = REQUEST_LINE.match(text)
    if match is None:
        _reject_request_line(text[: text.index("\r\n")])
    method, target, minor = match.groups()
    version = "1.1" if minor == "1" else "1.0"
    if target[0] != "/" or method == "CONNECT":
        check_target_form(method, target, version)
    line_end = match.end() - 2
    headers = FIELD_LINE.findall(text, line_end)
    if len(headers) != lines - 1:
        reject_field_lines(text[line_end + 2 :], version)
    if len(headers) > MAX_HEADER_FIELDS:  # well-formed, but too many to hold
        raise RequestHeaderFieldsTooLarge(
            f"Header fields reached the limit of {MAX_HEADER_FIELDS} fields", version
        )
    return build_head(method, target, version, headers)


def parse_fields(text: str, version: Optional[str], what: str = "trailer") -> Headers:
    """Parse field lines, each preceded by CRLF; ``text`` ends with the last CRLF.

    Each FIELD_LINE match starts with the CRLF before its line and takes the
    line up to its trailing whitespace.  So when ``text`` holds no control
    byte (the caller checks), as many CRs as LFs, one fewer field line than
    CRLFs, and a match at each of them, then every CR and LF is in a CRLF pair
    that ends a well-formed line.
    """
    lines = text.count("\n") - 1
    if text.count("\r") != lines + 1:
        reject_field_lines(text[2:], version, what)
    headers = FIELD_LINE.findall(text)
    if len(headers) != lines:
        reject_field_lines(text[2:], version, what)
    return headers


def _reject_unclean_head(text: str) -> None:
    """Raise the error for a head holding a bare CR or LF or a control byte."""
    line_end = text.index("\r\n")
    crlfs = text.count("\r\n")
    if text.count("\r") != crlfs or text.count("\n") != crlfs:
        # A bare CR or LF comes first, whatever else is wrong: it is what a
        # parser fed piece by piece may see before the rest of the head.
        raise bare_line_end_error(text)
    _, _, version = parse_request_line(text, line_end)
    reject_field_lines(text[line_end + 2 :], version)


def bare_line_end_error(text: str) -> BadRequest:
    """The error for a head, whole or its start, that holds a bare CR or LF."""
    match = REQUEST_LINE.match(text)
    version = _VERSIONS[match.group(3)] if match else None
    line_end = text.find("\r\n")
    line = text if line_end == -1 else text[:line_end]
    where = "request line" if "\r" in line or "\n" in line else "header line"
    return BadRequest(f"Bare CR or LF found in {where}", version)


def parse_request_line(text: str, end: int) -> Tuple[str, str, str]:
    """Split and check ``text[:end]``; return (method, target, version).

    ``text[end:end + 2]`` must be the CRLF that ends the line.
    """
    match = REQUEST_LINE.match(text[: end + 2])
    if match is None:
        _reject_request_line(text[:end])
    method, target, minor = match.groups()
    version = _VERSIONS[minor]
    if target[0] != "/" or method == "CONNECT":
        check_target_form(method, target, version)
    return method, target, version


def check_target_form(method: str, target: str, version: str) -> None:
    """Accept a target that is not origin-form only where RFC 9112 3.2 allows it."""
    if method == "CONNECT":
        if AUTHORITY_FORM.fullmatch(target) is None:
            raise BadRequest("CONNECT needs an authority-form target (host:port)", version)
        return
    if target == "*":
        if method != "OPTIONS":
            raise BadRequest("Asterisk-form target is only allowed with OPTIONS", version)
        return
    if ABSOLUTE_FORM.fullmatch(target) is None:
        raise BadRequest("Invalid request target", version)


def reject_field_lines(block: str, version: Optional[str], what: str = "header") -> None:
    """Raise a 400 naming the first bad line of ``block`` (CRLF-separated lines).

    A bare CR or LF is named first, in the words the parser uses when it
    meets one in a section still arriving: the detail must not depend on
    how the bytes were cut.
    """
    unpaired = block.replace("\r\n", "")
    if "\r" in unpaired or "\n" in unpaired:
        raise BadRequest(f"Bare CR or LF found in {what} line", version)
    for line in block.split("\r\n"):
        problem = field_line_problem(line)
        if problem is not None:
            raise BadRequest(f"Invalid {what}: {problem}", version)
    raise BadRequest(f"Invalid {what}", version)


def field_line_problem(line: str) -> Optional[str]:
    """Say what is wrong with one field line (without its CRLF), or None.

    A bare CR or LF is the caller's to find (``reject_field_lines``).
    """
    if not line:
        return None
    if line[0] in " \t":
        return "obs-fold (a line starting with whitespace) is not allowed"
    name, colon, value = line.partition(":")
    if not colon:
        return f"no colon in field line {_shorten(name)}"
    if not name:
        return "empty field name"
    if name.rstrip(" \t") != name:
        return f"whitespace between field name {_shorten(name.rstrip())} and colon"
    if TOKEN.fullmatch(name) is None:
        return f"field name {_shorten(name)} is not a token"
    control = CONTROL_CHAR.search(value)
    if control is not None:
        return f"control character {control.group()!r} in the value of {_shorten(name)}"
    return None


def _reject_request_line(line: str) -> None:
    """Raise the right error for a request line the fast pattern refused."""
    if "\r" in line or "\n" in line:
        raise BadRequest("Bare CR or LF found in request line")
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        raise BadRequest("Start line is invalid")
    method, target, version = parts
    if TOKEN.fullmatch(method) is None or method != method.upper():
        raise BadRequest(f"Malformed HTTP method {_shorten(method)}")
    match = HTTP_VERSION.fullmatch(version)
    if match is None:
        raise BadRequest(f"Malformed HTTP version {_shorten(version)}")
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HTTPVersionNotSupported(f"HTTP version {match.group(1)}.{match.group(2)} is not supported")
    raise BadRequest("Invalid request target", version[5:])


def _shorten(value: str, limit: int = 40) -> str:
    """Quote client text for an error detail, cut short and with controls escaped."""
    if len(value) > limit:
        value = value[:limit] + "..."
    return ascii(value)
