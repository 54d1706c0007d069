"""A connection's output: how a response gets from a worker to the socket.

``ChannelOutput`` is the sending half of ``channel.HTTPChannel`` (which
keeps the state: the lock, the output queue, the flags).  Rules it keeps:

- Every method here runs with ``self.lock`` held (``*_locked``) or takes
  it; a send checks ``self.closed`` first, under that lock, so a worker
  never writes to a descriptor the loop closed (CVE-2022-31015).
- Bytes go out in the order given: once anything is queued, later bytes
  queue behind it and the queue is flushed first.
- A worker sends at once what the socket takes and queues the rest for
  the loop; past ``outbuf_high_watermark`` queued bytes it waits, so a slow
  client holds back the application, not memory.
"""

import threading
import time
from typing import Any, List

from waitress_wasyncore.buffers import (
    IOV_MAX,
    QueuedFileError,
    ReadOnlyFileBasedBuffer,
    TruncatedFileError,
)

from .task import ClientDisconnected, FileClose
from .teardown import MSG_MORE, shut_down_sending

_monotonic = time.monotonic

#: Output gathered by ``write_later`` goes out once this much is gathered,
#: in this many pieces (one ``sendmsg``), or ``flushes.FLUSH_DELAY`` seconds
#: after the first of it, whichever comes first.
GATHER_LIMIT = 256 * 1024
MAX_GATHERED = 128
#: Where ``sendmsg`` is missing (Windows), buffers are joined up to this
#: many bytes for one ``send`` (a head and a small body go out together).
JOINED_SEND_LIMIT = 64 * 1024


class ChannelOutput:
    """Sending a connection's responses (a base of ``HTTPChannel``).

    It uses the channel's state as ``HTTPChannel.__init__`` sets it up
    (``lock``, ``outbuf``, ``gathered``, the flags) and calls back into the
    channel for what is not output: ``_call_on_loop``, ``_sync_interest``,
    ``_close_when_sent``, ``handle_close`` and ``_log_own_failure``.
    """

    def _send_fin_locked(self) -> None:
        """The last response is all with the kernel: send our FIN behind it now
        (a worker, lock held).

        RFC 9112 9.6 has the server begin the close once the final response
        is sent.  Begun here, by the worker that sent it, rather than when the
        loop gets to ``_close_when_sent``, the FIN reaches the client with the
        response, so the client sees the close first and closes in turn: the
        wait of TIME_WAIT is then ours, not the client's, whose ports it would
        hold (a front end that opens a connection per request, as nginx does
        by default, runs out of them).  A shutdown is not a close: the
        descriptor stays the loop's to close.  Never for a cut body, which
        must end with a reset, nor after the application ended the output.
        """
        if self._may_send_fin_locked():
            self.sending_shut = shut_down_sending(self.socket)

    def _may_send_fin_locked(self) -> bool:
        """Whether a FIN may end what was sent (see ``_send_fin_locked``)."""
        return not (self.closed or self.sending_shut or self.reset_on_close or self.output_ended)

    @property
    def total_outbufs_len(self) -> int:
        """Response bytes queued and not yet sent (Waitress's name, which
        graceful-shutdown code polls until it reaches 0)."""
        return self.outbuf.pending + self.gathered_size

    def write_soon(self, buffers: List[Any], last: bool = False) -> None:
        """Send ``buffers`` (a list of bytes-like) in order, from a worker.

        Tries the socket at once (one ``sendmsg`` for the head and the body,
        after anything still queued); what the socket does not take is queued
        for the loop.  Blocks while more than ``outbuf_high_watermark`` bytes
        are pending, so a slow client holds back the application, not memory.
        ``last``: these end the response and the connection; if the socket
        takes them all, the FIN goes with them, in the same segment.
        """
        lock = self.lock
        lock.acquire()  # not ``with``: see the docstring of ``channel``
        try:
            if last and self._may_send_fin_locked():
                # MSG_MORE holds the data for the FIN that follows at once,
                # which then rides in the same segment (one packet, and one
                # wake-up of the client instead of two).
                self._send_locked(buffers, MSG_MORE)
                if not self.outbuf.pending:
                    self._send_fin_locked()
            else:
                self._send_locked(buffers)  # raises ClientDisconnected once closed
            if self.outbuf.pending > self.high_watermark:
                self._wait_for_room_locked()
        finally:
            lock.release()

    def write_later(self, buffers: List[Any]) -> None:
        """Gather ``buffers`` to be sent within ``flushes.FLUSH_DELAY`` seconds (a worker).

        For a body the application streams in pieces: they go out with the
        next ``write_soon`` (the body's end, usually), in one ``sendmsg``,
        or once ``GATHER_LIMIT`` bytes or ``MAX_GATHERED`` pieces are
        gathered; the loop sends them if the application pauses first
        (``flushes``), so a stream of events still reaches the client
        promptly.  Pieces are kept as given, except that anything but
        ``bytes`` is copied: the application may reuse a buffer it yielded.
        """
        lock = self.lock
        lock.acquire()  # not ``with``: see the docstring of ``channel``
        try:
            if self.closed or self.output_ended:
                raise ClientDisconnected()
            gathered = self.gathered
            started = gathered is None
            if started:
                gathered = self.gathered = []
            size = self.gathered_size
            for buf in buffers:
                if buf.__class__ is not bytes:
                    buf = bytes(buf)
                gathered.append(buf)
                size += len(buf)
            self.gathered_size = size
            if (
                size >= GATHER_LIMIT
                or len(gathered) >= MAX_GATHERED
                # A slow client: the loop's timed flushes moved earlier pieces
                # to the output queue, so the worker must wait here as well.
                or self.outbuf.pending > self.high_watermark
            ):
                self._send_locked([])  # sends what is gathered
                self._wait_for_room_locked()
            elif started:
                self._flush_later(self)
        finally:
            lock.release()

    def flush_gathered(self) -> None:
        """Loop thread (``flushes``): send what a worker gathered, if it still waits."""
        if self.gathered is None:
            return  # sent with the body's end, as usual (a worker gathering anew lists itself)
        with self.lock:
            if self.gathered is None:
                return
            try:
                self._send_locked([])
            except ClientDisconnected:
                pass

    def _take_gathered_locked(self):
        """The pieces ``write_later`` gathered (None if none), no longer gathered."""
        gathered = self.gathered
        self.gathered = None
        self.gathered_size = 0
        return gathered

    def _queue_gathered_locked(self) -> None:
        """Move gathered pieces to the output queue (to be flushed by the caller)."""
        if self.gathered is not None:
            self._queue_locked(self._take_gathered_locked())

    def _queue_locked(self, buffers) -> None:
        """Append ``buffers`` to the output queue, or end the connection."""
        outbuf = self.outbuf
        try:
            for buf in buffers:
                outbuf.append(buf)
        except Exception as exc:
            self._output_failed_locked(exc)

    def _output_failed_locked(self, exc: BaseException) -> None:
        """Queuing output failed (the disk under the spill file is full,
        memory ran out): the response now has a hole.  Nothing more goes
        out, and the connection ends in a reset, so that no client takes
        what it got for a whole response (a chunked one did, with its last
        chunk written after the hole).  The sender stops, as for a client
        gone; the log says why."""
        self._log_own_failure("Could not queue the response", exc)
        self.output_ended = True
        self.reset_on_close = True
        self.output_failed = True
        self._lost_locked()

    def _wait_for_room_locked(self) -> None:
        if self.outbuf.pending > self.high_watermark:
            self._wait_for_client_locked(self.high_watermark)
        elif self.closed:
            raise ClientDisconnected()

    def _wait_for_client_locked(self, allowed: int) -> None:
        """Wait until at most ``allowed`` bytes are pending (a worker, lock held).

        A client that takes nothing for ``channel_timeout`` seconds is given
        up on: the connection closes and ClientDisconnected frees the worker,
        as the idle sweep would free a connection no worker serves.  Only
        output counts as progress here: a client that sends a byte now and
        then but reads nothing is still not taking the response.
        """
        timeout = self.adj.channel_timeout
        started = _monotonic()
        drained = self._drained
        if drained is None:
            # Most connections never wait: the Condition is made for those that do.
            drained = self._drained = threading.Condition(self.lock)
        while self.outbuf.pending > allowed and not self.closed:
            drained.wait(1.0)
            if self.outbuf.pending > allowed:
                now = _monotonic()
                if now - max(self.last_output, started) > timeout:
                    self._lost_locked()
        if self.closed:
            raise ClientDisconnected()

    def _send_locked(self, buffers, flags: int = 0) -> None:
        if self.closed or self.output_ended:
            raise ClientDisconnected()
        if self.gathered is not None:  # what write_later gathered goes first
            buffers = self._take_gathered_locked() + buffers
        outbuf = self.outbuf
        if outbuf.pending:
            self._queue_locked(buffers)
            self._flush_locked()
            return
        if not buffers:
            return
        # Past IOV_MAX buffers (16 on illumos and AIX) sendmsg fails rather
        # than sends less: offer that many; the rest is queued below, as
        # after any partial send.
        offered = buffers if len(buffers) <= IOV_MAX else buffers[:IOV_MAX]
        try:
            if flags:
                sent = self.socket.sendmsg(offered, (), flags)
            else:  # as before: a socket stand-in may take the buffers alone
                sent = self.socket.sendmsg(offered)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._lost_locked()
        except AttributeError:  # Windows: no sendmsg
            sent = self._send_joined_locked(buffers)
        if sent:
            self.last_activity = self.last_output = _monotonic()
        try:
            for buf in buffers:
                if sent:
                    size = len(buf) if buf.__class__ is bytes else memoryview(buf).nbytes
                    if sent >= size:
                        sent -= size
                        continue
                    buf = memoryview(buf).cast("B")[sent:]  # bytes, whatever the view's format
                    sent = 0
                outbuf.append(buf)
        except Exception as exc:
            self._output_failed_locked(exc)
        if outbuf.pending:
            self._want_write_locked()

    def _send_joined_locked(self, buffers) -> int:
        """One ``send`` for a socket without ``sendmsg`` (Windows): of the
        buffers joined, as far as JOINED_SEND_LIMIT bytes take them (the
        first whole in any case); the caller queues the rest, as after any
        partial send."""
        taken, size = 0, 0
        for buf in buffers:
            taken += 1
            size += len(buf) if buf.__class__ is bytes else memoryview(buf).nbytes
            if size >= JOINED_SEND_LIMIT:
                break
        data = buffers[0] if taken == 1 else b"".join(buffers[:taken])
        try:
            return self.socket.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            self._lost_locked()

    def _send_queued_locked(self) -> int:
        """Send what is queued as far as the socket takes it; return the bytes left."""
        try:
            if self.outbuf.send_to(self.socket):
                self.last_activity = self.last_output = _monotonic()
        except TruncatedFileError:
            # Shrunk since it was measured: the client was promised more
            # bytes than exist, so the connection ends; PEP 3333 wants the
            # shortfall reported, as for any body short of its length.
            self.logger.warning(
                "a file_wrapper file ended before the Content-Length sent for it, on %r", self.addr
            )
            self._lost_locked()
        except QueuedFileError as exc:
            # The disk's fault, not the client's (whose disconnect it was
            # logged as): the response is cut short, and the log says why.
            self._log_own_failure("Reading the response's file failed", exc)
            self.output_failed = True
            self._lost_locked()
        except OSError:
            self._lost_locked()
        return self.outbuf.pending

    def _flush_locked(self) -> None:
        """Send what is queued; what is left waits for the loop (any thread)."""
        if self._send_queued_locked():
            self._want_write_locked()
        else:
            if self._drained is not None:
                self._drained.notify_all()
            if self.busy:
                return
            if self.tasks and not self.closed:
                self.busy = True  # a pipelined request waited for this (see service)
                self.add_task(self)
            elif self.will_close:
                self._call_on_loop(self._close_when_sent)

    def _want_write_locked(self) -> None:
        """Have the loop watch the socket for room: it sends what is queued."""
        if not self.write_wanted:
            self.write_wanted = True
            self._call_on_loop(self._sync_interest)

    def _lost_locked(self):
        """The socket failed under a send: the loop closes, the sender stops."""
        self.client_gone = True
        self.will_close = True
        self.parse_stopped = True
        self._call_on_loop(self.handle_close)
        raise ClientDisconnected()

    def send_file_soon(self, filebuffer: ReadOnlyFileBasedBuffer, size: int) -> bool:
        """Queue ``size`` bytes of a file; return whether the output closes it.

        The output buffer sends the file through a duplicate of its
        descriptor (``os.sendfile``), so the worker queues it, sends what
        the socket takes at once, and goes on to its next request while the
        loop sends the rest: a client downloading slowly holds a descriptor,
        not a thread.  As with any output, the worker waits while more than
        ``outbuf_high_watermark`` bytes are pending.  A connection has one
        queued file at a time, since a pipelined request is not served while
        output is pending (see ``service``): a client pipelining requests
        for small files and reading nothing cannot make the server hold a
        descriptor per request.

        ``filebuffer.close()`` (the application's, PEP 3333: once the
        request is complete) must wait until the file is handed to the
        kernel: an application may time the response there, or end its
        request (Django does).  So when bytes of it are still queued as this
        returns, the output takes the close over and returns True: a worker
        calls it once the last byte is handed over or the connection ends
        (``FileClose``), never the loop thread, which must not wait on the
        application.  False: the file is out (or the connection gone), and
        the caller closes it.  (The kernel sends from the file's pages, so a
        file changed in place before its client has it sends new bytes, as
        with any ``sendfile`` server.)  A file whose descriptor cannot be
        duplicated is read as it goes out, so then the worker waits until
        it is sent.
        """
        with self.lock:
            if self.closed or self.output_ended:
                raise ClientDisconnected()
            self._queue_gathered_locked()
            if not self.outbuf.append_file(filebuffer, size):
                self._wait_for_loop_locked()
                return False
            if not self.write_wanted:
                self._flush_locked()
            self._wait_for_room_locked()
            server = self.server
            return self.outbuf.call_when_files_sent(
                lambda: server.add_task(FileClose(filebuffer.close, self.logger))
            )

    def _wait_for_loop_locked(self) -> None:
        """Let the loop send what is queued; wait until it is out (or the channel closed)."""
        self._want_write_locked()
        self._wait_for_client_locked(0)
