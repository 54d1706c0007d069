"""Trusted proxy headers (RFC 7239 Forwarded and X-Forwarded-*) applied to a WSGI environ."""

__version__ = "1.0.0"

from .environ import apply_proxy_headers
from .errors import LOG_MESSAGE, MalformedProxyHeader
from .middleware import ProxyHeadersMiddleware
from .settings import (
    KNOWN_PROXY_HEADERS,
    PROXY_HEADER_ENVIRON_KEYS,
    ProxySettings,
    normalize_trusted_proxy_headers,
)

__all__ = [
    "KNOWN_PROXY_HEADERS",
    "LOG_MESSAGE",
    "PROXY_HEADER_ENVIRON_KEYS",
    "MalformedProxyHeader",
    "ProxyHeadersMiddleware",
    "ProxySettings",
    "apply_proxy_headers",
    "normalize_trusted_proxy_headers",
]
