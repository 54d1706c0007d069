"""``OutputBuffer``: what one connection still has to send, in order.

Memory buffers go out together through ``socket.sendmsg``; spilled data and
files through ``os.sendfile`` where the platform and the socket allow, else
by reading and sending.  Order is always kept: a part is sent only once
everything before it is.  Not thread-safe: its owner serialises access.
"""

import collections
import errno
import itertools
import os
import socket
import tempfile
from typing import Any, Callable, Deque, List, Optional, Union

from .errors import DISCONNECTED, _codes
from .filewrapper import ReadOnlyFileBasedBuffer, file_descriptor

__all__ = ["IOV_MAX", "OutputBuffer", "QueuedFileError", "TruncatedFileError"]

Bytes = Union[bytes, bytearray, memoryview]


def _iov_max() -> int:
    """How many buffers one ``sendmsg()`` may carry on this system.

    IOV_MAX is 1024 on Linux and macOS but 16 on illumos and AIX, where
    more buffers make ``sendmsg`` fail (EMSGSIZE, EINVAL) rather than send
    less.  16 is also what POSIX promises where the system does not say.
    """
    try:
        value = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):
        return 16
    return value if value > 0 else 16


#: The most buffers one ``sendmsg()`` is handed (IOV_MAX of this system).
IOV_MAX = _iov_max()
#: How many memory buffers one send of a queue offers (well below IOV_MAX).
SENDMSG_MAX_BUFFERS = min(64, IOV_MAX)
#: Appends up to this size are copied into a shared buffer (fewer, larger sends).
COALESCE_MAX = 8192
#: A coalescing buffer stops growing at this size.
COALESCE_LIMIT = 65536
#: Largest count handed to one os.sendfile() call (Linux's own cap).
SENDFILE_MAX = 0x7FFFF000
#: Chunk read from a file when sendfile cannot be used.
FALLBACK_CHUNK = 262144

# os.sendfile errors that mean "not for this pair of descriptors": fall back to read+send.
_SENDFILE_UNSUPPORTED = frozenset(
    getattr(errno, name)
    for name in ("EINVAL", "ENOSYS", "EOPNOTSUPP", "ENOTSUP", "ENOTSOCK", "ESPIPE", "EOVERFLOW")
    if hasattr(errno, name)
)


class QueuedFileError(OSError):
    """Reading a queued file failed (an I/O error of its disk, say): the
    file's fault, not the peer's.  The connection can only be closed, as
    for a send error, but whoever logs it should not blame the client."""


#: os.sendfile errors that are the socket's (the peer's), not the file's.
_SOCKET_SIDE = DISCONNECTED | _codes("ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EAGAIN")


def _file_side(error: OSError) -> QueuedFileError:
    return QueuedFileError(error.errno, error.strerror or str(error))


class TruncatedFileError(QueuedFileError):
    """A queued file ended before the number of bytes it was queued with.

    The peer was promised more bytes than exist, so the connection can only
    be closed: the caller treats it like any other send error.
    """


def _sendfile_target(sock: Any) -> Optional[int]:
    """The socket's fd if os.sendfile may write to it directly, else None.

    A socket class that overrides ``sendfile`` (TLS) must not be bypassed.
    """
    if not hasattr(os, "sendfile") or not isinstance(sock, socket.socket):
        return None
    if type(sock).sendfile is not socket.socket.sendfile:
        return None
    return sock.fileno()


class _StreamPart:
    """A queued part read from a descriptor rather than held in memory."""

    remaining = 0
    _leftover: Optional[bytes] = None  # read but not yet taken by the socket

    def send_to(self, sock: Any) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _send_read(self, sock: Any, read: Callable[[int], bytes], short: str) -> int:
        """Send what the socket left of the last read, else ``read`` the next
        piece (a file error is the file's, and an early end says ``short``)."""
        chunk = self._leftover
        if chunk is None:
            try:
                chunk = read(min(self.remaining, FALLBACK_CHUNK))
            except OSError as why:
                raise _file_side(why) from why
            if not chunk:
                raise TruncatedFileError(errno.EIO, short)
        try:
            sent = sock.send(chunk)
        except BlockingIOError:
            sent = 0
        self._leftover = chunk[sent:] if sent < len(chunk) else None
        return sent


def _sendfile(sock: Any, fd: int, offset: int, count: int) -> Optional[int]:
    """os.sendfile ``count`` bytes of ``fd`` from ``offset`` to ``sock``.

    Returns the bytes sent (0 when the socket is full), or None when
    sendfile cannot serve this socket or descriptor (the caller then reads
    and sends).  A file that ends early raises ``TruncatedFileError``.
    """
    target = _sendfile_target(sock)
    if target is None:
        return None
    try:
        sent = os.sendfile(target, fd, offset, min(count, SENDFILE_MAX))
    except BlockingIOError:
        return 0
    except OSError as why:
        if why.errno in _SENDFILE_UNSUPPORTED:
            return None
        if why.errno in _SOCKET_SIDE:
            raise
        raise _file_side(why) from why
    if not sent:
        raise TruncatedFileError(errno.EIO, "file ended before the queued size")
    return sent


def _read_at(fd: int, offset: int, count: int) -> bytes:
    """Read up to ``count`` bytes at ``offset`` without moving the descriptor's position."""
    if _pread is not None:
        return _pread(fd, count, offset)
    here = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, count)
    finally:
        os.lseek(fd, here, os.SEEK_SET)


_pread = getattr(os, "pread", None)


class _DescriptorPart(_StreamPart):
    """``remaining`` bytes from ``offset`` of a descriptor this buffer owns.

    Sent with ``os.sendfile`` where the socket allows, else read (at an
    explicit offset, so whoever else uses the descriptor is undisturbed)
    and sent.  ``close()`` closes the descriptor.
    """

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.fd = fd
        self.offset = offset
        self.remaining = size
        self._use_sendfile = True

    def send_to(self, sock: Any) -> int:
        if self._use_sendfile:
            sent = _sendfile(sock, self.fd, self.offset, self.remaining)
            if sent is not None:
                self._advance(sent)
                return sent
            self._use_sendfile = False
        sent = self._send_read(sock, self._read, "file ended before the queued size")
        self._advance(sent)
        return sent

    def _read(self, count: int) -> bytes:
        return _read_at(self.fd, self.offset, count)

    def _advance(self, sent: int) -> None:
        self.offset += sent
        self.remaining -= sent

    def close(self) -> None:
        os.close(self.fd)


class _SpillPart(_DescriptorPart):
    """Appended data that went past the memory limit: written to, then sent from, a temporary file."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(buffering=0)
        super().__init__(self.file.fileno(), 0, 0)

    def write(self, data: Bytes) -> None:
        view = memoryview(data).cast("B")
        try:
            while view:
                count = self.file.write(view)
                view = view[count:]
                self.remaining += count
        finally:
            view.release()

    def close(self) -> None:
        self.file.close()


class _FilePart(_StreamPart):
    """A file without a descriptor (``io.BytesIO``...), read as it is sent.

    The caller keeps the file open until these bytes are out.
    """

    def __init__(self, file: Any, size: int) -> None:
        self.file = file
        self.remaining = size

    def send_to(self, sock: Any) -> int:
        sent = self._send_read(sock, self.file.read, "file shorter than announced")
        self.remaining -= sent
        return sent

    def close(self) -> None:
        self._leftover = None


class OutputBuffer:
    """The bytes one connection still has to send, in the order they were queued.

    Memory parts are kept as given (bytes and memoryviews are never copied;
    a memoryview's buffer must not change until sent) and small appends are
    coalesced.  Past ``overflow`` bytes held in memory, appended data goes to
    a temporary file.  A file queued with ``append_file`` is sent through a
    duplicate of its descriptor, which the buffer closes once sent or on
    ``close()``; the file object itself stays the caller's.
    Not thread-safe: the caller locks.
    """

    def __init__(self, overflow: int) -> None:
        self.overflow = overflow
        self._parts: Deque[Any] = collections.deque()
        self._head_offset = 0  # bytes of parts[0] already sent (memory parts)
        #: Bytes still to send (files included); the same as ``len()``, read
        #: as an attribute on hot paths where a method call would show.
        self.pending = 0
        self._in_memory = 0
        self._coalescing: Optional[bytearray] = None  # the tail, when it may grow
        self._use_sendmsg = True
        #: Files queued through a descriptor of their own and not yet sent:
        #: an owner that lets clients queue files bounds it (each holds a descriptor).
        self.files = 0
        self._when_files_sent: Optional[Callable[[], Any]] = None

    def __len__(self) -> int:
        return self.pending

    def append(self, data: Bytes) -> None:
        """Queue ``data`` after everything queued so far.

        Only ``bytes``, and views of ``bytes``, are kept as they are: the
        owner of anything else (a ``bytearray``, a view of one, even a
        read-only view) may change it once this returns, so what is kept
        of it is a copy.

        If it raises (the disk under the spill file is full, memory ran
        out), ``data`` is not counted in ``pending``, but part of it may be
        queued: the output has a hole, and the owner must end the
        connection in a way the client cannot take for a complete response.
        """
        if type(data) is memoryview and data.c_contiguous:
            if data.format != "B" or data.ndim != 1:
                data = data.cast("B")
            size = data.nbytes
        else:
            if type(data) is memoryview:
                data = data.tobytes()  # not contiguous: no system call sends it
            size = len(data)
        if not size:
            return
        # Counted only once stored: a count of bytes that are not there
        # would keep the loop asking to write them, at full CPU.
        parts = self._parts
        if parts and type(parts[-1]) is _SpillPart:
            parts[-1].write(data)
            self.pending += size
            return
        if self._in_memory + size > self.overflow:
            spill = _SpillPart()
            try:
                spill.write(data)
            except BaseException:
                spill.close()
                raise
            parts.append(spill)
            self._coalescing = None
            self.pending += size
            return
        if size <= COALESCE_MAX:
            tail = self._coalescing
            if tail is not None and len(tail) + size <= COALESCE_LIMIT:
                tail += data
            else:
                tail = bytearray(data)
                parts.append(tail)
                self._coalescing = tail
        else:
            if type(data) is not bytes and not (
                type(data) is memoryview and type(data.obj) is bytes
            ):
                data = bytes(data)  # see above: its owner may change it
            parts.append(data)
            self._coalescing = None
        self._in_memory += size
        self.pending += size

    def append_file(self, filebuffer: ReadOnlyFileBasedBuffer, size: int) -> bool:
        """Queue ``size`` bytes of ``filebuffer``'s file from its current position.

        Returns True when the buffer took a descriptor of its own (a
        duplicate of the file's): the caller may close the file at once and
        the bytes still go out, however long the client takes.  False when
        the file has no descriptor (or none could be duplicated): the buffer
        reads the file object as it sends, so the caller keeps it open until
        these bytes are sent.  The buffer never closes the caller's file.
        """
        if size <= 0:
            return True
        file = filebuffer.file
        part: _StreamPart
        fd = file_descriptor(file)
        if fd is not None:
            try:
                offset = file.tell()
                fd = os.dup(fd)
            except OSError:  # out of descriptors, say: read it instead
                fd = None
        if fd is None:
            part = _FilePart(file, size)
        else:
            part = _DescriptorPart(fd, offset, size)
            self.files += 1
        self._parts.append(part)
        self.pending += size
        self._coalescing = None
        return type(part) is _DescriptorPart

    def call_when_files_sent(self, callback: Callable[[], Any]) -> bool:
        """Call ``callback`` once no file queued with a descriptor is left.

        That is when the last of them is sent, or dropped by ``close()``;
        the callback runs on the thread doing that, with whatever lock the
        caller holds.  Returns False, and keeps nothing, when no such file
        is queued now.  For an owner that must not release a file until its
        bytes are out (PEP 3333 calls the application's ``close()`` only
        once the response is complete), although the buffer sends from a
        descriptor of its own.
        """
        if not self.files:
            return False
        self._when_files_sent = callback
        return True

    def _files_gone(self) -> None:
        callback, self._when_files_sent = self._when_files_sent, None
        if callback is not None:
            callback()

    def send_to(self, sock: socket.socket) -> int:
        """Send as much as ``sock`` takes without blocking; return the byte count.

        0 means the socket is full (or nothing is queued).  Errors other than
        EAGAIN (a reset, a broken pipe, ``TruncatedFileError``) propagate.
        """
        parts = self._parts
        total = 0
        while parts:
            head = parts[0]
            if isinstance(head, _StreamPart):
                sent = head.send_to(sock)
                total += sent
                self.pending -= sent
                if head.remaining <= 0:
                    parts.popleft()
                    head.close()
                    if type(head) is _DescriptorPart:
                        self.files -= 1
                        if not self.files and self._when_files_sent is not None:
                            self._files_gone()
                    continue
                break
            sent, wanted = self._send_memory(sock)
            total += sent
            if sent < wanted:
                break
        return total

    def _send_memory(self, sock: socket.socket) -> "tuple":
        """One send of up to SENDMSG_MAX_BUFFERS leading memory parts: (sent, offered)."""
        parts = self._parts
        buffers: List[Any] = []
        for part in itertools.islice(parts, SENDMSG_MAX_BUFFERS):
            if isinstance(part, _StreamPart):
                break
            buffers.append(part)
        offset = self._head_offset
        view = None
        if offset:
            view = memoryview(buffers[0])[offset:]
            buffers[0] = view
        try:
            wanted = sum(map(len, buffers))
            try:
                if len(buffers) == 1 or not self._use_sendmsg:
                    sent = sock.send(buffers[0])
                    if len(buffers) > 1:
                        wanted = len(buffers[0])
                else:
                    sent = sock.sendmsg(buffers)
            except BlockingIOError:
                return 0, wanted
            except (AttributeError, NotImplementedError):
                self._use_sendmsg = False
                try:
                    sent = sock.send(buffers[0])
                except BlockingIOError:
                    return 0, wanted
                wanted = len(buffers[0])
        finally:
            buffers = None
            if view is not None:
                view.release()
        self._consume(sent)
        return sent, wanted

    def _consume(self, sent: int) -> None:
        self.pending -= sent
        self._in_memory -= sent
        parts = self._parts
        offset = self._head_offset + sent
        while offset:  # sent never reaches past the memory parts at the head
            first = parts[0]
            size = len(first)
            if offset < size:
                break
            offset -= size
            parts.popleft()
            if first is self._coalescing:
                self._coalescing = None
        self._head_offset = offset

    def close(self) -> None:
        """Drop everything queued; close spill files and the descriptors of queued files."""
        parts = self._parts
        self._parts = collections.deque()
        self.pending = self._in_memory = self._head_offset = self.files = 0
        self._coalescing = None
        for part in parts:
            if isinstance(part, _StreamPart):
                try:
                    part.close()
                except Exception:
                    pass
        self._files_gone()
