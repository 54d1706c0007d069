"""Every server option, declared once: name, converter, default, help, group.

``Adjustments``, PasteDeploy (``serve_paste``) and the command line all read
``OPTIONS``; adding an option here is the whole job of adding an option.
The names and defaults are Waitress 3.0.2's (the order is the help text's, by group); none may be removed.
Converters take the strings PasteDeploy and the command line pass, and also
the Python values ``serve(**kw)`` callers pass where Waitress took them.
"""

import operator
import socket
from typing import Any, Callable, List, NamedTuple, Optional, Set

from waitress_http import check_header_value

STANDARD = "Standard options"
PROXY = "Proxy options"
TUNING = "Tuning options"

#: The spellings ``asbool`` takes as true (after strip and lower-casing).
TRUTHY = frozenset({"t", "true", "y", "yes", "on", "1"})



def asbool(value: Any) -> bool:
    """True for t/true/y/yes/on/1 (any case) or a true bool; everything else is False."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUTHY


def aslist(value: Any) -> List[str]:
    """Split a string on lines, then each line on whitespace; a list gets the same split."""
    if isinstance(value, str):
        value = value.splitlines()
    words: List[str] = []
    for item in value:
        words.extend(str(item).split())
    return words


def aslist_cronly(value: Any) -> List[str]:
    """A string split on lines only, each stripped, blank ones dropped; a list as it is."""
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    return list(value)


def asset(value: Any) -> Set[str]:
    """``aslist`` as a set."""
    return set(aslist(value))


def asoctal(value: str) -> int:
    """Parse a permission mode written in octal (``"600"``).

    Only strings are accepted: an int raises TypeError, as in Waitress,
    because ``600`` and ``0o600`` would silently mean different modes.
    """
    try:
        mode = int(value, 8)
    except ValueError:
        raise ValueError(f"expected {asoctal.expects}") from None
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"expected {asoctal.expects}")
    return mode


asoctal.expects = "an octal permission mode such as '600'"  # type: ignore[attr-defined]


def slash_fixed_str(value: Any) -> str:
    """One leading slash and no trailing slash: ``"app/"`` -> ``"/app"``; blank or ``/`` -> ``""``.

    Only a string: ``str()`` would serve the application under ``/None``.
    """
    if not isinstance(value, str):
        raise ValueError("not a string")
    text = value.strip().strip("/")
    return "/" + text if text else ""


slash_fixed_str.expects = "a path (a string)"  # type: ignore[attr-defined]


def str_iftruthy(value: Any) -> Optional[str]:
    """``str(value)``, or None when the value is empty or false."""
    return str(value) if value else None


def as_header_value(value: Any) -> Optional[str]:
    """``str_iftruthy``, for a value sent in a header (``ident``): one the
    serializer would refuse would make every response fail."""
    text = str_iftruthy(value)
    if text is not None:
        check_header_value("Server", text)
    return text


as_header_value.expects = "a header value: Latin-1, no control characters"  # type: ignore[attr-defined]


def as_str(value: Any) -> str:
    """``str(value)``: Waitress's converter for plain string options."""
    return str(value)


def as_optional_str(value: Any) -> Optional[str]:
    """``str(value)``, keeping an explicit None as None (no UNIX socket)."""
    return None if value is None else str(value)


def as_socket_list(value: Any) -> List[socket.socket]:
    """The socket objects in ``value``; anything else is dropped, as Waitress does."""
    return [item for item in value if isinstance(item, socket.socket)]


class IntRange:
    """An integer converter with bounds; its ValueError says what was expected.

    Stricter than Waitress's ``int``: ``threads=0`` or a negative size is
    refused here instead of failing later inside the server.
    """

    def __init__(self, minimum: int, maximum: Optional[int] = None, expects: str = "") -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.expects = expects or self._describe()

    def _describe(self) -> str:
        if self.maximum is not None:
            return f"an integer from {self.minimum} to {self.maximum}"
        if self.minimum == 1:
            return "a positive integer"
        if self.minimum == 0:
            return "a non-negative integer"
        return f"an integer of at least {self.minimum}"

    def __call__(self, value: Any) -> int:
        number: Optional[int] = None
        if isinstance(value, str):
            try:
                number = int(value.strip(), 10)
            except ValueError:
                number = None
        elif isinstance(value, int):
            number = int(value)
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif not isinstance(value, (bytes, bytearray)):
            number = _other_integer(value)
        if number is None or number < self.minimum:
            raise ValueError(f"expected {self.expects}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"expected {self.expects}")
        return number

    def __repr__(self) -> str:
        return f"IntRange({self.minimum!r}, {self.maximum!r})"


def _other_integer(value: Any) -> Optional[int]:
    """A whole number of another type (numpy's integers, ``Decimal("7")``),
    as Waitress's ``int()`` takes it; None for anything else, a fraction
    included (``int()`` would cut it silently)."""
    try:
        return operator.index(value)
    except TypeError:
        pass
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return None
    return number if number == value else None


as_port = IntRange(0, 65535)
as_positive = IntRange(1)
as_count = IntRange(0)


class Option(NamedTuple):
    """One server option.

    ``convert`` turns a string (PasteDeploy, command line) or a Python value
    into what the server uses; ``flag`` marks booleans, which the command
    line spells ``--name``/``--no-name``; ``cli`` is False for options only
    the Python API can pass; ``repeatable`` ones the command line takes more
    than once, joining the values with spaces.
    """

    name: str
    convert: Callable[[Any], Any]
    default: Any
    help: str
    group: str
    flag: bool = False
    metavar: str = "VALUE"
    default_text: Optional[str] = None
    cli: bool = True
    repeatable: bool = False


def _flag(name: str, default: bool, help: str, group: str) -> Option:
    return Option(name, asbool, default, help, group, flag=True)


OPTIONS = (
    Option(
        "host",
        as_str,
        "0.0.0.0",
        "Host name or IP address to listen on; 0.0.0.0 means every IPv4 address. "
        "Cannot be combined with --listen.",
        STANDARD,
        metavar="ADDR",
    ),
    Option(
        "port",
        as_port,
        8080,
        "TCP port to listen on; 0 picks a free port. Cannot be combined with --listen.",
        STANDARD,
        metavar="PORT",
    ),
    Option(
        "listen",
        aslist,
        ("0.0.0.0:8080",),
        "Listen on HOST:PORT; repeat it (or separate with spaces) for several. "
        "Bracket IPv6 addresses ([::1]:8080); * means every address of the enabled "
        "families; an entry without a port takes --port.",
        STANDARD,
        metavar="HOST:PORT",
        repeatable=True,
    ),
    _flag(
        "ipv4",
        True,
        "Allow IPv4 addresses when resolving host names and the * wildcard.",
        STANDARD,
    ),
    _flag(
        "ipv6",
        True,
        "Allow IPv6 addresses when resolving host names and the * wildcard.",
        STANDARD,
    ),
    Option(
        "unix_socket",
        as_optional_str,
        None,
        "Listen on the UNIX domain socket at this path instead of TCP (not on Windows). "
        "A stale socket file there is removed first.",
        STANDARD,
        metavar="PATH",
    ),
    Option(
        "unix_socket_perms",
        asoctal,
        0o600,
        "Permissions of the UNIX socket file, in octal.",
        STANDARD,
        metavar="PERMS",
        default_text="600",
    ),
    Option(
        "sockets",
        as_socket_list,
        (),
        "Pre-bound listening sockets; only the Python API can pass socket objects "
        "(serve(app, sockets=[...])).",
        STANDARD,
        cli=False,
    ),
    Option(
        "server_name",
        as_str,
        "waitress.invalid",
        "The SERVER_NAME the application sees; it is never taken from the Host header.",
        STANDARD,
        metavar="NAME",
    ),
    Option(
        "threads",
        as_positive,
        4,
        "Number of worker threads that run the application.",
        TUNING,
        metavar="INT",
    ),
    Option(
        "trusted_proxy",
        str_iftruthy,
        None,
        "Address of the proxy whose proxy headers are believed; * trusts every peer, "
        "and localhost is the peer of a UNIX socket.",
        PROXY,
        metavar="ADDR",
    ),
    Option(
        "trusted_proxy_count",
        as_positive,
        None,
        "How many proxies, counted from the right, to believe in X-Forwarded-For, "
        "X-Forwarded-Host and Forwarded. Needs --trusted-proxy.",
        PROXY,
        metavar="INT",
        default_text="1",
    ),
    Option(
        "trusted_proxy_headers",
        asset,
        frozenset(),
        "Space-separated proxy headers to believe: x-forwarded-for, x-forwarded-host, "
        "x-forwarded-proto, x-forwarded-port, x-forwarded-by, or forwarded (not both "
        "kinds). Needs --trusted-proxy, which alone believes x-forwarded-proto only.",
        PROXY,
        metavar="NAMES",
    ),
    _flag(
        "log_untrusted_proxy_headers",
        False,
        "Log a warning naming the untrusted proxy headers removed from a request.",
        PROXY,
    ),
    _flag(
        "clear_untrusted_proxy_headers",
        True,
        "Remove Forwarded and X-Forwarded-* headers that are not trusted before the "
        "application sees them.",
        PROXY,
    ),
    Option(
        "url_scheme",
        as_str,
        "http",
        "The wsgi.url_scheme given to the application unless a trusted proxy says otherwise.",
        STANDARD,
        metavar="SCHEME",
    ),
    Option(
        "url_prefix",
        slash_fixed_str,
        "",
        "Serve the application under this path: it becomes SCRIPT_NAME and is removed "
        "from the front of PATH_INFO.",
        STANDARD,
        metavar="PATH",
    ),
    Option(
        "ident",
        as_header_value,
        "waitress",
        "Value of the Server response header and SERVER_SOFTWARE; empty sends no Server header.",
        STANDARD,
        metavar="STR",
    ),
    Option(
        "backlog",
        as_count,
        1024,
        "Length of the queue of connections waiting to be accepted (listen()).",
        TUNING,
        metavar="INT",
    ),
    Option(
        "recv_bytes",
        as_positive,
        8192,
        "Bytes asked for in each socket read of request heads (a body is read "
        "in pieces of up to 256 KiB).",
        TUNING,
        metavar="BYTES",
    ),
    Option(
        "send_bytes",
        IntRange(-(2**63), expects="an integer"),  # ignored: any integer Waitress took is taken (with the warning)
        1,
        "Deprecated and ignored: response bytes are sent as they are produced.",
        TUNING,
        metavar="BYTES",
    ),
    Option(
        "outbuf_overflow",
        as_count,
        1048576,
        "Response bytes held in memory before the rest spills to a temporary file.",
        TUNING,
        metavar="BYTES",
    ),
    Option(
        "outbuf_high_watermark",
        as_positive,
        16777216,
        "Pause the application's iterator while more than this many response bytes "
        "wait to be sent.",
        TUNING,
        metavar="BYTES",
    ),
    Option(
        "inbuf_overflow",
        as_count,
        524288,
        "Request body bytes held in memory before the rest spills to a temporary file.",
        TUNING,
        metavar="BYTES",
    ),
    Option(
        "connection_limit",
        as_positive,
        100,
        "Stop accepting connections while this many are open.",
        TUNING,
        metavar="INT",
    ),
    Option(
        "cleanup_interval",
        as_positive,
        30,
        "Seconds between sweeps that close idle connections (see --channel-timeout).",
        TUNING,
        metavar="SECONDS",
    ),
    Option(
        "channel_timeout",
        as_positive,
        120,
        "Close a connection that has sent and received nothing for this many seconds "
        "while no request is running.",
        TUNING,
        metavar="SECONDS",
    ),
    _flag(
        "log_socket_errors",
        True,
        "Log socket errors and clients that disconnect early.",
        TUNING,
    ),
    Option(
        "max_request_header_size",
        as_positive,
        262144,
        "Largest request line plus headers accepted; larger requests get 431.",
        TUNING,
        metavar="BYTES",
    ),
    Option(
        "max_request_body_size",
        as_count,
        1073741824,
        "Largest request body accepted; larger bodies get 413.",
        TUNING,
        metavar="BYTES",
    ),
    _flag(
        "expose_tracebacks",
        False,
        "Put the traceback of an application error in the 500 response body. "
        "Never in production.",
        TUNING,
    ),
    Option(
        "asyncore_loop_timeout",
        as_positive,
        1,
        "Seconds the event loop may wait for activity before checking for shutdown.",
        TUNING,
        metavar="SECONDS",
    ),
    _flag(
        "asyncore_use_poll",
        False,
        "Kept for compatibility: the event loop already picks the best selector "
        "(epoll, kqueue, poll) by itself.",
        TUNING,
    ),
    Option(
        "channel_request_lookahead",
        as_count,
        0,
        "Pipelined requests read and queued ahead while one runs "
        "(waitress.client_disconnected works with 0 too).",
        TUNING,
        metavar="INT",
    ),
)

#: The table by name.
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
