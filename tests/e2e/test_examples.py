"""The examples in examples/ run under forno as their docstrings say."""

from __future__ import annotations

import httpx

from tests.support.server import serve


def test_examples_serve() -> None:
    with serve("examples.flask_hello:app") as server:
        assert "Flask" in httpx.get(server.url + "/").text
        assert httpx.get(server.url + "/user/ada?page=2").json() == {"name": "ada", "page": "2"}
    with serve("examples.fastapi_hello:app") as server:
        assert httpx.get(server.url + "/").json()["message"].startswith("Hello from FastAPI")
    with serve("examples.plain_asgi:app") as server:
        assert httpx.get(server.url + "/x").text == "Hello from /x\n"
