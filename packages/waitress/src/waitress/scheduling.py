"""The Linux scheduling policy of the server's threads: ``SCHED_BATCH``.

Every thread of the server runs Python, and only the one holding the GIL
can.  Under the default policy a thread the kernel wakes (a worker handed a
task, the loop thread when a request arrives) preempts the thread running
on its CPU, which is most often the one holding the GIL: the woken thread
runs only to block on the GIL again, and the two context switches buy
nothing.  ``SCHED_BATCH`` keeps the thread's fair share of the CPU and its
nice value but gives up preemption on wake-up, so the woken thread waits
until the running one blocks, which it does at the latest to let go of the
GIL.  Measured on one core: for the workers, about a fifth of the server's
time on ``hello``.  For the loop thread as well, the context switches per
``json`` request halve again (0.12 to 0.05); in requests per second,
-0.1% to +7.2% on ``json`` over six interleaved runs (median +1.8%), within
noise elsewhere.

Elsewhere, or where the system refuses (a seccomp filter, say), threads
keep their policy and everything works the same, a little slower.
"""

import contextlib
import os
from typing import Iterator

# The policy and the functions to set it, or none of them: a platform may
# define the constants without the functions.
_HAS_SCHEDULER = all(hasattr(os, name) for name in ("sched_setscheduler", "sched_getscheduler", "sched_param"))
_BATCH = getattr(os, "SCHED_BATCH", None) if _HAS_SCHEDULER else None
_OTHER = getattr(os, "SCHED_OTHER", None)


def prefer_batch_scheduling() -> bool:
    """Ask that the calling thread not preempt others when it wakes (Linux).

    Returns whether the policy was set.  For threads the server starts
    (workers), which need nothing restored.
    """
    if _BATCH is None:
        return False
    try:
        os.sched_setscheduler(0, _BATCH, os.sched_param(0))  # 0: this thread
    except OSError:
        return False
    return True


@contextlib.contextmanager
def batch_scheduling() -> Iterator[bool]:
    """Run the calling thread as ``SCHED_BATCH`` inside the block, as before after it.

    For the loop thread, which is the caller's own thread (``serve()`` runs
    the loop where it is called).  Only a thread under the default policy
    is switched: a real-time or idle policy its owner chose is left alone.
    The block receives whether the policy was switched.
    """
    switched = False
    if _BATCH is not None:
        try:
            switched = os.sched_getscheduler(0) == _OTHER and prefer_batch_scheduling()
        except OSError:
            switched = False
    try:
        yield switched
    finally:
        if switched:
            try:
                os.sched_setscheduler(0, _OTHER, os.sched_param(0))
            except OSError:
                pass  # the thread stays SCHED_BATCH: slower wake-ups, nothing worse
