"""``waitress.proxy_headers``: Waitress's proxy-header middleware under its own name.

Applications wrap themselves with ``proxy_headers_middleware`` (for a test
client, or under another server) and import it from here.  The rules are
those the server applies itself, from ``waitress_proxy``.
"""

import logging
from typing import Callable, Iterable, Optional, Union

from waitress_proxy import ProxyHeadersMiddleware, ProxySettings

from .logs import logger as _waitress_logger

__all__ = ["proxy_headers_middleware"]


def proxy_headers_middleware(
    app: Callable,
    trusted_proxy: Optional[str] = None,
    trusted_proxy_count: Optional[int] = 1,
    trusted_proxy_headers: Union[None, str, Iterable[str]] = None,
    clear_untrusted: bool = True,
    log_untrusted: bool = False,
    logger: logging.Logger = _waitress_logger,
) -> Callable:
    """Wrap ``app`` so that it sees the client the trusted proxy reported.

    The arguments are Waitress's, with its defaults.  Headers from an
    untrusted peer, or not named in ``trusted_proxy_headers``, are removed
    unless ``clear_untrusted`` is false; a malformed trusted header gets a
    400 answer and never reaches ``app``.
    """
    settings = ProxySettings(
        trusted_proxy,
        trusted_proxy_count,
        trusted_proxy_headers,
        clear_untrusted_proxy_headers=clear_untrusted,
        log_untrusted_proxy_headers=log_untrusted,
    )
    return ProxyHeadersMiddleware(app, settings, logger)
