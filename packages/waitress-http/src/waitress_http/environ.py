"""From a parsed request head to a PEP 3333 environ.

The builder is made once per listener: everything that does not change from
one request to the next (server name and port, scheme, the ``wsgi.*`` flags)
lives in a template dict that each request copies.  The work left per request
is the request line, the path and query, and one pass over the header fields.
Two small bounded caches keep that pass cheap for the names and targets a
server sees over and over.
"""

import sys
from typing import IO, Any, Dict, Iterable, Optional, Tuple
from urllib.parse import unquote_to_bytes

from .events import RequestHead
from .head import HeadCache

__all__ = ["EnvironBuilder", "decode_path", "field_key", "normalize_url_prefix", "split_target"]

# Header name as received -> environ key; "" means "leave it out".  Names are
# few and repeat on every request; the bound keeps a client that invents a
# new name per request from growing it without end.
_KEY_CACHE_LIMIT = 1024

# Per builder: request-target -> (PATH_INFO, QUERY_STRING).
_TARGET_CACHE_LIMIT = 256
_TARGET_CACHE_MAX_LENGTH = 512

_PROTOCOLS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}


def field_key(name: str) -> str:
    """Header ``name`` as a CGI-style key ("X-Forwarded-For" -> "X_FORWARDED_FOR"), or "".

    Names with an underscore get "" (dropped): ``X-Auth_User`` and
    ``X-Auth-User`` would otherwise land on the same key, letting a client
    forge a header a front-end proxy believes it controls.
    """
    if "_" in name:
        return ""
    return name.upper().replace("-", "_")


def _environ_key(name: str) -> str:
    """The environ key for header ``name``, or "" when it must not appear.

    As ``field_key``, with the ``HTTP_`` prefix; Content-Length comes from
    the parsed body length instead of the header.
    """
    key = field_key(name)
    if not key:
        return ""
    if key == "CONTENT_TYPE":
        return key
    if key == "CONTENT_LENGTH":
        return ""
    return "HTTP_" + key


def normalize_url_prefix(prefix: str) -> str:
    """``url_prefix`` as a SCRIPT_NAME: one leading slash, none trailing, or ''."""
    stripped = prefix.strip().strip("/")
    return "/" + stripped if stripped else ""


def split_absolute(target: str) -> Optional[Tuple[str, str]]:
    """An absolute-form target (``http://host:8080/p?q``, fragment already
    cut) as its authority and the rest (``/p?q``, ``?q`` or ''); None for
    any other form."""
    if target[:1] == "/":
        return None
    scheme_end = target.find("://")
    if scheme_end <= 0:
        return None
    rest = target[scheme_end + 3 :]
    end = len(rest)
    for stop in "/?":
        at = rest.find(stop)
        if 0 <= at < end:
            end = at
    return rest[:end], rest[end:]


def split_target(target: str) -> Tuple[str, str]:
    """Split a request-target into its undecoded path and its raw query.

    Handles the four RFC 9112 forms: origin (``/p?q``), absolute
    (``http://host/p?q``; an empty path is ``/``), asterisk (``*``) and
    authority (``host:port``, whose path is empty).  Fragments, which a
    client should never send, are cut off.
    """
    hash_at = target.find("#")
    if hash_at >= 0:
        target = target[:hash_at]
    if target[:1] != "/":
        if target == "*":
            return "*", ""
        absolute = split_absolute(target)
        if absolute is None:
            return "", ""
        target = absolute[1]
        if target[:1] != "/":
            target = "/" + target
    path, _, query = target.partition("?")
    return path, query


def target_authority(target: str) -> Optional[str]:
    """The host[:port] of an absolute-form target, None for any other form."""
    absolute = split_absolute(target.partition("#")[0])
    return None if absolute is None else absolute[0]


#: Long targets are percent-decoded this many bytes at a time (see ``unquote_in_windows``).
UNQUOTE_WINDOW = 4096


def unquote_in_windows(data: bytes, window: int = UNQUOTE_WINDOW) -> bytes:
    """``urllib.parse.unquote_to_bytes(data)``, a window at a time.

    Whole, it splits ``data`` at every ``%``: a 256 KiB target of escapes
    took 19 MB at its peak, in each worker decoding one at once, and the
    allocator kept it.  A window (3 bytes at least, an escape's length)
    never ends inside an escape: a ``%`` among its last two bytes starts the
    next one.
    """
    if len(data) <= window:
        return unquote_to_bytes(data)
    out = bytearray()
    start, size = 0, len(data)
    while start < size:
        end = start + window
        if end < size:
            cut = data.rfind(b"%", end - 2, end)
            if cut > start:
                end = cut
        out += unquote_to_bytes(data[start:end])
        start = end
    return bytes(out)


def decode_path(path: str) -> str:
    """Percent-decode ``path`` to bytes and carry them as latin-1 (PEP 3333)."""
    if "%" in path:
        path = unquote_in_windows(path.encode("latin-1")).decode("latin-1")
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return path


class EnvironBuilder:
    """Builds one fresh environ per request for a given listener.

    ``server_name`` and ``server_port`` are strings (for a Unix socket the
    port is its path); ``ident`` becomes SERVER_SOFTWARE ('' when empty or
    None, so the key is always a str); ``url_prefix`` becomes SCRIPT_NAME and
    is stripped from the front of PATH_INFO.  ``wsgi.errors`` is ``errors``
    or, when that is None, whatever ``sys.stderr`` is as each request
    arrives: a program (or pytest's capture) may replace it after the
    server is made, and Waitress reads it per request too.
    """

    __slots__ = (
        "_template", "_prefix", "_prefix_slash", "_targets", "_keys", "_dropped", "_parts",
        "_current_stderr",
    )

    def __init__(
        self,
        server_name: str,
        server_port: str,
        url_scheme: str = "http",
        url_prefix: str = "",
        ident: Optional[str] = "waitress",
        file_wrapper: Any = None,
        errors: Optional[IO[str]] = None,
        drop_keys: Iterable[str] = (),
    ) -> None:
        # ``drop_keys``: environ keys of headers never to pass on, e.g. the
        # proxy headers when no proxy is trusted (cheaper than removing them).
        self._dropped = frozenset(drop_keys)
        #: header name as received -> environ key ("" to leave it out)
        self._keys: Dict[str, str] = {}
        prefix = normalize_url_prefix(url_prefix or "")
        self._prefix = prefix
        self._prefix_slash = prefix + "/"
        self._targets: Dict[str, Tuple[str, str]] = {}
        #: head key (see RequestHead.key) -> the environ entries it gives
        self._parts = HeadCache()  # head key -> entries, bounded as the head cache is
        template: Dict[str, Any] = {
            "SCRIPT_NAME": prefix,
            "SERVER_NAME": str(server_name),
            "SERVER_PORT": str(server_port),
            "SERVER_SOFTWARE": ident or "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url_scheme,
            "wsgi.input_terminated": True,
            "wsgi.errors": errors if errors is not None else sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if file_wrapper is not None:
            template["wsgi.file_wrapper"] = file_wrapper
        self._template = template
        self._current_stderr = errors is None

    def path_and_query(self, target: str) -> Tuple[str, str]:
        """PATH_INFO and QUERY_STRING for ``target`` under this builder's prefix."""
        cached = self._targets.get(target)
        if cached is not None:
            return cached
        raw_path, query = split_target(target)
        path = decode_path(raw_path)
        prefix = self._prefix
        if prefix:
            if path == prefix:
                path = ""
            elif path.startswith(self._prefix_slash):
                path = path[len(prefix) :]
        result = (path, query)
        if len(target) <= _TARGET_CACHE_MAX_LENGTH:
            targets = self._targets
            if len(targets) >= _TARGET_CACHE_LIMIT:
                targets.clear()
            targets[target] = result
        return result

    def build(
        self,
        head: RequestHead,
        remote_addr: str,
        remote_port: Any,
        body_stream: Any,
        content_length: Optional[int],
    ) -> Dict[str, Any]:
        """A new environ for ``head`` received from ``remote_addr:remote_port``.

        ``content_length`` is the body's length as the server holds it (the
        de-chunked length for a chunked request), or None when there is no
        declared body.  The server adds ``waitress.client_disconnected``.
        """
        environ = self._template.copy()
        key = head.key
        part = self._parts.get(key) if key is not None else None
        if part is None:
            part = self._request_part(head)
            if key is not None:
                self._parts.put(key, part)
        environ.update(part)
        environ["REMOTE_ADDR"] = remote_addr
        environ["REMOTE_HOST"] = remote_addr
        environ["REMOTE_PORT"] = str(remote_port)
        environ["wsgi.input"] = body_stream
        if content_length is not None:
            environ["CONTENT_LENGTH"] = str(content_length)
        if self._current_stderr:
            environ["wsgi.errors"] = sys.stderr
        return environ

    def _request_part(self, head: RequestHead) -> Dict[str, str]:
        """The environ entries that depend on the head alone (the same for equal heads)."""
        part: Dict[str, str] = {}
        target = head.target
        path_query = self._targets.get(target)
        if path_query is None:
            path_query = self.path_and_query(target)
        part["PATH_INFO"], part["QUERY_STRING"] = path_query
        part["REQUEST_METHOD"] = head.method
        part["REQUEST_URI"] = target
        part["SERVER_PROTOCOL"] = _PROTOCOLS.get(head.version, "HTTP/1.0")

        keys = self._keys
        for name, value in head.headers:
            key = keys.get(name)
            if key is None:
                key = _environ_key(name)
                if key in self._dropped:
                    key = ""
                if len(keys) >= _KEY_CACHE_LIMIT:
                    keys.clear()
                keys[name] = key
            if not key:
                continue
            if key in part:
                part[key] = part[key] + ", " + value
            else:
                part[key] = value
        authority = target_authority(target)
        if authority:
            # RFC 9112 3.2.2: with an absolute-form target, the target's host
            # is the request's, whatever the Host field says (Waitress kept
            # the field: two hosts for one request, one for routing and one
            # for the URLs the application builds).
            part["HTTP_HOST"] = authority
        if head.chunked:
            # The body arrives de-chunked with CONTENT_LENGTH set; telling
            # the app it is chunked would make it frame the body twice.
            part.pop("HTTP_TRANSFER_ENCODING", None)
        return part
