"""``waitress.buffers``: the buffer classes under Waitress's module name.

``ReadOnlyFileBasedBuffer`` is ``environ['wsgi.file_wrapper']``.
"""

from waitress_wasyncore.buffers import *  # noqa: F401,F403
from waitress_wasyncore.buffers import ReadOnlyFileBasedBuffer  # noqa: F401
