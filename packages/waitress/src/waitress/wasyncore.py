"""``waitress.wasyncore``: the event loop, as code written for Waitress imports it.

It is the ``waitress-wasyncore`` package under its historical name.
"""

from waitress_wasyncore import *  # noqa: F401,F403
from waitress_wasyncore import __all__  # noqa: F401
