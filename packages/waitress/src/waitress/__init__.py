"""Waitress: a production-quality pure-Python WSGI server."""

__version__ = "4.0.0"

import logging

from .server import create_server

__all__ = ["serve", "serve_paste", "create_server", "__version__"]


def serve(app, **kw) -> None:
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
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(server.run)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    else:
        server.run()


def serve_paste(app, global_conf, **kw) -> int:
    """The PasteDeploy server runner (``use = egg:waitress#main``)."""
    serve(app, **kw)
    return 0
