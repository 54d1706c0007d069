"""What an application may put in a response head, checked once and remembered.

``start_response`` hands every status and header list here before anything
of it can reach the wire: a status is a final code with a reason free of
control characters, a header name is a token and not hop-by-hop, a value
holds field-value characters only (RFC 9110 5.5), and Content-Length is
digits, given once or with equal values.  What a check found is cached by
value (bounded), so an application sending the same head again costs a
dictionary look-up.  Nothing here frames or serializes a response; that is
``response``'s job.
"""

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: Header names that describe one connection, not the message: an
#: application cannot set them, the server decides them (RFC 9110 7.6.1).
#: The list is RFC 2616's, as in PEP 3333 and Waitress: "trailers" (sic),
#: not RFC 9110's "trailer", which an application may send.
HOP_BY_HOP_HEADERS = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    )
)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 field-value characters: HTAB, SP, VCHAR, obs-text.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
# "200" alone is taken too (Waitress and gunicorn send it; some frameworks
# produce it) and goes out as "200 ", the form RFC 9112 4 requires.
# Codes run from 100 to 599 (RFC 9110 15: others are invalid, and a client
# takes them for a 5xx).
_STATUS = re.compile(r"[1-5][0-9][0-9]( [\t\x20-\x7e\x80-\xff]*)?")

# What a valid header name means to the serializer.
_ORDINARY = 0
_CONTENT_LENGTH = 1
_DATE = 2
_SERVER = 3
_SPECIAL_NAMES = {"content-length": _CONTENT_LENGTH, "date": _DATE, "server": _SERVER}

# Valid names and statuses seen before.  Both are bounded: a misbehaving
# application inventing names cannot grow them without end.
CACHE_LIMIT = 1024
name_kinds: Dict[str, int] = {}
status_codes: Dict[str, int] = {}

def name_kind(name: Any) -> int:
    """Validate a header name the application gave and say what it is."""
    if not isinstance(name, str):
        raise TypeError(f"header name must be a str, not {type(name).__name__}: {name!r}")
    if _TOKEN.fullmatch(name) is None:
        raise ValueError(f"header name {name!r} is not a valid token")
    lowered = name.lower()
    if lowered in HOP_BY_HOP_HEADERS:
        raise ValueError(f"hop-by-hop header {name!r} cannot be set by the application")
    kind = _SPECIAL_NAMES.get(lowered, _ORDINARY)
    if len(name_kinds) >= CACHE_LIMIT:
        name_kinds.clear()
    name_kinds[name] = kind
    return kind


def check_header_value(name: str, value: Any) -> None:
    """Raise TypeError or ValueError unless ``value`` can be sent as the value
    of header ``name``: a str of Latin-1 field-value characters (RFC 9110 5.5)."""
    if not isinstance(value, str):
        raise TypeError(
            f"value of header {name!r} must be a str, not {type(value).__name__}: {value!r}"
        )
    if _FIELD_VALUE.fullmatch(value) is None:
        raise ValueError(
            f"value of header {name!r} contains a control character or a character "
            f"outside latin-1: {value!r}"
        )


def status_text(status: str) -> str:
    """``status`` as it goes on the status line: a bare ``"200"`` keeps the
    space RFC 9112 4 requires before the (empty) reason."""
    return status if len(status) > 3 else status + " "


def check_status(status: Any) -> int:
    """Validate a status line such as "200 OK" not in ``status_codes``; remember its code.

    ``start_response`` looks the cache up itself (one dictionary look-up per
    response) and calls this only for a status not seen yet, or a non-str.
    """
    if not isinstance(status, str):
        raise TypeError(f"status must be a str, not {type(status).__name__}: {status!r}")
    if _STATUS.fullmatch(status) is None:
        raise ValueError(
            f"status {status!r} is not a code from 100 to 599, then a space and a "
            "reason without control characters"
        )
    code = int(status[:3])
    if code < 200:
        # A 1xx response is interim (RFC 9110 15.2): sent as the answer, the
        # client would wait for the real one, or take the next request's.
        raise ValueError(
            f"status {status!r} is interim (1xx); an application's response must be final"
        )
    if len(status_codes) >= CACHE_LIMIT:
        status_codes.clear()
    status_codes[status] = code
    return code


class CheckedHeaders:
    """What checking one header list found, and the heads built from it.

    Kept by value in ``checked_headers``, so the next response with an
    equal header list reuses both the checks and, within the same second,
    the serialized head.
    """

    __slots__ = ("headers", "length", "length_headers", "has_date", "has_server", "text", "heads")

    def __init__(self, headers: Sequence[Tuple[str, str]]) -> None:
        self.headers = headers  # the immutable copy the head is built from
        self.length: Optional[int] = None  # the Content-Length given
        self.length_headers = 0  # how many Content-Length fields
        self.has_date = False
        self.has_server = False
        self.text = ""  # the field lines as they go on the wire
        # (status, known length, forced length, HTTP/1.1, HEAD, close, ident)
        #   -> (second, head, mode, length, close)
        self.heads: Dict[Tuple[Any, ...], Tuple[Any, ...]] = {}


checked_headers: Dict[Any, CheckedHeaders] = {}


def check_headers(headers: Sequence[Any]) -> CheckedHeaders:
    """Check an application's header list; note what framing needs from it."""
    kinds = name_kinds
    checked = CheckedHeaders(headers)
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"each header must be a (name, value) tuple, not {item!r}")
        name, value = item
        kind = kinds.get(name) if type(name) is str else None
        if kind is None:
            kind = name_kind(name)
        if type(value) is not str or not (value.isascii() and value.isprintable()):
            check_header_value(name, value)
        if kind:
            if kind == _CONTENT_LENGTH:
                if not (value.isascii() and value.isdigit()):
                    raise ValueError(f"header {name!r} must be digits, not {value!r}")
                declared = int(value)
                if checked.length is not None and declared != checked.length:
                    raise ValueError(f"header {name!r} given twice with different values")
                checked.length = declared
                checked.length_headers += 1
            elif kind == _DATE:
                checked.has_date = True
            else:
                checked.has_server = True
    if checked.length_headers > 1:
        # The same length twice: sent once.  RFC 9110 5.3 forbids repeating
        # a field that is no list, and nginx (from 1.23) answers 502 to an
        # upstream response that does.
        headers = checked.headers = _without_repeated_length(headers)
        checked.length_headers = 1
    checked.text = "".join([name + ": " + value + "\r\n" for name, value in headers])
    return checked


def _without_repeated_length(headers: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """``headers`` with only the first of its (equal) Content-Length fields."""
    kept = []
    seen = False
    for name, value in headers:
        if name.lower() == "content-length":
            if seen:
                continue
            seen = True
        kept.append((name, value))
    return kept
