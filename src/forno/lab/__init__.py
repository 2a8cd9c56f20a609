"""The concurrency lab: forno's built-in demo (``forno`` with no app, and ``forno lab``).

Three users call an endpoint that takes ``delay`` seconds, once per lane; every lane is a real
forno server started by the lab on a free loopback port (``lanes.py``) serving one of the apps
of ``apps.py``. The lab's own client (``runner.py``) plays the users, one connection each, and
reports when each request was sent and when its response arrived; the page (``page.py``) and
the terminal (``terminal.py``) draw the same timeline (``timeline.py``).
"""
