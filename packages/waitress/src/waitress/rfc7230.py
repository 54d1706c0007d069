"""``waitress.rfc7230``: the HTTP grammar patterns under Waitress 3.0.2's names.

Code that adds its own header rules (a parser subclass, a proxy filter)
imports these, ``HEADER_FIELD_RE`` most of all.  The fragments are the
inside of regular expressions (``TCHAR`` is a character class, ``TOKEN`` one
or more of it); the ``*_RE`` names are compiled.  ``HEADER_FIELD_RE``,
``CHUNK_EXT_RE`` and the ``ONLY_*`` patterns run over ``bytes``, the quoted
string patterns over ``str``, as in Waitress.

The rules are RFC 9110's (which replaced RFC 7230 without changing them),
spelled so that a failing match never retries a split: every pattern here
is linear-time on any input.  The server's own parser uses
``waitress_http.grammar``; the token rule is taken from there so that both
agree on what a field name is.
"""

import re

from waitress_http.grammar import TCHAR as _TCHAR_CLASS

__all__ = [
    "BWS",
    "CHUNK_EXT",
    "CHUNK_EXT_NAME",
    "CHUNK_EXT_RE",
    "CHUNK_EXT_VAL",
    "DIGIT",
    "FIELD_CONTENT",
    "FIELD_VALUE",
    "FIELD_VCHAR",
    "HEADER_FIELD_RE",
    "HEXDIG",
    "OBS_TEXT",
    "ONLY_DIGIT_RE",
    "ONLY_HEXDIG_RE",
    "OWS",
    "QDTEXT",
    "QUOTED_PAIR",
    "QUOTED_PAIR_RE",
    "QUOTED_STRING",
    "QUOTED_STRING_RE",
    "RWS",
    "TCHAR",
    "TOKEN",
    "VCHAR",
]

DIGIT = "[0-9]"
HEXDIG = "[0-9A-Fa-f]"

#: Optional, required and "bad" whitespace (RFC 9110 5.6.3).
OWS = "[ \t]*"
RWS = "[ \t]+"
BWS = OWS

TCHAR = "[" + _TCHAR_CLASS + "]"
TOKEN = TCHAR + "+"

#: Character ranges spelled as regex escapes, so one spelling serves str and bytes patterns.
VCHAR = "\\x21-\\x7e"
OBS_TEXT = "\\x80-\\xff"
FIELD_VCHAR = "[" + VCHAR + OBS_TEXT + "]"

#: field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
FIELD_CONTENT = FIELD_VCHAR + "(?:[ \t" + VCHAR + OBS_TEXT + "]*" + FIELD_VCHAR + ")?"
#: field-value = *field-content: empty, or one field-content (which already
#: spans inner whitespace), so no two quantifiers compete for a character.
FIELD_VALUE = "(?:" + FIELD_CONTENT + ")?"

#: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (no '"' or '\\').
QDTEXT = "[\t \\x21\\x23-\\x5b\\x5d-\\x7e" + OBS_TEXT + "]"
QUOTED_PAIR = "\\\\[\t " + VCHAR + OBS_TEXT + "]"
QUOTED_STRING = '"(?:' + QDTEXT + "|" + QUOTED_PAIR + ')*"'

CHUNK_EXT_NAME = TOKEN
CHUNK_EXT_VAL = "(?:" + TOKEN + "|" + QUOTED_STRING + ")"
#: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
CHUNK_EXT = (
    "(?:" + BWS + ";" + BWS + CHUNK_EXT_NAME + "(?:" + BWS + "=" + BWS + CHUNK_EXT_VAL + ")?)*"
)


def _bytes_pattern(text: str) -> "re.Pattern[bytes]":
    return re.compile(text.encode("latin-1"))


#: One field line without its CRLF: groups ``name`` and ``value`` (the value
#: without the optional whitespace around it).
HEADER_FIELD_RE = _bytes_pattern(
    "^(?P<name>" + TOKEN + "):" + OWS + "(?P<value>" + FIELD_VALUE + ")" + OWS + "\\Z"
)
QUOTED_PAIR_RE = re.compile(QUOTED_PAIR)
QUOTED_STRING_RE = re.compile(QUOTED_STRING)
CHUNK_EXT_RE = _bytes_pattern("^" + CHUNK_EXT + "\\Z")
ONLY_DIGIT_RE = _bytes_pattern("^" + DIGIT + "+\\Z")
ONLY_HEXDIG_RE = _bytes_pattern("^" + HEXDIG + "+\\Z")
