"""Trusted proxy headers (RFC 7239 Forwarded and X-Forwarded-*) applied to a WSGI environ."""

__version__ = "1.0.0"
