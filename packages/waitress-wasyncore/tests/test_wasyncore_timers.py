"""call_later / call_every: run on the loop thread, wake the loop in time, survive failures."""

import logging
import threading

import pytest
from waitress_wasyncore import call_every, call_later, loop, trigger
from waitress_wasyncore.timers import TimerQueue


def test_call_later_runs_once_on_the_loop_thread(loop_thread):
    done = threading.Event()
    where = []

    def fire():
        where.append(threading.current_thread().name)
        done.set()

    loop_thread.call(lambda: call_later(0.01, fire, map=loop_thread.map))
    assert done.wait(10)
    loop_thread.call(lambda: None)
    assert where == ["test-loop"]


def test_the_loop_wakes_for_a_timer_before_its_own_timeout(smap):
    trigger(smap)  # keeps the map non-empty and idle
    fired = []
    call_later(0.01, lambda: fired.append(1), map=smap)
    # One iteration with a 60 s timeout: it can only return this soon
    # (within the test's time limit) because the timer shortened the wait.
    loop(60.0, map=smap, count=1)
    assert fired == [1]


def test_call_every_repeats_until_cancelled_from_inside(smap):
    trigger(smap)
    calls = []

    def tick():
        calls.append(1)
        if len(calls) == 3:
            timer.cancel()

    timer = call_every(0.001, tick, map=smap)
    for _ in range(1000):
        if timer.cancelled:
            break
        loop(1.0, map=smap, count=1)
    assert len(calls) == 3
    loop(0.01, map=smap, count=3)
    assert len(calls) == 3


def test_a_cancelled_timer_never_runs(smap):
    trigger(smap)
    ran = []
    timer = call_later(0.001, lambda: ran.append("no"), map=smap)
    call_later(0.002, lambda: ran.append("yes"), map=smap)
    timer.cancel()
    timer.cancel()
    while "yes" not in ran:
        loop(1.0, map=smap, count=1)
    assert ran == ["yes"]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_timers_run_in_due_order(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("waitress_wasyncore.timers.time.monotonic", clock)
    queue = TimerQueue()
    ran = []
    queue.add(3.0, lambda: ran.append("c"))
    queue.add(1.0, lambda: ran.append("a"))
    queue.add(2.0, lambda: ran.append("b"))
    queue.add(2.0, lambda: ran.append("b2"))
    queue.run_due()
    assert ran == []
    clock.now += 2.5
    queue.run_due()
    assert ran == ["a", "b", "b2"]
    clock.now += 10
    queue.run_due()
    assert ran == ["a", "b", "b2", "c"]
    assert len(queue) == 0


def test_a_late_repeating_timer_does_not_burst(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("waitress_wasyncore.timers.time.monotonic", clock)
    queue = TimerQueue()
    ran = []
    timer = queue.add(1.0, lambda: ran.append(clock.now), interval=1.0)
    clock.now += 10.5
    queue.run_due()
    assert len(ran) == 1
    assert timer.due == clock.now + 1.0
    clock.now += 1.0
    queue.run_due()
    assert len(ran) == 2


def test_a_failing_timer_is_logged_and_others_still_run(smap, caplog):
    caplog.set_level(logging.ERROR, logger="waitress")
    trigger(smap)
    ran = []
    call_later(0.0, lambda: 1 / 0, map=smap)
    call_later(0.0, lambda: ran.append("second"), map=smap)
    while not ran:
        loop(1.0, map=smap, count=1)
    assert ran == ["second"]
    assert [r.exc_info[0] for r in caplog.records] == [ZeroDivisionError]


def test_exit_exceptions_from_a_timer_propagate(smap):
    trigger(smap)

    def stop():
        raise KeyboardInterrupt

    call_later(0.0, stop, map=smap)
    with pytest.raises(KeyboardInterrupt):
        loop(1.0, map=smap)


def test_wait_time_is_the_smaller_of_timeout_and_next_due():
    queue = TimerQueue()
    assert queue.wait_time(5.0) == 5.0
    assert queue.wait_time(None) is None
    queue.add(100.0, lambda: None)
    assert queue.wait_time(5.0) == 5.0
    assert 0 < queue.wait_time(None) <= 100.0
    queue.add(-1.0, lambda: None)
    assert queue.wait_time(5.0) == 0.0


def test_cancelled_timers_do_not_pile_up():
    queue = TimerQueue()
    for _ in range(1000):
        queue.add(1000.0, lambda: None).cancel()
    assert len(queue) == 0
    assert len(queue._heap) < 200
    keep = queue.add(1000.0, lambda: None)
    assert len(queue) == 1 and not keep.cancelled


def test_bad_timer_arguments_are_refused(smap):
    with pytest.raises(ValueError):
        call_every(0, lambda: None, map=smap)
    with pytest.raises(TypeError):
        call_later(1, "not callable", map=smap)


def test_repr_of_a_timer(smap):
    timer = call_every(5, lambda: None, map=smap)
    assert "every 5s" in repr(timer)
    timer.cancel()
    assert "cancelled" in repr(timer)
