"""The WSGI ``environ`` of one request, built from a parsed request head (pure, PEP 3333).

Header names that contain ``_`` are dropped: in ``environ`` both ``X-User`` and ``X_User`` would
become ``HTTP_X_USER``, so a client could smuggle a value past a proxy that only filters the
spelling with a dash. Repeated headers are joined with ``", "`` (``Cookie`` with ``"; "``).
"""

from __future__ import annotations

from typing import Any

from forno.http.channel import RequestHead
from forno.http.request import decode_path_latin1
from forno.typing import Environ

WSGI_VERSION = (1, 0)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# Header names whose environ key differs from HTTP_<NAME> (CGI meta-variables).
_SPECIAL = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}
# Key for each header name seen before: names repeat across requests, so this memo is small.
_keys: dict[bytes, str | None] = {}
_KEYS_MAX = 2048


def header_key(name: bytes) -> str | None:
    """The environ key of a (lower-cased) request header name; None if it must be dropped."""
    key = _keys.get(name)
    if key is not None or name in _keys:
        return key
    if b"_" in name:
        key = None
    else:
        key = _SPECIAL.get(name) or "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
    if len(_keys) < _KEYS_MAX:
        _keys[name] = key
    return key


def split_host(host: str, scheme: str) -> tuple[str, str]:
    """``SERVER_NAME`` and ``SERVER_PORT`` from a Host header value (IPv6 keeps its brackets)."""
    if host.startswith("["):
        end = host.find("]")
        if end > 0:
            name, rest = host[: end + 1], host[end + 1 :]
            if rest.startswith(":") and rest[1:].isdigit():
                return name, rest[1:]
            return name, _DEFAULT_PORTS.get(scheme, "80")
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, port
    return host, _DEFAULT_PORTS.get(scheme, "80")


def build_environ(
    head: RequestHead,
    wsgi_input: Any,
    *,
    multiprocess: bool,
    file_wrapper: Any,
    errors: Any,
) -> Environ:
    """The PEP 3333 environ for ``head``; ``wsgi_input`` is the request body stream."""
    script_name = head.root_path.rstrip("/")
    environ: Environ = {
        "REQUEST_METHOD": head.method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": decode_path_latin1(head.raw_path),
        "QUERY_STRING": head.query.decode("latin-1"),
        "SERVER_PROTOCOL": "HTTP/" + head.http_version,
        "wsgi.version": WSGI_VERSION,
        "wsgi.url_scheme": head.scheme,
        "wsgi.input": wsgi_input,
        "wsgi.errors": errors,
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": file_wrapper,
    }
    host: str | None = None
    for name, value in head.headers:
        key = header_key(name)
        if key is None:
            continue
        text = value.decode("latin-1")
        if key == "HTTP_HOST":
            host = text
        previous = environ.get(key)
        if previous is None:
            environ[key] = text
        elif key == "HTTP_COOKIE":
            environ[key] = previous + "; " + text
        else:
            environ[key] = previous + ", " + text
    if host:
        environ["SERVER_NAME"], environ["SERVER_PORT"] = split_host(host, head.scheme)
    elif head.server is not None:
        server_host, server_port = head.server
        environ["SERVER_NAME"] = server_host
        environ["SERVER_PORT"] = (
            str(server_port) if server_port is not None else _DEFAULT_PORTS.get(head.scheme, "80")
        )
    else:
        environ["SERVER_NAME"] = "localhost"
        environ["SERVER_PORT"] = _DEFAULT_PORTS.get(head.scheme, "80")
    client = head.client
    if client is not None:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    return environ
