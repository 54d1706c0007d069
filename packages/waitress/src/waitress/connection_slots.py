"""The server's connection slots: ``connection_limit`` and lingering connections.

The rules kept here:

- once an accept returns, the open connections never outnumber
  ``connection_limit``; at the limit the listener is not watched until a
  slot is free;
- a connection that lingers after its response (see ``teardown``) holds its
  slot only until a new connection needs it and its client has all its
  output: a close then loses nothing;
- only the loop thread calls anything here.

``ConnectionSlots`` is a base class of the listener (``BaseWSGIServer``),
which provides ``adj``, ``accepting``, ``active_channels``,
``set_interest``, and the drain's ``_shutting_down`` and ``_maybe_finish``
(``lifecycle``).
"""

import time

import waitress_wasyncore as wasyncore

from .logs import logger
from .teardown import DELIVERY_POLL_SECONDS, LINGER_IDLE_SECONDS, LINGER_MAX_SECONDS, unsent_bytes


class ConnectionSlots:
    """Counts a listener's connections against ``connection_limit`` and ends lingering ones."""

    in_connection_overflow = False
    _lingering = None  # channel -> when to stop waiting for its close (see linger)
    _linger_timer = None

    def linger(self, channel) -> None:
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
        oldest such lingering connection (``_check_connection_limit``)."""
        if self._lingering is None:
            self._lingering = {}
        self._lingering[channel] = time.monotonic() + LINGER_MAX_SECONDS
        if self.in_connection_overflow:
            self._listen_for_a_delivered_lingerer()
        timer = self._linger_timer
        polling = timer is not None and timer.interval == DELIVERY_POLL_SECONDS
        self._schedule_linger_checks(polling or channel.awaits_delivery() or self.in_connection_overflow)

    def _listen_for_a_delivered_lingerer(self) -> None:
        """At the limit: listen again once a lingering connection's client
        has all its output, so that a new connection takes its slot
        (``_check_connection_limit``); until then the checks poll."""
        if self._delivered_lingerer() is not None:
            self._log_listening_again(
                "a connection at the connection limit is closing, listening again "
                "(the next one accepted takes its place)"
            )
            self._listen_again()

    def _end_lingering(self) -> None:
        now = time.monotonic()
        awaiting = False
        if self.in_connection_overflow:
            self._listen_for_a_delivered_lingerer()
        for channel, deadline in list(self._lingering.items()):
            waits = channel.awaits_delivery()
            delivered = waits and not unsent_bytes(channel.socket)
            # Waiting to reset a cut body, the client sends nothing: its
            # silence means nothing.
            silent = not channel.reset_on_close and now - channel.last_activity > LINGER_IDLE_SECONDS
            if delivered or silent or deadline <= now:
                del self._lingering[channel]  # first: a failing handle_close must not repeat
                channel.handle_close()
            else:
                awaiting = awaiting or waits
        self._schedule_linger_checks(awaiting or self.in_connection_overflow)

    def _schedule_linger_checks(self, awaiting: bool) -> None:
        """Check the lingering connections every LINGER_IDLE_SECONDS / 4, or
        every DELIVERY_POLL_SECONDS while one waits only for the client's
        acknowledgement (``awaiting``, see ``HTTPChannel.awaits_delivery``):
        that is usually a delayed ACK of some 40 ms, which the reset of a
        cut body or a stop should not outwait by much."""
        if not self._lingering:
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

    def channel_closed(self, channel, fileno) -> None:
        """A connection closed (its descriptor was ``fileno``): maybe accept again."""
        if self.active_channels.get(fileno) is channel:  # not a newer channel on a reused fd
            del self.active_channels[fileno]
        if self._lingering:
            self._lingering.pop(channel, None)
        if self.in_connection_overflow and len(self.active_channels) < self.adj.connection_limit:
            self._log_listening_again(
                "total open connections dropped below the connection limit, listening again"
            )
            self._listen_again()
        owner = self._owner or self
        if owner._shutting_down:
            owner._maybe_finish()

    def _log_listening_again(self, message: str) -> None:
        """Say the listener is back, unless the server is stopping: one
        stopping at the connection limit would announce a listening it
        never does (the drain closes connections, then the listeners)."""
        if self.accepting and not (self._owner or self)._shutting_down:
            logger.info(message)

    def _listen_again(self) -> None:
        self.in_connection_overflow = False
        if self.accepting:
            self.set_interest(True, False)

    def _check_connection_limit(self) -> None:
        """A connection was accepted: past the limit, make room; at it, stop accepting.

        A lingering connection holds its slot only until a new one needs it
        and its client has all its output (see ``linger``): at the limit the
        server keeps accepting while such a connection lingers, and closes
        the oldest one for each connection it accepts.  Otherwise, at the
        limit, the listener is not watched until a connection closes or a
        lingering one has delivered its output.  The connections never
        outnumber the limit once this returns.
        """
        limit = self.adj.connection_limit
        if len(self.active_channels) < limit:
            return  # the usual case, once per accepted connection
        while not self.in_connection_overflow:
            count = len(self.active_channels)
            if count < limit:
                return
            if self._lingering:
                delivered = self._delivered_lingerer()
                if delivered is not None:
                    if count == limit:
                        return  # the next one accepted takes its slot
                    del self._lingering[delivered]
                    delivered.handle_close()
                    continue
            self.in_connection_overflow = True
            logger.warning(
                "total open connections reached the connection limit, "
                "no longer accepting new connections"
            )
            self.set_interest(False, False)
            if self._lingering:  # polled until one has delivered its output
                self._schedule_linger_checks(True)

    def _delivered_lingerer(self):
        """The oldest lingering connection whose client has all its output
        (a close loses nothing then), or None."""
        for channel in self._lingering:
            if not unsent_bytes(channel.socket):
                return channel
        return None
