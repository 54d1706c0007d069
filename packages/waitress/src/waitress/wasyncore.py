"""``waitress.wasyncore``: the event loop, as code written for Waitress imports it.

It is the ``waitress-wasyncore`` package under its historical name, with the
``errno`` names Waitress's module carried (code compared socket errors with them).
"""

from errno import (  # noqa: F401
    EAGAIN,
    EALREADY,
    EBADF,
    ECONNABORTED,
    ECONNRESET,
    EINPROGRESS,
    EINTR,
    EINVAL,
    EISCONN,
    ENOTCONN,
    EPIPE,
    ESHUTDOWN,
    EWOULDBLOCK,
    errorcode,
)

from waitress_wasyncore import *  # noqa: F401,F403
from waitress_wasyncore import __all__  # noqa: F401
