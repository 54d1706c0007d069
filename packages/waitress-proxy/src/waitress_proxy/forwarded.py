"""RFC 7239 ``Forwarded`` syntax: a header value into its elements and pairs.

Only syntax lives here.  What a ``for`` or ``host`` value means is decided in
``environ.py``, and only for the elements that are trusted; untrusted elements
are parsed solely to find where the trusted ones begin (a quoted-string may
hide a comma, so the value cannot simply be split).  One left-to-right scan,
one match per pair: time is linear in the length of the value.

Grammar (RFC 7239 section 4, list rules of RFC 9110 section 5.6.1)::

    Forwarded         = 1#forwarded-element
    forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
    forwarded-pair    = token "=" value
    value             = token / quoted-string

Unquoted values may also hold ``:``, ``[`` and ``]`` (an IPv6 literal, a
host with a port), which RFC 7239 would have quoted and proxies send anyway.

Empty list elements are accepted, as RFC 9110 asks of recipients, and kept
as elements without pairs: a trusted proxy's empty element is still its hop
(see ``environ._trusted_hops``).  Optional whitespace is accepted around
``,`` (the list rule) and around ``;`` (which deployed proxies emit); none
is accepted around ``=``.
"""

import functools
import re
from typing import NamedTuple, Tuple

__all__ = ["ForwardedElement", "parse_forwarded"]

_TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
# A value as deployed proxies write it: a token, or an IPv6 literal or a
# host:port left unquoted though RFC 7239 asks for quotes (Waitress takes
# them).  None of ":[]" separates elements or pairs, so nothing is ambiguous.
_VALUE_CHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z:\[\]-]"
_QUOTED = r'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
# Optional whitespace, an optional pair, optional whitespace, then the
# separator that ends it (or the end of the value).
_STEP = re.compile(
    r"[ \t]*(?:({t}+)=({v}+|{q})[ \t]*)?([;,]|\Z)".format(t=_TCHAR, v=_VALUE_CHAR, q=_QUOTED)
)
_TOKEN = re.compile(_TCHAR + "*")
_UNQUOTED_VALUE = re.compile(_VALUE_CHAR + "*")
_QUOTED_PREFIX = re.compile(_QUOTED)
_ENDS = ("", ",", ";", " ", "\t")


class ForwardedElement(NamedTuple):
    """One hop of a Forwarded header: its text as received and its pairs.

    ``pairs`` holds ``(name, value)`` with the name as received (compare it
    case-insensitively) and the value still in its token or quoted form.
    """

    text: str
    pairs: Tuple[Tuple[str, str], ...]


_EMPTY_ELEMENT = ForwardedElement("", ())

# A proxy sends the same value for every request of a client; short values
# are remembered (long ones would pin too much memory in the cache).
_CACHED_LENGTH = 512


def parse_forwarded(value: str) -> Tuple[ForwardedElement, ...]:
    """Return the elements of a Forwarded value, left to right (an empty list
    element as one with no pairs and empty text).

    Raises ValueError naming the offset of the first character that breaks
    the grammar (an unbalanced quote, a pair without ``=``, a stray byte).
    """
    if len(value) <= _CACHED_LENGTH:
        return _parse_cached(value)
    return _parse(value)


def _parse(value: str) -> Tuple[ForwardedElement, ...]:
    elements = []
    pairs = []
    has_content = False
    element_start = 0
    position = 0
    match_step = _STEP.match
    while True:
        match = match_step(value, position)
        if match is None:
            raise ValueError(_describe_error(value, position))
        name, pair_value, separator = match.groups()
        if name is not None:
            pairs.append((name, pair_value))
            has_content = True
        if separator == ";":
            has_content = True
            position = match.end()
            continue
        if has_content:
            end = match.start(3)
            text = value[element_start:end].strip(" \t")
            elements.append(ForwardedElement(text, tuple(pairs)))
            pairs = []
            has_content = False
        else:
            elements.append(_EMPTY_ELEMENT)
        if not separator:
            return tuple(elements)
        position = element_start = match.end()


_parse_cached = functools.lru_cache(maxsize=256)(_parse)


def _describe_error(value: str, position: int) -> str:
    """Say why the scan stopped at ``position``; runs once, on the error path."""
    rest = value[position:].lstrip(" \t")
    offset = len(value) - len(rest)
    name_end = _TOKEN.match(rest).end()
    if name_end == 0:
        if rest[:1] == "=":
            return "empty parameter name at offset {}".format(offset)
        return "invalid character at offset {}".format(offset)
    after_name = rest[name_end : name_end + 1]
    if after_name != "=":
        if after_name in _ENDS:
            return "parameter without '=' at offset {}".format(offset)
        return "invalid character at offset {}".format(offset + name_end)
    value_start = name_end + 1
    first = rest[value_start : value_start + 1]
    if first in _ENDS:
        return "empty value at offset {}".format(offset + value_start)
    if first == '"':
        quoted = _QUOTED_PREFIX.match(rest, value_start)
        if quoted is None:
            return "unbalanced quotes or invalid character in quoted value"
        value_end = quoted.end()
    else:
        value_end = _UNQUOTED_VALUE.match(rest, value_start).end()
    return "invalid character at offset {}".format(offset + value_end)
