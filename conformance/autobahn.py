#!/usr/bin/env python3
"""Run the Autobahn|Testsuite WebSocket fuzzing client against an echo server.

Usage (from anywhere; paths are resolved relative to this file)::

    python conformance/autobahn.py                  # forno + conformance/echo_app.py, cases 1-13
    python conformance/autobahn.py --quick          # same without groups 12 and 13 (compression)
    python conformance/autobahn.py --server-cmd \\
        "uvicorn --app-dir conformance echo_app:app --port {port} --ws wsproto"

Steps: install ``wstest`` (Python 2.7 only) into ``conformance/.work/venv27`` if needed, start
the server on a free 127.0.0.1 port, run ``wstest -m fuzzingclient``, then summarise
``conformance/.work/reports/servers/index.json`` per case group.  Exit status is 0 only if no
case FAILED (behaviour or close behaviour), the report covers every planned case and the
server stayed up for the whole run.  Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

CONFORMANCE_DIR = Path(__file__).resolve().parent
REPO_ROOT = CONFORMANCE_DIR.parent
WORK_DIR = CONFORMANCE_DIR / ".work"
VENV27 = WORK_DIR / "venv27"
VIRTUALENV_DIR = WORK_DIR / "virtualenv-py27"
CONSTRAINTS = CONFORMANCE_DIR / "autobahn-constraints.txt"
INSTALL_STAMP = VENV27 / ".forno-installed"
REPORT_DIR = WORK_DIR / "reports" / "servers"
SPEC_FILE = WORK_DIR / "spec.json"
SERVER_LOG = WORK_DIR / "server.log"
WSTEST_LOG = WORK_DIR / "wstest.log"
LOCK_FILE = WORK_DIR / ".lock"

WSTEST_VERSION = "25.10.1"
VIRTUALENV_SPEC = "virtualenv<20.22"
PYTHON27_VERSION = "2.7.18"
COMPRESSION_GROUPS = ("12.*", "13.*")

# Behaviour values written by wstest into index.json.
OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
FAILED = "FAILED"
COLUMNS = (OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED)
CLOSE_PASSING = (OK, INFORMATIONAL, UNIMPLEMENTED)
CLOSE_WARNINGS = ("WRONG CODE", "FAILED BY CLIENT")

# Planned case ids, computed by wstest's own case selection (wildcards and exclusions)
# inside the Python 2.7 environment.  Reads the spec path from argv, prints a JSON list.
PLAN_SNIPPET = """
import json, sys
from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories
from autobahntestsuite.case import CaseSetname, CaseBasename
from autobahntestsuite.caseset import CaseSet
with open(sys.argv[1]) as f:
    spec = json.load(f)
case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
ids = case_set.parseSpecCases(spec)
unknown = [i for i in ids if i not in case_set.CasesById]
if unknown:
    sys.exit("unknown case id(s): " + " ".join(unknown))
print(json.dumps(ids))
"""


class ConformanceError(Exception):
    """A setup problem that stops the run before a report exists."""


def log(message: str) -> None:
    print(f"[autobahn] {message}", flush=True)


def lock_work_dir() -> TextIO:
    """Hold an exclusive lock on conformance/.work for the whole run.

    Two runs would share spec.json, the logs and the report directory, and each would remove
    the other's report; the second one stops here instead.
    """
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    handle = LOCK_FILE.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ConformanceError(
            f"another autobahn.py run (pid {holder}) is using {WORK_DIR}; wait for it to end"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


# --------------------------------------------------------------------------- installation


def find_python27(explicit: str | None) -> Path:
    """Locate a CPython 2.7 interpreter (wstest runs on nothing else)."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    env = os.environ.get("AUTOBAHN_PYTHON27")
    if env:
        candidates.append(Path(env))
    pyenv_root = os.environ.get("PYENV_ROOT")
    if not pyenv_root and shutil.which("pyenv"):
        try:
            pyenv_root = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pyenv_root = None
    for root in filter(None, (pyenv_root, str(Path.home() / ".pyenv"))):
        candidates.append(Path(root) / "versions" / PYTHON27_VERSION / "bin" / "python")
    which = shutil.which("python2.7")
    if which:
        candidates.append(Path(which))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ConformanceError(
        "no Python 2.7 interpreter found (tried: "
        + ", ".join(str(c) for c in candidates)
        + "); pass --python27 or set AUTOBAHN_PYTHON27"
    )


def wstest_path() -> Path:
    return VENV27 / "bin" / "wstest"


def venv27_python() -> Path:
    return VENV27 / "bin" / "python"


def install_fingerprint() -> str:
    digest = hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()
    return f"autobahntestsuite=={WSTEST_VERSION} constraints-sha256={digest}\n"


def run_step(cmd: Sequence[str | Path], *, env: dict[str, str] | None = None) -> None:
    printable = " ".join(shlex.quote(str(c)) for c in cmd)
    log(f"$ {printable}")
    result = subprocess.run(
        [str(c) for c in cmd],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:])
        sys.stderr.write(result.stderr[-4000:])
        raise ConformanceError(f"command failed with exit status {result.returncode}: {printable}")


def ensure_wstest(python27_hint: str | None) -> None:
    """Install wstest into conformance/.work/venv27 unless an identical install is there."""
    fingerprint = install_fingerprint()
    if (
        wstest_path().exists()
        and INSTALL_STAMP.exists()
        and INSTALL_STAMP.read_text() == fingerprint
    ):
        return
    started = time.monotonic()
    python27 = find_python27(python27_hint)
    log(f"installing wstest {WSTEST_VERSION} into {VENV27} (Python 2.7: {python27})")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(VENV27, ignore_errors=True)
    shutil.rmtree(VIRTUALENV_DIR, ignore_errors=True)
    # The interpreter has no virtualenv module; the last virtualenv line able to create
    # 2.7 environments is installed beside it, resolved by the 2.7 pip itself so that its
    # dependencies are 2.7-compatible too.
    run_step(
        [
            python27,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            VIRTUALENV_DIR,
            VIRTUALENV_SPEC,
        ]
    )
    env = dict(os.environ, PYTHONPATH=str(VIRTUALENV_DIR))
    run_step([python27, "-m", "virtualenv", "--quiet", VENV27], env=env)
    run_step(
        [
            VENV27 / "bin" / "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            CONSTRAINTS,
            f"autobahntestsuite=={WSTEST_VERSION}",
        ]
    )
    if not wstest_path().exists():
        raise ConformanceError(f"installation finished but {wstest_path()} is missing")
    INSTALL_STAMP.write_text(fingerprint)
    log(f"wstest installed in {time.monotonic() - started:.0f} s")


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(template: str | None, port: int) -> list[str]:
    if template is None:
        return [
            sys.executable,
            "-m",
            "forno",
            "conformance.echo_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ]
    if "{port}" not in template:
        raise ConformanceError("--server-cmd must contain {port}")
    return [
        arg.replace("{port}", str(port)).replace("{python}", sys.executable)
        for arg in shlex.split(template)
    ]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Server:
    cmd: list[str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_file: TextIO | None = None
    exit_code: int | None = field(default=None)

    def start(self, startup_timeout: float) -> None:
        log(f"starting server: {shlex.join(self.cmd)}")
        self.log_file = SERVER_LOG.open("w")
        # Own session: the whole process group (server, its workers) can be signalled at once.
        self.process = subprocess.Popen(
            self.cmd,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConformanceError(
                    f"server exited with status {self.process.returncode} before listening"
                    f" on 127.0.0.1:{self.port}\n{tail(SERVER_LOG)}"
                )
            if port_open(self.port):
                log(f"server is listening on 127.0.0.1:{self.port} (pid {self.process.pid})")
                return
            time.sleep(0.1)
        raise ConformanceError(
            f"server did not listen on 127.0.0.1:{self.port} within {startup_timeout:.0f} s"
            f"\n{tail(SERVER_LOG)}"
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``grace`` seconds."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"server did not stop within {grace:.0f} s of SIGTERM; sending SIGKILL")
                signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
        # Workers left behind by a server that died or ignored SIGTERM.
        signal_group(proc, signal.SIGKILL)
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    if not text:
        return f"({path} is empty)"
    shown = "\n".join("    " + line for line in text[-lines:])
    return f"last lines of {path}:\n{shown}"


# --------------------------------------------------------------------------- wstest


def write_spec(port: int, agent: str, cases: list[str], exclude: list[str]) -> None:
    spec: dict[str, Any] = {
        "outdir": "./reports/servers",
        "servers": [{"agent": agent, "url": f"ws://127.0.0.1:{port}"}],
        "cases": cases,
        "exclude-cases": exclude,
        "exclude-agent-cases": {},
    }
    SPEC_FILE.write_text(json.dumps(spec, indent=2) + "\n")


def planned_cases() -> list[str]:
    """The case ids wstest will run for SPEC_FILE, from the suite's own selection logic."""
    result = subprocess.run(
        [str(venv27_python()), "-c", PLAN_SNIPPET, str(SPEC_FILE)],
        cwd=WORK_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise ConformanceError(f"could not list the planned cases:\n{result.stderr[-3000:]}")
    ids: list[str] = json.loads(result.stdout)
    if not ids:
        raise ConformanceError("the case selection is empty (check --cases / --exclude)")
    return ids


def run_wstest(server: Server, timeout: float) -> tuple[int | None, float]:
    """Run the fuzzing client; returns (exit status or None on timeout, seconds taken)."""
    cmd = [str(wstest_path()), "-m", "fuzzingclient", "-s", SPEC_FILE.name]
    log(f"running: {shlex.join(cmd)} (in {WORK_DIR}, timeout {timeout:.0f} s)")
    started = time.monotonic()
    last_note = started
    server_death_noted = False
    with WSTEST_LOG.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=WORK_DIR,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while True:
                try:
                    code = proc.wait(timeout=1.0)
                    return code, time.monotonic() - started
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if not server.alive() and not server_death_noted:
                    server_death_noted = True
                    log("the server exited while wstest was running")
                if now - started > timeout:
                    log(f"wstest did not finish within {timeout:.0f} s; killing it")
                    return None, now - started
                if now - last_note >= 30:
                    last_note = now
                    log(f"... wstest running for {now - started:.0f} s ({progress()})")
        finally:
            if proc.poll() is None:
                signal_group_any(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    signal_group_any(proc, signal.SIGKILL)
                    proc.wait(timeout=10)


def signal_group_any(proc: subprocess.Popen[Any], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def progress() -> str:
    """Last case wstest announced, read from its log."""
    try:
        lines = WSTEST_LOG.read_text(errors="replace").splitlines()
    except OSError:
        return "no output yet"
    for line in reversed(lines):
        if "Running test case ID" in line:
            return line.split("Running test case ID", 1)[1].strip().split(" ", 1)[0]
    return "no case started yet"


# --------------------------------------------------------------------------- report


def case_key(case_id: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in case_id.split("."))


@dataclass
class GroupStats:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    other: int = 0
    close_failed: int = 0
    close_warned: int = 0
    total: int = 0


@dataclass
class Summary:
    groups: dict[str, GroupStats]
    failed: list[str]
    close_failed: list[tuple[str, str]]
    close_warned: list[tuple[str, str]]
    other: list[tuple[str, str]]
    reported: set[str]


def read_report(agent: str) -> dict[str, dict[str, Any]]:
    index = REPORT_DIR / "index.json"
    if not index.exists():
        return {}
    data: dict[str, dict[str, dict[str, Any]]] = json.loads(index.read_text())
    if agent not in data:
        log(f"report has no results for agent {agent!r} (agents: {', '.join(data) or 'none'})")
        return {}
    return data[agent]


def summarise(results: dict[str, dict[str, Any]]) -> Summary:
    groups: dict[str, GroupStats] = {}
    failed: list[str] = []
    close_failed: list[tuple[str, str]] = []
    close_warned: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    for case_id in sorted(results, key=case_key):
        entry = results[case_id]
        stats = groups.setdefault(case_id.split(".", 1)[0], GroupStats())
        stats.total += 1
        behavior = str(entry.get("behavior", "?"))
        if behavior in stats.counts:
            stats.counts[behavior] += 1
        else:
            stats.other += 1
            other.append((case_id, behavior))
        if behavior == FAILED:
            failed.append(case_id)
        # The HTML report paints FAILED and UNCLEAN close behaviours red (failures), WRONG CODE
        # and FAILED BY CLIENT yellow (warnings); anything unknown is treated as a failure.
        close = str(entry.get("behaviorClose", "?"))
        if close in CLOSE_WARNINGS:
            stats.close_warned += 1
            close_warned.append((case_id, close))
        elif close not in CLOSE_PASSING:
            stats.close_failed += 1
            close_failed.append((case_id, close))
    return Summary(groups, failed, close_failed, close_warned, other, set(results))


def print_summary(summary: Summary, planned: list[str]) -> None:
    headers = (
        "group",
        *COLUMNS,
        "other",
        "close-FAILED",
        "close-warn",
        "reported",
        "planned",
    )
    planned_by_group: dict[str, int] = {}
    for case_id in planned:
        group = case_id.split(".", 1)[0]
        planned_by_group[group] = planned_by_group.get(group, 0) + 1

    def cells(name: str, stats: GroupStats, expected: int) -> tuple[str, ...]:
        return (
            name,
            *(str(stats.counts[c]) for c in COLUMNS),
            str(stats.other),
            str(stats.close_failed),
            str(stats.close_warned),
            str(stats.total),
            str(expected),
        )

    rows: list[tuple[str, ...]] = []
    totals = GroupStats()
    for group in sorted(set(summary.groups) | set(planned_by_group), key=case_key):
        stats = summary.groups.get(group, GroupStats())
        rows.append(cells(group, stats, planned_by_group.get(group, 0)))
        for c in COLUMNS:
            totals.counts[c] += stats.counts[c]
        totals.other += stats.other
        totals.close_failed += stats.close_failed
        totals.close_warned += stats.close_warned
        totals.total += stats.total
    total_row = cells("all", totals, len(planned))
    widths = [max(len(h), *(len(r[i]) for r in [*rows, total_row])) for i, h in enumerate(headers)]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )

    rule = fmt(["-" * w for w in widths])
    print()
    print(fmt(headers))
    print(rule)
    for row in rows:
        print(fmt(row))
    print(rule)
    print(fmt(total_row))
    print()
    if summary.failed:
        print(f"FAILED cases ({len(summary.failed)}): {' '.join(summary.failed)}")
    else:
        print("FAILED cases: none")
    if summary.close_failed:
        print(
            f"close behaviour FAILED/UNCLEAN ({len(summary.close_failed)}): "
            + " ".join(f"{c} ({b})" for c, b in summary.close_failed)
        )
    if summary.close_warned:
        print(
            f"close behaviour warnings ({len(summary.close_warned)}): "
            + " ".join(f"{c} ({b})" for c, b in summary.close_warned)
        )
    if summary.other:
        print(
            f"unexpected behaviour values ({len(summary.other)}): "
            + " ".join(f"{c} ({b})" for c, b in summary.other)
        )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run the Autobahn|Testsuite fuzzing client (cases 1-13) against an "
        "ASGI WebSocket echo server and summarise the results.",
    )
    parser.add_argument(
        "--server-cmd",
        help="command that starts the server, with {port} where the port goes ({python} is "
        "replaced by this interpreter); run from the repository root. "
        "Default: forno serving conformance/echo_app.py",
    )
    parser.add_argument(
        "--agent",
        help="name of the server in the report (default: forno, or the first word of --server-cmd)",
    )
    parser.add_argument(
        "--cases",
        help="comma-separated case ids or wildcards, e.g. '1.*,7.1.5' (default: '*')",
    )
    parser.add_argument(
        "--exclude",
        default="",
        help="comma-separated case ids or wildcards to leave out, e.g. '9.*'",
    )
    parser.add_argument(
        "--quick",
        "--no-compression",
        dest="quick",
        action="store_true",
        help="leave out groups 12 and 13 (permessage-deflate; ~98%% of a full run)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds allowed for wstest (default: 300 with --quick, 2400 otherwise)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the server to listen (default: 30)",
    )
    parser.add_argument("--python27", help="Python 2.7 interpreter used to build the venv")
    parser.add_argument(
        "--install-only", action="store_true", help="install wstest if needed, then exit"
    )
    return parser.parse_args(argv)


def split_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def default_agent(server_cmd: str | None) -> str:
    """forno, or the program (or ``-m`` module) named by --server-cmd."""
    if server_cmd is None:
        return "forno"
    words = shlex.split(server_cmd)
    name = Path(words[0]).name
    if (name == "{python}" or name.startswith("python")) and words[1:2] == ["-m"]:
        return words[2] if len(words) > 2 else name
    return name


def _terminate(signum: int, _frame: object) -> None:
    # Unwind through the finally blocks so the server and wstest are stopped.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        lock = lock_work_dir()
    except ConformanceError as exc:
        log(f"error: {exc}")
        return 2
    with lock:
        return run(args)


def run(args: argparse.Namespace) -> int:
    cases = split_list(args.cases) or ["*"]
    exclude = split_list(args.exclude)
    if args.quick:
        exclude += [g for g in COMPRESSION_GROUPS if g not in exclude]
    timeout: float = args.timeout if args.timeout else (300.0 if args.quick else 2400.0)
    agent: str = args.agent or default_agent(args.server_cmd)

    try:
        ensure_wstest(args.python27)
        if args.install_only:
            log(f"wstest is installed: {wstest_path()}")
            return 0
        port = free_port()
        server = Server(server_command(args.server_cmd, port), port)
        write_spec(port, agent, cases, exclude)
        planned = planned_cases()
        log(f"{len(planned)} cases planned (cases {cases}, excluded {exclude or 'none'})")
        shutil.rmtree(REPORT_DIR, ignore_errors=True)
        try:
            server.start(args.startup_timeout)
            code, elapsed = run_wstest(server, timeout)
            server_died = not server.alive()
            if server_died and server.process is not None:
                server.exit_code = server.process.returncode
        finally:
            server.stop()
    except ConformanceError as exc:
        log(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130

    results = read_report(agent)
    summary = summarise(results)
    print_summary(summary, planned)
    missing = [c for c in planned if c not in summary.reported]

    problems: list[str] = []
    if code is None:
        problems.append(f"wstest timed out after {timeout:.0f} s")
    elif code != 0:
        problems.append(f"wstest exited with status {code} (log: {WSTEST_LOG})")
    if server_died:
        problems.append(
            f"the server died during the run (exit status {server.exit_code})\n{tail(SERVER_LOG)}"
        )
    if not results:
        problems.append(f"no report at {REPORT_DIR / 'index.json'}")
    elif missing:
        shown = " ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        problems.append(
            f"partial report: {len(summary.reported)} of {len(planned)} planned cases"
            f" ({len(missing)} missing: {shown})"
        )
    if summary.failed:
        problems.append(f"{len(summary.failed)} case(s) FAILED")
    if summary.close_failed:
        problems.append(f"{len(summary.close_failed)} case(s) with a FAILED/UNCLEAN close")
    if summary.other:
        problems.append(f"{len(summary.other)} case(s) with an unexpected behaviour value")

    print(f"\nwstest took {elapsed:.1f} s; report: {REPORT_DIR / 'index.html'}")
    if problems:
        for problem in problems:
            print(f"PROBLEM: {problem}")
        return 1
    print(f"PASS: {len(planned)} cases, none FAILED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
