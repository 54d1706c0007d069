"""Grammar of the values proxies send: nodes (``for``/``by``), hosts, ports, schemes.

Every function here takes one already-selected value and either returns the
parts the environ needs or raises ``ValueError`` with a short reason; the
caller attaches the header name.  Nothing here is lenient about what ends up in
the environ: an address is an IPv4 or IPv6 address, a host matches RFC 3986,
a port is 0-65535 in ASCII digits.  All patterns are linear (no nested or
overlapping repetition), so hostile values cost time proportional to length.
"""

import functools
import ipaddress
import re
from typing import Optional, Tuple

__all__ = [
    "DEFAULT_PORTS",
    "parse_host",
    "parse_node",
    "parse_port",
    "parse_scheme",
    "unquote",
]

#: The port a URL of each supported scheme implies.
DEFAULT_PORTS = {"http": "80", "https": "443"}

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(r"{0}(?:\.{0}){{3}}\Z".format(_OCTET))
_PORT = re.compile(r"[0-9]{1,5}\Z")
# RFC 7239 section 6.3 obfuscated identifiers, for node names and ports.
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._-]+\Z")
# RFC 6874 ZoneID: unreserved characters or percent-encodings.
_ZONE_ID = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+\Z")
# RFC 3986 reg-name (which also covers IPv4address), at least one character,
# without "," (a list separator in every header that carries a host).
_REG_NAME = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+;=-]|%[0-9A-Fa-f]{2})+\Z")
# RFC 3986 IPvFuture inside brackets.
_IPV_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+\Z")
_QUOTED_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"\Z', re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)

Node = Tuple[Optional[str], Optional[str]]


def unquote(value: str) -> str:
    """Return the content of a quoted-string, or ``value`` itself if it is not one.

    Proxies quote values that hold ``:`` or ``[`` (RFC 7239 requires it for
    IPv6); the quotes and backslash escapes are not part of the address.
    """
    if not value.startswith('"'):
        return value
    inner = value[1:-1]
    if value.endswith('"') and len(value) > 1 and '"' not in inner and "\\" not in inner:
        return inner
    match = _QUOTED_STRING.match(value)
    if match is None:
        raise ValueError("unbalanced quotes")
    inner = match.group(1)
    if "\\" in inner:
        inner = _QUOTED_PAIR.sub(r"\1", inner)
    return inner


def parse_port(text: str) -> str:
    """Return ``text`` as a canonical decimal port string, 0 to 65535."""
    if not _PORT.match(text):
        raise ValueError("port is not a number")
    port = int(text)
    if port > 65535:
        raise ValueError("port out of range")
    return str(port)


def parse_scheme(text: str) -> str:
    """Return ``"http"`` or ``"https"``, the only schemes a WSGI server can speak."""
    scheme = text.lower() if text.isascii() else ""
    if scheme not in DEFAULT_PORTS:
        raise ValueError("unsupported proto (expected http or https)")
    return scheme


def _is_ipv6(text: str) -> bool:
    address, percent, zone = text.partition("%")
    if percent and not _ZONE_ID.match(zone):
        return False
    if not address.isascii() or ":" not in address:
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _node_port(text: str) -> Optional[str]:
    if _OBFUSCATED.match(text):
        return None
    return parse_port(text)


# Proxies send the same few hosts and a working set of client addresses over
# and over: remembering recent answers turns two regex matches into a lookup.
# Only successes are cached (a raise is not), and the size is bounded.
@functools.lru_cache(maxsize=1024)
def parse_node(text: str, bare_ipv6: bool) -> Node:
    """Split a node into ``(address, port)``; ``address`` None means "not known".

    Forms: ``192.0.2.1``, ``192.0.2.1:80``, ``[2001:db8::1]``,
    ``[2001:db8::1]:80``, ``unknown`` and obfuscated ``_name`` (RFC 7239
    section 6), each optionally with a port.  ``bare_ipv6`` also accepts an
    unbracketed IPv6 address as a whole (X-Forwarded-For writes them so; the
    Forwarded grammar does not allow it).  An obfuscated port gives port None.
    """
    if not text:
        raise ValueError("empty address")
    if text[0] == "[":
        close = text.find("]")
        if close < 0:
            raise ValueError("unbalanced brackets")
        address = text[1:close]
        rest = text[close + 1 :]
        if not _is_ipv6(address):
            raise ValueError("invalid IPv6 address")
        if not rest:
            return address, None
        if rest[0] != ":":
            raise ValueError("invalid address")
        return address, _node_port(rest[1:])
    colons = text.count(":")
    if colons > 1:
        if bare_ipv6 and _is_ipv6(text):
            return text, None
        raise ValueError("invalid address")
    address, _, port_text = text.partition(":")
    port = _node_port(port_text) if colons else None
    if _IPV4.match(address):
        return address, port
    if address.lower() == "unknown" or _OBFUSCATED.match(address):
        # The proxy does not know or will not tell: keep the peer's address,
        # and do not pair it with somebody else's port.
        return None, None
    raise ValueError("invalid address")


@functools.lru_cache(maxsize=256)
def parse_host(text: str) -> Tuple[str, Optional[str]]:
    """Split an RFC 9110 Host value into ``(host, port)``; port None when absent.

    The host keeps the brackets of an IP literal, since that is how it appears
    in a URL (and in SERVER_NAME).
    """
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError("unbalanced brackets")
        literal = text[1:close]
        if not (_is_ipv6(literal) or _IPV_FUTURE.match(literal)):
            raise ValueError("invalid IP literal")
        host = text[: close + 1]
        rest = text[close + 1 :]
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
        if not _REG_NAME.match(host):
            raise ValueError("invalid host")
    if not rest or rest == ":":
        return host, None
    if rest[0] != ":":
        raise ValueError("invalid host")
    return host, parse_port(rest[1:])
