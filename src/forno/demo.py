"""forno's built-in demo: the concurrency lab (``forno`` with no app; docs/lab.md).

The page lets you pick a number of users and a delay, runs six lanes (WSGI on one thread, on N
threads, on N processes; ASGI awaiting, ASGI calling ``time.sleep``, ASGI running a ``def`` on a
thread pool), each a real forno started on a free loopback port, and draws the timeline.
"""

from __future__ import annotations

from forno.lab.page import app

__all__ = ["app"]
