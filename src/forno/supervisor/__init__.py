"""Worker processes: a supervisor that binds once, forks workers and keeps them serving.

``run_supervisor(config)`` is what ``forno.run`` calls for ``workers > 1`` or ``reload``.
This package never imports protocol code: workers reach the server through
``forno.server.worker.run_server``.
"""

from __future__ import annotations

from forno.supervisor.arbiter import run_supervisor

__all__ = ["run_supervisor"]
