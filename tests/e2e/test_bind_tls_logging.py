"""Binding (TCP v4/v6, Unix sockets, --bind, --port 0), TLS, and logging."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from tests.support.raw import read_responses
from tests.support.server import serve


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_port_zero_and_several_binds(tmp_path: Path) -> None:
    uds = tmp_path / "forno.sock"
    args = ["--bind", "127.0.0.1:0", "--bind", f"unix:{uds}", "--uds-mode", "0o600"]
    if ipv6_available():
        args += ["--bind", "[::1]:0"]
    with serve("basic_asgi:app", *args, use_fd=False) as server:
        log = server.wait_for_log(f"unix:{uds}")
        ports = [
            int(line.rsplit(":", 1)[1].split(" ")[0])
            for line in log.splitlines()
            if "listening on http://127.0.0.1:" in line
        ]
        assert ports
        assert ports[0] != 0
        assert httpx.get(f"http://127.0.0.1:{ports[0]}/fast").text == "fast"
        transport = httpx.HTTPTransport(uds=str(uds))
        with httpx.Client(transport=transport) as client:
            assert client.get("http://forno/fast").text == "fast"
        assert oct(uds.stat().st_mode & 0o777) == "0o600"
        if ipv6_available():
            v6 = [
                int(line.rsplit(":", 1)[1].split(" ")[0])
                for line in log.splitlines()
                if "listening on http://[::1]:" in line
            ]
            assert httpx.get(f"http://[::1]:{v6[0]}/fast").text == "fast"
    assert not uds.exists()


def test_uds_flag_is_bind_unix(tmp_path: Path) -> None:
    # --uds PATH (uvicorn's name) is --bind unix:PATH: it replaces host/port, takes --uds-mode.
    uds = tmp_path / "alias.sock"
    with serve("basic_asgi:app", "--uds", str(uds), "--uds-mode", "0o600", use_fd=False) as server:
        log = server.wait_for_log(f"listening on unix:{uds}")
        assert "listening on http://" not in log
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(uds))) as client:
            assert client.get("http://forno/fast").text == "fast"
        assert oct(uds.stat().st_mode & 0o777) == "0o600"
        with socket.socket(socket.AF_UNIX) as raw:
            raw.settimeout(10)
            raw.connect(str(uds))
            raw.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            (response,) = read_responses(raw, 1).responses
        assert response.status == 200
        assert response.body == b"fast"
    assert not uds.exists()


def test_uds_flag_adds_to_bind(tmp_path: Path) -> None:
    uds = tmp_path / "both.sock"
    args = ["--bind", "127.0.0.1:0", "--uds", str(uds)]
    with serve("basic_asgi:app", *args, use_fd=False) as server:
        server.wait_for_log(f"unix:{uds}")
        log = server.wait_for_log("listening on http://127.0.0.1:")
        port = next(
            int(line.rsplit(":", 1)[1].split(" ")[0])
            for line in log.splitlines()
            if "listening on http://127.0.0.1:" in line
        )
        assert httpx.get(f"http://127.0.0.1:{port}/fast").text == "fast"
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(uds))) as client:
            assert client.get("http://forno/fast").text == "fast"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("client@example.com")
    directory = tmp_path_factory.mktemp("certs")
    paths = {
        "ca": directory / "ca.pem",
        "cert": directory / "cert.pem",
        "key": directory / "key.pem",
        "client": directory / "client.pem",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(paths["client"]))
    return paths


def test_tls_serves_https_with_scheme(certs: dict[str, Path]) -> None:
    with serve(
        "basic_asgi:app", "--ssl-certfile", str(certs["cert"]), "--ssl-keyfile", str(certs["key"])
    ) as server:
        context = ssl.create_default_context(cafile=str(certs["ca"]))
        url = f"https://127.0.0.1:{server.port}"
        with httpx.Client(verify=context) as client:
            scope = client.get(url + "/scope").json()
            assert scope["scheme"] == "https"
            assert client.post(url + "/echo", content=b"secret").content == b"secret"


def test_tls_client_certificate_required(certs: dict[str, Path]) -> None:
    with serve(
        "basic_asgi:app",
        "--ssl-certfile",
        str(certs["cert"]),
        "--ssl-keyfile",
        str(certs["key"]),
        "--ssl-ca-certs",
        str(certs["ca"]),
        "--ssl-cert-reqs",
        "required",
    ) as server:
        url = f"https://127.0.0.1:{server.port}/fast"
        with_cert = ssl.create_default_context(cafile=str(certs["ca"]))
        with_cert.load_cert_chain(str(certs["client"]))
        assert httpx.get(url, verify=with_cert).text == "fast"
        without = ssl.create_default_context(cafile=str(certs["ca"]))
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            httpx.get(url, verify=without)


def test_access_log_escapes_control_characters() -> None:
    with (
        serve("basic_asgi:app") as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        # The parser refuses controls in the target; header values may carry obs-text such as
        # \x9b (a terminal's CSI), which the access line must escape.
        sock.sendall(b'GET /fast HTTP/1.1\r\nHost: x\r\nUser-Agent: evil\x9b31m"\r\n\r\n')
        assert read_responses(sock, 1).responses[0].status == 200
        sock.sendall(b"GET /fast?\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(sock, 1).responses[0].status == 400
        log = server.wait_for_log('"GET /fast HTTP/1.1"')
    line = next(line for line in log.splitlines() if '"GET /fast HTTP/1.1"' in line)
    assert '"evil\\x9b31m\\""' in line
    assert "\x9b" not in log
    assert "\x1b" not in log


def test_access_log_fields_and_no_access_log() -> None:
    with serve("basic_asgi:app") as server:
        httpx.post(server.url + "/echo", content=b"12345")
        line = server.wait_for_log('"POST /echo HTTP/1.1" 200 5 "python-httpx/')
        assert "127.0.0.1:" in line
        assert "ms" in line
    with serve("basic_asgi:app", "--no-access-log") as server:
        httpx.get(server.url + "/fast")
        httpx.get(server.url + "/cookies")
        server.wait_for_log("forno ready")
        assert '"GET /fast' not in server.log()


def test_log_config_json_and_level(tmp_path: Path) -> None:
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tagged": {"format": "CUSTOM %(name)s %(message)s"}},
        "handlers": {
            "out": {
                "class": "logging.StreamHandler",
                "formatter": "tagged",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "forno.access": {"handlers": ["out"], "level": "INFO", "propagate": False},
        },
    }
    path = tmp_path / "logging.json"
    path.write_text(json.dumps(config))
    with serve("basic_asgi:app", "--log-config", str(path), "--log-level", "warning") as server:
        httpx.get(server.url + "/fast")
        server.wait_for_log("CUSTOM forno.access 127.0.0.1")
        assert "forno ready" not in server.log()  # info is below the warning level


def test_log_config_yaml_and_ini(tmp_path: Path) -> None:
    yaml_config = tmp_path / "logging.yaml"
    yaml_config.write_text(
        "version: 1\n"
        "disable_existing_loggers: false\n"
        "formatters:\n  plain: {format: 'YAMLCFG %(name)s %(message)s'}\n"
        "handlers:\n  out: {class: logging.StreamHandler, formatter: plain, stream: ext://sys.stdout}\n"
        "loggers:\n  forno.access: {handlers: [out], level: INFO, propagate: false}\n"
    )
    with serve("basic_asgi:app", "--log-config", str(yaml_config)) as server:
        httpx.get(server.url + "/fast")
        server.wait_for_log("YAMLCFG forno.access")
    ini_config = tmp_path / "logging.ini"
    ini_config.write_text(
        "[loggers]\nkeys=root,access\n\n"
        "[handlers]\nkeys=out\n\n"
        "[formatters]\nkeys=plain\n\n"
        "[logger_root]\nlevel=WARNING\nhandlers=out\n\n"
        "[logger_access]\nlevel=INFO\nhandlers=out\nqualname=forno.access\npropagate=0\n\n"
        "[handler_out]\nclass=StreamHandler\nformatter=plain\nargs=(sys.stdout,)\n\n"
        "[formatter_plain]\nformat=INICFG %(name)s %(message)s\n"
    )
    with serve("basic_asgi:app", "--log-config", str(ini_config)) as server:
        httpx.get(server.url + "/fast")
        server.wait_for_log("INICFG forno.access")


def test_bad_log_config_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "handlers": {"x": {"class": "no.such.Handler"}}}')
    result = subprocess.run(
        [sys.executable, "-m", "forno", "--log-config", str(broken), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "log_config: cannot apply" in result.stderr
