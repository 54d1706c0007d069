"""The ``wsgi.file_wrapper`` (PEP 3333), and which files may be sent by the kernel.

``file_descriptor`` is the one judge of whether a file's bytes may be sent
from its descriptor with ``os.sendfile``: a descriptor that holds other
bytes than ``read()`` returns would send the wrong body under the right
Content-Length.
"""

import io
from typing import Any, Optional

__all__ = ["DEFAULT_BLOCK_SIZE", "ReadOnlyFileBasedBuffer", "file_descriptor"]

#: The ``wsgi.file_wrapper``'s default block size (Waitress's).
DEFAULT_BLOCK_SIZE = 32768


def file_descriptor(file: Any) -> Optional[int]:
    """The descriptor to send ``file``'s bytes from, or None to read the file.

    Only a plain binary file (``open(path, "rb")``, a ``FileIO``) qualifies:
    its descriptor holds, from ``tell()`` on, the very bytes ``read()``
    returns.  Any other ``fileno()`` may describe other bytes: a
    ``gzip.open()`` file's is the compressed file, a wrapper's or a
    subclass's is whatever it chose; sending from it would send the wrong
    body under the right Content-Length.
    """
    cls = type(file)
    if cls is io.BufferedReader or cls is io.BufferedRandom:
        if type(file.raw) is not io.FileIO:
            return None
    elif cls is not io.FileIO:
        return None
    try:
        return file.fileno()
    except (OSError, ValueError):  # closed; io.UnsupportedOperation is both
        return None


class ReadOnlyFileBasedBuffer:
    """The ``wsgi.file_wrapper``: an iterable over a file in ``block_size`` reads.

    When the server can stream the file itself it calls ``prepare()``,
    which, for a seekable file, reports how many bytes remain from the
    current position.  ``seekable``, ``seek``, ``tell`` and ``fileno`` are
    the file's own, present when the file has them.
    """

    def __init__(self, file: Any, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        self.file = file
        self.block_size = block_size
        # Bytes to send from the position prepare() found; None: read to EOF.
        self.remain: Optional[int] = None
        for name in ("seekable", "seek", "tell", "fileno"):
            method = getattr(file, name, None)
            if method is not None:
                setattr(self, name, method)

    def _can_seek(self) -> bool:
        file = self.file
        if not (hasattr(file, "seek") and hasattr(file, "tell")):
            return False
        seekable = getattr(file, "seekable", None)
        if seekable is None:
            return True
        try:
            return bool(seekable())
        except (OSError, ValueError):
            return False

    def prepare(self, size: Optional[int] = None) -> int:
        """Remember the current position and return the bytes left (at most ``size``); 0 if not seekable."""
        if not self._can_seek():
            return 0
        file = self.file
        try:
            start = file.tell()
            file.seek(0, io.SEEK_END)
            end = file.tell()
            file.seek(start, io.SEEK_SET)
        except (OSError, ValueError, AttributeError):
            return 0
        remain = max(0, end - start)
        if size is not None:
            remain = min(remain, max(0, size))
        self.remain = remain
        return remain

    def __iter__(self) -> "ReadOnlyFileBasedBuffer":
        return self

    def __next__(self) -> bytes:
        wanted = self.block_size
        if type(wanted) is not int or wanted < 1:
            # PEP 3333: only a suggestion; read(0) would end the body at once.
            wanted = DEFAULT_BLOCK_SIZE
        remain = self.remain
        if remain is not None:
            if remain <= 0:
                raise StopIteration
            wanted = min(wanted, remain)
        data = self.file.read(wanted)
        if not data:
            raise StopIteration
        if remain is not None:
            self.remain = remain - len(data)
        return data

    def close(self) -> None:
        """Close the file (PEP 3333: the server calls this when done)."""
        close = getattr(self.file, "close", None)
        if close is not None:
            close()
