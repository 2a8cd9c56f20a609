"""``--pid FILE``: the supervisor's PID, written at start and removed at exit."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from forno.errors import ConfigError


class PidFile:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, pid: int) -> None:
        if self.path is None:
            return
        temporary = self.path.with_name(f".{self.path.name}.{pid}.tmp")
        try:
            temporary.write_text(f"{pid}\n")
            os.replace(temporary, self.path)  # readers never see a half-written file
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise ConfigError(f"pid: cannot write {self.path}: {exc.strerror or exc}") from exc

    def remove(self, pid: int) -> None:
        """Remove the file if it still names ``pid`` (a newer server may have replaced it)."""
        if self.path is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if int(self.path.read_text().strip()) == pid:
                self.path.unlink()
