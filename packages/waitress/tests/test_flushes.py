"""DelayedFlushes: one timer flushes every listed channel once it is due.

The clock, the trigger and the loop's timers are stand-ins, so each step
of the worker/loop exchange runs in a chosen order.
"""

import logging

import pytest
from waitress import flushes
from waitress.flushes import FLUSH_DELAY, DelayedFlushes


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Trigger:
    """Records what workers asked the loop to run."""

    def __init__(self):
        self.thunks = []

    def pull_trigger(self, thunk):
        self.thunks.append(thunk)

    def run(self):
        thunks, self.thunks = self.thunks, []
        for thunk in thunks:
            thunk()


class Channel:
    def __init__(self, name, fail=False):
        self.name = name
        self.flushed = 0
        self.fail = fail

    def flush_gathered(self):
        self.flushed += 1
        if self.fail:
            raise RuntimeError("flush of %s failed" % self.name)


@pytest.fixture
def rig(monkeypatch):
    clock = Clock()
    timers = []  # (delay, callback) as the loop would schedule them
    monkeypatch.setattr(flushes, "_monotonic", clock)
    monkeypatch.setattr(flushes, "call_later", lambda delay, fn, map: timers.append((delay, fn)))
    trigger = Trigger()
    return DelayedFlushes({}, trigger), clock, trigger, timers


def fire(timers):
    """The loop runs the one pending timer."""
    (_, callback), = timers
    del timers[:]
    callback()


def test_one_timer_however_many_channels_are_listed(rig):
    due, clock, trigger, timers = rig
    a, b = Channel("a"), Channel("b")
    due.add(a)
    due.add(b)  # before the loop ran the first wake-up: it wakes it again
    assert len(trigger.thunks) == 2
    trigger.run()
    assert due.armed and len(timers) == 1
    c = Channel("c")
    due.add(c)  # armed: no wake-up
    assert trigger.thunks == []
    clock.now += FLUSH_DELAY
    fire(timers)
    assert (a.flushed, b.flushed, c.flushed) == (1, 1, 1)
    assert not due.armed and timers == []


def test_an_entry_not_yet_due_keeps_the_timer_armed_until_it_is(rig):
    due, clock, trigger, timers = rig
    early, late = Channel("early"), Channel("late")
    due.add(early)
    trigger.run()
    clock.now += FLUSH_DELAY / 2
    due.add(late)
    clock.now += FLUSH_DELAY / 2
    fire(timers)
    assert (early.flushed, late.flushed) == (1, 0)
    assert due.armed
    (delay, _), = timers
    assert delay == pytest.approx(FLUSH_DELAY / 2)  # exactly until the late one is due
    clock.now += FLUSH_DELAY / 2
    fire(timers)
    assert late.flushed == 1 and not due.armed and timers == []


def test_a_channel_listed_after_the_timer_ran_dry_gets_a_new_timer(rig):
    due, clock, trigger, timers = rig
    due.add(Channel("first"))
    trigger.run()
    clock.now += FLUSH_DELAY
    fire(timers)
    assert not due.armed
    again = Channel("again")
    due.add(again)
    trigger.run()
    assert due.armed and len(timers) == 1
    clock.now += FLUSH_DELAY
    fire(timers)
    assert again.flushed == 1


def test_one_failing_channel_neither_stops_the_others_nor_strands_the_timer(rig, caplog):
    due, clock, trigger, timers = rig
    broken, fine = Channel("broken", fail=True), Channel("fine")
    due.add(broken)
    due.add(fine)
    trigger.run()
    clock.now += FLUSH_DELAY
    with caplog.at_level(logging.ERROR, logger="waitress"):
        fire(timers)
    assert (broken.flushed, fine.flushed) == (1, 1)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Flushing the output of %r failed" % broken
    assert "flush of broken failed" in str(record.exc_info[1])
    assert not due.armed
    later = Channel("later")
    due.add(later)
    assert len(trigger.thunks) == 1  # the loop is woken again: nothing was left armed


def test_a_worker_listing_while_the_timer_runs_is_not_lost(rig):
    """A worker lists a channel while the loop flushes (the entry is not due
    yet): the timer stays armed for it."""
    due, clock, trigger, timers = rig
    newcomer = Channel("newcomer")

    class ListsAnother(Channel):
        def flush_gathered(self):
            super().flush_gathered()
            due.add(newcomer)  # armed is still set: no wake-up, so the timer must see it

    first = ListsAnother("first")
    due.add(first)
    trigger.run()
    clock.now += FLUSH_DELAY
    fire(timers)
    assert trigger.thunks == []
    assert due.armed and len(timers) == 1
    clock.now += FLUSH_DELAY
    fire(timers)
    assert newcomer.flushed == 1 and not due.armed


def test_a_worker_listing_just_as_the_timer_disarms_is_not_lost(rig):
    """The race the lock-free arming is built for: the loop has found the
    list empty when a worker lists a channel, sees ``armed`` still set and
    so does not wake the loop; the loop then clears ``armed``.  Its second
    look at the list must find the channel and arm again."""
    due, clock, trigger, timers = rig
    newcomer = Channel("newcomer")

    class RacingDeque(type(due._due)):
        empty_looks = 0
        raced = False

        def __bool__(self):  # the loop's looks are truth tests
            size = len(self)
            if size == 0 and due.armed and not self.raced:
                self.empty_looks += 1
                if self.empty_looks == 2:  # after the flushing loop, at its "anything left?"
                    self.raced = True
                    # The worker's add(): appended, and ``armed`` read as set.
                    self.append((clock.now + FLUSH_DELAY, newcomer))
                    return False  # what the loop's look had already seen
            return size > 0

    due._due = RacingDeque()
    due.add(Channel("first"))
    trigger.run()
    clock.now += FLUSH_DELAY
    fire(timers)
    assert due._due.raced and trigger.thunks == []  # nobody woke the loop
    assert due.armed and len(timers) == 1  # its second look armed it
    clock.now += FLUSH_DELAY
    fire(timers)
    assert newcomer.flushed == 1 and not due.armed
