"""A strict sans-IO HTTP/1.x request parser, WSGI environ builder and response serializer."""

__version__ = "1.0.0"
