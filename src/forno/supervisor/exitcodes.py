"""Exit codes the supervisor and its workers share with the CLI.

They are the values of ``forno.api``'s ``EXIT_*`` constants (a unit test checks it): the
supervisor sits below ``forno.api`` in the layers and must not import it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_APP_LOAD = 3  # the app could not be imported: respawning cannot help
EXIT_BOOT = 4  # the worker could not start serving (lifespan startup failed, bind failed)

BOOT_EXIT_CODES = (EXIT_APP_LOAD, EXIT_BOOT)
