"""The worker pool: threads, hand-off, scheduling policy, shutdown."""

import os
import sys
import threading

import pytest
from waitress.pool import ThreadedTaskDispatcher
from waitress.scheduling import prefer_batch_scheduling


class RecordingTask:
    """A task that notes which thread served it and with which policy."""

    def __init__(self, gate=None):
        self.gate = gate
        self.done = threading.Event()
        self.thread_name = None
        self.policy = None
        self.cancelled = False

    def service(self):
        self.thread_name = threading.current_thread().name
        if hasattr(os, "sched_getscheduler"):
            self.policy = os.sched_getscheduler(0)
        if self.gate is not None:
            self.gate.wait(10)
        self.done.set()

    def cancel(self):
        self.cancelled = True


def occupy_the_only_thread(pool):
    """Give a one-thread pool a task that holds it until the returned gate opens."""
    gate = threading.Event()
    pool.set_thread_count(1)
    busy = RecordingTask(gate)
    pool.add_task(busy)
    for _ in range(200):  # until the only thread has taken it
        if busy.thread_name is not None:
            break
        threading.Event().wait(0.01)
    return gate, busy


@pytest.fixture
def pool():
    dispatcher = ThreadedTaskDispatcher()
    yield dispatcher
    dispatcher.shutdown(timeout=5)


def test_tasks_run_on_named_worker_threads(pool):
    pool.set_thread_count(2)
    task = RecordingTask()
    pool.add_task(task)
    assert task.done.wait(10)
    assert task.thread_name in ("waitress-0", "waitress-1")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_BATCH is Linux's")
def test_workers_run_as_sched_batch_and_the_caller_keeps_its_policy(pool):
    before = os.sched_getscheduler(0)
    pool.set_thread_count(1)
    task = RecordingTask()
    pool.add_task(task)
    assert task.done.wait(10)
    assert task.policy == os.SCHED_BATCH
    assert os.sched_getscheduler(0) == before  # per thread, not per process


def test_prefer_batch_scheduling_is_harmless_where_refused(monkeypatch):
    def refuse(*args):
        raise PermissionError("not here")

    if hasattr(os, "sched_setscheduler"):
        monkeypatch.setattr(os, "sched_setscheduler", refuse)
    assert prefer_batch_scheduling() is False


def test_queue_depth_counts_tasks_waiting_for_a_thread(pool):
    gate, busy = occupy_the_only_thread(pool)
    waiting = RecordingTask()
    pool.add_task(waiting)
    assert pool.queue_depth == 1
    gate.set()
    assert waiting.done.wait(10)
    assert pool.queue_depth == 0


def test_shutdown_cancels_what_no_thread_took(pool):
    gate, busy = occupy_the_only_thread(pool)
    left = RecordingTask()
    pool.add_task(left)
    gate.set()
    pool.shutdown(cancel_pending=True, timeout=5)
    assert busy.done.is_set()
    assert left.cancelled or left.done.is_set()


def wait_for(predicate, timeout=10.0):
    deadline = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        deadline.wait(0.01)
    return predicate()


def test_the_pool_shrinks_after_the_tasks_queued_before_the_request(pool):
    gate = threading.Event()
    pool.set_thread_count(2)
    tasks = [RecordingTask(gate) for _ in range(3)]
    for task in tasks:
        pool.add_task(task)
    assert wait_for(lambda: pool.active_count == 2)
    pool.set_thread_count(0)  # as Waitress: shutdown code then waits for threads to empty
    with pool.lock:
        assert len(pool.threads) == 2  # both still serving
    gate.set()
    assert wait_for(lambda: not pool.threads)
    assert all(task.done.is_set() for task in tasks)  # the queued one was served too
    assert pool.active_count == 0


def test_the_pool_grows_again_with_the_free_names(pool):
    pool.set_thread_count(3)
    pool.set_thread_count(1)
    assert wait_for(lambda: len(pool.threads) == 1)
    pool.set_thread_count(2)
    assert len(pool.threads) == 2
    assert pool.threads <= {0, 1, 2}  # numbers freed by the stopped threads are reused
    task = RecordingTask()
    pool.add_task(task)
    assert task.done.wait(10)


def test_shutdown_after_a_shrink_stops_every_thread(pool):
    pool.set_thread_count(4)
    pool.set_thread_count(2)
    assert pool.shutdown(timeout=5)
    assert wait_for(lambda: not pool.threads)


@pytest.mark.parametrize("timeout", [float("inf"), 1e20, float("nan")])
def test_shutdown_without_a_limit_waits_for_the_running_task(pool, timeout):
    # Public shutdown code passes float("inf"); join() alone would raise OverflowError.
    gate = threading.Event()
    pool.set_thread_count(1)
    task = RecordingTask(gate)
    pool.add_task(task)
    assert wait_for(lambda: task.thread_name is not None)
    threading.Timer(0.2, gate.set).start()
    assert pool.shutdown(cancel_pending=True, timeout=timeout)
    assert task.done.is_set()


def test_shutdown_without_time_left_counts_only_the_busy_threads(pool, caplog):
    """After a drain ran out of time, run() gives the workers 0 s: the
    warning must name the stuck thread, not the idle ones too."""
    gate = threading.Event()
    pool.set_thread_count(4)
    task = RecordingTask(gate)
    pool.add_task(task)
    assert wait_for(lambda: task.thread_name is not None)
    try:
        assert not pool.shutdown(timeout=0)
        assert "1 thread(s) still running" in caplog.text
    finally:
        gate.set()


class ClosingSet(set):
    """What applications put in ``threads`` to release a thread's database
    connection as it ends: ``discard`` runs in the ending thread."""

    def __init__(self) -> None:
        super().__init__()
        self.discarded_in = []

    def discard(self, element) -> None:
        self.discarded_in.append((element, threading.current_thread().name))
        super().discard(element)


def test_threads_is_a_set_of_numbers_a_subclass_may_replace(pool):
    pool.threads = ClosingSet()
    pool.set_thread_count(3)
    assert pool.threads == {0, 1, 2}
    task = RecordingTask()
    pool.add_task(task)
    assert task.done.wait(10)
    assert pool.shutdown(timeout=5)
    assert not pool.threads
    assert sorted(pool.threads.discarded_in) == [
        (0, "waitress-0"), (1, "waitress-1"), (2, "waitress-2")]


def test_handler_thread_is_each_workers_body(pool):
    ended = []

    class Hooked(type(pool)):
        def handler_thread(self, thread_no):
            super().handler_thread(thread_no)
            ended.append((thread_no, threading.current_thread().name))

    hooked = Hooked()
    hooked.set_thread_count(2)
    task = RecordingTask()
    hooked.add_task(task)
    assert task.done.wait(10)
    assert hooked.shutdown(timeout=5)
    assert wait_for(lambda: len(ended) == 2)
    assert sorted(ended) == [(0, "waitress-0"), (1, "waitress-1")]


def test_start_new_thread_starts_each_worker_and_may_be_wrapped():
    """Waitress's hook: a subclass starts the threads itself (to run
    per-thread set-up, say), returning nothing as Waitress's own did; the
    pool still knows its threads, so shutdown waits for them."""
    started = []

    class Wrapped(ThreadedTaskDispatcher):
        def start_new_thread(self, target, thread_no):
            def run(number):
                started.append((number, threading.current_thread().name))
                target(number)

            threading.Thread(target=run, args=(thread_no,), name=f"custom-{thread_no}", daemon=True).start()

    pool = Wrapped()
    pool.set_thread_count(2)
    task = RecordingTask()
    pool.add_task(task)
    assert task.done.wait(10)
    assert task.thread_name in ("custom-0", "custom-1")
    assert wait_for(lambda: len(started) == 2)
    assert pool.runs_in(threading.current_thread()) is False
    pool.set_thread_count(1)
    assert wait_for(lambda: pool.stop_count == 0 and len(pool.threads) == 1)
    assert pool.shutdown(timeout=5)
    assert not pool.threads
    assert sorted(started) == [(0, "custom-0"), (1, "custom-1")]


def test_the_pool_logs_through_its_logger_attributes(caplog):
    import logging

    class Failing(RecordingTask):
        def service(self):
            raise RuntimeError("boom")

    class Quiet(ThreadedTaskDispatcher):
        logger = logging.getLogger("app.pool")

    pool = Quiet()
    with caplog.at_level(logging.ERROR, logger="app.pool"):
        pool.set_thread_count(1)
        pool.add_task(Failing())
        assert wait_for(lambda: any(r.name == "app.pool" for r in caplog.records))
        assert pool.shutdown(timeout=5)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and messages[0].startswith("Exception when servicing <")


def test_the_queue_warning_shows_a_bursts_height_in_few_lines(pool, caplog):
    """Once a second hid a burst's height (depth 1 logged for a burst of 48,
    audit AJ); a line per request was Waitress's flood.  A line each time
    the depth doubles."""
    caplog.set_level("WARNING", logger="waitress.queue")
    gate, busy = occupy_the_only_thread(pool)
    waiting = [RecordingTask() for _ in range(48)]
    for task in waiting:
        pool.add_task(task)
    gate.set()
    assert all(task.done.wait(10) for task in waiting)
    depths = [int(r.getMessage().rsplit(" ", 1)[1]) for r in caplog.records]
    assert depths == [1, 2, 4, 8, 16, 32]



def test_an_idle_worker_keeps_no_reference_to_its_last_task(pool):
    """Its last connection (and whatever the application hung on it) lived
    until the thread's next request: one per idle thread."""
    import gc
    import weakref

    pool.set_thread_count(1)
    task = RecordingTask()
    served = weakref.ref(task)
    pool.add_task(task)
    assert task.done.wait(10)
    del task
    for _ in range(500):  # until the thread is back waiting for work
        gc.collect()
        if served() is None:
            break
        threading.Event().wait(0.01)
    assert served() is None


def test_a_file_close_runs_once_served_or_cancelled_and_logs_its_failure(caplog):
    """``FileClose``: the application's close() of a file sent after its
    request was served runs on a worker, or at the pool's shutdown."""
    import logging

    from waitress.task import FileClose

    calls = []
    logger = logging.getLogger("waitress.test.fileclose")
    FileClose(lambda: calls.append("served"), logger).service()
    FileClose(lambda: calls.append("cancelled"), logger).cancel()
    assert calls == ["served", "cancelled"]

    def failing():
        raise OSError("the disk went away")

    with caplog.at_level(logging.ERROR, logger="waitress.test.fileclose"):
        FileClose(failing, logger).service()
    assert "Exception while closing a file_wrapper" in caplog.text
    assert "the disk went away" in caplog.text
