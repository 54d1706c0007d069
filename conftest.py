"""Shared by every test under this folder: no test leaks logging configuration.

Libraries under test change the ``waitress`` logger (WebTest's shutdown sets
it to FATAL, ``waitress-serve`` to INFO); restoring it after each test keeps
the log assertions of later tests meaningful, whatever the order.
"""

import logging

import pytest


@pytest.fixture(autouse=True)
def _restore_waitress_loggers():
    loggers = [logging.getLogger(name) for name in ("waitress", "waitress.queue")]
    saved = [(lg.level, lg.propagate, lg.disabled, list(lg.handlers)) for lg in loggers]
    yield
    for lg, (level, propagate, disabled, handlers) in zip(loggers, saved):
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled
        lg.handlers[:] = handlers
