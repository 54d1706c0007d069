"""``package.module:obj.attr`` -> the object, with errors a person can act on.

A failed import is summed up in one line that names the module, the
underlying error, and the line of the user's code where it happened, so a
typo shows without a traceback.  The current directory goes first on
``sys.path`` so ``myapp:app`` finds ``./myapp.py``.
"""

import importlib
import linecache
import os
import sys
from types import ModuleType, TracebackType
from typing import Any, List, Optional, Tuple

from .errors import AppLoadError

#: Frames of the import machinery itself, never the user's code.
_MACHINERY = (os.path.dirname(importlib.__file__), os.path.abspath(__file__))


def put_cwd_on_path() -> None:
    """Make modules in the current directory importable, ahead of installed ones."""
    cwd = os.getcwd()
    if sys.path[:1] != [cwd] and sys.path[:1] != [""]:
        if cwd in sys.path:
            sys.path.remove(cwd)
        sys.path.insert(0, cwd)


def describe(obj: Any) -> str:
    """``None``, ``a str``, ``a module``: for "not callable" messages."""
    if obj is None:
        return "None"
    return f"a {type(obj).__name__}"


def shown_path(filename: str) -> str:
    """A file name relative to the current directory when it is inside it."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def _user_frames(tb: Optional[TracebackType]) -> List[Tuple[str, int]]:
    frames = []
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        internal = filename.startswith("<frozen") or any(
            os.path.abspath(filename).startswith(prefix) for prefix in _MACHINERY
        )
        if not internal:
            frames.append((filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def where(exc: BaseException) -> str:
    """`` (file, line N: source)`` for the most telling line of the user's code."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" ({shown_path(exc.filename)}, line {exc.lineno})"
    frames = _user_frames(exc.__traceback__)
    if not frames:
        return ""
    cwd = os.getcwd() + os.sep
    own = [frame for frame in frames if os.path.abspath(frame[0]).startswith(cwd)]
    filename, lineno = own[-1] if own else frames[0]
    source = linecache.getline(filename, lineno).strip()
    tail = f": {source}" if source else ""
    return f" ({shown_path(filename)}, line {lineno}{tail})"


def summary(exc: BaseException) -> str:
    """``ErrorType: message`` on one line."""
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return " ".join(text.split())


def import_module(name: str) -> Any:
    """Import ``name``; a failure becomes an AppLoadError saying which module and why."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise AppLoadError(
                f"No module named {missing!r} (searched the current directory and sys.path)"
            ) from exc
        raise AppLoadError(f"importing {name!r} failed: {summary(exc)}{where(exc)}") from exc
    except Exception as exc:
        raise AppLoadError(f"importing {name!r} failed: {summary(exc)}{where(exc)}") from exc


def _split_without_colon(spec: str) -> Tuple[Any, str, List[str]]:
    """``a.b.c`` with no colon: import the longest importable module prefix."""
    parts = spec.split(".")
    module_name = parts[0]
    module = import_module(module_name)
    consumed = 1
    for part in parts[1:]:
        candidate = f"{module_name}.{part}"
        try:
            module = importlib.import_module(candidate)
        except ModuleNotFoundError as exc:
            if exc.name != candidate:
                raise AppLoadError(
                    f"importing {candidate!r} failed: {summary(exc)}{where(exc)}"
                ) from exc
            break
        except Exception as exc:
            raise AppLoadError(
                f"importing {candidate!r} failed: {summary(exc)}{where(exc)}"
            ) from exc
        module_name = candidate
        consumed += 1
    return module, module_name, parts[consumed:]


def attribute_or_submodule(obj: Any, part: str) -> Any:
    """``getattr``, falling back to importing a submodule the package did not import."""
    try:
        return getattr(obj, part)
    except AttributeError:
        if not isinstance(obj, ModuleType) or not hasattr(obj, "__path__"):
            raise
    candidate = f"{obj.__name__}.{part}"
    try:
        return importlib.import_module(candidate)
    except ModuleNotFoundError as exc:
        if exc.name != candidate:
            raise AppLoadError(f"importing {candidate!r} failed: {summary(exc)}{where(exc)}")
        raise AttributeError(part) from None
    except Exception as exc:
        raise AppLoadError(f"importing {candidate!r} failed: {summary(exc)}{where(exc)}") from exc


def resolve(spec: str, call: bool = False) -> Any:
    """Load the object ``spec`` names, calling it first when ``call`` is true.

    ``spec`` is ``package.module:obj.attr`` (attributes may be dotted) or,
    as older Waitress releases also accepted, ``package.module.obj`` with no
    colon.  Raises AppLoadError with a one-line message.
    """
    module_name, colon, attr_path = spec.partition(":")
    if not module_name or (colon and not attr_path):
        raise AppLoadError(f"{spec!r} is not of the form MODULE:OBJECT")
    attributes = attr_path.split(".") if attr_path else []
    if "" in attributes or any(not part for part in module_name.split(".")):
        raise AppLoadError(f"{spec!r} is not of the form MODULE:OBJECT")
    put_cwd_on_path()
    if colon:
        obj = import_module(module_name)
    else:
        obj, module_name, attributes = _split_without_colon(module_name)
    consumed: List[str] = []
    for part in attributes:
        owner = f"{module_name}:{'.'.join(consumed)}" if consumed else module_name
        try:
            obj = attribute_or_submodule(obj, part)
        except AttributeError:
            what = f"{owner!r}" if consumed else f"module {owner!r}"
            raise AppLoadError(f"{what} has no attribute {part!r}") from None
        except Exception as exc:
            raise AppLoadError(f"getting {part!r} of {owner!r} failed: {summary(exc)}") from exc
        consumed.append(part)
    if call:
        if not callable(obj):
            raise AppLoadError(f"--call: {spec!r} is not callable (it is {describe(obj)})")
        try:
            obj = obj()
        except Exception as exc:
            raise AppLoadError(f"calling {spec!r} failed: {summary(exc)}{where(exc)}") from exc
    return obj


def load_app(spec: str, call: bool = False) -> Any:
    """Resolve ``spec`` and check that the result can be a WSGI application."""
    app = resolve(spec, call=call)
    if not callable(app):
        if call:
            raise AppLoadError(
                f"calling {spec!r} returned {describe(app)}, which is not a WSGI "
                "application (not callable)"
            )
        hint = " (name the object too: MODULE:OBJECT)" if isinstance(app, ModuleType) else ""
        raise AppLoadError(
            f"{spec!r} is {describe(app)}, not a WSGI application (not callable){hint}"
        )
    return app
