"""The linger checks of ``ConnectionSlots``: one timer at a time, at the
period the lingering connections need, and none once none lingers.

Found unpinned by a mutation audit: a period switch that did not cancel
the old timer left it running for the life of the server (a wake-up every
20 ms or 500 ms, calling the checks on nothing)."""

import socket
import time

import pytest
from waitress.connection_slots import ConnectionSlots
from waitress_wasyncore import SocketMap
from waitress_wasyncore.reactor import reactor_for


class _Listener:
    accepting = True

    def __init__(self):
        self.active_channels = {}

    def set_interest(self, read, write):
        pass


class _Owner:
    _shutting_down = False

    def __init__(self):
        self.listener = _Listener()

    def _listeners(self):
        return [self.listener]


class _Lingerer:
    """A lingering connection as the checks see it.  Its socket is one end
    of a UNIX socket pair: nothing of it is ever unsent."""

    reset_on_close = False

    def __init__(self, sock, awaits_delivery):
        self.socket = sock
        self._awaits = awaits_delivery
        self.last_activity = time.monotonic()
        self.closed = False

    def awaits_delivery(self):
        return self._awaits

    def handle_close(self):
        self.closed = True


@pytest.fixture
def pair():
    first, second = socket.socketpair()
    with first, second:
        yield first


def _check_timers(slots, socket_map):
    """The periods of the timers still to run on the map's loop (the
    slots' own timer, and as many of that period as there are)."""
    live = len(reactor_for(socket_map).timers)
    timer = slots._linger_timer
    return [] if timer is None and not live else [None if timer is None else timer.interval] * live


def test_the_linger_checks_keep_one_timer_through_period_switches_and_none_after(pair):
    socket_map = SocketMap()
    slots = ConnectionSlots(_Owner(), 10, socket_map)
    patient = _Lingerer(pair, awaits_delivery=False)  # waits for its client's close
    eager = _Lingerer(pair, awaits_delivery=True)  # waits only for delivery

    slots.linger(patient)
    assert _check_timers(slots, socket_map) == [0.5]  # LINGER_IDLE_SECONDS / 4
    slots.linger(eager)
    assert _check_timers(slots, socket_map) == [0.02]  # DELIVERY_POLL_SECONDS, instead

    slots._end_lingering()  # the eager one's output is delivered: it closes
    assert eager.closed and not patient.closed
    assert _check_timers(slots, socket_map) == [0.5]

    patient.last_activity = time.monotonic() - 60  # its client went silent
    slots._end_lingering()
    assert patient.closed
    assert _check_timers(slots, socket_map) == []


def test_a_connection_starting_to_linger_keeps_the_checks_as_they_are(pair):
    """Neither postponed (re-armed, the checks of a server where connections
    keep starting to linger would never run) nor slowed: one that waits only
    for delivery keeps its 20 ms polls when one that waits longer joins."""
    socket_map = SocketMap()
    slots = ConnectionSlots(_Owner(), 10, socket_map)
    slots.linger(_Lingerer(pair, awaits_delivery=True))
    polling = slots._linger_timer
    slots.linger(_Lingerer(pair, awaits_delivery=False))
    slots.linger(_Lingerer(pair, awaits_delivery=True))
    assert slots._linger_timer is polling and not polling.cancelled
    assert _check_timers(slots, socket_map) == [0.02]
