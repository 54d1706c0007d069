"""What the header fields say about the message: its length, and the connection.

Every rule on what the fields say about framing lives here (RFC 9112
6.1-6.3, RFC 9110 7.2; the grammar of a line is ``head.py``'s, of a chunk
``chunked.py``'s): one Host, a strict Content-Length, Transfer-Encoding
only as a lone final ``chunked`` and never together with Content-Length.  A field that decides
framing is either understood exactly or the request is refused.  So is a
second Content-Type: it is a single value (RFC 9110 8.3), and two of them
could be read differently by a proxy in front and by the application.
"""

from typing import Dict, List, Set, Tuple

from .errors import BadRequest, NotImplementedTransferEncoding, RequestEntityTooLarge
from .events import RequestHead
from .grammar import CONTENT_LENGTH, HOST_VALUE

#: Content-Length digits, leading zeros aside, beyond which no limit can be
#: met: 10**19 bytes is ten exabytes.
MAX_LENGTH_DIGITS = 19

#: The fields this module reads, by lowercase name.
_FIELDS_READ = frozenset(
    ("host", "content-length", "transfer-encoding", "connection", "expect", "content-type")
)


def build_head(
    method: str, target: str, version: str, headers: List[Tuple[str, str]]
) -> RequestHead:
    """Check the framing fields of a syntactically valid head and describe it."""
    hosts: List[str] = []
    lengths: List[str] = []
    content_types = 0
    # Repeated list-valued fields mean the same as one field with the values
    # joined by commas (RFC 9110 5.3); Host and Content-Length are not lists.
    lists: Dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key not in _FIELDS_READ:
            continue
        if key == "host":
            hosts.append(value)
        elif key == "content-length":
            lengths.append(value)
        elif key == "content-type":
            content_types += 1
        elif key in lists:
            lists[key] += "," + value
        else:
            lists[key] = value

    is_11 = version == "1.1"
    if len(hosts) != 1:
        if hosts:
            raise BadRequest("More than one Host header", version)
        if is_11:
            raise BadRequest("Missing Host header", version)
    elif hosts[0] not in _valid_hosts:
        _check_host(hosts[0], version)
    if content_types > 1:
        raise BadRequest("More than one Content-Type field", version)
    chunked = False
    if lists:
        codings = lists.get("transfer-encoding")
        if codings is not None:
            chunked = _is_chunked(codings, version)
    content_length = None
    if lengths:
        if chunked:
            raise BadRequest("Content-Length and Transfer-Encoding are both present", version)
        content_length = _content_length(lengths, version)
    if method == "CONNECT":
        # A 2xx answer would turn the connection into a tunnel (RFC 9110
        # 9.3.6), which a WSGI server cannot make: whatever the answer, the
        # bytes after it are not read as HTTP, and a front end that forwards
        # CONNECT cannot disagree about what they are.
        return RequestHead(method, target, version, headers, content_length, chunked, False, False)
    if not lists:
        return RequestHead(method, target, version, headers, content_length, chunked, False, is_11)

    connection = lists.get("connection")
    if connection is None:
        keep_alive = is_11
    else:
        connection = connection.lower()
        if connection == "keep-alive":  # the usual value, without splitting
            keep_alive = True
        else:
            options = list_elements(connection)
            keep_alive = "close" not in options and (is_11 or "keep-alive" in options)
    expect = lists.get("expect")
    # No body, no 100 Continue to wait for (RFC 9110 10.1.1 lets a server
    # omit it when the framing says there is no content).
    expect_continue = (
        is_11
        and expect is not None
        and (chunked or bool(content_length))
        and "100-continue" in list_elements(expect)
    )
    return RequestHead(
        method, target, version, headers, content_length, chunked, expect_continue, keep_alive
    )


def list_elements(value: str) -> List[str]:
    """The lowercase elements of a comma-separated list, OWS stripped."""
    return [element.strip(" \t").lower() for element in value.split(",")]


#: Host values already found valid, so that the clients of one site are not
#: checked again on every request.  Bounded: once full, nothing more is added.
_valid_hosts: Set[str] = set()
_VALID_HOSTS_KEPT = 256


def _check_host(host: str, version: str) -> None:
    if HOST_VALUE.fullmatch(host) is None:
        raise BadRequest("Invalid Host header", version)
    if len(_valid_hosts) < _VALID_HOSTS_KEPT:
        _valid_hosts.add(host)


def _is_chunked(codings: str, version: str) -> bool:
    """True for ``chunked`` alone; refuse every other Transfer-Encoding."""
    if version != "1.1":
        raise BadRequest("Transfer-Encoding is not allowed in an HTTP/1.0 request", version)
    elements = list_elements(codings)
    if elements == ["chunked"]:
        return True
    if elements[-1] != "chunked":
        # RFC 9112 6.3: the body's length cannot be known; 400, then close.
        raise BadRequest("Transfer-Encoding does not end with chunked", version)
    # Exactly one element: RFC 9110 5.6.1 would have empty elements ignored,
    # but a front end that keeps one of several Transfer-Encoding lines, the
    # empty one, frames the message as bodiless (the TE.0 desync), so an
    # empty element is refused like any coding we do not implement.
    raise NotImplementedTransferEncoding("Transfer-Encoding requested is not supported.", version)


def _content_length(lengths: List[str], version: str) -> int:
    # RFC 9110 8.6 allows accepting identical duplicates; refusing every
    # duplicate is simpler to reason about and what Waitress does since its
    # CVE-2019-16792 fix, so a front end can never see a different length.
    if len(lengths) > 1:
        raise BadRequest("More than one Content-Length field", version)
    if CONTENT_LENGTH.fullmatch(lengths[0]) is None:
        raise BadRequest("Content-Length is invalid", version)
    digits = lengths[0].lstrip("0")
    if len(digits) > MAX_LENGTH_DIGITS:  # int() of it could be slow, or refused
        raise RequestEntityTooLarge("Content-Length is larger than any body accepted", version)
    return int(digits or "0")
