"""Real framework apps over forno's WebSockets: a FastAPI and a Starlette chat room."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support.server import serve


def recv_json(ws: ClientConnection) -> dict[str, object]:
    message = ws.recv(timeout=10)
    assert isinstance(message, str)
    result = json.loads(message)
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize("app", ["ws_chat:app", "ws_chat:starlette_app"])
def test_chat_broadcast(app: str) -> None:
    with serve(app) as server:
        base = f"ws://127.0.0.1:{server.port}/chat"
        with (
            connect(f"{base}/ann", open_timeout=10) as ann,
            connect(f"{base}/bob", open_timeout=10) as bob,
        ):
            assert recv_json(ann) == {"joined": 1}
            assert recv_json(bob) == {"joined": 2}
            with connect(f"{base}/cat", open_timeout=10) as cat:
                assert recv_json(cat) == {"joined": 3}
                ann.send("hello all")
                for ws in (ann, bob, cat):
                    assert recv_json(ws) == {"from": "ann", "text": "hello all"}
            server.wait_for_log("ws-event: chat cat left 1000")
            for ws in (ann, bob):
                assert recv_json(ws) == {"left": "cat"}
            bob.send("still here")
            for ws in (ann, bob):
                assert recv_json(ws) == {"from": "bob", "text": "still here"}
