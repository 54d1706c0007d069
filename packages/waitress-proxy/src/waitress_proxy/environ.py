"""Apply trusted proxy headers to a PEP 3333 environ, and strip the untrusted ones.

Rules this module keeps:

* A peer that is not the trusted proxy never influences the environ; its
  proxy headers are only removed (when ``clear_untrusted_proxy_headers``).
* Of a trusted list header, only the last ``trusted_proxy_count`` hops are
  trusted; the app sees the header rewritten to those hops alone, so that a
  hop forged by the client never reaches it (the Waitress 3.0.2 fix).
* Nothing is written to the environ before every trusted value has been
  validated: a malformed header raises and leaves the environ as it was.

This runs for every request, so the untrusted path is a handful of dict
operations and the trusted path reads only the headers it was told to trust.
"""

import logging
from typing import List, Optional, Tuple

from .addresses import (
    DEFAULT_PORTS,
    parse_host,
    parse_node,
    parse_port,
    parse_scheme,
    unquote,
)
from .errors import MalformedProxyHeader
from .forwarded import parse_forwarded
from .settings import PROXY_HEADER_ENVIRON_KEYS, WIRE_NAME, ProxySettings

__all__ = ["apply_proxy_headers"]

_DEFAULT_LOGGER = logging.getLogger("waitress")

#: Unknown Forwarded parameter names logged per request; the rest are counted.
MAX_LOGGED_UNKNOWN_TOKENS = 10

_FORWARDED = "HTTP_FORWARDED"
_XFF = "HTTP_X_FORWARDED_FOR"
_XFH = "HTTP_X_FORWARDED_HOST"
_XFPROTO = "HTTP_X_FORWARDED_PROTO"
_XFPORT = "HTTP_X_FORWARDED_PORT"
_XFBY = "HTTP_X_FORWARDED_BY"

_FORWARDED_PARAMETERS = frozenset(("for", "by", "host", "proto"))

#: The reason given for a header holding several values where one is
#: expected, in Waitress's words.
MULTIPLE_VALUES = "Unspecified behavior for multiple values found in header"


def apply_proxy_headers(
    environ: dict,
    settings: ProxySettings,
    logger: Optional[logging.Logger] = None,
) -> None:
    """Rewrite ``environ`` in place from the proxy headers ``settings`` trusts.

    The peer is ``environ["REMOTE_ADDR"]`` as the server set it.  From a
    trusted peer, the trusted headers may set REMOTE_ADDR, REMOTE_HOST,
    REMOTE_PORT, wsgi.url_scheme, HTTP_HOST, SERVER_NAME and SERVER_PORT.
    Then the untrusted proxy headers are removed if the settings say so.
    Raises MalformedProxyHeader, without touching the environ, when a trusted
    header breaks its grammar; the caller answers 400 and logs it.
    """
    peer = environ.get("REMOTE_ADDR")
    trusted = settings.trusted_proxy
    if settings.trust_any_peer or (trusted is not None and peer == trusted):
        if settings.use_forwarded:
            forwarded = environ.get(_FORWARDED)
            if forwarded is not None:
                _apply_forwarded(environ, forwarded, settings, logger)
        else:
            _apply_x_forwarded(environ, settings)
        untrusted_keys = settings.untrusted_keys
    else:
        untrusted_keys = PROXY_HEADER_ENVIRON_KEYS
    if settings.clear_untrusted_proxy_headers:
        if settings.log_untrusted_proxy_headers:
            _remove_and_log(environ, untrusted_keys, logger)
        else:
            pop = environ.pop
            for key in untrusted_keys:
                pop(key, None)


def _remove_and_log(
    environ: dict, keys: Tuple[str, ...], logger: Optional[logging.Logger]
) -> None:
    removed = [WIRE_NAME[key] for key in keys if environ.pop(key, None) is not None]
    if removed:
        (logger or _DEFAULT_LOGGER).warning(
            "Removed untrusted headers (%s). Waitress recommends these be "
            "removed upstream.",
            ", ".join(removed),
        )


def _trusted_hops(value: str, count: int) -> List[str]:
    """The last ``count`` comma-separated hops of ``value``, stripped.

    An empty list element counts as a hop (one that named nothing): each
    trusted proxy appends one element, so skipping an empty one that a
    trusted proxy wrote would move the window of trusted hops left, onto an
    element the client wrote.  Waitress counts them too.  ``rsplit`` with a
    limit looks at the right end only: a header of thousands of hops costs
    one scan.
    """
    return [hop.strip(" \t") for hop in value.rsplit(",", count)[-count:]]


def _select(environ: dict, key: str, count: int, rewrites: dict) -> Optional[str]:
    """Return the hop a trusted list header names (N-th from the right), or
    None if that hop is empty.

    Records in ``rewrites`` what the header becomes: only its trusted hops,
    or None (removed) when they are all empty.
    """
    value = environ.get(key)
    if value is None:
        return None
    hops = _trusted_hops(value, count)
    if not any(hops):
        rewrites[key] = None
        return None
    rewritten = ", ".join(hops)
    if rewritten != value:
        rewrites[key] = rewritten
    return hops[0] or None


def _single(environ: dict, key: str, rewrites: dict) -> Optional[str]:
    """Return the one value of X-Forwarded-Proto or -Port; refuse several.

    These are not hop lists: which of several values a chain of proxies
    meant is unknowable (Waitress refuses them too), and with a
    ``trusted_proxy_count`` above 1 and one proxy that appends, counting
    hops from the right would pick the value the client wrote.  Empty list
    elements are skipped (RFC 9110 5.6.1); a header with none left is removed.
    """
    value = environ.get(key)
    if value is None:
        return None
    if "," in value:
        values = [v for v in (e.strip(" \t") for e in value.split(",")) if v]
        if len(values) > 1:
            raise MalformedProxyHeader(WIRE_NAME[key], MULTIPLE_VALUES, value)
        single = values[0] if values else ""
    else:
        single = value.strip(" \t")
    if not single:
        rewrites[key] = None
        return None
    if single != value:
        rewrites[key] = single
    return single


def _unquoted(key: str, value: str) -> str:
    try:
        return unquote(value)
    except ValueError as exc:
        raise MalformedProxyHeader(WIRE_NAME[key], str(exc), value) from None


def _apply_x_forwarded(environ: dict, settings: ProxySettings) -> None:
    count = settings.trusted_proxy_count
    rewrites: dict = {}
    client = host = proto = port = None
    if settings.use_for:
        client = _select(environ, _XFF, count, rewrites)
        if client is not None:
            client = _unquoted(_XFF, client)
    if settings.use_host:
        host = _select(environ, _XFH, count, rewrites)
        if host is not None:
            host = _unquoted(_XFH, host)
    if settings.use_proto:
        proto = _single(environ, _XFPROTO, rewrites)
        if proto is not None:
            proto = _unquoted(_XFPROTO, proto)
    if settings.use_port:
        port = _single(environ, _XFPORT, rewrites)
        if port is not None:
            port = _unquoted(_XFPORT, port)
    if settings.use_by:
        _select(environ, _XFBY, count, rewrites)
    if client is None and host is None and proto is None and port is None:
        if rewrites:
            _rewrite(environ, rewrites)
        return
    changes = _resolve(
        environ,
        client,
        host,
        proto,
        port,
        names=(_XFF, _XFH, _XFPROTO, _XFPORT),
        bare_ipv6=True,
    )
    _rewrite(environ, rewrites)
    environ.update(changes)


def _rewrite(environ: dict, rewrites: dict) -> None:
    for key, value in rewrites.items():
        if value is None:
            del environ[key]
        else:
            environ[key] = value


def _apply_forwarded(
    environ: dict,
    value: str,
    settings: ProxySettings,
    logger: Optional[logging.Logger],
) -> None:
    try:
        elements = parse_forwarded(value)
    except ValueError as exc:
        raise MalformedProxyHeader("Forwarded", str(exc), value) from None
    # Empty elements are hops too (see ``_trusted_hops``).
    trusted = elements[-settings.trusted_proxy_count :]
    found = {}
    unknown = {}  # a dict, not a list: ordered, and membership is O(1)
    for element in trusted:
        seen = set()
        for name, raw in element.pairs:
            name = name.lower()
            if name in seen:
                raise MalformedProxyHeader(
                    "Forwarded", "parameter {!r} repeated in one element".format(name), value
                )
            seen.add(name)
            if name not in _FORWARDED_PARAMETERS:
                unknown[name] = None
                continue
            # The earliest trusted element that carries a parameter describes
            # the client best; later proxies may have rewritten host or proto.
            # ``by`` is never used, so its value is not checked (Waitress's
            # is not either): a proxy naming itself oddly costs nothing.
            if name != "by":
                found.setdefault(name, raw)
    changes = {}
    if found:
        try:
            values = {name: unquote(raw) for name, raw in found.items()}
        except ValueError as exc:
            raise MalformedProxyHeader("Forwarded", str(exc), value) from None
        changes = _resolve(
            environ,
            values.get("for"),
            values.get("host"),
            values.get("proto"),
            None,
            names=(_FORWARDED,) * 4,
            bare_ipv6=False,
        )
    if unknown:
        _log_unknown_tokens(list(unknown), logger or _DEFAULT_LOGGER)
    if any(element.pairs for element in trusted):
        environ[_FORWARDED] = ", ".join(element.text for element in trusted)
    else:
        del environ[_FORWARDED]
    environ.update(changes)


def _log_unknown_tokens(names: List[str], log: logging.Logger) -> None:
    """One warning per unknown parameter name, Waitress's message, up to
    ``MAX_LOGGED_UNKNOWN_TOKENS``: a client behind a ``*`` trust could
    otherwise turn one request into tens of thousands of log lines."""
    for name in names[:MAX_LOGGED_UNKNOWN_TOKENS]:
        log.warning("Unknown Forwarded token: %s", name)
    rest = len(names) - MAX_LOGGED_UNKNOWN_TOKENS
    if rest > 0:
        log.warning("%d more unknown Forwarded tokens not logged", rest)


def _resolve(
    environ: dict,
    client: Optional[str],
    host: Optional[str],
    proto: Optional[str],
    port: Optional[str],
    names: Tuple[str, str, str, str],
    bare_ipv6: bool,
) -> dict:
    """Validate the selected values and return the environ changes they imply.

    Precedence, as in Waitress: a port written in the host beats
    X-Forwarded-Port, which beats the default port of the scheme.
    """
    changes = {}
    which = names[0]
    try:
        if proto is not None:
            which = names[2]
            scheme = parse_scheme(proto)
            changes["wsgi.url_scheme"] = scheme
        else:
            scheme = environ.get("wsgi.url_scheme", "http")
        default_port = DEFAULT_PORTS.get(scheme)
        server_port = None
        if port is not None:
            which = names[3]
            server_port = parse_port(port)
        if host is not None:
            which = names[1]
            hostname, host_port = parse_host(host)
            if host_port is not None:
                server_port = host_port
                changes["HTTP_HOST"] = host
            else:
                if server_port is None:
                    server_port = default_port
                if server_port is None or server_port == default_port:
                    changes["HTTP_HOST"] = hostname
                else:
                    changes["HTTP_HOST"] = "{}:{}".format(hostname, server_port)
            changes["SERVER_NAME"] = hostname
        elif server_port is not None:
            current = environ.get("HTTP_HOST")
            if current:
                hostname = _strip_port(current)
                if server_port == default_port:
                    changes["HTTP_HOST"] = hostname
                else:
                    changes["HTTP_HOST"] = "{}:{}".format(hostname, server_port)
        if server_port is None and proto is not None:
            server_port = default_port
        if server_port is not None:
            changes["SERVER_PORT"] = server_port
        if client is not None:
            which = names[0]
            address, client_port = parse_node(client, bare_ipv6=bare_ipv6)
            if address is not None:
                changes["REMOTE_ADDR"] = address
                changes["REMOTE_HOST"] = address
                if client_port is not None:
                    changes["REMOTE_PORT"] = client_port
    except ValueError as exc:
        raise MalformedProxyHeader(
            WIRE_NAME[which], str(exc), environ.get(which, "")
        ) from None
    return changes


def _strip_port(host: str) -> str:
    if host.startswith("["):
        close = host.find("]")
        return host[: close + 1] if close >= 0 else host
    return host.partition(":")[0]
