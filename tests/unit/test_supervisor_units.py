"""The supervisor's pure parts: pool plan, boot-failure verdicts, reload filter, notices."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forno import errors
from forno.supervisor.boot import MAX_BOOT_FAILURES, judge_boot_failure
from forno.supervisor.channel import Notice, NoticeChannel
from forno.supervisor.heartbeat import Heartbeat, beat_interval
from forno.supervisor.pool import plan
from forno.supervisor.process import State, WorkerProcess
from forno.supervisor.procinfo import describe_status, rss_mib
from forno.supervisor.reload import ReloadFilter


@pytest.fixture
def beat() -> Heartbeat:
    return Heartbeat()


def worker(
    heartbeat: Heartbeat, pid: int, state: State = State.READY, generation: int = 0
) -> WorkerProcess:
    return WorkerProcess(pid, heartbeat, generation, started=float(pid), state=state)


def test_plan_spawns_missing_workers(beat: Heartbeat) -> None:
    workers = [worker(beat, 1), worker(beat, 2, State.STOPPING)]
    assert plan(workers, 3, 0, may_spawn=True).spawn == 2
    assert plan(workers, 3, 0, may_spawn=False).spawn == 0


def test_plan_stops_extra_workers_outdated_then_oldest(beat: Heartbeat) -> None:
    a, b, c = (
        worker(beat, 1, generation=1),
        worker(beat, 2, generation=0),
        worker(beat, 3, generation=1),
    )
    assert plan([a, b, c], 2, 1, may_spawn=True).stop == [b]
    assert plan([a, b, c], 1, 1, may_spawn=True).stop == [b, a]


def test_plan_replaces_one_outdated_worker_at_a_time(beat: Heartbeat) -> None:
    a, b = worker(beat, 1), worker(beat, 2)
    assert plan([a, b], 2, 1, may_spawn=True).replace is a
    new = worker(beat, 3, State.BOOTING, generation=1)
    new.replaces, a.replaced_by = a, new
    step = plan([a, b, new], 2, 1, may_spawn=True)  # a + its replacement fill one slot
    assert (step.spawn, step.stop, step.replace) == (0, [], None)
    new.state = State.READY
    new.unlink()
    a.state = State.STOPPING
    assert plan([a, b, new], 2, 1, may_spawn=True).replace is b


def test_plan_replaces_a_worker_asking_to_be_recycled(beat: Heartbeat) -> None:
    a, b = worker(beat, 1), worker(beat, 2)
    b.recycle = "max-requests reached"
    assert plan([a, b], 2, 0, may_spawn=True).replace is b
    assert plan([a, b], 2, 0, may_spawn=False).replace is None
    booting = worker(beat, 3, State.BOOTING)
    booting.recycle = "x"
    assert plan([a, booting], 2, 0, may_spawn=True).replace is None


def test_boot_failure_with_nobody_serving_halts_with_the_code() -> None:
    verdict = judge_boot_failure(3, "exit code 3", failures=1, serving=False, reloading=False)
    assert verdict.halt_code == 3
    assert verdict.reason == "the app could not be loaded"
    verdict = judge_boot_failure(4, "exit code 4", failures=1, serving=False, reloading=False)
    assert verdict.halt_code == 4


def test_boot_failure_while_serving_retries_then_gives_up() -> None:
    first = judge_boot_failure(3, "exit code 3", failures=1, serving=True, reloading=False)
    assert first.halt_code is None
    assert first.retry_in > 0
    crash = judge_boot_failure(
        -9, "killed by SIGKILL", failures=MAX_BOOT_FAILURES, serving=True, reloading=False
    )
    assert crash.halt_code == errors.EXIT_BOOT


def test_boot_failure_under_reload_waits_for_a_change() -> None:
    verdict = judge_boot_failure(3, "exit code 3", failures=50, serving=False, reloading=True)
    assert verdict.wait_for_change
    assert verdict.halt_code is None


def test_reload_filter(tmp_path: Path) -> None:
    flt = ReloadFilter([tmp_path], ["*.py", "*.html"], [".*", "__pycache__", "*~"])
    assert flt(None, str(tmp_path / "app.py"))
    assert flt(None, str(tmp_path / "templates" / "index.html"))
    assert not flt(None, str(tmp_path / "notes.txt"))
    assert not flt(None, str(tmp_path / ".git" / "hooks.py"))
    assert not flt(None, str(tmp_path / "__pycache__" / "app.py"))
    assert not flt(None, str(tmp_path / "app.py~"))
    hidden_root = tmp_path / ".cache" / "project"
    assert ReloadFilter([hidden_root], ["*.py"], [".*"])(None, str(hidden_root / "app.py"))


def test_notices_round_trip() -> None:
    channel = NoticeChannel()
    try:
        channel.send(Notice.READY)
        channel.send(Notice.RECYCLE)
        os.write(channel.write_fd, b"R 12")  # a partial line waits for its end
        assert channel.receive() == [(Notice.READY, os.getpid()), (Notice.RECYCLE, os.getpid())]
        os.write(channel.write_fd, b"3\nX 1\n")
        assert channel.receive() == [(Notice.READY, 123)]
    finally:
        channel.close()


def test_heartbeat_age(beat: Heartbeat) -> None:
    assert 0 <= beat.age() < 5
    assert beat_interval(30) == 1.0
    assert beat_interval(1) == 0.25


def test_process_facts() -> None:
    assert describe_status(0) == (0, "exit code 0")
    assert describe_status(3 << 8) == (3, "exit code 3")
    assert describe_status(9) == (-9, "killed by SIGKILL")
    rss = rss_mib(os.getpid())
    assert rss is None or rss > 1
