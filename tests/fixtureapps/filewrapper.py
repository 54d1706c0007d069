"""Serve files through ``environ['wsgi.file_wrapper']``.

* ``/seekable?offset=K``: a real file, seeked to K before wrapping; the
  server should send Content-Length = size - K.  The file object is kept in
  ``OPENED`` so a test can check it was closed.
* ``/nonseekable``: a file-like object with ``read`` and ``close`` only; the
  server must iterate it and call ``close`` (noted as ``file-closed``).
* ``/large``: ``LARGE_SIZE`` bytes of a real file (DATA repeated), far more
  than a socket buffer holds, so the server must wait for the client.
* ``/bytesio``: the same bytes from an ``io.BytesIO``: seekable, but with no
  descriptor to ``sendfile`` from.
* ``/gzip``: a ``gzip.open()`` file holding DATA, whose ``fileno()`` is
  the compressed file's: the body must be what ``read()`` returns.
* ``/odd-fileno``: a BytesIO whose ``fileno()`` raises RuntimeError.
* ``/block0``: DATA from a BytesIO wrapped with a block size of 0 (PEP
  3333: the block size is only a suggestion).
* ``?length=N`` (with ``/seekable``): the application sets Content-Length
  N, as a range response does; the server sends no more than that.
"""

import atexit
import gzip
import io
import os
import tempfile
import threading
from typing import Dict, List

from fixtureapps.query import int_param
from fixtureapps.recorder import RECORDER

DATA = bytes(range(256)) * 400  # 102400 bytes, every offset distinguishable
LARGE_REPEAT = 160
LARGE_SIZE = len(DATA) * LARGE_REPEAT  # 16,384,000 bytes
OPENED: List = []
_path_lock = threading.Lock()
_paths: Dict[int, str] = {}


def data_path(repeat: int = 1) -> str:
    """A file holding DATA ``repeat`` times, written once per process."""
    with _path_lock:
        path = _paths.get(repeat)
        if path is None:
            handle, path = tempfile.mkstemp(prefix="fixture-filewrapper-")
            with os.fdopen(handle, "wb") as stream:
                for _ in range(repeat):
                    stream.write(DATA)
            _paths[repeat] = path
        return path


@atexit.register
def _remove_data_files() -> None:
    """Leave nothing in the temporary directory: the large file is 16 MB."""
    for path in _paths.values():
        try:
            os.unlink(path)
        except OSError:
            pass


class NonSeekableReader:
    """A file-like object that can only be read and closed."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._data) - self._position
        piece = self._data[self._position : self._position + size]
        self._position += len(piece)
        return piece

    def close(self) -> None:
        self.closed = True
        RECORDER.record("file-closed", "nonseekable")


def gzip_path() -> str:
    """DATA compressed, written once per process (removed at exit)."""
    with _path_lock:
        path = _paths.get(-1)
        if path is None:
            handle, path = tempfile.mkstemp(prefix="fixture-filewrapper-", suffix=".gz")
            with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as stream:
                stream.write(DATA)
            _paths[-1] = path
        return path


class OddFileno(io.BytesIO):
    def fileno(self):
        raise RuntimeError("no descriptor here")


def _odd_file(path: str):
    if path == "/gzip":
        return gzip.open(gzip_path(), "rb"), 8192
    if path == "/odd-fileno":
        return OddFileno(DATA), 8192
    if path == "/block0":
        return io.BytesIO(DATA), 0
    return None, 0


def app(environ, start_response):
    wrapper = environ["wsgi.file_wrapper"]
    odd, block_size = _odd_file(environ.get("PATH_INFO"))
    if odd is not None:
        OPENED.append(odd)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return wrapper(odd, block_size)
    if environ.get("PATH_INFO") == "/nonseekable":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return wrapper(NonSeekableReader(DATA), 4096)
    headers = [("Content-Type", "application/octet-stream")]
    if environ.get("PATH_INFO") == "/bytesio":
        start_response("200 OK", headers)
        return wrapper(io.BytesIO(DATA * LARGE_REPEAT), 65536)
    offset = int_param(environ, "offset", 0)
    length = int_param(environ, "length", -1)
    if length >= 0:
        headers.append(("Content-Length", str(length)))
    repeat = LARGE_REPEAT if environ.get("PATH_INFO") == "/large" else 1
    stream = open(data_path(repeat), "rb")
    stream.seek(offset)
    OPENED.append(stream)
    start_response("200 OK", headers)
    return wrapper(stream, 8192)
