"""Syntax of a request head: the request line and the field lines (RFC 9112 2-5).

The fast path validates the whole head with a few C-level calls (two counts,
two regex calls) and builds the header list without a Python loop per line.
Only when that fails does a slow, line-by-line pass run, and its one job is to
say precisely what was wrong.  Nothing here knows about framing or limits.
"""

from typing import List, Optional, Tuple

from .errors import BadRequest, HTTPVersionNotSupported
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


def parse_head(block: bytes) -> RequestHead:
    """Parse a request head: ``block`` runs from the request line through the
    CRLF of the last field line (the empty line that ends the head left out).
    """
    # What is left once the allowed bytes are gone must be the CRLF pairs
    # alone: no control byte, no CR or LF on its own.
    crlfs = block.count(b"\r\n")
    clean = len(block.translate(None, FIELD_BYTES)) == 2 * crlfs
    text = block.decode("latin-1")
    line_end = text.index("\r\n")
    if not clean and (block.count(b"\r") != crlfs or block.count(b"\n") != crlfs):
        # A bare CR or LF comes first, whatever else is wrong: it is what a
        # parser fed piece by piece may see before the rest of the head.
        match = REQUEST_LINE.fullmatch(text, 0, line_end)
        version = _VERSIONS[match.group(3)] if match else None
        where = "request line" if match is None and _has_bare_cr_or_lf(text[:line_end]) else "header line"
        raise BadRequest(f"Bare CR or LF found in {where}", version)
    method, target, version = parse_request_line(text, line_end)
    if not clean:
        reject_field_lines(text[line_end + 2 :], version)
    headers = parse_fields(text, line_end + 1, text.count("\n") - 1, version)
    return build_head(method, target, version, headers)


def _has_bare_cr_or_lf(line: str) -> bool:
    return "\r" in line or "\n" in line


def parse_request_line(text: str, end: int) -> Tuple[str, str, str]:
    """Split and check ``text[:end]``; return (method, target, version).

    ``text[end:end + 2]`` must be the CRLF that ends the line.
    """
    match = REQUEST_LINE.fullmatch(text, 0, end)
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


def parse_fields(
    text: str, first: int, lines: int, version: Optional[str], what: str = "header"
) -> Headers:
    """Parse the ``lines`` field lines that follow the LF at ``text[first]``.

    ``text`` must end with the CRLF of the last field line and hold no control
    byte but HTAB and no CR or LF outside CRLF pairs (the caller checks).
    Returns (name, value) pairs in order, values stripped of SP/HTAB only.
    """
    headers = FIELD_LINE.findall(text, first)
    if len(headers) != lines:
        reject_field_lines(text[first + 1 :], version, what)
    if " \r" in text or "\t\r" in text:
        headers = [(name, value.rstrip(" \t")) for name, value in headers]
    return headers


def reject_field_lines(block: str, version: Optional[str], what: str = "header") -> None:
    """Raise a 400 naming the first bad line of ``block`` (CRLF-separated lines)."""
    for line in block.split("\r\n"):
        problem = field_line_problem(line)
        if problem is not None:
            raise BadRequest(f"Invalid {what}: {problem}", version)
    raise BadRequest(f"Invalid {what}", version)


def field_line_problem(line: str) -> Optional[str]:
    """Say what is wrong with one field line (without its CRLF), or None."""
    if "\r" in line or "\n" in line:
        return "bare CR or LF found in header line"
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
