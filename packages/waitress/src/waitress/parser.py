"""``waitress.parser``: Waitress 3.0.2's per-request parser, for code that drives it.

The server parses with waitress-http's ``RequestParser``: one per connection,
sans-IO, events out.  Some code outside Waitress drives Waitress's own
parser object instead: asyncio protocols built on it, tests that feed it
bytes to check their limits, subclasses that override ``parse_header`` to
add rules of their own.  ``HTTPRequestParser`` keeps that object's interface
(one instance per request; ``received(data)`` returns how many bytes it
took; the outcome is in attributes) and leaves every rule to waitress-http,
so it accepts and refuses what the server does.
"""

import sys
from io import BytesIO
from typing import IO, Any, Dict, List, Optional, Tuple, Union
from urllib.parse import unquote_to_bytes, urlsplit

from waitress_http import (
    HTTPError,
    RequestHead,
    RequestParser,
    decode_path,
    split_target,
)
from waitress_http.errors import limit_detail
from waitress_http.grammar import REQUEST_LINE

from .buffers import OverflowableBuffer
from .error_pages import error_from
from .receiver import ChunkedReceiver, FixedStreamReceiver
from .request_view import header_dict
from .rfc7230 import HEADER_FIELD_RE
from .utilities import (
    BadRequest,
    Error,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    ServerNotImplemented,
)

__all__ = [
    "HEADER_FIELD_RE",
    "HTTPRequestParser",
    "ParsingError",
    "TransferEncodingNotImplemented",
    "crack_first_line",
    "get_header_lines",
    "split_uri",
    "unquote_bytes_to_wsgi",
]

_HEAD_END = b"\r\n\r\n"


class ParsingError(Exception):
    """The request head is malformed (answered with 400)."""


class TransferEncodingNotImplemented(Exception):
    """The request uses a transfer coding other than chunked (answered with 501)."""


class HTTPRequestParser:
    """Parses one request: feed it bytes with ``received`` until ``completed``.

    After the head: ``command``, ``path`` (percent-decoded, latin-1),
    ``query``, ``request_uri`` (as sent), ``version`` ("1.0"/"1.1"),
    ``headers`` (a dict keyed like ``X_FORWARDED_FOR``: upper case, "-" as
    "_", names holding "_" dropped, repeated fields joined with ", "),
    ``content_length``, ``chunked``, ``expect_continue`` and
    ``connection_close``.  Once ``completed``, either ``error`` is set (an
    ``waitress.utilities.Error``: ``code``, ``reason``, ``body``) or the body
    is ready in ``get_body_stream()``.  ``empty`` means only blank lines came.
    """

    completed = False
    empty = False
    expect_continue = False
    headers_finished = False
    header_plus = b""
    chunked = False
    content_length = 0
    header_bytes_received = 0
    body_bytes_received = 0
    body_rcv: Union[FixedStreamReceiver, ChunkedReceiver, None] = None
    version = "1.0"
    error: Optional[Error] = None
    connection_close = False
    first_line = b""
    command = ""
    path = ""
    query = ""
    fragment = ""
    request_uri = ""
    proxy_scheme = ""
    proxy_netloc = ""

    def __init__(self, adj: Any) -> None:
        self.adj = adj
        self.headers: Dict[str, str] = {}
        #: The head's bytes received so far.
        self._pending = bytearray()
        self.url_scheme: str = adj.url_scheme

    def received(self, data: bytes) -> int:
        """Take the bytes of ``data`` that belong to this request; return how many.

        Bytes past the end of the head are left for the next call (the
        caller feeds the rest again); bytes past the end of the request
        belong to the next request.
        """
        if self.completed:
            return 0
        if self.body_rcv is None:
            return self._receive_head(data)
        return self._receive_body(data)

    def _receive_head(self, data: bytes) -> int:
        pending = self._pending
        seen = len(pending)
        # Grown in place and searched only where a new CRLFCRLF can be: a
        # client sending its head a byte at a time costs linear time.
        pending += data
        limit = self.adj.max_request_header_size
        end = pending.find(_HEAD_END, max(seen - 3, 0))
        if end < 0:
            self.header_bytes_received = len(pending)
            if len(pending) >= limit:
                self._fail(RequestHeaderFieldsTooLarge(limit_detail("Header fields", limit)))
            return len(data)
        head_size = end + len(_HEAD_END)
        consumed = head_size - seen
        self.header_bytes_received = head_size
        self.headers_finished = True
        if head_size >= limit:
            self._fail(RequestHeaderFieldsTooLarge(limit_detail("Header fields", limit)))
            return consumed
        block = bytes(pending[:end]).lstrip(b"\r\n")
        self.header_plus = block
        self._pending = bytearray()
        if not block:
            self.empty = True
            self.completed = True
            return consumed
        try:
            self.parse_header(block)
        except ParsingError as exc:
            cause = exc.__cause__
            self._fail(error_from(cause) if isinstance(cause, HTTPError) else BadRequest(str(exc)))
            return consumed
        except TransferEncodingNotImplemented as exc:
            self._fail(ServerNotImplemented(str(exc)))
            return consumed
        limit = self.adj.max_request_body_size
        if self.content_length and self.content_length >= limit:
            self._fail(RequestEntityTooLarge(limit_detail("Request body", limit)))
        elif self.body_rcv is None:
            self.completed = True
        return consumed

    def _receive_body(self, data: bytes) -> int:
        receiver = self.body_rcv
        assert receiver is not None
        limit = self.adj.max_request_body_size
        if isinstance(receiver, ChunkedReceiver):
            # Read now: a subclass may narrow the limit after parse_header.
            receiver.max_body_size = limit
        consumed = receiver.received(data)
        self.body_bytes_received += consumed
        if receiver.error is not None:
            self._fail(receiver.error)
        elif receiver.completed:
            self.completed = True
            if self.chunked:
                # The body is whole now: describe it as the application sees it.
                self.headers["CONTENT_LENGTH"] = str(len(receiver))
        return consumed

    def _fail(self, error: Error) -> None:
        self.error = error
        self.completed = True

    def parse_header(self, header_plus: bytes) -> None:
        """Parse the request line and field lines (without the final empty line).

        Raises ``ParsingError`` (or ``TransferEncodingNotImplemented``) for
        a head the server would refuse; sets the attributes otherwise, and
        ``body_rcv`` when a body follows.
        """
        head = _parse_head(bytes(header_plus))
        line_end = header_plus.find(b"\r\n")
        self.first_line = header_plus[:line_end] if line_end >= 0 else header_plus
        self.command = head.method
        self.version = head.version
        self.request_uri = head.target
        self.url_scheme = self.adj.url_scheme
        (
            self.proxy_scheme,
            self.proxy_netloc,
            self.path,
            self.query,
            self.fragment,
        ) = split_uri(head.target.encode("latin-1"))
        headers = header_dict(head.headers)
        self.chunked = head.chunked
        self.content_length = head.content_length or 0
        self.expect_continue = head.expect_continue
        self.connection_close = not head.keep_alive
        if head.chunked:
            # The application gets the de-chunked body and its length instead.
            headers.pop("TRANSFER_ENCODING", None)
            self.body_rcv = ChunkedReceiver(OverflowableBuffer(self.adj.inbuf_overflow))
        elif self.content_length:
            self.body_rcv = FixedStreamReceiver(
                self.content_length, OverflowableBuffer(self.adj.inbuf_overflow)
            )
        self.headers = headers

    def get_body_stream(self) -> IO[bytes]:
        """The request body as a binary file positioned at its start (empty if none)."""
        receiver = self.body_rcv
        if receiver is None:
            return BytesIO()
        return receiver.getfile()

    def close(self) -> None:
        """Release the body's buffer (and its temporary file, if it spilled)."""
        if self.body_rcv is not None:
            self.body_rcv.getbuf().close()


def _parse_head(block: bytes) -> RequestHead:
    """The head ``block`` by waitress-http's rules; its errors as ``ParsingError``."""
    parser = RequestParser(len(block) + len(_HEAD_END) + 1, sys.maxsize)
    parser.feed(block + _HEAD_END)
    try:
        head = parser.next_event()
    except HTTPError as exc:
        if exc.code == ServerNotImplemented.code:
            raise TransferEncodingNotImplemented(exc.detail) from exc
        raise ParsingError(exc.detail) from exc
    if type(head) is not RequestHead:
        raise ParsingError("Request line is missing")
    return head


def split_uri(uri: bytes) -> Tuple[str, str, str, str, str]:
    """A request-target split into scheme, netloc, path, query and fragment.

    The path is percent-decoded and carried as latin-1 (as PATH_INFO); the
    query stays as sent.  Scheme and netloc are empty but for absolute-form.
    """
    text = uri.decode("latin-1")
    target, _, fragment = text.partition("#")
    scheme = netloc = ""
    if target[:1] != "/" and "://" in target:
        try:
            parts = urlsplit(target)
        except ValueError as exc:
            raise ParsingError(f"Invalid URI: {exc}") from None
        scheme, netloc = parts.scheme, parts.netloc
    path, query = split_target(target)
    return scheme, netloc, decode_path(path), query, fragment


def get_header_lines(header: bytes) -> List[bytes]:
    """The field lines of a head section (``header``: field lines joined by CRLF).

    Obsolete line folding and bare CR or LF are refused, as by the server.
    """
    lines = []
    for line in header.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            raise ParsingError("Bare CR or LF found in header line")
        if line[:1] in (b" ", b"\t"):
            raise ParsingError("obs-fold (a line starting with whitespace) is not allowed")
        if line:
            lines.append(line)
    return lines


def crack_first_line(line: bytes) -> Tuple[bytes, bytes, bytes]:
    """A request line (without its CRLF) as (method, target, version), e.g. (b"GET", b"/", b"1.1")."""
    match = REQUEST_LINE.fullmatch(line.decode("latin-1") + "\r\n")
    if match is None:
        raise ParsingError("Start line is invalid")
    method, target, minor = match.groups()
    return method.encode("latin-1"), target.encode("latin-1"), b"1." + minor.encode("ascii")


def unquote_bytes_to_wsgi(bytestring: Union[str, bytes, bytearray]) -> str:
    """Percent-decode ``bytestring`` and carry the bytes as a latin-1 ``str`` (PEP 3333)."""
    if isinstance(bytestring, str):
        bytestring = bytestring.encode("latin-1")
    return unquote_to_bytes(bytes(bytestring)).decode("latin-1")
