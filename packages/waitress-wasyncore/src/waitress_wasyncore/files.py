"""Pipes and other non-socket descriptors in the loop: ``file_wrapper`` and ``file_dispatcher``.

Rules this module keeps:

- A ``file_wrapper`` owns a duplicate of the descriptor it is given, never
  the caller's: the caller closes its own, the wrapper (or its dispatcher)
  closes the duplicate.
- The wrapper stands where a dispatcher expects its socket, so every call a
  dispatcher makes on ``self.socket`` (``recv``, ``send``, ``close``,
  ``fileno``, ``getsockopt(SOL_SOCKET, SO_ERROR)``) must work on it.

POSIX only, as in asyncore: the package exports these names only there,
since Windows' ``select()`` watches sockets and nothing else.
"""

import errno
import os
import socket
import warnings
from typing import Any, Optional, Protocol, Union

from .dispatcher import dispatcher


class HasFileno(Protocol):
    """Anything with a ``fileno()`` method: a file object, a socket, a pipe's end."""

    def fileno(self) -> int: ...


class file_wrapper:
    """A file descriptor dressed as a socket, so that a dispatcher can use it.

    It duplicates the descriptor it is given: the dispatcher can close what
    it holds without pulling the file from under its owner.
    """

    # -1 once closed (and before the duplicate exists, should os.dup fail).
    fd = -1

    def __init__(self, fd: int) -> None:
        self.fd = os.dup(fd)

    def __repr__(self) -> str:
        return "<%s fd=%d>" % (type(self).__name__, self.fd)

    def __del__(self) -> None:
        # As asyncore did: a wrapper dropped while open is a leak worth a warning.
        if self.fd >= 0:
            warnings.warn("unclosed file %r" % (self,), ResourceWarning, stacklevel=1, source=self)
            self.close()

    def recv(self, buffersize: int) -> bytes:
        """Read up to ``buffersize`` bytes (``os.read``); raises BlockingIOError when none are ready."""
        return os.read(self.fd, buffersize)

    def send(self, data: Any) -> int:
        """Write what the descriptor takes now (``os.write``) and return how much that was."""
        return os.write(self.fd, data)

    read = recv
    write = send

    def getsockopt(self, level: int, optname: int, buflen: Optional[int] = None) -> int:
        """Only ``(SOL_SOCKET, SO_ERROR)`` is known: a file has no pending socket error, so 0.

        The dispatcher asks that when it finishes a connect; any other
        option has no meaning for a file and raises NotImplementedError.
        """
        if level == socket.SOL_SOCKET and optname == socket.SO_ERROR and not buflen:
            return 0
        raise NotImplementedError(
            "file_wrapper.getsockopt() only answers (SOL_SOCKET, SO_ERROR), not (%r, %r)"
            % (level, optname)
        )

    def close(self) -> None:
        """Close the duplicate descriptor.  Safe to call twice."""
        fd = self.fd
        if fd < 0:
            return
        self.fd = -1
        os.close(fd)

    def fileno(self) -> int:
        """The duplicate descriptor (the one the loop watches); -1 once closed."""
        return self.fd


def _descriptor(fd: Union[int, HasFileno]) -> int:
    if isinstance(fd, int):
        return fd
    return fd.fileno()


class file_dispatcher(dispatcher):
    """A dispatcher for a pipe or another non-socket descriptor (a tty, a FIFO).

    ``fd`` is an int or anything with ``fileno()``; the dispatcher watches a
    duplicate of it (see ``file_wrapper``) and sets it non-blocking, which,
    the two sharing one open file, applies to the caller's descriptor too.
    It starts connected and waiting for reading, like a dispatcher given a
    socket.

    A descriptor the platform's selector cannot watch fails at construction
    and leaves nothing behind: on Linux, epoll refuses regular files and
    directories (PermissionError, EPERM).  Read those with plain blocking
    I/O, or in a worker thread.
    """

    def __init__(self, fd: Union[int, HasFileno], map: Optional[dict] = None) -> None:
        super().__init__(None, map)
        self.connected = True
        self.set_file(_descriptor(fd))
        try:
            os.set_blocking(self.socket.fileno(), False)
        except BaseException:
            self.close()
            raise

    def set_file(self, fd: int) -> None:
        """Make a ``file_wrapper`` of ``fd`` this dispatcher's socket and join the map.

        On failure the duplicate is closed and nothing stays registered.
        """
        wrapper = file_wrapper(fd)
        try:
            self.set_socket(wrapper)  # type: ignore[arg-type]
        except BaseException as exc:
            self.socket = None
            wrapper.close()
            if isinstance(exc, PermissionError) and exc.errno == errno.EPERM:
                raise PermissionError(
                    errno.EPERM,
                    "file_dispatcher: the loop's selector cannot watch descriptor %d "
                    "(epoll refuses regular files and directories)" % fd,
                ) from exc
            raise
