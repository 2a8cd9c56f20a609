"""The command line: app loading errors, interface detection, lifespan, signals, config sources."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.server import APPS_DIR, REPO_ROOT, serve


def run_forno(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forno", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module:app", "could not import module 'no_such_module'"),
        ("lifespan_apps:missing", "attribute 'missing' not found in module 'lifespan_apps'"),
        ("broken_import:app", "importing 'broken_import' failed: RuntimeError"),
        ("lifespan_apps:broken_import_attr", "is not callable"),
        ("nocolon", "must be in the form 'module:attribute'"),
    ],
)
def test_bad_import_string_one_line_error(target: str, message: str) -> None:
    result = run_forno(target, "--app-dir", str(APPS_DIR), "--port", "0")
    assert result.returncode == 3
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_traceback_flag_shows_details() -> None:
    result = run_forno(
        "broken_import:app", "--app-dir", str(APPS_DIR), "--traceback", "--port", "0"
    )
    assert result.returncode == 3
    assert "Traceback" in result.stderr


def test_bad_setting_value_names_the_setting() -> None:
    result = run_forno("--port", "notaport")
    assert result.returncode == 2
    assert "port: expected an integer" in result.stderr
    result = run_forno(env={"FORNO_NO_SUCH_THING": "1"})
    assert result.returncode == 2
    assert "FORNO_NO_SUCH_THING: unknown setting" in result.stderr


def test_config_file_env_and_flag_precedence(tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "forno.toml"
    config.write_text('root_path = "/from-file"\n[http]\nserver_header = false\n')
    with serve(
        "basic_asgi:app",
        "--config",
        str(config),
        env={"FORNO_ROOT_PATH": "/from-env"},
    ) as server:
        response = httpx.get(server.url + "/scope")
        assert "server" not in response.headers  # from the file
        assert response.json()["root_path"] == "/from-env"  # env beats file
    with serve(
        "basic_asgi:app",
        "--config",
        str(config),
        "--root-path",
        "/from-flag",
        env={"FORNO_ROOT_PATH": "/from-env"},
    ) as server:
        assert httpx.get(server.url + "/scope").json()["root_path"] == "/from-flag"


def test_unknown_key_in_config_file(tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "forno.toml"
    config.write_text("prot = 8000\n")
    result = run_forno("--config", str(config))
    assert result.returncode == 2
    assert "prot: unknown setting" in result.stderr


def test_version_flag_prints_version_and_exits() -> None:
    import forno

    for argv in (["--version"], ["--version", "--port", "notaport"], ["app:app", "--version"]):
        result = run_forno(*argv)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"forno {forno.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", forno.__version__)
    # The installed console script is the same command.
    script = Path(sys.executable).with_name("forno")
    if script.exists():
        out = subprocess.run(
            [str(script), "--version"], capture_output=True, text=True, timeout=30, check=True
        )
        assert out.stdout.startswith("forno ")


def test_help_groups_settings() -> None:
    result = run_forno("--help")
    assert result.returncode == 0
    for heading in ("What to serve", "Where to listen", "HTTPS", "Logging", "WebSockets"):
        assert heading in result.stdout
    assert "FORNO_KEEP_ALIVE_TIMEOUT" in result.stdout


def test_python_dash_m_and_demo_app() -> None:
    with serve("forno.demo:app") as server:
        page = httpx.get(server.url + "/")
        assert "forno is running" in page.text
        assert httpx.get(server.url + "/nonblocking").json()["handler"] == "nonblocking"


def test_factory_and_asgi2_detection() -> None:
    with serve("lifespan_apps:factory", "--factory") as server:
        assert httpx.get(server.url + "/").text == "ok"
    with serve("lifespan_apps:ASGI2App") as server:
        assert httpx.get(server.url + "/").text == "asgi2"
        server.wait_for_log("(asgi2,")


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("lifespan_apps:failing_startup", "database unreachable"),
        ("lifespan_apps:raising_startup", "startup exploded"),
    ],
)
def test_lifespan_startup_failure_exits_nonzero(app: str, message: str) -> None:
    args = [app, "--app-dir", str(APPS_DIR), "--port", "0"]
    if "raising" in app:
        args += ["--lifespan", "on"]
    result = run_forno(*args)
    assert result.returncode == 4
    assert message in result.stderr


def test_lifespan_auto_tolerates_apps_without_it() -> None:
    with serve("lifespan_apps:no_lifespan") as server:
        assert httpx.get(server.url + "/").text == "ok"


def test_lifespan_shutdown_runs_on_sigterm() -> None:
    with serve("basic_asgi:app") as server:
        assert httpx.get(server.url + "/fast").text == "fast"
        server.signal(signal.SIGTERM)
        assert server.process.wait(15) == 0
        assert "lifespan shutdown ran" in server.log()


def test_graceful_shutdown_completes_in_flight_request() -> None:
    with serve("basic_asgi:app") as server, httpx.Client() as client:
        result: dict[str, object] = {}

        def slow() -> None:
            result["response"] = client.get(server.url + "/slow-logged").text

        thread = threading.Thread(target=slow)
        thread.start()
        server.wait_for_log("slow request started")
        server.signal(signal.SIGTERM)
        thread.join(15)
        assert result["response"] == "slow"
        assert server.process.wait(15) == 0


def test_graceful_timeout_cancels_stuck_requests() -> None:
    with serve("basic_asgi:app", "--graceful-timeout", "1") as server:
        import socket

        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
        assert httpx.get(server.url + "/fast").text == "fast"
        server.signal(signal.SIGTERM)
        assert server.process.wait(15) == 0
        assert "graceful timeout" in server.log()
        sock.close()
