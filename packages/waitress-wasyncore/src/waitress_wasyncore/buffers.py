"""Generic I/O plumbing with no HTTP in it, under one public name.

- ``ReadOnlyFileBasedBuffer``: the ``wsgi.file_wrapper`` class, and
  ``file_descriptor``, whether a file may be sent by the kernel
  (``filewrapper.py``).
- ``BodySpool``: collects a request body in memory, spilling to a temporary
  file past a size; ``finish()`` hands back the ``wsgi.input`` stream
  (``spool.py``).
- ``OutputBuffer``: what one connection still has to send, in order
  (``output_queue.py``).

The three live in their own modules; this one is the contract other
packages import from.
"""

from .filewrapper import ReadOnlyFileBasedBuffer, file_descriptor
from .output_queue import IOV_MAX, OutputBuffer, QueuedFileError, TruncatedFileError
from .spool import BodySpool

__all__ = [
    "IOV_MAX",
    "BodySpool",
    "OutputBuffer",
    "QueuedFileError",
    "ReadOnlyFileBasedBuffer",
    "TruncatedFileError",
    "file_descriptor",
]
