"""Compiled patterns for the HTTP/1.1 request grammar (RFC 9112, RFC 9110 section 5).

Rules of this module: every pattern here is linear-time on any input (no two
adjacent quantified parts can match the same character, so a failing match
never retries a split: the lesson of CVE-2020-5236), and every pattern says
exactly what the RFC allows, no more.  Head patterns are ``str`` patterns run
over the head decoded as latin-1; chunk patterns run over raw ``bytes``.
"""

import re
from typing import Pattern

#: tchar (RFC 9110 5.6.2) as the inside of a character class.
TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z"
#: The tchar bytes themselves.
TCHAR_BYTES = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: The same without lowercase letters: request methods are case-sensitive and
#: every registered one is uppercase, so a lowercase one is a client bug.
_METHOD_CHAR = "!#$%&'*+\\-.^_`|~0-9A-Z"

#: method SP request-target SP HTTP-version CRLF, for the two versions we
#: serve.  The target is visible ASCII, so it cannot hold a second space.
REQUEST_LINE: Pattern[str] = re.compile(
    "([" + _METHOD_CHAR + "]+) ([\x21-\x7e]+) HTTP/1\\.([01])\r\n"
)

#: Any well-formed HTTP-version, to tell "unsupported" (505) from "malformed" (400).
HTTP_VERSION: Pattern[str] = re.compile("HTTP/([0-9])\\.([0-9])")

TOKEN: Pattern[str] = re.compile("[" + TCHAR + "]+")

#: One field line with the CRLF before it: the name is a token followed
#: directly by the colon; the value is what follows up to the next CR, less
#: leading and trailing SP/HTAB.  The greedy ``[ \t]*`` takes the leading
#: whitespace, ``[^\r]*`` runs to the CR and gives back only the trailing
#: whitespace, and the group can be empty, so a match never fails once the
#: colon is found and nothing is retried twice.  Each match starts at the CRLF
#: that ends the previous line, so a line that does not match as a whole is
#: never partly matched.  Only run over text known to hold no control byte but
#: HTAB, and no more CRs or LFs than CRLF pairs would hold (see head.py).
FIELD_LINE: Pattern[str] = re.compile(
    "\r\n([" + TCHAR + "]+):[ \t]*([^\r]*[^\r \t]|)"
)

#: A CR followed by anything but LF, or an LF not preceded by CR: a line
#: that did not end in CRLF (RFC 9112 2.2).  A CR at the end of the bytes
#: so far is not matched: its LF may be in the next read.
BARE_CR_OR_LF: Pattern[bytes] = re.compile(b"\r(?=[^\n])|(?<!\r)\n")

#: What a head may hold but CR and LF: VCHAR, obs-text, SP and HTAB.
#: ``head.translate(None, FIELD_BYTES)`` leaves the CRs, LFs and controls.
FIELD_BYTES = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100)) + b" \t"

#: A byte that may not appear in a field value: controls but HTAB, and DEL.
CONTROL_CHAR: Pattern[str] = re.compile("[\x00-\x08\x0a-\x1f\x7f]")

# uri-host (RFC 3986 3.2.2): an IP-literal in brackets, or a reg-name (which
# also spells an IPv4 address).
_UNRESERVED_OR_SUB_DELIM = "A-Za-z0-9\\-._~!$&'()*+,;="
_PCT_ENCODED = "%[0-9A-Fa-f]{2}"
#: One character of a reg-name; repeat it as ``(?:...)*`` or ``+``.
_REG_NAME = "(?:[" + _UNRESERVED_OR_SUB_DELIM + "]|" + _PCT_ENCODED + ")"
_H16 = "[0-9A-Fa-f]{1,4}"
_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = _DEC_OCTET + "(?:\\." + _DEC_OCTET + "){3}"
_LS32 = "(?:" + _H16 + ":" + _H16 + "|" + _IPV4 + ")"


def _ipv6_form(before: int, after: int) -> str:
    """IPv6address with at most ``before`` h16 groups ahead of "::" and
    exactly ``after`` groups then ls32 behind it (RFC 3986 3.2.2)."""
    head = "(?:(?:" + _H16 + ":){0,%d}%s)?" % (before - 1, _H16) if before else ""
    tail = "(?:" + _H16 + ":){%d}" % after if after else ""
    return head + "::" + tail


_IPV6 = "(?:" + "|".join(
    ["(?:" + _H16 + ":){6}" + _LS32]
    + [_ipv6_form(before, 5 - before) + _LS32 for before in range(6)]
    + [_ipv6_form(6, 0) + _H16, _ipv6_form(7, 0)]
) + ")"
# A zone after the address (RFC 6874: "%25" then the zone's name), as a
# client of a link-local address may send it; IPvFuture (RFC 3986, whose
# ABNF strings, "v" among them, are case-insensitive).
_ZONE = "(?:%25(?:[A-Za-z0-9\\-._~]|" + _PCT_ENCODED + ")+)?"
_IP_FUTURE = "[vV][0-9A-Fa-f]+\\.[" + _UNRESERVED_OR_SUB_DELIM + ":]+"
_IP_LITERAL = "\\[(?:" + _IPV6 + _ZONE + "|" + _IP_FUTURE + ")\\]"

#: Host = uri-host [ ":" port ]; the empty value is allowed (RFC 9110 7.2).
HOST_VALUE: Pattern[str] = re.compile(
    "(?:" + _IP_LITERAL + "|" + _REG_NAME + "*)(?::[0-9]*)?"
)

#: The authority-form of CONNECT: uri-host ":" port, both present.
AUTHORITY_FORM: Pattern[str] = re.compile(
    "(?:" + _IP_LITERAL + "|" + _REG_NAME + "+):[0-9]+"
)

#: absolute-form with an authority (http and https URIs need a non-empty host,
#: RFC 9110 4.2); no userinfo.  Only run on targets already known to be
#: visible ASCII.
ABSOLUTE_FORM: Pattern[str] = re.compile(
    "[A-Za-z][A-Za-z0-9+\\-.]*://(?:"
    + _IP_LITERAL
    + "|"
    + _REG_NAME
    + "+)(?::[0-9]*)?(?:[/?#][\x21-\x7e]*)?"
)

#: Content-Length = 1*DIGIT (the head's size limit bounds it).
CONTENT_LENGTH: Pattern[str] = re.compile("[0-9]+")

# --- chunked framing (bytes) ---------------------------------------------------

_TOKEN_B = b"[" + TCHAR.encode("ascii") + b"]+"
# Escapes spelled for the regex engine (r-strings): a raw "]" or "\\" byte
# inside a character class would end or escape it.
_QUOTED_STRING_B = (
    rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
)

#: chunk-size [ chunk-ext ], without the CRLF; leading zeros aside, at most
#: 16 hex digits (a 64-bit size).  chunk-ext is
#: *( ";" BWS ext-name [ BWS "=" BWS ext-val ] ); unlike RFC 9112 7.1.1 no
#: whitespace may precede a ";" (Waitress rejects "3 ;ext" too).
CHUNK_SIZE_LINE: Pattern[bytes] = re.compile(
    b"0*([0-9A-Fa-f]{1,16})((?:;[ \t]*"
    + _TOKEN_B
    + b"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN_B
    + b"|"
    + _QUOTED_STRING_B
    + b"))?)*)"
)

#: A chunk-size that is well formed whatever follows it, to tell a bad size
#: from a bad extension when reporting.
CHUNK_SIZE_ONLY: Pattern[bytes] = re.compile(b"0*[0-9A-Fa-f]{1,16}(?:[ \t]*;|$)")
