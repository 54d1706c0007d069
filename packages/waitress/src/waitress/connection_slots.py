"""The server's connection slots: ``connection_limit`` and lingering connections.

The rules kept here:

- the limit is the server's, not each listener's: its listeners share one
  ``ConnectionSlots`` (Waitress counted the loop's whole map), so a server
  listening on IPv4 and IPv6 holds no more connections than one listener;
- once an accept returns, the open connections never outnumber
  ``connection_limit``; at the limit no listener is watched until a slot
  is free;
- a connection that lingers after its response (see ``teardown``) holds its
  slot only until a new connection needs it and its client has all its
  output: a close then loses nothing;
- only the loop thread calls anything here.

The listeners (``BaseWSGIServer``) keep Waitress's names for this state
(``in_connection_overflow``) and call in from ``_accept_waiting``,
``linger`` and ``channel_closed``.
"""

import time
from typing import Any, Callable, Dict, List, Optional

import waitress_wasyncore as wasyncore

from .logs import logger
from .teardown import DELIVERY_POLL_SECONDS, LINGER_IDLE_SECONDS, LINGER_MAX_SECONDS, unsent_bytes

#: A server at its limit under load enters and leaves it many times a
#: second (each lingering connection that gives its slot away is one
#: round): the warning is said at most this often, with a count of the rest.
LIMIT_LOG_INTERVAL = 1.0


class ConnectionSlots:
    """The connections of one server's listeners, against ``connection_limit``.

    ``owner`` is what runs the loop: the listener itself, or the
    ``MultiSocketServer`` of several; its ``_listeners()`` are the ones
    sharing the limit, and its ``_shutting_down`` says the drain has begun.
    """

    def __init__(self, owner: Any, limit: int, socket_map: Any) -> None:
        self._owner = owner
        self._listeners: Callable[[], List[Any]] = owner._listeners
        self._map = socket_map
        # The one listener's connections, counted without a call (the usual case).
        listeners = self._listeners()
        self._only: Optional[Dict[Any, Any]] = (
            listeners[0].active_channels if len(listeners) == 1 else None
        )
        #: The most sockets the loop can watch (Windows' select(): 512), or None.
        self.capacity = wasyncore.max_sockets(socket_map)
        if self.capacity is not None:
            # The listeners, the trigger and whatever else the map holds count too.
            room = max(1, self.capacity - (len(socket_map) - self.open_count()))
            if room < limit:
                logger.warning(
                    "connection_limit lowered from %d to %d: select(), the only poller "
                    "here, watches at most %d sockets",
                    limit, room, self.capacity,
                )
                limit = room
        self.limit = limit
        #: At the limit: no listener is watched (Waitress's ``in_connection_overflow``).
        self.overflow = False
        #: channel -> when to stop waiting for its close (see ``linger``), oldest first.
        self.lingering: Dict[Any, float] = {}
        self._linger_timer: Optional[Any] = None
        self._last_limit_log = -LIMIT_LOG_INTERVAL  # monotonic time of the last warning
        self._unlogged_overflows = 0  # times the limit was reached since it
        self._overflow_logged = False  # the current overflow was announced

    def open_count(self) -> int:
        """The connections open on all the listeners."""
        only = self._only
        if only is not None:
            return len(only)
        return sum([len(listener.active_channels) for listener in self._listeners()])

    # -- accepting ---------------------------------------------------------------

    def accepted(self) -> None:
        """A connection was accepted: past the limit, make room; at it, stop accepting.

        A lingering connection holds its slot only until a new one needs it
        and its client has all its output (see ``linger``): at the limit the
        server keeps accepting while such a connection lingers, and closes
        the oldest one for each connection it accepts.  Otherwise, at the
        limit, no listener is watched until a connection closes or a
        lingering one has delivered its output.  The connections never
        outnumber the limit once this returns.
        """
        limit = self.limit
        only = self._only
        if only is not None and len(only) < limit:
            return  # the usual case, once per accepted connection
        while not self.overflow:
            count = self.open_count()
            if count < limit:
                return
            if self.lingering:
                delivered = self._delivered_lingerer()
                if delivered is not None:
                    if count == limit:
                        return  # the next one accepted takes its slot
                    del self.lingering[delivered]
                    delivered.handle_close()
                    continue
            self.overflow = True
            self._log_limit_reached()
            for listener in self._listeners():
                listener.set_interest(False, False)
            if self.lingering:  # polled until one has delivered its output
                self._schedule_linger_checks(True)

    def _log_limit_reached(self) -> None:
        """Warn that the limit is reached: at once, then at most once per
        LIMIT_LOG_INTERVAL, saying how many times it was reached meanwhile
        (the "listening again" of an unannounced overflow is not said)."""
        now = time.monotonic()
        self._overflow_logged = now - self._last_limit_log >= LIMIT_LOG_INTERVAL
        if not self._overflow_logged:
            self._unlogged_overflows += 1
            return
        self._last_limit_log = now
        more, self._unlogged_overflows = self._unlogged_overflows, 0
        logger.warning(
            "total open connections reached the connection limit, no longer accepting "
            "new connections" + (f" (and {more} more times since the last such line)" if more else "")
        )

    def room_past_the_limit(self, wanted: int) -> int:
        """How many of ``wanted`` connections may be accepted past the limit
        (the drain takes the backlog): all of them, unless the loop's
        poller has a fixed capacity, which no accept may exceed."""
        if self.capacity is None:
            return wanted
        return max(0, min(wanted, self.capacity - len(self._map)))

    def released(self, channel: Any) -> None:
        """``channel`` closed (and left its listener's ``active_channels``)."""
        if self.lingering:
            self.lingering.pop(channel, None)
        if self.overflow and self.open_count() < self.limit:
            self._listen_again("total open connections dropped below the connection limit, listening again")

    def _listen_again(self, message: str) -> None:
        """Leave the overflow: every listener still accepting is watched again.

        Said in the log unless the server is stopping: one stopping at the
        limit would announce a listening it never does (the drain closes
        connections, then the listeners).
        """
        self.overflow = False
        listeners = self._listeners()
        accepting = [listener for listener in listeners if listener.accepting]
        if accepting and self._overflow_logged and not self._owner._shutting_down:
            logger.info(message)
        for listener in accepting:
            listener.set_interest(True, False)

    # -- lingering ---------------------------------------------------------------

    def linger(self, channel: Any) -> None:
        """``channel`` has shut down its sending side and reads until the
        client closes (see ``teardown``); close it anyway once the client is
        silent for LINGER_IDLE_SECONDS, or after LINGER_MAX_SECONDS.  One
        that will reset a cut body waits instead until the kernel has
        delivered what it holds (LINGER_MAX_SECONDS at most), and one the
        drain found idle until then or until its silence, whichever is first.

        Lingering is a courtesy to a client already answered; it holds a
        slot of ``connection_limit`` that a new client needs only until the
        client has all its output (a close before that would throw the rest
        away if the client sends more): a server at the limit then takes new
        connections again, and each one accepted past the limit closes the
        oldest such lingering connection (``accepted``)."""
        self.lingering[channel] = time.monotonic() + LINGER_MAX_SECONDS
        if self.overflow:
            self._listen_for_a_delivered_lingerer()
        timer = self._linger_timer
        polling = timer is not None and timer.interval == DELIVERY_POLL_SECONDS
        self._schedule_linger_checks(polling or channel.awaits_delivery() or self.overflow)

    def _listen_for_a_delivered_lingerer(self) -> None:
        """At the limit: listen again once a lingering connection's client
        has all its output, so that a new connection takes its slot
        (``accepted``); until then the checks poll."""
        if self._delivered_lingerer() is not None:
            self._listen_again(
                "a connection at the connection limit is closing, listening again "
                "(the next one accepted takes its place)"
            )

    def _end_lingering(self) -> None:
        now = time.monotonic()
        awaiting = False
        if self.overflow:
            self._listen_for_a_delivered_lingerer()
        for channel, deadline in list(self.lingering.items()):
            waits = channel.awaits_delivery()
            delivered = waits and unsent_bytes(channel.socket) == 0  # None: not known
            # Waiting to reset a cut body, the client sends nothing: its
            # silence means nothing.
            silent = not channel.reset_on_close and now - channel.last_activity > LINGER_IDLE_SECONDS
            if delivered or silent or deadline <= now:
                del self.lingering[channel]  # first: a failing handle_close must not repeat
                channel.handle_close()
            else:
                awaiting = awaiting or waits
        self._schedule_linger_checks(awaiting or self.overflow)

    def _schedule_linger_checks(self, awaiting: bool) -> None:
        """Check the lingering connections every LINGER_IDLE_SECONDS / 4, or
        every DELIVERY_POLL_SECONDS while one waits only for the client's
        acknowledgement (``awaiting``, see ``HTTPChannel.awaits_delivery``):
        that is usually a delayed ACK of some 40 ms, which the reset of a
        cut body or a stop should not outwait by much."""
        if not self.lingering:
            period = None
        elif awaiting:
            period = DELIVERY_POLL_SECONDS
        else:
            period = LINGER_IDLE_SECONDS / 4
        timer = self._linger_timer
        if timer is not None:
            if timer.interval == period:
                return
            timer.cancel()
            self._linger_timer = None
        if period is not None:
            self._linger_timer = wasyncore.call_every(period, self._end_lingering, self._map)

    def _delivered_lingerer(self) -> Optional[Any]:
        """The oldest lingering connection whose client has all its output
        (a close loses nothing then), or None."""
        for channel in self.lingering:
            if unsent_bytes(channel.socket) == 0:  # None (Windows): never known
                return channel
        return None
