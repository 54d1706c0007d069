"""``waitress.buffers``: the buffer classes under Waitress's module name.

``ReadOnlyFileBasedBuffer`` is ``environ['wsgi.file_wrapper']``, the class
the server really uses (from waitress-wasyncore).

The other classes keep Waitress 3.0.2's byte buffers for code that builds on
them: ``waitress.parser.HTTPRequestParser`` stores request bodies in an
``OverflowableBuffer``, and tests of such code replace
``TempfileBasedBuffer`` to prove a body never reaches the disk.  The server
itself queues output and spools bodies with waitress-wasyncore's
``OutputBuffer`` and ``BodySpool`` instead.

A buffer is a queue of bytes: ``append`` adds at the back, ``get`` reads
from the front (``skip=True`` also removes what it read), ``skip`` removes
without reading, and ``len()`` is the count still queued.  ``getfile()``
gives the underlying file positioned at the first queued byte.
"""

import io
import tempfile
from typing import IO, Any, Optional

from waitress_wasyncore.buffers import *  # noqa: F401,F403
from waitress_wasyncore.buffers import ReadOnlyFileBasedBuffer  # noqa: F401

#: Bytes copied at a time when a buffer moves its contents to a new file.
COPY_BYTES = 1 << 18
#: An ``OverflowableBuffer`` keeps up to this many bytes in a plain ``bytes``.
STRBUF_LIMIT = 8192


class FileBasedBuffer:
    """Queued bytes kept in ``file`` (any seekable binary file).

    The file position always stays at the first queued byte; ``append``
    writes at the end and comes back.  ``from_buffer`` (a buffer or a binary
    file) gives the initial contents: its bytes from its current position,
    which it keeps.
    """

    def __init__(self, file: IO[bytes], from_buffer: Any = None) -> None:
        self.file = file
        #: Bytes queued (appended and not yet skipped).
        self.remain = 0
        if from_buffer is not None:
            self._copy_from(from_buffer)

    def _copy_from(self, source: Any) -> None:
        stream = source.getfile() if hasattr(source, "getfile") else source
        start = stream.tell()
        file = self.file
        here = file.tell()
        file.seek(0, io.SEEK_END)
        while True:
            piece = stream.read(COPY_BYTES)
            if not piece:
                break
            file.write(piece)
            self.remain += len(piece)
        stream.seek(start)
        file.seek(here)

    def __len__(self) -> int:
        return self.remain

    def __bool__(self) -> bool:
        # An empty buffer is still a buffer: ``if channel.outbuf:`` tests presence.
        return True

    def newfile(self) -> IO[bytes]:
        """A new, empty file of this buffer's kind (used by ``prune``)."""
        raise NotImplementedError

    def append(self, data: bytes) -> None:
        file = self.file
        here = file.tell()
        file.seek(0, io.SEEK_END)
        file.write(data)
        file.seek(here)
        self.remain += len(data)

    def get(self, numbytes: int = -1, skip: bool = False) -> bytes:
        """Up to ``numbytes`` queued bytes (all when -1); ``skip`` also removes them."""
        file = self.file
        if numbytes < 0 or numbytes > self.remain:
            numbytes = self.remain
        data = file.read(numbytes)
        if skip:
            self.remain -= len(data)
        else:
            file.seek(-len(data), io.SEEK_CUR)
        return data

    def skip(self, numbytes: int, allow_prune: bool = False) -> None:
        """Remove ``numbytes`` queued bytes; ValueError if fewer are queued."""
        if numbytes > self.remain:
            raise ValueError(f"cannot skip {numbytes} bytes: only {self.remain} are queued")
        self.file.seek(numbytes, io.SEEK_CUR)
        self.remain -= numbytes

    def prune(self) -> None:
        """Move the queued bytes to the start of a new file, dropping what was read."""
        old = self.file
        self.file = self.newfile()
        self.remain = 0
        self._copy_from(old)
        old.close()

    def getfile(self) -> IO[bytes]:
        return self.file

    def close(self) -> None:
        close = getattr(self.file, "close", None)
        if close is not None:
            close()
        self.remain = 0


class TempfileBasedBuffer(FileBasedBuffer):
    """A ``FileBasedBuffer`` in an anonymous temporary file."""

    def __init__(self, from_buffer: Any = None) -> None:
        super().__init__(self.newfile(), from_buffer)

    def newfile(self) -> IO[bytes]:
        return tempfile.TemporaryFile("w+b")


class BytesIOBasedBuffer(FileBasedBuffer):
    """A ``FileBasedBuffer`` in memory."""

    def __init__(self, from_buffer: Any = None) -> None:
        super().__init__(self.newfile(), from_buffer)

    def newfile(self) -> IO[bytes]:
        return io.BytesIO()


class OverflowableBuffer:
    """Queued bytes in memory up to ``overflow`` bytes, then in a temporary file.

    The first ``STRBUF_LIMIT`` bytes stay in a plain ``bytes`` (``strbuf``);
    past that a ``BytesIOBasedBuffer`` holds them (``buf``), replaced by a
    ``TempfileBasedBuffer`` (``overflowed`` becomes True) once more than
    ``overflow`` bytes are queued.  ``prune`` brings a buffer that shrank
    back below ``overflow`` into memory.
    """

    def __init__(self, overflow: int) -> None:
        self.overflow = overflow
        self.overflowed = False
        self.buf: Optional[FileBasedBuffer] = None
        self.strbuf = b""

    def __len__(self) -> int:
        if self.buf is not None:
            return len(self.buf)
        return len(self.strbuf)

    def __bool__(self) -> bool:
        return True

    def _in_file(self) -> FileBasedBuffer:
        """The file-backed buffer, made from ``strbuf`` on first need."""
        if self.buf is None:
            self.buf = BytesIOBasedBuffer(io.BytesIO(self.strbuf))
            self.strbuf = b""
        return self.buf

    def append(self, data: bytes) -> None:
        if self.buf is None and len(self.strbuf) + len(data) < STRBUF_LIMIT:
            self.strbuf += data
            return
        buf = self._in_file()
        buf.append(data)
        if not self.overflowed and len(buf) > self.overflow:
            self.buf = TempfileBasedBuffer(buf)
            buf.close()
            self.overflowed = True

    def get(self, numbytes: int = -1, skip: bool = False) -> bytes:
        if self.buf is not None:
            return self.buf.get(numbytes, skip)
        data = self.strbuf if numbytes < 0 else self.strbuf[:numbytes]
        if skip:
            self.strbuf = self.strbuf[len(data) :]
        return data

    def skip(self, numbytes: int, allow_prune: bool = False) -> None:
        if self.buf is not None:
            self.buf.skip(numbytes, allow_prune)
            return
        if numbytes > len(self.strbuf):
            raise ValueError(f"cannot skip {numbytes} bytes: only {len(self.strbuf)} are queued")
        self.strbuf = self.strbuf[numbytes:]

    def prune(self) -> None:
        buf = self.buf
        if buf is None:
            return
        if self.overflowed and len(buf) <= self.overflow:
            self.buf = BytesIOBasedBuffer(buf)
            buf.close()
            self.overflowed = False
        else:
            buf.prune()

    def getfile(self) -> IO[bytes]:
        return self._in_file().getfile()

    def close(self) -> None:
        if self.buf is not None:
            self.buf.close()
        self.strbuf = b""
