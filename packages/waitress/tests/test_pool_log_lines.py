"""What the pool says, word for word and at which level, when it stops with
work left: found unpinned by a mutation audit (only "still running" was)."""

import logging
import threading

import pytest
from waitress.pool import ThreadedTaskDispatcher


class _Held:
    """A task that holds its thread until ``gate`` opens (bounded)."""

    def __init__(self, gate):
        self.gate = gate
        self.started = threading.Event()

    def service(self):
        self.started.set()
        self.gate.wait(10)

    def cancel(self):
        pass


class _Waiting:
    def __init__(self, fails=False):
        self.fails = fails
        self.cancelled = False

    def service(self):
        pass

    def cancel(self):
        self.cancelled = True
        if self.fails:
            raise RuntimeError("cannot cancel")

    def __repr__(self):
        return "<waiting task>"


@pytest.fixture
def held_pool():
    """A one-thread pool whose thread is held; the gate opens at the end."""
    pool = ThreadedTaskDispatcher()
    gate = threading.Event()
    pool.set_thread_count(1)
    held = _Held(gate)
    pool.add_task(held)
    assert held.started.wait(10)
    try:
        yield pool
    finally:
        gate.set()
        pool.shutdown(timeout=5)


def _lines(caplog):
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "waitress"]


def test_a_stop_with_tasks_still_queued_says_how_many_it_cancels(held_pool, caplog):
    caplog.set_level(logging.DEBUG, logger="waitress")
    waiting = [_Waiting(), _Waiting()]
    for task in waiting:
        held_pool.add_task(task)
    held_pool.shutdown(timeout=0)
    assert all(task.cancelled for task in waiting)
    assert (logging.WARNING, "Canceling 2 pending task(s)") in _lines(caplog)
    assert (logging.WARNING, "1 thread(s) still running") in _lines(caplog)


def test_a_task_whose_cancel_fails_is_logged_with_its_traceback_and_the_rest_still_cancel(held_pool, caplog):
    caplog.set_level(logging.DEBUG, logger="waitress")
    failing, after = _Waiting(fails=True), _Waiting()
    held_pool.add_task(failing)
    held_pool.add_task(after)
    held_pool.shutdown(timeout=0)
    assert after.cancelled
    [record] = [r for r in caplog.records if r.getMessage() == "Exception while canceling <waiting task>"]
    assert record.levelno == logging.ERROR and record.exc_info[0] is RuntimeError
    assert (logging.WARNING, "Canceling 2 pending task(s)") in _lines(caplog)
