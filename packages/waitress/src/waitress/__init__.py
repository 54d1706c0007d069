"""Waitress: a production-quality pure-Python WSGI server."""

__version__ = "4.0.0"
