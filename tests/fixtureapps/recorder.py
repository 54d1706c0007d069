"""One place where fixture apps note what happened to them.

In the test process the notes go to a list guarded by a condition, so a test
can wait for one without sleeping.  When the environment variable
``FIXTURE_RECORD_PATH`` is set (a subprocess server), every note is also
appended as one line of JSON to that file, which the test reads back.
"""

import json
import os
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

RECORD_PATH_VARIABLE = "FIXTURE_RECORD_PATH"

Note = Tuple[str, Any]


class Recorder:
    """Thread-safe list of ``(kind, value)`` notes with a bounded wait."""

    def __init__(self) -> None:
        self._notes: List[Note] = []
        self._changed = threading.Condition()

    def record(self, kind: str, value: Any = None) -> None:
        """Keep a note, wake the waiters, and mirror it to the record file."""
        with self._changed:
            self._notes.append((kind, value))
            self._changed.notify_all()
        path = os.environ.get(RECORD_PATH_VARIABLE)
        if path:
            with open(path, "a", encoding="utf-8") as stream:
                stream.write(json.dumps([kind, value]) + "\n")

    def notes(self, kind: Optional[str] = None) -> List[Any]:
        """The values noted so far, all of them or those of one kind."""
        with self._changed:
            return [v for k, v in self._notes if kind is None or k == kind]

    def clear(self) -> None:
        with self._changed:
            self._notes.clear()

    def wait_for(self, predicate: Callable[[List[Note]], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(notes)`` holds or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._notes)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_for_kind(self, kind: str, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` notes of ``kind`` exist."""
        return self.wait_for(lambda notes: sum(1 for k, _ in notes if k == kind) >= count, timeout)


RECORDER = Recorder()


def read_record_file(path: str) -> List[Note]:
    """The notes a subprocess server wrote to ``path`` (empty if none yet)."""
    try:
        with open(path, encoding="utf-8") as stream:
            return [tuple(json.loads(line)) for line in stream if line.strip()]
    except FileNotFoundError:
        return []
