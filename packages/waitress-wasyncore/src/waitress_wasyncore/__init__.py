"""An event loop over selectors with the asyncore-style dispatcher API that Waitress users know."""

__version__ = "1.0.0"
