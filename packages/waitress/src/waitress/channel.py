"""One client connection: joins the event loop, the parser and the workers.

Rules this module keeps:

- Only the loop thread closes the socket or changes what the loop waits for.
  A worker that needs either asks through the server's trigger.  A worker may
  *send* on the socket, but only while holding ``self.lock`` and after checking
  ``self.closed``; the loop closes under the same lock, so a worker can never
  write to a descriptor that was closed and reused (CVE-2022-31015).
- Responses go out in request order: one task at a time per connection, and
  a generated error response queues behind the requests before it.
- Once the connection is to close (a parse error, ``Connection: close``),
  nothing more is parsed from it (CVE-2024-49768).

How a response reaches the socket (sending at once, queuing the rest,
waiting for a slow client) is the base class's, in ``output``.

The three paths every request takes (``handle_read``, ``service`` and the
output's ``write_soon``) hold the lock with ``acquire()`` and ``try``/``finally``
rather than ``with``: CPython 3.11 looks up ``__enter__``/``__exit__`` and
makes two bound methods for each ``with``, and these paths run several
times per request (about 4% of a ``hello`` request's instructions).
"""

import threading
import time
import warnings
from _thread import get_ident
from collections import deque
from socket import MSG_PEEK
from typing import Optional

from waitress_http import (
    CONTINUE_RESPONSE,
    NEED_DATA,
    Body,
    HTTPError,
    InternalServerError,
    RequestHead,
    RequestParser,
)
from waitress_wasyncore import dispatcher
from waitress_wasyncore.buffers import BodySpool, OutputBuffer

from . import holdback
from .logs import log_quietly
from .logs import logger as waitress_logger
from .output import ChannelOutput
from .task import ClientDisconnected, ErrorTask, WSGITask, logged_path
from .teardown import (
    has_unread_input,
    make_close_a_reset,
    shut_down_sending,
    unsent_bytes,
)

_monotonic = time.monotonic

#: The largest read while a request body is arriving (``recv_bytes`` otherwise)...
MAX_BODY_READ = 256 * 1024
#: ...and how many reads one readiness event may do for it.
MAX_READS_PER_EVENT = 4
#: A request body must arrive at this many bytes a second on average (as
#: Apache's mod_reqtimeout asks by default), after ``channel_timeout`` of
#: grace: a client sending one byte a second held its connection, and so a
#: slot of ``connection_limit``, for as long as it liked.
MIN_BODY_RATE = 500
#: Input read and thrown away once parsing stopped (the rest of a body
#: answered 413, bytes sent while the close lingers) at most; past it the
#: connection stops reading and closes as soon as its response is out.
#: Enough for a browser's upload past the limit to end and read the answer;
#: a client streaming on kept the loop thread reading for the whole linger.
MAX_DISCARDED = 64 * 1024 * 1024


class HTTPChannel(ChannelOutput, dispatcher):
    """The server side of one HTTP connection."""

    #: What a parsed request becomes, ``task_class(channel, head)``; a
    #: subclass may replace it, as with Waitress (whose servers likewise
    #: take their ``channel_class`` from a class attribute).
    task_class = WSGITask
    #: What an unparseable request becomes, ``error_task_class(channel, error)``.
    error_task_class = ErrorTask
    #: Where this connection's errors go ("Exception while serving /path",
    #: "Client disconnected..."); a subclass may send them elsewhere, as
    #: with Waitress (code does, to keep request paths out of its logs).
    logger = waitress_logger
    #: Set by ``received()`` when a worker must start (the loop thread reads
    #: it: an override's return value is not trusted, as with Waitress).
    _start_wanted = False
    #: The connection's last response is delimited by the close: output of
    #: it dropped by a close (the drain's deadline, the idle sweep) makes
    #: that close a reset (``Response.delimited_by_close``).
    close_delimited = False
    #: Bytes read and thrown away once parsing stopped (see MAX_DISCARDED).
    discarded = 0
    #: The application broke that response off: its close is a reset, once
    #: the kernel has delivered what came before (``Response.cut_looks_complete``).
    reset_on_close = False
    #: The response was cut by the server's own failure (its file could not
    #: be read, its output not queued), already logged: not a client's disconnect.
    output_failed = False

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        if "parser_class" in cls.__dict__:
            # Waitress's channels parsed with ``parser_class``; ours parse
            # with waitress-http, per connection.  Rules a subclass added
            # there would be silently skipped: say so where it is defined.
            warnings.warn(
                f"{cls.__qualname__}.parser_class is not used: this server parses requests "
                "with waitress-http, so rules added in a parser subclass are not applied "
                "(put them in the application or a WSGI middleware)",
                RuntimeWarning,
                stacklevel=2,
            )

    def __init__(self, server, sock, addr, adj, map=None) -> None:
        self.server = server
        self.adj = adj
        self.remote_addr, self.remote_port = server.peer_strings(addr)
        self.parser = RequestParser(adj.max_request_header_size, adj.max_request_body_size)
        self.lock = threading.Lock()
        self._drained = None  # a Condition on ``lock``, made when a worker first waits
        self.outbuf = OutputBuffer(adj.outbuf_overflow)
        self.tasks = deque()
        self.current = None  # the WSGITask whose body is still arriving
        # The Response a worker is making (set and cleared by the task): the
        # drain marks it, should its head still be to come.
        self.response_in_progress = None
        self.busy = False  # a worker is serving this connection
        self.served_head = None  # the head of the request last taken by a worker (for the log)
        self.cut_at_stop = False  # the drain's end cut a response (see log_cut_at_stop)
        self._cut_logged = False
        self.worker_ident = 0  # the thread that serves it, while busy
        self.output_ended = False  # the application closed it: send nothing more
        self.will_close = False  # close once the queued output is sent
        self.draining = False  # the server is stopping: responses say Connection: close
        self.lingering = False  # our side is shut down; reading until the client's
        self.sending_shut = False  # our FIN follows the last response: nothing more goes out
        self.close_requested = False  # the last request asked to close the connection
        self.input_dropped = False  # bytes came after parsing stopped, and were dropped
        self.parse_stopped = False  # parse error or close pending: ignore input
        self.reading_paused = False
        self.write_wanted = False  # write interest asked of (or set on) the loop
        self.gathered = None  # pieces write_later gathered and nothing sent yet (a list)
        self.gathered_size = 0
        self.closed = False
        self.client_gone = False
        self._peeking = holdback.peeks(getattr(server, "family", None))  # UNIX: see ``holdback``
        self.holding_back = False  # a parsed byte left unread in the kernel
        self.head_started = None  # when the first byte of an unfinished head came
        self.last_activity = self.last_output = _monotonic()
        self.lookahead = adj.channel_request_lookahead
        self.high_watermark = adj.outbuf_high_watermark
        self.recv_bytes = adj.recv_bytes
        self.inbuf_overflow = adj.inbuf_overflow
        self.trigger = server.trigger
        self.add_task = server.add_task
        self._flush_later = server.delayed_flushes.add
        dispatcher.__init__(self, sock, map, peer=addr)
        #: The descriptor this connection was accepted on.  ``_fileno`` is
        #: cleared by ``close()``; the server's bookkeeping still needs to
        #: know which entry was ours.
        self.accepted_fd = self._fileno
        # Read once per connection: on every request, an attribute found on
        # the class costs CPython 3.11 a slow lookup (about 0.7% of a request).
        self._new_task = self.task_class
        # A subclass overriding ``received`` sees every read; ours is inlined.
        self._receive_hooked = type(self).received is not HTTPChannel.received
        self.set_interest(True, False)

    # ---------------------------------------------------------------- loop thread

    def handle_read(self) -> None:
        parser = self.parser
        lock = self.lock
        size = self.recv_bytes
        for _ in range(MAX_READS_PER_EVENT):
            try:
                data = self.socket.recv(size, MSG_PEEK) if self._peeking else self.socket.recv(size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._peer_lost(exc)
                return
            if not data:
                self._peer_eof()
                return
            if self.current is None:
                self.last_activity = _monotonic()
            else:
                # A body arriving earns the connection time by its size, not
                # by each read: below MIN_BODY_RATE the idle sweep ends it,
                # as it ends a head arriving too slowly (``idle_for``).
                now = _monotonic()
                earned = self.last_activity + len(data) / MIN_BODY_RATE
                self.last_activity = earned if earned < now else now
            if self.parse_stopped:
                if self._peeking:
                    holdback.consume(self.socket, len(data))
                self.input_dropped = True  # the client goes on sending
                self.discarded += len(data)
                if self.discarded > MAX_DISCARDED:
                    self._stop_discarding()
                    return
                size = MAX_BODY_READ  # only discarding: read big
                continue
            if self._receive_hooked:
                self.received(data)
                start = self._start_wanted
                self._start_wanted = False
            else:  # ``received()``, inline: this runs for every read
                lock.acquire()  # not ``with``: see the module docstring
                try:
                    parser.feed(data)
                    start = self._parse_locked()
                finally:
                    lock.release()
            if self._peeking and self._settle_peek(len(data)):
                if start:
                    self.add_task(self)
                return  # a byte held back: nothing more is read
            if start:
                self.add_task(self)
                return
            expected = parser.body_remaining
            if len(data) < size or not expected:
                return
            # A request body is arriving and the read was full: the rest is
            # likely there already, so read it now, in one piece, rather than
            # after another trip through the loop.
            size = expected if expected < MAX_BODY_READ else MAX_BODY_READ
            if size < self.recv_bytes:
                size = self.recv_bytes

    def _settle_peek(self, peeked: int) -> bool:
        """Consume the ``peeked`` bytes just parsed (a UNIX socket, see
        ``holdback``), all but the last if they completed a request that
        ends the connection; True if that byte is held back."""
        with self.lock:
            head = holdback.last_request_head(self)
            # Only while its response is to come: a worker that already
            # served it would never release the byte (see ``service``).
            hold = head is not None and holdback.may_end_with_the_close(head) and (self.busy or bool(self.tasks))
            if head is not None and head.version != "1.0":
                # An HTTP/1.1 connection: its bodies of unknown length are
                # chunked, so plain reads serve it from now on.
                self._peeking = False
            self.holding_back = hold
        holdback.consume(self.socket, peeked - 1 if hold else peeked)
        if hold:
            self._sync_interest()
        return hold

    def _release_held_byte(self) -> None:
        """The response ended normally: take the held byte, so that the close
        is a plain one (loop thread), or so that the connection goes on (the
        worker, lock held, while the loop does not read the socket)."""
        self.holding_back = False
        holdback.consume(self.socket, 1)

    def _stop_discarding(self) -> None:
        """Enough input thrown away: close now if the response is out (the
        close lingers), else stop reading until it is (``_close_when_sent``
        then closes at once)."""
        if self.lingering:
            self.handle_close()
            return
        self.reading_paused = True
        self._sync_interest()

    def received(self, data: bytes) -> bool:
        """Parse ``data`` (bytes just read) into queued requests (loop thread).

        Waitress's name: a subclass may override it to see every byte the
        client sends (to record raw requests, say) and call ``super()``.
        What it returns is ignored, as by Waitress (True, its value).
        """
        with self.lock:
            self.parser.feed(data)
            if self._parse_locked():
                self._start_wanted = True
        return True

    def _peer_eof(self) -> None:
        """The client closed its side: finish what is in progress, then close."""
        self.client_gone = True
        with self.lock:
            idle = not self.busy and not self.tasks and not self.outbuf.pending
            self.will_close = True
        if not idle:
            self.set_interest(False, self.write_wanted)
        elif self.reset_on_close:
            # A cut body, its reset still to come: the EOF can arrive after
            # the cut and before the loop's close thunk, and a reset now would
            # discard what the kernel still holds for this client (the
            # response pipelined ahead).  The close path waits for delivery.
            self._close_when_sent()
        else:
            self.handle_close()

    def _peer_lost(self, exc: BaseException) -> None:
        self.client_gone = True
        if self.adj.log_socket_errors and not isinstance(exc, ConnectionError):
            self.logger.warning("Socket error on %r: %s", self.addr, exc)
        self.handle_close()

    def handle_write(self) -> None:
        """The socket takes more: send what waits (the same path as a worker's flush)."""
        with self.lock:
            if self.closed:
                return
            try:
                self._flush_locked()
            except ClientDisconnected:
                return  # the close is already asked for
            if self.outbuf.pending:
                return
            self.write_wanted = False
        self._sync_interest()

    def handle_close(self) -> None:
        with self.lock:
            if self.closed:
                return
            cuts_body = self.reset_on_close or (
                # (Both None and False for most closes: no call for them.)
                (self.response_in_progress is not None or self.close_delimited)
                and self._cuts_delimited_body_locked()
            )
            if self.holding_back and not cuts_body:
                # Nothing was cut (the drain, the sweep, a close before the
                # loop's own): the close must be plain.
                self._release_held_byte()
            self.closed = True
            self._take_gathered_locked()  # dropped: nothing more is sent
            if self._drained is not None:
                self._drained.notify_all()
            tasks = list(self.tasks)
            self.tasks.clear()
            outbuf = self.outbuf
            current = self.current
            self.current = None
            # The drain's deadline (or a second signal) cuts a response whose
            # bytes are still queued: said once, here or, while a worker
            # still runs the task, by that worker as it leaves.
            self.cut_at_stop = self.draining and bool(outbuf.pending) and not self.client_gone
            log_the_cut = self.cut_at_stop and not self.busy
        try:
            if log_the_cut:
                self.log_cut_at_stop(self.served_head)
            if cuts_body:
                make_close_a_reset(self.socket)
            for task in tasks:
                task.cancel()
            outbuf.close()
            if current is not None and current.spool is not None:
                current.spool.close()
        finally:
            # ``closed`` is set: whatever failed above, the socket must go now,
            # or nothing would ever close it (and its EOF would spin the loop).
            fileno = self.accepted_fd
            self.close()
            self.server.channel_closed(self, fileno)  # after close(): the map no longer holds us

    def log_cut_at_stop(self, head: Optional[RequestHead]) -> None:
        """Say, once, that the stop cut the response to ``head`` (any thread)."""
        if self._cut_logged or head is None:
            return
        self._cut_logged = True
        log_quietly(self.logger.info, "Connection closed during shutdown while serving %s", logged_path(head))

    def _cuts_delimited_body_locked(self) -> bool:
        """Would closing now cut a body delimited by the close, which the
        client would take for whole?  Unfinished, or with output still
        queued or gathered (the drain's deadline, the idle sweep)."""
        response = self.response_in_progress
        if response is not None:
            if response.cut_looks_complete:
                return True
            delimited = response.delimited_by_close
        else:
            delimited = self.close_delimited
        return delimited and bool(self.outbuf.pending or self.gathered_size)

    def close(self) -> None:
        """Close the socket (``handle_close`` calls this on the loop thread).

        An application may hold its own channel and call this from the
        worker serving it: test benches put the channel in the environ to
        break a download halfway on purpose.  Closing the descriptor there
        would race the loop (CVE-2022-31015) and drop what the response has
        written but the socket has not taken yet.  So, from that worker, the
        connection ends instead: what was written goes out, nothing written
        afterwards does, nothing more is read, and the loop closes it (with
        whatever ``SO_LINGER`` the application set: a reset stays a reset).
        """
        if self.busy and not self.closed and get_ident() == self.worker_ident:
            self._end_output()
            return
        dispatcher.close(self)

    def _end_output(self) -> None:
        with self.lock:
            self.output_ended = True
            self._serve_no_more_locked()

    def _serve_no_more_locked(self) -> None:
        """This connection takes no more requests: drop the queued ones, and
        send what the current one gathered (written before the end, it goes
        out).  A failure to queue it ends the output, as a client gone does:
        it is logged where it happens, and must not escape the caller's
        close-up (the pool logged it again, as a failure of its own)."""
        self.will_close = True
        self.parse_stopped = True
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()
        try:
            self._queue_gathered_locked()
            if self.outbuf.pending and not self.closed:
                self._flush_locked()
        except ClientDisconnected:
            pass

    def handle_error(self) -> None:
        log_quietly(self.logger.exception, "Unexpected error on connection %r", self.addr)
        self.handle_close()

    def _log_own_failure(self, what: str, exc: BaseException) -> None:
        """Log a failure of the server's own (a full disk, memory, a file's
        I/O error) that cost this connection a request or a response: an
        error, without a traceback, which would only show our code."""
        log_quietly(self.logger.error, "%s, on %r: %s: %s", what, self.addr, type(exc).__name__, exc)

    # ---------------------------------------------------------------- parsing

    def _parse_locked(self) -> bool:
        """Turn buffered bytes into queued tasks; True if a worker must start.

        Called with ``self.lock`` held, from the loop thread or from the
        worker that just finished a request.
        """
        parser = self.parser
        tasks = self.tasks
        start = False
        while not self.parse_stopped:
            current = self.current
            if current is None and len(tasks) + self.busy > self.lookahead:
                # At a request boundary, channel_request_lookahead reached.
                if parser.buffered >= self.recv_bytes * 4 and not self.reading_paused:
                    self.reading_paused = True
                    self._call_on_loop(self._sync_interest)
                break
            try:
                event = parser.next_event()
            except HTTPError as error:
                start = self._queue_error_locked(error) or start
                break
            except MemoryError as exc:
                start = self._own_failure_locked(
                    "Could not parse the request", "The server could not read the request.", exc
                ) or start
                break
            cls = event.__class__
            if cls is RequestHead:
                self.head_started = None
                self.current = self._new_task(self, event)
            elif cls is Body:
                try:
                    spool = current.spool
                    if spool is None:
                        spool = current.spool = BodySpool(self.inbuf_overflow)
                    spool.write(event.data)
                except (OSError, MemoryError) as exc:
                    start = self._own_failure_locked(
                        "Could not store the request body", "The server could not store the request body.", exc
                    ) or start
                    break
            elif event is NEED_DATA:
                if current is None:
                    if self.head_started is None and parser.buffered:
                        self.head_started = _monotonic()  # an unfinished head: time it
                elif current.head.expect_continue and not current.continue_sent:
                    # Only once the body is found incomplete: a client that
                    # sent it without waiting (pipelining) needs no 100.
                    self._maybe_continue_locked()
                break
            else:  # EndOfMessage
                self.current = None
                tasks.append(current)
                if not self.busy:
                    self.busy = True
                    start = True
                if not self.lookahead:
                    # The usual case.  Whatever is buffered behind this
                    # request waits: the worker parses it once this request
                    # is served, and the next read checks the buffer's size.
                    break
        return start

    def _queue_error_locked(self, error: HTTPError) -> bool:
        """Queue the error response behind earlier responses; stop parsing."""
        self.parse_stopped = True
        if self.current is not None:
            if error.method is None:  # found in the body: the head is known
                error.method = self.current.head.method
            if self.current.spool is not None:
                self.current.spool.close()
            self.current = None
        self.tasks.append(self.error_task_class(self, error))
        if self.busy:
            return False
        self.busy = True
        return True

    def _own_failure_locked(self, what: str, detail: str, exc: BaseException) -> bool:
        """A request the server itself failed to take in: the disk holding
        a body's temporary file is full, the temporary directory cannot be
        written, memory ran out while storing the body or inside the parser.
        The server's fault, not the client's: answer 500 (as nginx does),
        close, and log why (``what``); the connection's other requests and
        every other connection go on.  Before, the exception reached the
        loop, which closed the connection with no answer at all."""
        self._log_own_failure(what, exc)
        version = self.current.head.version if self.current is not None else None
        return self._queue_error_locked(InternalServerError(detail, version))

    def _maybe_continue_locked(self) -> None:
        """Send ``100 Continue`` once every earlier response is out.

        Never after a response that ends the connection (RFC 9112 9.6: no
        further request is processed), and a client already gone is no error.
        The drain serves the request whose body it awaits: that one still
        gets its 100 (a client waiting for it would wait out the drain).
        """
        pending = self.current
        if pending is None or pending.continue_sent or self.tasks or self.busy:
            return
        if self.parse_stopped or (self.will_close and not self.draining):
            return
        pending.continue_sent = True
        try:
            self._send_locked([CONTINUE_RESPONSE])
        except ClientDisconnected:
            pass  # the loop closes the connection

    # ---------------------------------------------------------------- worker side

    def service(self) -> None:
        """Run queued tasks in order (a worker thread); the pool calls this.

        Before giving the connection back, the worker parses whatever the
        loop buffered meanwhile (under the lock the loop feeds under, so no
        request can be left sitting in the parser with nobody to serve it).
        """
        lock = self.lock
        self.worker_ident = get_ident()
        try:
            while True:
                lock.acquire()  # not ``with``: see the module docstring
                try:
                    if self.closed:
                        self.busy = False
                        if self.cut_at_stop:  # its response was cut while it ran
                            self.log_cut_at_stop(self.served_head)
                        return
                    if not self.tasks:
                        self.busy = False
                        if self.parser.buffered and self._parse_locked():
                            continue  # a pipelined request was waiting: serve it too
                        if self.current is not None and self.current.head.expect_continue:
                            self._maybe_continue_locked()  # its turn has come
                        # Done: close when asked, or let the loop read again.
                        if self.will_close:
                            if not self.outbuf.pending:
                                self._call_on_loop(self._close_when_sent)
                        elif self.reading_paused or self.holding_back:
                            self.reading_paused = False
                            if self.holding_back:  # a whole response, the connection kept
                                self._release_held_byte()
                            self._call_on_loop(self._sync_interest)
                        return
                    if self.outbuf.pending:
                        # The last response is still going out: this pipelined
                        # request is served once it is (the loop restarts us,
                        # see _flush_locked).  A client that pipelines and never
                        # reads then holds no worker, and the idle sweep
                        # applies to it (Waitress did not read on meanwhile).
                        self.busy = False
                        self._want_write_locked()
                        return
                    task = self.tasks.popleft()
                    self.served_head = task.head
                finally:
                    lock.release()
                try:
                    task.service()
                except ClientDisconnected:
                    task.close_after = True
                except (Exception, SystemExit):  # an application's sys.exit() too: 500, close
                    self._task_failed(task)
                if task.close_after:
                    with self.lock:
                        self._close_after_locked(task)
                # Dropped only now, once close_delimited says what it did (a close
                # meanwhile reads one or the other).  Kept, it would hold its
                # write_later, a cycle that a closed connection waits to be collected.
                self.response_in_progress = None
        except BaseException:
            # Our own bookkeeping failed (a MemoryError, a logging handler that
            # raises, an application's SystemExit got past the task): left busy,
            # the connection would never be answered, swept or closed.
            self._give_up_from_worker()
            raise  # the pool logs it

    def _close_after_locked(self, task) -> None:
        """``task``'s response ends the connection: note how it must end
        (a body delimited by the close, cut or whole), take no more requests,
        and send the FIN behind what is already with the kernel."""
        head = getattr(task, "head", None)
        response = getattr(task, "response", None)
        if response is not None and response.delimited_by_close:
            self.close_delimited = True
            if response.cut_looks_complete:
                self.reset_on_close = True  # the application raised mid-body
        # The client's own request said close: it sends nothing more.
        # (A CONNECT is closed by our choice: its client may well.)
        self.close_requested = head is not None and not head.keep_alive and head.method != "CONNECT"
        self._serve_no_more_locked()
        if not self.outbuf.pending:
            self._send_fin_locked()

    def _give_up_from_worker(self) -> None:
        """The worker cannot go on with this connection: no more requests,
        and the loop closes it (the idle sweep would skip it while busy)."""
        try:
            with self.lock:
                self.busy = False
                self.will_close = True
                self.parse_stopped = True
            self._call_on_loop(self.handle_close)
        except BaseException:  # out of memory even for this: the sweep is left
            pass

    def _task_failed(self, task) -> None:
        """A task's ``service()`` raised: log it, answer 500 if nothing was
        sent yet, and close; the connection must not wait forever."""
        task.close_after = True
        head = getattr(task, "head", None)
        log_quietly(
            self.logger.exception, "Exception while serving %s", task if head is None else logged_path(head)
        )
        answer = getattr(task, "answer_failure", None)
        if answer is not None:
            try:
                answer()
            except ClientDisconnected:
                pass
            except Exception:  # the answer failed too: close without one
                self.logger.exception("Exception while answering the failure of %r", task)

    def cancel(self) -> None:
        """The pool shut down before this connection got a thread."""
        self._call_on_loop(self.handle_close)

    def _call_on_loop(self, fn) -> None:
        self.trigger.pull_trigger(fn)

    def _sync_interest(self) -> None:
        if self.closed:
            return
        read = not self.reading_paused and not self.client_gone and not self.holding_back
        self.set_interest(read, self.write_wanted)

    def client_disconnected(self) -> bool:
        """``environ['waitress.client_disconnected']``: has the peer gone?

        While a byte is held back the loop does not watch the socket (see
        ``holdback``), so the socket itself is asked."""
        if self.holding_back and not (self.client_gone or self.closed):
            return holdback.peer_hung_up(self.socket)
        return self.client_gone or self.closed

    # ---------------------------------------------------------------- maintenance

    def _close_when_sent(self) -> None:
        """Loop thread: the last response is with the kernel; close in stages,
        so that what the client still sends cannot reset it away (``teardown``),
        unless the client itself asked to close and has kept to it."""
        with self.lock:
            if self.closed or self.lingering or self.busy or self.tasks:
                return  # closed already, or a request came in meanwhile (draining)
            if self.holding_back and not self.reset_on_close:
                self._release_held_byte()  # a whole response: the close must be plain
                if has_unread_input(self.socket):
                    # Sent while the byte was held, so never read: the close
                    # must linger, as after any input the client should not send.
                    self.input_dropped = True
            # A client that asked to close sends nothing more (RFC 9112 9.6
            # forbids it): closing at once is safe unless it did anyway.
            promised = (
                self.close_requested
                and not self.input_dropped
                and not self.parser.buffered
                and self.current is None
            )
        linger = getattr(self.server, "linger", None)  # a stand-in server may lack it
        if self.reset_on_close and linger is not None and unsent_bytes(self.socket):
            # A reset discards what the kernel still holds: an earlier
            # pipelined response, the start of this one.  The server's linger
            # timer resets once the client has it all (bounded as any linger).
            self._linger(linger)
            return
        if (
            linger is None
            or self.discarded > MAX_DISCARDED  # it sent enough that we never read
            or self.client_gone  # it closed first: nothing more will come
            or self.output_ended  # the application ended it: its SO_LINGER rules
            or self.reset_on_close  # a cut body, all delivered: handle_close resets
            or promised
            or not (self.sending_shut or shut_down_sending(self.socket))
        ):
            self.handle_close()
            return
        # Read and discard until the client closes too (handle_read drops
        # what it reads once parsing stopped); the server bounds the wait.
        self._linger(linger)

    def _linger(self, linger) -> None:
        self.lingering = True
        self.parse_stopped = True
        self.last_activity = _monotonic()  # the silence is counted from here
        # Waiting to reset, nothing the client sends matters, and its EOF
        # (a half-close) would end the wait before the delivery it is for.
        self.set_interest(not self.reset_on_close, False)
        linger(self)

    def shutdown_gracefully(self) -> None:
        """Loop thread, server closing: finish what is in flight, then close.

        In flight means a request being served or queued, or one whose bytes
        have arrived (in part or whole, even unread): it is served when
        complete.  Each response not yet begun says ``Connection: close``
        (RFC 9112 9.6), so that a client's pool does not reuse the
        connection; requests pipelined behind are not read (the client may
        retry them elsewhere).
        """
        if self.lingering:
            return  # its response is out; it ends within the linger bounds
        with self.lock:
            self.will_close = True
            self.draining = True
            self._mark_response_last()
            receiving = not self.client_gone and (
                self.current is not None
                or (
                    not self.busy
                    and not self.tasks
                    # a head read in part, or bytes still in the socket
                    and (self.parser.buffered or (not self.holding_back and has_unread_input(self.socket)))
                )
            )
            if not receiving:
                self.parse_stopped = True
            idle = not self.busy and not self.outbuf.pending and not receiving
        if idle:
            if unsent_bytes(self.socket):
                # The last response is still in the kernel (often only its
                # acknowledgement, which the client delays): a request the
                # client sends now would reset it away.  Staged, as any close
                # after a response (ending once delivered: ``awaits_delivery``).
                self._close_when_sent()
            else:
                self.handle_close()

    def awaits_delivery(self) -> bool:
        """Does this lingering connection wait only until the client's kernel
        has acknowledged all we sent (``server.linger``)?  Yes to reset a cut
        body once what came before it is delivered, and during the drain,
        unless the client sent more (then it lingers as any): a client's pool
        keeps its connection open and silent, and a stop must not wait out
        that silence."""
        return self.reset_on_close or (self.draining and not self.input_dropped)

    def _mark_response_last(self) -> None:
        """The response being made, if its head is still to come, says
        ``Connection: close``.  A task reads ``draining`` once, before its
        application runs; this covers the responses begun before.  (A
        plain flag, read when the head is built: no lock needed.)"""
        response = self.response_in_progress
        if response is not None and self.busy:
            response.close_connection = True

    def idle_for(self, now: float, timeout: float) -> bool:
        """Should the sweep close this connection? (loop thread)

        Idle means no request in progress and nothing moved for ``timeout``
        seconds, or an unfinished request head older than ``timeout`` (a
        client dribbling its headers a byte at a time is not kept forever),
        or a body arriving so slowly that the time its bytes earned
        (``MIN_BODY_RATE``, see ``handle_read``) is ``timeout`` behind.
        """
        if self.busy:
            return False
        if self.head_started is not None and now - self.head_started > timeout:
            return True
        return now - self.last_activity > timeout
