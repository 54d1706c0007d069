"""``BodySpool``: a request body, in memory up to a size, then in a temporary file.

Not thread-safe: its owner (one connection) serialises access.
"""

import io
import tempfile
from typing import IO, List, Optional, Union

__all__ = ["BodySpool"]

Bytes = Union[bytes, bytearray, memoryview]

#: Request-body pieces smaller than this are gathered into one buffer.
SMALL_PIECE = 4096


class BodySpool:
    """Collects a request body: in memory up to ``overflow`` bytes, then in a temporary file.

    In memory the pieces are kept as received and joined once, by
    ``finish()``: a ``BytesIO`` made from one ``bytes`` object shares it, so
    a body that arrived in one piece is never copied, and an application
    reading it whole gets that same object back.  Small pieces (a chunked
    body of one-byte chunks) are gathered into one ``bytearray`` instead:
    kept one object each, they would cost some 40 bytes of memory per byte
    of body, far past ``overflow``.
    """

    def __init__(self, overflow: int) -> None:
        self.overflow = overflow
        self._length = 0
        self._pieces: Optional[List[Bytes]] = []
        self._small: Optional[bytearray] = None  # small pieces, gathered
        self._memory: Optional[io.BytesIO] = None
        self._file: Optional[IO[bytes]] = None

    def __len__(self) -> int:
        return self._length

    @property
    def spilled(self) -> bool:
        """Whether the body went to a temporary file."""
        return self._file is not None

    def write(self, data: Bytes) -> None:
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        self._length += size
        if self._file is None:
            if self._length <= self.overflow:
                if size < SMALL_PIECE and self._length > size:  # not the first piece
                    if self._small is None:
                        self._small = bytearray(data)
                    else:
                        self._small += data
                    return
                self._gather_small()
                # The caller may reuse a mutable buffer: keep a copy of those.
                self._pieces.append(data if type(data) is bytes else bytes(data))
                return
            self._spill()
        self._file.write(data)

    def _gather_small(self) -> None:
        """Put the gathered small pieces in line, before a large one."""
        if self._small is not None:
            self._pieces.append(self._small)
            self._small = None

    def _spill(self) -> None:
        self._gather_small()
        spill = tempfile.TemporaryFile()
        try:
            for piece in self._pieces:
                spill.write(piece)
        except BaseException:
            spill.close()
            raise
        self._pieces = None
        self._file = spill

    def finish(self) -> IO[bytes]:
        """The body as a readable binary stream positioned at 0 (the ``wsgi.input``)."""
        if self._file is not None:
            stream = self._file
            stream.flush()
            stream.seek(0)
            return stream
        if self._memory is None:
            self._gather_small()
            pieces = self._pieces
            self._memory = io.BytesIO(pieces[0] if len(pieces) == 1 else b"".join(pieces))
            self._pieces = None
        else:
            self._memory.seek(0)
        return self._memory

    def close(self) -> None:
        self._pieces = None
        self._small = None
        for stream in (self._memory, self._file):
            if stream is not None:
                stream.close()
