"""The supervisor's main loop: workers in, workers out, one event at a time.

Signal handlers only enqueue (``signals.py``). Everything else happens here, in one thread, in
``loop()``: wait on a few pipes, then dispatch signals, reap children, read worker notices,
check heartbeats, deadlines and memory, and finally ``manage()`` the pool towards its target:
the right number of workers, all of the current generation.

Replacing a worker that is still serving (SIGHUP, ``--reload``, max-requests, max-worker-memory)
is always make-before-break, one worker at a time: fork the replacement, wait for its "ready"
notice, and only then ask the old one to drain (SIGTERM). A worker that died is replaced at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import selectors
import signal
import time

from forno.config import Config
from forno.supervisor.boot import judge_boot_failure
from forno.supervisor.channel import Notice, NoticeChannel
from forno.supervisor.health import heavy_workers, silent_workers
from forno.supervisor.heartbeat import Heartbeat, beat_interval
from forno.supervisor.pidfile import PidFile
from forno.supervisor.pool import plan
from forno.supervisor.process import State, WorkerProcess
from forno.supervisor.procinfo import can_read_rss, describe_status, reap_child
from forno.supervisor.reload import Reloader
from forno.supervisor.signals import SignalQueue, reset_in_child
from forno.supervisor.sockets import Listeners, prepare_listeners
from forno.supervisor.worker import WorkerContext, fork_worker

logger = logging.getLogger("forno.supervisor")

STOP_MARGIN = 5.0  # beyond the graceful timeout, for lifespan shutdown, before SIGKILL
MAX_KILL_GRACE = 3.0  # SIGTERM -> SIGKILL for a worker whose heartbeat went silent
MEMORY_CHECK_SECONDS = 1.0
MAX_WATCHER_RESTARTS = 3


class Arbiter:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.target = config.workers.workers
        self.workers: dict[int, WorkerProcess] = {}
        self.generation = 0
        self.signals = SignalQueue()
        self.channel = NoticeChannel()
        self.listeners = Listeners()
        self.reloader = Reloader(config) if config.workers.reload else None
        self.pidfile = PidFile(config.workers.pid)
        self.pid = os.getpid()
        self.stopping = False
        self.exit_code = 0
        self.boot_failures = 0
        self.spawn_after = 0.0  # back-off after a failed boot
        self.wait_for_change = False  # --reload: the code is broken until the next change
        self.next_memory_check = 0.0
        self.watcher_failures = 0
        self.tick = beat_interval(config.workers.worker_timeout)
        self.random = random.Random()  # noqa: S311 - spreading restarts, not secrets

    # ---- running --------------------------------------------------------------------------

    def run(self) -> int:
        self.pidfile.write(self.pid)
        try:
            self.signals.install()
            if self.reloader is not None:
                self.reloader.start(self.prepare_watcher)
            self.listeners = prepare_listeners(self.config)
            mode = "reuse-port" if self.listeners.per_worker else "shared sockets"
            logger.info(
                "supervisor %d: listening on %s; starting %d worker(s) (%s)",
                self.pid,
                self.listeners.describe(),
                self.target,
                mode,
            )
            if self.config.workers.max_worker_memory and not can_read_rss():
                logger.warning("max-worker-memory: cannot read process memory here; ignored")
            self.manage()
            self.loop()
        finally:
            self.cleanup()
        logger.info("supervisor %d: exiting with code %d", self.pid, self.exit_code)
        return self.exit_code

    def loop(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.signals.read_fd, selectors.EVENT_READ)
        selector.register(self.channel.read_fd, selectors.EVENT_READ)
        if self.reloader is not None:
            selector.register(self.reloader.read_fd, selectors.EVENT_READ)
        try:
            while True:
                selector.select(self.next_timeout())
                for signum in self.signals.pop_all():
                    self.dispatch(signum)
                self.reap()
                for notice, pid in self.channel.receive():
                    self.on_notice(notice, pid)
                if self.reloader is not None and self.reloader.changed():
                    self.on_files_changed()
                self.enforce_kill_deadlines()
                if self.stopping:
                    if not self.workers:
                        return
                    continue
                self.check_heartbeats()
                self.check_memory()
                self.manage()
        finally:
            selector.close()

    def next_timeout(self) -> float:
        timeout = self.tick
        now = time.monotonic()
        for worker in self.workers.values():
            if worker.kill_at is not None and not worker.killed:
                timeout = min(timeout, max(0.0, worker.kill_at - now))
        if self.spawn_after > now:
            timeout = min(timeout, self.spawn_after - now)
        return timeout

    def cleanup(self) -> None:
        for worker in list(self.workers.values()):  # only after an unexpected error
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
        if self.reloader is not None:
            self.reloader.stop()
            reap_child(self.reloader.pid)
        self.listeners.close()
        self.signals.uninstall()
        self.signals.close()
        self.channel.close()
        self.pidfile.remove(self.pid)

    # ---- signals ----------------------------------------------------------------------------

    def dispatch(self, signum: int) -> None:
        handler = {
            signal.SIGTERM: self.handle_stop,
            signal.SIGINT: self.handle_stop,
            signal.SIGHUP: self.handle_hup,
            signal.SIGTTIN: self.handle_ttin,
            signal.SIGTTOU: self.handle_ttou,
        }.get(signal.Signals(signum))
        if handler is not None:
            handler(signal.Signals(signum))

    def handle_stop(self, signum: signal.Signals) -> None:
        if self.stopping:
            logger.warning("%s again: workers stop now, without waiting", signum.name)
            for worker in self.workers.values():
                self.send(worker, signal.SIGTERM)
                soon = time.monotonic() + MAX_KILL_GRACE
                worker.kill_at = soon if worker.kill_at is None else min(worker.kill_at, soon)
            return
        logger.info("%s received: stopping %d worker(s) gracefully", signum.name, len(self.workers))
        self.begin_stop()

    def handle_hup(self, signum: signal.Signals) -> None:
        self.generation += 1
        self.reset_boot_state()
        logger.info("SIGHUP: rolling restart of %d worker(s), one at a time", self.target)

    def handle_ttin(self, signum: signal.Signals) -> None:
        self.target += 1
        logger.info("SIGTTIN: %d worker(s) wanted", self.target)

    def handle_ttou(self, signum: signal.Signals) -> None:
        if self.target > 1:
            self.target -= 1
        logger.info("SIGTTOU: %d worker(s) wanted", self.target)

    def on_files_changed(self) -> None:
        self.generation += 1
        self.reset_boot_state()
        logger.info("reload: restarting %d worker(s)", self.target)

    def reset_boot_state(self) -> None:
        self.boot_failures = 0
        self.spawn_after = 0.0
        self.wait_for_change = False

    def begin_stop(self) -> None:
        self.stopping = True
        deadline = time.monotonic() + self.config.http.graceful_timeout + STOP_MARGIN
        for worker in self.workers.values():
            if worker.state is not State.STOPPING:
                worker.state = State.STOPPING
                worker.kill_at = deadline
                self.send(worker, signal.SIGTERM)

    def halt(self, code: int, reason: str) -> None:
        logger.critical("%s: stopping the server (exit code %d)", reason, code)
        self.exit_code = code
        self.begin_stop()

    # ---- workers: spawn, stop, reap -------------------------------------------------------

    def spawn(self) -> WorkerProcess:
        w = self.config.workers
        max_requests = w.max_requests
        if max_requests and w.max_requests_jitter:
            max_requests += self.random.randint(0, w.max_requests_jitter)
        heartbeat = Heartbeat()
        context = WorkerContext(
            self.config, self.listeners, heartbeat, self.channel, self.pid, max_requests
        )
        pid = fork_worker(context, self.prepare_child)
        worker = WorkerProcess(pid, heartbeat, self.generation)
        self.workers[pid] = worker
        logger.info("worker %d: started", pid)
        return worker

    def forget_supervisor(self) -> None:
        """First thing in a forked child: none of the supervisor's handlers, pipes or maps."""
        reset_in_child(self.signals)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        self.channel.close_read_end()
        for worker in self.workers.values():
            worker.heartbeat.close()

    def prepare_child(self) -> None:
        self.forget_supervisor()
        if self.reloader is not None:
            self.reloader.close_in_child()

    def prepare_watcher(self) -> None:
        self.forget_supervisor()
        self.listeners.release()

    def send(self, worker: WorkerProcess, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signum)

    def stop_worker(self, worker: WorkerProcess, reason: str) -> None:
        """Graceful: the worker stops accepting, finishes in-flight requests and exits."""
        if worker.state is State.STOPPING:
            return
        logger.info("worker %d: stopping (%s)", worker.pid, reason)
        worker.state = State.STOPPING
        worker.kill_at = time.monotonic() + self.config.http.graceful_timeout + STOP_MARGIN
        self.send(worker, signal.SIGTERM)

    def enforce_kill_deadlines(self) -> None:
        now = time.monotonic()
        for worker in self.workers.values():
            if worker.kill_at is not None and now >= worker.kill_at and not worker.killed:
                logger.warning("worker %d: did not exit in time, sending SIGKILL", worker.pid)
                worker.killed = True
                self.send(worker, signal.SIGKILL)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.reloader is not None and pid == self.reloader.pid:
                _, how = describe_status(status)
                if not self.stopping:
                    self.watcher_failures += 1
                    if self.watcher_failures > MAX_WATCHER_RESTARTS:
                        logger.error("reload: the file watcher exited (%s); reload is off", how)
                    else:
                        logger.error("reload: the file watcher exited (%s); restarting it", how)
                        self.reloader.start(self.prepare_watcher)
                continue
            worker = self.workers.pop(pid, None)
            if worker is not None:
                self.on_worker_exit(worker, status)

    def on_worker_exit(self, worker: WorkerProcess, status: int) -> None:
        code, how = describe_status(status)
        worker.heartbeat.close()
        worker.unlink()
        expected = worker.state is State.STOPPING and not worker.timed_out
        if expected:
            log = logger.info if code == 0 else logger.warning
            log("worker %d: exited (%s)", worker.pid, how)
            return
        if self.stopping:
            logger.info("worker %d: exited (%s)", worker.pid, how)
            return
        if not worker.was_ready and worker.generation == self.generation:
            self.on_boot_failure(worker, code, how)
            return
        cause = "heartbeat timeout" if worker.timed_out else how
        logger.error("worker %d: died (%s); replacing it", worker.pid, cause)

    def on_boot_failure(self, worker: WorkerProcess, code: int, how: str) -> None:
        self.boot_failures += 1
        verdict = judge_boot_failure(
            code,
            how,
            failures=self.boot_failures,
            serving=any(w.state is State.READY for w in self.workers.values()),
            reloading=self.reloader is not None,
        )
        if verdict.halt_code is not None:
            self.halt(verdict.halt_code, f"worker {worker.pid}: {verdict.reason}")
            return
        self.abandon_replacements()
        if verdict.wait_for_change:
            logger.error(
                "worker %d: %s; waiting for a file change to retry", worker.pid, verdict.reason
            )
            self.wait_for_change = True
            return
        logger.error(
            "worker %d: %s (%d in a row); keeping the running workers, retrying in %.1fs",
            worker.pid,
            verdict.reason,
            self.boot_failures,
            verdict.retry_in,
        )
        self.spawn_after = time.monotonic() + verdict.retry_in

    def abandon_replacements(self) -> None:
        """The new code does not boot: the running workers keep serving the code they have."""
        for worker in self.workers.values():
            if worker.state is not State.STOPPING:
                worker.generation = self.generation
                worker.recycle = None

    # ---- worker reports and checks ----------------------------------------------------------

    def on_notice(self, notice: Notice, pid: int) -> None:
        worker = self.workers.get(pid)
        if worker is None:
            return
        if notice is Notice.READY:
            if worker.state is State.BOOTING:
                worker.state = State.READY
            worker.was_ready = True
            self.boot_failures = 0
            logger.info("worker %d: ready", pid)
            old = worker.replaces
            if old is not None:
                worker.unlink()
                self.stop_worker(old, f"replaced by worker {pid}")
        elif notice is Notice.RECYCLE and worker.recycle is None:
            worker.recycle = "max-requests reached"

    def check_heartbeats(self) -> None:
        timeout = self.config.workers.worker_timeout
        grace = min(MAX_KILL_GRACE, self.config.http.graceful_timeout)
        for worker, silent in silent_workers(self.workers.values(), timeout):
            logger.error(
                "worker %d: no heartbeat for %.1fs (worker-timeout %gs): killing it",
                worker.pid,
                silent,
                timeout,
            )
            worker.timed_out = True
            worker.state = State.STOPPING
            worker.kill_at = time.monotonic() + grace
            self.send(worker, signal.SIGTERM)

    def check_memory(self) -> None:
        limit = self.config.workers.max_worker_memory
        now = time.monotonic()
        if not limit or now < self.next_memory_check:
            return
        self.next_memory_check = now + MEMORY_CHECK_SECONDS
        for worker, rss in heavy_workers(self.workers.values(), limit):
            logger.warning(
                "worker %d: RSS %.0f MiB is over max-worker-memory (%d MiB): recycling it",
                worker.pid,
                rss,
                limit,
            )
            worker.recycle = "max-worker-memory exceeded"

    # ---- the pool ---------------------------------------------------------------------------

    def manage(self) -> None:
        """Move the pool one step towards ``target`` workers of the current generation."""
        if self.stopping:
            return
        may_spawn = not self.wait_for_change and time.monotonic() >= self.spawn_after
        step = plan(self.workers.values(), self.target, self.generation, may_spawn=may_spawn)
        for _ in range(step.spawn):
            self.spawn()
        for worker in step.stop:
            self.stop_worker(worker, "fewer workers wanted")
        old = step.replace
        if old is not None:
            new = self.spawn()
            new.replaces, old.replaced_by = old, new
            why = old.recycle or "restart"
            logger.info("worker %d: replacing worker %d (%s)", new.pid, old.pid, why)


def run_supervisor(config: Config) -> int:
    """Run the supervisor until it is stopped; returns the process exit code."""
    return Arbiter(config).run()


__all__ = ["Arbiter", "run_supervisor"]
