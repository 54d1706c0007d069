"""``waitress.trigger``: the loop's thread-safe wake-up under Waitress's module name.

``trigger(map)`` joins the socket map; ``pull_trigger(thunk)`` from any
thread runs ``thunk`` on the loop thread.
"""

from waitress_wasyncore import trigger

__all__ = ["trigger"]
