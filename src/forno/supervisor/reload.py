"""``--reload``: a watcher process that tells the supervisor when source files change.

The watcher is a forked child of the supervisor: watchfiles runs its own (Rust) thread, and the
supervisor must stay single-threaded so that forking workers stays safe. The watcher writes one
byte to a pipe per batch of changes; the supervisor selects on the read end. While idle it
blocks in the kernel's file notification (inotify), checking every ``step`` milliseconds whether
the supervisor is still alive.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from forno.config import Config

logger = logging.getLogger("forno.supervisor")


def watched_dirs(config: Config) -> list[Path]:
    """The app's directory (``--app-dir``, else the working directory) and ``--reload-dirs``."""
    base = config.app.app_dir if config.app.app_dir is not None else Path.cwd()
    dirs: list[Path] = []
    for candidate in (base, *config.workers.reload_dirs):
        path = Path(candidate).resolve()
        if not path.is_dir():
            logger.warning("reload: %s is not a directory; not watching it", path)
        elif path not in dirs:
            dirs.append(path)
    return dirs


class ReloadFilter:
    """A change counts if its file name matches an include pattern and no part of its path
    (below the watched directory) matches an exclude pattern."""

    def __init__(
        self, roots: Sequence[Path], include: Sequence[str], exclude: Sequence[str]
    ) -> None:
        self.roots = list(roots)
        self.include = list(include)
        self.exclude = list(exclude)

    def relative_parts(self, path: Path) -> tuple[str, ...]:
        for root in self.roots:
            with contextlib.suppress(ValueError):
                return path.relative_to(root).parts
        return (path.name,)

    def __call__(self, change: object, raw_path: str) -> bool:
        path = Path(raw_path)
        parts = self.relative_parts(path)
        for part in parts:
            if any(fnmatch.fnmatch(part, pattern) for pattern in self.exclude):
                return False
        return any(fnmatch.fnmatch(path.name, pattern) for pattern in self.include)


class _ParentGone:
    """A ``stop_event`` for watchfiles: set once the supervisor has died."""

    def __init__(self, parent: int) -> None:
        self.parent = parent

    def is_set(self) -> bool:
        return os.getppid() != self.parent


def watch_forever(config: Config, write_fd: int, parent: int) -> None:
    """The watcher process's body."""
    import watchfiles  # noqa: PLC0415

    dirs = watched_dirs(config)
    w = config.workers
    flt = ReloadFilter(dirs, w.reload_include, w.reload_exclude)
    logger.info("reload: watching %s", ", ".join(map(str, dirs)))
    for changes in watchfiles.watch(
        *dirs,
        watch_filter=flt,
        stop_event=_ParentGone(parent),
        raise_interrupt=False,
        debounce=1600,
        step=50,
    ):
        names = sorted({_short(Path(path), dirs) for _, path in changes})
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        logger.info("reload: %s changed", shown)
        try:
            os.write(write_fd, b"C")
        except OSError:
            return


def _short(path: Path, roots: Sequence[Path]) -> str:
    for root in roots:
        with contextlib.suppress(ValueError):
            return str(path.relative_to(root))
    return str(path)


class Reloader:
    """The supervisor's handle on its watcher process."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pid = 0
        self.read_fd = -1
        self._write_fd = -1

    def start(self, prepare_child: Callable[[], None]) -> None:
        """Fork the watcher. ``prepare_child`` runs first in the child (signal reset etc.)."""
        if self.read_fd < 0:
            self.read_fd, self._write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            code = 0
            try:
                prepare_child()
                with contextlib.suppress(OSError):
                    os.close(self.read_fd)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                watch_forever(self.config, self._write_fd, parent)
            except BaseException:
                logger.exception("reload: the file watcher failed")
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        self.pid = pid

    def changed(self) -> bool:
        """True if files changed since the last call."""
        seen = False
        with contextlib.suppress(BlockingIOError):
            while os.read(self.read_fd, 4096):
                seen = True
        return seen

    def close_in_child(self) -> None:
        for fd in (self.read_fd, self._write_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def stop(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        self.close_in_child()
