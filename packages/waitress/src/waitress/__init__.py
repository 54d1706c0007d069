"""Waitress: a production-quality pure-Python WSGI server."""

__version__ = "4.0.0"

import logging
from typing import Any, Dict, Optional, Sequence

from .server import create_server

__all__ = ["serve", "serve_paste", "profile", "create_server", "__version__"]


def serve(app: Any, **kw: Any) -> None:
    """Serve ``app`` until interrupted; ``kw`` are the options of ``Adjustments``.

    Like Waitress, this calls ``logging.basicConfig()`` and logs one
    "Serving on ..." line per listener to the ``waitress`` logger.
    """
    _server = kw.pop("_server", create_server)  # test shim
    _quiet = kw.pop("_quiet", False)  # test shim
    _profile = kw.pop("_profile", False)  # test shim
    if not _quiet:
        logging.basicConfig()
    server = _server(app, **kw)
    if not _quiet:
        server.print_listen("Serving on http://{}:{}")
    if _profile:
        profile("server.run()", globals(), {"server": server}, (), False)
    else:
        server.run()


def profile(
    cmd: str,
    globals: Dict[str, Any],
    locals: Optional[Dict[str, Any]],
    sort_order: Sequence[str],
    callers: bool,
) -> None:
    """Run ``cmd`` (source text) under cProfile, then print the busiest 30%.

    Waitress's helper, with its signature (``serve(_profile=True)`` uses
    it): ``sort_order`` is a sequence of ``pstats`` sort keys (empty:
    cumulative, calls, time); with ``callers``, each function's callers are
    printed instead.
    """
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    try:
        profiler.runctx(cmd, globals, locals)
    finally:
        stats = pstats.Stats(profiler)
        stats.strip_dirs()
        stats.sort_stats(*(sort_order or ("cumulative", "calls", "time")))
        if callers:
            stats.print_callers(0.3)
        else:
            stats.print_stats(0.3)


def serve_paste(app: Any, global_conf: Dict[str, Any], **kw: Any) -> int:
    """The PasteDeploy server runner (``use = egg:waitress#main``)."""
    serve(app, **kw)
    return 0
