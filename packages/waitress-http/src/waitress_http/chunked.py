"""The pieces of chunked transfer coding that need checking (RFC 9112 7.1).

Chunk extensions and trailer fields are validated, then thrown away: nothing
downstream may depend on them, so the only thing that matters is that a
front end and this parser agree on where every chunk ends.
"""

from typing import Optional

from .errors import BadRequest
from .grammar import CHUNK_SIZE_LINE, CHUNK_SIZE_ONLY, FIELD_BYTES
from .head import parse_fields, reject_field_lines

#: The longest chunk-size line we wait for, CRLF included: room for the size
#: and generous extensions, not for a client that never sends the CRLF.
MAX_CHUNK_LINE = 4096


# Bound once: a method of an imported name is called through LOAD_ATTR in
# CPython 3.11 (taken for a module's), which makes a bound method per chunk.
_chunk_size_line = CHUNK_SIZE_LINE.fullmatch


def parse_chunk_size(line: bytes, version: Optional[str]) -> int:
    """The size from a chunk-size line (without its CRLF); extensions are checked."""
    match = _chunk_size_line(line)
    if match is None:
        if CHUNK_SIZE_ONLY.match(line) is None:
            raise BadRequest("Invalid chunk size", version)
        raise BadRequest("Invalid chunk extension", version)
    return int(match.group(1), 16)


def check_trailers(block: bytes, version: Optional[str]) -> None:
    """Validate trailer field lines like header lines; ``block`` ends with CRLF."""
    if block.translate(None, FIELD_BYTES + b"\r\n"):
        reject_field_lines(block.decode("latin-1"), version, "trailer")
    parse_fields("\r\n" + block.decode("latin-1"), version, "trailer")
