"""Small WSGI applications that the functional tests serve.

Each module holds one kind of application so that a test names exactly the
behaviour it exercises (``fixtureapps.echo:app``).  The apps record what
happened to them through :mod:`fixtureapps.recorder`, which works both in
the test process (threaded server) and in a subprocess server (a file).
"""
