"""A command-line front end that turns argv into server options from an option table."""

__version__ = "1.0.0"
