"""What the header fields say about the message: its length, and the connection.

Every request-smuggling rule lives here (RFC 9112 6.1-6.3, RFC 9110 7.2):
one Host, a strict Content-Length, Transfer-Encoding only as a lone final
``chunked`` and never together with Content-Length.  A field that decides
framing is either understood exactly or the request is refused.
"""

from typing import Dict, List, Optional, Tuple

from .errors import BadRequest, NotImplementedTransferEncoding
from .events import RequestHead
from .grammar import CONTENT_LENGTH, HOST_VALUE

#: The fields this module reads, by lowercase name.
_FRAMING_FIELDS = frozenset(
    ("host", "content-length", "transfer-encoding", "connection", "expect")
)


def build_head(
    method: str, target: str, version: str, headers: List[Tuple[str, str]]
) -> RequestHead:
    """Check the framing fields of a syntactically valid head and describe it."""
    found = [(key, value) for name, value in headers if (key := name.lower()) in _FRAMING_FIELDS]
    is_11 = version == "1.1"
    if not found:
        if is_11:
            raise BadRequest("Missing Host header", version)
        return RequestHead(method, target, version, headers, None, False, False, False)
    fields: Dict[str, List[str]] = {}
    for key, value in found:
        if key in fields:
            fields[key].append(value)
        else:
            fields[key] = [value]

    _check_host(fields.get("host"), version)
    chunked = _is_chunked(fields.get("transfer-encoding"), version)
    lengths = fields.get("content-length")
    content_length = None
    if lengths is not None:
        if chunked:
            raise BadRequest("Content-Length and Transfer-Encoding are both present", version)
        content_length = _content_length(lengths, version)

    connection = fields.get("connection")
    if connection is None:
        keep_alive = is_11
    else:
        options = list_elements(connection)
        keep_alive = "close" not in options and (is_11 or "keep-alive" in options)

    expect = fields.get("expect")
    expect_continue = is_11 and expect is not None and "100-continue" in list_elements(expect)
    return RequestHead(
        method, target, version, headers, content_length, chunked, expect_continue, keep_alive
    )


def list_elements(values: List[str]) -> List[str]:
    """The lowercase elements of a comma-separated list spread over field lines."""
    return [element.strip(" \t").lower() for value in values for element in value.split(",")]


def _check_host(hosts: Optional[List[str]], version: str) -> None:
    if hosts is None:
        if version == "1.1":
            raise BadRequest("Missing Host header", version)
        return
    if len(hosts) > 1:
        raise BadRequest("More than one Host header", version)
    if HOST_VALUE.fullmatch(hosts[0]) is None:
        raise BadRequest("Invalid Host header", version)


def _is_chunked(codings: Optional[List[str]], version: str) -> bool:
    """True for ``chunked`` alone; refuse every other Transfer-Encoding."""
    if codings is None:
        return False
    if version != "1.1":
        raise BadRequest("Transfer-Encoding is not allowed in an HTTP/1.0 request", version)
    # Empty list elements are allowed and ignored (RFC 9110 5.6.1).
    if [coding for coding in list_elements(codings) if coding] != ["chunked"]:
        raise NotImplementedTransferEncoding(
            "Transfer-Encoding requested is not supported.", version
        )
    return True


def _content_length(lengths: List[str], version: str) -> int:
    first = lengths[0]
    if CONTENT_LENGTH.fullmatch(first) is None:
        raise BadRequest("Content-Length is invalid", version)
    for other in lengths[1:]:
        if other != first:
            raise BadRequest("Conflicting Content-Length fields", version)
    return int(first)
