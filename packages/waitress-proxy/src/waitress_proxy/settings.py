"""Trusted-proxy settings, validated once and turned into what each request needs.

Everything that depends only on the configuration is computed here, in the
constructor, so that the per-request code in ``environ.py`` reads a few slot
attributes and does no set arithmetic.  Instances are immutable: a server may
share one between all its worker threads.
"""

import operator
from typing import FrozenSet, Iterable, Optional, Tuple, Union

__all__ = [
    "KNOWN_PROXY_HEADERS",
    "PROXY_HEADER_ENVIRON_KEYS",
    "ProxySettings",
    "normalize_trusted_proxy_headers",
]

# Option value -> (environ key, name as written on the wire), in the order
# used when listing removed headers in the log.
_HEADER_TABLE = (
    ("forwarded", "HTTP_FORWARDED", "Forwarded"),
    ("x-forwarded-for", "HTTP_X_FORWARDED_FOR", "X-Forwarded-For"),
    ("x-forwarded-host", "HTTP_X_FORWARDED_HOST", "X-Forwarded-Host"),
    ("x-forwarded-proto", "HTTP_X_FORWARDED_PROTO", "X-Forwarded-Proto"),
    ("x-forwarded-port", "HTTP_X_FORWARDED_PORT", "X-Forwarded-Port"),
    ("x-forwarded-by", "HTTP_X_FORWARDED_BY", "X-Forwarded-By"),
)

#: The six values ``trusted_proxy_headers`` may hold.
KNOWN_PROXY_HEADERS: FrozenSet[str] = frozenset(row[0] for row in _HEADER_TABLE)

#: The environ keys of the six proxy headers, in a stable order.
PROXY_HEADER_ENVIRON_KEYS: Tuple[str, ...] = tuple(row[1] for row in _HEADER_TABLE)

_ENVIRON_KEY = {row[0]: row[1] for row in _HEADER_TABLE}
WIRE_NAME = {row[1]: row[2] for row in _HEADER_TABLE}

_UNKNOWN_HEADER_MESSAGE = (
    "Received unknown trusted_proxy_headers value ({}) expected one of {}"
)
_EXCLUSIVE_MESSAGE = (
    "The Forwarded proxy header and the X-Forwarded-{By,Host,Proto,Port,For} "
    "headers are mutually exclusive. Can't trust both!"
)


def normalize_trusted_proxy_headers(
    names: Union[None, str, Iterable[str]],
) -> FrozenSet[str]:
    """Return ``names`` as a lowercase frozenset, or raise ValueError.

    Accepts what a user may reasonably pass: None, a whitespace-separated string
    (as in a PasteDeploy file) or any iterable of names.  The error messages are
    those of Waitress, so that a front end can let them through unchanged.
    """
    if names is None:
        return frozenset()
    if isinstance(names, str):
        names = names.split()
    normalized = frozenset(name.strip().lower() for name in names)
    normalized = normalized - {""}
    unknown = sorted(normalized - KNOWN_PROXY_HEADERS)
    if unknown:  # Waitress named one of them; all of them save a round trip
        raise ValueError(
            _UNKNOWN_HEADER_MESSAGE.format(
                ", ".join(unknown), ", ".join(sorted(KNOWN_PROXY_HEADERS))
            )
        )
    if "forwarded" in normalized and len(normalized) > 1:
        raise ValueError(_EXCLUSIVE_MESSAGE)
    return normalized


def _normalize_trusted_proxy(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("trusted_proxy must be a string or None")
    value = value.strip()
    if not value:
        return None
    # REMOTE_ADDR never carries brackets; accept "[::1]" as a way to write ::1.
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return value


def _normalize_count(value: Optional[int]) -> int:
    if value is None:
        return 1
    if isinstance(value, bool):
        raise ValueError("trusted_proxy_count must be a positive integer")
    try:
        count = operator.index(value)
    except TypeError:
        raise ValueError("trusted_proxy_count must be a positive integer") from None
    if count < 1:
        raise ValueError("trusted_proxy_count must be a positive integer")
    return count


class ProxySettings:
    """Which peer to trust, how many hops, which headers, and what to do with the rest.

    The five arguments are Waitress's options of the same names.
    ``trusted_proxy`` is compared with ``REMOTE_ADDR`` as the server set it
    (``"localhost"`` for UNIX sockets); ``"*"`` trusts every peer.
    ``trusted_proxy_count`` None means 1.  Cross-option rules ("has no meaning
    without trusted_proxy") belong to the front end; this class only refuses
    values it cannot act on.
    """

    __slots__ = (
        "trusted_proxy",
        "trusted_proxy_count",
        "trusted_proxy_headers",
        "clear_untrusted_proxy_headers",
        "log_untrusted_proxy_headers",
        "trust_any_peer",
        "use_forwarded",
        "use_for",
        "use_host",
        "use_proto",
        "use_port",
        "use_by",
        "untrusted_keys",
        "active",
    )

    def __init__(
        self,
        trusted_proxy: Optional[str] = None,
        trusted_proxy_count: Optional[int] = 1,
        trusted_proxy_headers: Union[None, str, Iterable[str]] = frozenset(),
        clear_untrusted_proxy_headers: bool = True,
        log_untrusted_proxy_headers: bool = False,
    ) -> None:
        proxy = _normalize_trusted_proxy(trusted_proxy)
        headers = normalize_trusted_proxy_headers(trusted_proxy_headers)
        assign = object.__setattr__
        assign(self, "trusted_proxy", proxy)
        assign(self, "trusted_proxy_count", _normalize_count(trusted_proxy_count))
        assign(self, "trusted_proxy_headers", headers)
        assign(self, "clear_untrusted_proxy_headers", bool(clear_untrusted_proxy_headers))
        assign(self, "log_untrusted_proxy_headers", bool(log_untrusted_proxy_headers))
        assign(self, "trust_any_peer", proxy == "*")
        assign(self, "use_forwarded", "forwarded" in headers)
        assign(self, "use_for", "x-forwarded-for" in headers)
        assign(self, "use_host", "x-forwarded-host" in headers)
        assign(self, "use_proto", "x-forwarded-proto" in headers)
        assign(self, "use_port", "x-forwarded-port" in headers)
        assign(self, "use_by", "x-forwarded-by" in headers)
        trusted_keys = {_ENVIRON_KEY[name] for name in headers}
        assign(
            self,
            "untrusted_keys",
            tuple(k for k in PROXY_HEADER_ENVIRON_KEYS if k not in trusted_keys),
        )
        # False when apply_proxy_headers can never change an environ: a server
        # may then skip the call altogether.
        assign(self, "active", proxy is not None or self.clear_untrusted_proxy_headers)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ProxySettings is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ProxySettings is immutable")

    def _key(self) -> tuple:
        return (
            self.trusted_proxy,
            self.trusted_proxy_count,
            self.trusted_proxy_headers,
            self.clear_untrusted_proxy_headers,
            self.log_untrusted_proxy_headers,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProxySettings):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            "ProxySettings(trusted_proxy={!r}, trusted_proxy_count={!r}, "
            "trusted_proxy_headers={!r}, clear_untrusted_proxy_headers={!r}, "
            "log_untrusted_proxy_headers={!r})".format(
                self.trusted_proxy,
                self.trusted_proxy_count,
                sorted(self.trusted_proxy_headers),
                self.clear_untrusted_proxy_headers,
                self.log_untrusted_proxy_headers,
            )
        )
