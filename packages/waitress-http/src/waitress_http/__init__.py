"""A strict sans-IO HTTP/1.x request parser, WSGI environ builder and response serializer."""

__version__ = "1.0.0"

from . import errors, grammar
from .dates import http_date
from .environ import EnvironBuilder, decode_path, field_key, split_target
from .errorpage import PLAIN_TEXT, error_body, error_response, framed_error
from .errors import (
    BadRequest,
    HTTPError,
    HTTPVersionNotSupported,
    InternalServerError,
    NotImplementedTransferEncoding,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    URITooLong,
)
from .events import NEED_DATA, Body, EndOfMessage, RequestHead
from .parser import RequestParser
from .response import CONTINUE_RESPONSE, Response
from .response_checks import HOP_BY_HOP_HEADERS, check_header_value

__all__ = [
    "RequestParser",
    "RequestHead",
    "Body",
    "EndOfMessage",
    "NEED_DATA",
    "HTTPError",
    "BadRequest",
    "RequestEntityTooLarge",
    "RequestHeaderFieldsTooLarge",
    "URITooLong",
    "InternalServerError",
    "NotImplementedTransferEncoding",
    "HTTPVersionNotSupported",
    "EnvironBuilder",
    "field_key",
    "split_target",
    "decode_path",
    "Response",
    "CONTINUE_RESPONSE",
    "HOP_BY_HOP_HEADERS",
    "check_header_value",
    "error_response",
    "error_body",
    "framed_error",
    "PLAIN_TEXT",
    "http_date",
    "errors",  # the error classes, and limit_detail for a detail in their words
    "grammar",  # the compiled RFC 9110/9112 patterns, for code of its own to share
]
