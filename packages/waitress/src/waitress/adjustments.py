"""``Adjustments``: the options of one server, converted, checked and resolved.

Every check raises ValueError from ``__init__``, before any socket exists,
with a message naming the option and the rule; conflicts between options
are decided by which keys were *passed*, not by their values, as in
Waitress 3.0.2.  The names, defaults and converters come from
``waitress.options.OPTIONS`` and nowhere else.
"""

import getopt
import socket
import sys
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from waitress_http import field_key
from waitress_proxy import KNOWN_PROXY_HEADERS, normalize_trusted_proxy_headers

# The converters are also imported from here by applications (``asbool``,
# ``aslist``), under the names Waitress's adjustments module gives them.
from .options import (  # noqa: F401
    OPTIONS,
    OPTIONS_BY_NAME,
    IntRange,
    as_optional_str,
    as_socket_list,
    as_str,
    asbool,
    aslist,
    aslist_cronly,
    asoctal,
    asset,
    slash_fixed_str,
    str_iftruthy,
)
from .options import TRUTHY as truthy  # noqa: F401

#: What ``listen`` becomes: ``(family, socktype, proto, sockaddr)`` per socket.
ListenEntry = Tuple[int, int, int, Tuple[Any, ...]]

#: Pairs of keys that may not be passed together, and what to say.
CONFLICTS = (
    (("listen",), ("host", "port"), "host or port may not be set if listen is set."),
    (("listen",), ("sockets",), "socket may not be set if listen is set."),
    (("sockets",), ("host", "port"), "host or port may not be set if sockets is set."),
    (("sockets",), ("unix_socket",), "unix_socket may not be set if sockets is set"),
    (("unix_socket",), ("host", "port"), "unix_socket may not be set if host or port is set"),
    (("unix_socket",), ("listen",), "unix_socket may not be set if listen is set"),
)

IS_WINDOWS = sys.platform.startswith("win")
WIN = IS_WINDOWS  # Waitress's name
HAS_IPV6 = socket.has_ipv6
INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)
UNIX_FAMILY = getattr(socket, "AF_UNIX", None)

#: The proxy headers as environ key suffixes ("X_FORWARDED_FOR"), as Waitress names them.
PROXY_HEADERS = frozenset(field_key(name) for name in KNOWN_PROXY_HEADERS)


def _fresh(value: Any) -> Any:
    """A private mutable copy of a table default (tuples become lists, frozensets sets)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, frozenset):
        return set(value)
    return value


def convert_option(name: str, value: Any) -> Any:
    """Run the option's converter; a rejected value names the option and the rule."""
    option = OPTIONS_BY_NAME[name]
    try:
        return option.convert(value)
    except (ValueError, TypeError) as exc:
        # A TypeError stays one, as Waitress raises it (unix_socket_perms=600
        # as an int), but it too names the option and the rule.
        error = TypeError if isinstance(exc, TypeError) else ValueError
        expects = getattr(option.convert, "expects", None)
        if expects:
            raise error(f"{name} must be {expects}, not {value!r}") from None
        raise error(f"{name}: invalid value {value!r} ({exc})") from None


def split_listen_entry(entry: str, default_port: str) -> Tuple[Optional[str], str]:
    """``host:port``, ``[v6]:port``, ``host`` or ``*:port`` -> ``(host, port)``.

    The host is None for the ``*`` wildcard; a missing port is ``default_port``.
    """
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"Invalid host/port specified. ({entry!r}: unbalanced brackets)")
        port = rest[1:] if rest else default_port
    elif ":" in entry:
        host, port = entry.rsplit(":", 1)
    else:
        host, port = entry, default_port
    return (None if host == "*" else host), port


def check_port_text(entry: str, port: str) -> None:
    """Refuse what getaddrinfo would accept wrongly: an empty port, or one over 65535."""
    if port.isdigit():
        if int(port) > 65535:
            raise ValueError(f"Invalid host/port specified. ({entry!r}: port out of range)")
        return
    if not port:
        raise ValueError(f"Invalid host/port specified. ({entry!r}: no port after ':')")
    if IS_WINDOWS:
        raise ValueError("Windows does not support service names instead of port numbers")


#: getaddrinfo's "try again later" (absent on some platforms).
EAI_AGAIN = getattr(socket, "EAI_AGAIN", None)


class ResolverUnavailable(ValueError):
    """A ``listen`` host the resolver could not answer for *now* (EAI_AGAIN).

    A ValueError, as Waitress raises for every unresolvable host, so code
    that catches it is unchanged; the command line tells it apart from a
    host that does not exist, since trying again later may work (exit 1,
    not the usage error's 2).
    """


def resolve_listen(entries: Iterable[str], default_port: int, family: int) -> List[ListenEntry]:
    """Resolve each entry to the sockets to bind, dropping duplicates.

    Two results are duplicates when their address (without an IPv6 zone id)
    and port are equal; port 0 never is, since each such socket gets its own
    ephemeral port.
    """
    wanted: List[ListenEntry] = []
    seen = set()
    for entry in entries:
        host, port = split_listen_entry(entry, str(default_port))
        check_port_text(entry, port)
        try:
            infos = socket.getaddrinfo(
                host, port, family, socket.SOCK_STREAM, socket.IPPROTO_TCP, socket.AI_PASSIVE
            )
        except (OSError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            temporary = isinstance(exc, socket.gaierror) and exc.errno == EAI_AGAIN
            refusal = ResolverUnavailable if temporary else ValueError
            raise refusal(f"Invalid host/port specified. ({entry!r}: {reason})") from None
        for info_family, socktype, proto, _canonname, sockaddr in infos:
            key = (str(sockaddr[0]).split("%", 1)[0], sockaddr[1])
            if sockaddr[1] != 0 and key in seen:
                continue
            seen.add(key)
            wanted.append((info_family, socktype, proto, sockaddr))
    return wanted


def waitress_converter(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The converter Waitress 3.0.2 lists for an option: ``int`` and ``str``
    for plain ones, the named converters (``asbool``, ``asoctal``...) as they are.

    Code that builds its own configuration schema from ``Adjustments._params``
    looks the converters up by identity.
    """
    if isinstance(convert, IntRange):
        return int
    if convert is as_str or convert is as_optional_str:
        return str
    return convert


class ArgumentError(getopt.GetoptError, ValueError):
    """A bad command-line argument, from ``Adjustments.parse_args``."""


class Adjustments:
    """The options of a server, from keyword arguments (strings or Python values).

    Every option of ``waitress.options.OPTIONS`` is an attribute, holding its
    default unless passed.  ``listen`` ends up as a list of
    ``(family, socktype, proto, sockaddr)`` to bind; ``host`` and ``port``
    keep the values passed in.
    """

    #: Applied to each accepted TCP socket; not an option (subclass to change it).
    socket_options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

    #: ``(name, converter)`` for every option, and the same as a dict: the
    #: names Waitress gives them, which configuration front ends iterate.
    _params = [(option.name, waitress_converter(option.convert)) for option in OPTIONS]
    _param_map = dict(_params)

    def __init__(self, **kw: Any) -> None:
        for keys, others, message in CONFLICTS:
            if any(key in kw for key in keys) and any(other in kw for other in others):
                raise ValueError(message)
        if "send_bytes" in kw:
            warnings.warn(
                "send_bytes will be removed in a future release", DeprecationWarning, stacklevel=2
            )
        for option in OPTIONS:
            setattr(self, option.name, _fresh(option.default))
        for name, value in kw.items():
            if name not in OPTIONS_BY_NAME:
                raise ValueError(f"Unknown adjustment {name!r}")
            setattr(self, name, convert_option(name, value))
        if "listen" in kw and not self.listen:
            raise ValueError("listen must name at least one HOST:PORT")
        if "host" in kw or "port" in kw:
            self.listen = [f"{self.host}:{self.port}"]
        self._check_proxy_settings()
        family = self._address_family()
        self.listen = resolve_listen(self.listen, self.port, family)
        self.check_sockets(self.sockets)

    def _address_family(self) -> int:
        """The family getaddrinfo may return, from ``ipv4`` and ``ipv6``."""
        if not self.ipv4 and not HAS_IPV6:
            raise ValueError(
                "IPv4 is disabled but IPv6 is not available. Cowardly refusing to start."
            )
        if not self.ipv4 and not self.ipv6:
            raise ValueError("ipv4 and ipv6 may not both be disabled")
        if not self.ipv6:
            return socket.AF_INET
        if not self.ipv4:
            return socket.AF_INET6
        return socket.AF_UNSPEC

    def _check_proxy_settings(self) -> None:
        if self.trusted_proxy_count is not None and self.trusted_proxy is None:
            raise ValueError("trusted_proxy_count has no meaning without setting trusted_proxy")
        if self.trusted_proxy_count is None:
            self.trusted_proxy_count = 1
        if self.trusted_proxy_headers and self.trusted_proxy is None:
            raise ValueError("trusted_proxy_headers has no meaning without setting trusted_proxy")
        headers = set(normalize_trusted_proxy_headers(self.trusted_proxy_headers))
        self.trusted_proxy_headers = headers
        if not headers and self.trusted_proxy is not None:
            warnings.warn(
                # Waitress's words: warning filters match them.
                "No proxy headers were marked as trusted, but trusted_proxy was set. "
                "Implicitly trusting X-Forwarded-Proto for backwards compatibility. "
                "This will be removed in future versions of waitress.",
                DeprecationWarning,
                stacklevel=3,
            )
            self.trusted_proxy_headers = {"x-forwarded-proto"}

    @classmethod
    def check_sockets(cls, sockets: Iterable[socket.socket]) -> None:
        """Pre-bound sockets must be stream sockets, all Internet or all UNIX."""
        families = set()
        for sock in sockets:
            if sock.type != socket.SOCK_STREAM:
                families.add("other")
            elif sock.family in INET_FAMILIES:
                families.add("inet")
            elif UNIX_FAMILY is not None and sock.family == UNIX_FAMILY:
                families.add("unix")
            else:
                families.add("other")
        if {"inet", "unix"} <= families:
            raise ValueError("Internet and UNIX sockets may not be mixed.")
        if "other" in families:
            raise ValueError("Only Internet or UNIX stream sockets may be used.")

    @classmethod
    def parse_args(cls, argv: List[str]) -> Tuple[Dict[str, Any], List[str]]:
        """Parse command-line arguments as Waitress 3.0.2 did: return ``(kw, args)``.

        ``kw`` holds ``help`` and ``call`` (bools) and the options given as
        strings (flags as ``"true"``/``"false"``); ``args`` the application
        specs.  Raises ``ArgumentError`` on a bad argument: the
        ``getopt.GetoptError`` that Waitress raised (runners catch that),
        and a ValueError as ``waitress_cli.UsageError`` is.
        """
        from waitress_cli import UsageError, parse

        try:
            parsed = parse(argv, OPTIONS)
        except UsageError as error:
            raise ArgumentError(str(error)) from None
        kw: Dict[str, Any] = {"help": parsed.help, "call": parsed.call}
        for name, value in parsed.kw.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            kw[name] = value
        return kw, list(parsed.apps)


for _option in OPTIONS:
    setattr(Adjustments, _option.name, _fresh(_option.default))
del _option
