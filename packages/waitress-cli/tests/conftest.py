"""A fake option table, a fake serve, and a directory of throwaway app modules.

No server is needed: ``serve`` records what it was called with.
"""

import io
import itertools
import sys
import textwrap
from typing import Any, Callable, List, NamedTuple, Optional

import pytest


class FakeOption(NamedTuple):
    name: str
    convert: Callable[[Any], Any]
    default: Any
    help: str
    group: str
    flag: bool = False
    metavar: str = "VALUE"
    default_text: Optional[str] = None
    cli: bool = True
    repeatable: bool = False


def as_int(value: Any) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError("expected an integer") from None


def as_bool(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def as_words(value: Any) -> List[str]:
    return str(value).split()


FAKE_OPTIONS = (
    FakeOption("host", str, "0.0.0.0", "Address to listen on.", "Network options", metavar="ADDR"),
    FakeOption("port", as_int, 8080, "Port to listen on.", "Network options", metavar="PORT"),
    FakeOption("listen", as_words, ("0.0.0.0:8080",), "Listen here.", "Network options",
               metavar="HOST:PORT", default_text="0.0.0.0:8080", repeatable=True),
    FakeOption("verbose_logging", as_bool, False, "Log a lot.", "Tuning options", flag=True),
    FakeOption("keep_alive", as_bool, True, "Reuse connections.", "Tuning options", flag=True),
    FakeOption("workers", as_int, 4, "How many workers.", "Tuning options", metavar="INT"),
    FakeOption("url_prefix", str, "", "Mount point.", "Network options", metavar="PATH"),
    FakeOption("handles", list, (), "Pre-opened handles, Python API only.", "Network options",
               cli=False),
)


class FakeServe:
    """Records each call instead of serving; may be told to raise."""

    def __init__(self) -> None:
        self.calls: List[Any] = []
        self.raises: Optional[BaseException] = None

    def __call__(self, app: Any, **kw: Any) -> None:
        self.calls.append((app, kw))
        if self.raises is not None:
            raise self.raises


class Console:
    """Captured stdout/stderr for one ``run``."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.err = io.StringIO()

    @property
    def error_lines(self) -> List[str]:
        return self.err.getvalue().splitlines()


@pytest.fixture
def fake_options():
    return FAKE_OPTIONS


@pytest.fixture
def fake_serve():
    return FakeServe()


@pytest.fixture
def console():
    return Console()


_counter = itertools.count()


class AppDir:
    """Write modules into a temporary working directory and import them by unique names."""

    def __init__(self, path) -> None:
        self.path = path

    def unique(self, stem: str) -> str:
        return f"{stem}_{next(_counter)}_{id(self) % 10000}"

    def module(self, name: str, source: str) -> str:
        (self.path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        return name

    def package(self, name: str, files: dict) -> str:
        root = self.path / name
        root.mkdir()
        for filename, source in files.items():
            target = root / filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(source), encoding="utf-8")
        return name


@pytest.fixture
def app_dir(tmp_path, monkeypatch):
    """A working directory for app modules; sys.path and sys.modules restored after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield AppDir(tmp_path)
    for name in set(sys.modules) - before:
        del sys.modules[name]
