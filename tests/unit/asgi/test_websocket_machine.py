"""The ASGI WebSocket message-order state machine (forno.asgi.websocket), pure."""

from __future__ import annotations

from typing import Any

import pytest

from forno.asgi.websocket import (
    Accept,
    Close,
    Phase,
    Reject,
    ResponseBody,
    ResponseStart,
    SendData,
    WebSocketMachine,
    websocket_scope,
)
from forno.errors import ASGIProtocolError, ClientDisconnected
from forno.http.channel import RequestHead

ACCEPT = {"type": "websocket.accept"}
SEND_TEXT = {"type": "websocket.send", "text": "hi"}
SEND_BYTES = {"type": "websocket.send", "bytes": b"hi"}
CLOSE = {"type": "websocket.close"}
START = {"type": "websocket.http.response.start", "status": 401, "headers": []}
BODY = {"type": "websocket.http.response.body", "body": b"no"}
BODY_MORE = {"type": "websocket.http.response.body", "body": b"n", "more_body": True}


def machine_in(phase: Phase) -> WebSocketMachine:
    machine = WebSocketMachine(["chat"])
    if phase is Phase.OPEN:
        machine.app_message(ACCEPT)
    elif phase is Phase.CLOSED:
        machine.app_message(ACCEPT)
        machine.app_message(CLOSE)
    elif phase is Phase.RESPONSE:
        machine.app_message(START)
    elif phase is Phase.DONE:
        machine.app_message(START)
        machine.app_message(BODY)
    assert machine.phase is phase
    return machine


# ---- allowed orders -------------------------------------------------------------------------------


def test_accept_send_close() -> None:
    machine = WebSocketMachine(["chat", "v2"])
    accept = machine.app_message(
        {"type": "websocket.accept", "subprotocol": "v2", "headers": [(b"x", b"1")]}
    )
    assert accept == Accept("v2", [(b"x", b"1")])
    assert machine.app_message(SEND_TEXT) == SendData("hi")
    assert machine.app_message(SEND_BYTES) == SendData(b"hi")
    assert machine.app_message({"type": "websocket.send", "bytes": bytearray(b"b")}) == SendData(
        b"b"
    )
    assert machine.app_message({"type": "websocket.close", "code": 4000, "reason": "bye"}) == Close(
        4000, "bye"
    )
    assert machine.phase is Phase.CLOSED


def test_close_defaults() -> None:
    machine = machine_in(Phase.OPEN)
    assert machine.app_message({"type": "websocket.close", "code": None, "reason": None}) == Close(
        1000, ""
    )


def test_close_before_accept_is_a_403() -> None:
    machine = WebSocketMachine()
    assert machine.app_message(CLOSE) == Reject(403)
    assert machine.phase is Phase.DONE


def test_denial_response() -> None:
    machine = WebSocketMachine()
    assert machine.app_message(START) == ResponseStart(401, [])
    assert machine.app_message(BODY_MORE) == ResponseBody(b"n", True)
    assert machine.app_message(BODY) == ResponseBody(b"no", False)
    assert machine.phase is Phase.DONE


# ---- forbidden orders -----------------------------------------------------------------------------

FORBIDDEN: list[tuple[Phase, dict[str, Any]]] = [
    (Phase.HANDSHAKE, SEND_TEXT),
    (Phase.HANDSHAKE, BODY),
    (Phase.HANDSHAKE, {"type": "websocket.receive"}),
    (Phase.HANDSHAKE, {"type": "http.response.start", "status": 200}),
    (Phase.OPEN, ACCEPT),
    (Phase.OPEN, START),
    (Phase.OPEN, BODY),
    (Phase.RESPONSE, ACCEPT),
    (Phase.RESPONSE, SEND_TEXT),
    (Phase.RESPONSE, CLOSE),
    (Phase.RESPONSE, START),
    (Phase.CLOSED, ACCEPT),
    (Phase.CLOSED, START),
    (Phase.DONE, ACCEPT),
    (Phase.DONE, BODY),
]


@pytest.mark.parametrize(("phase", "message"), FORBIDDEN)
def test_forbidden_orders(phase: Phase, message: dict[str, Any]) -> None:
    machine = machine_in(phase)
    with pytest.raises(ASGIProtocolError):
        machine.app_message(message)
    assert machine.phase is phase


@pytest.mark.parametrize("phase", [Phase.CLOSED, Phase.DONE])
@pytest.mark.parametrize("message", [SEND_TEXT, CLOSE])
def test_send_after_close_raises_oserror(phase: Phase, message: dict[str, Any]) -> None:
    machine = machine_in(phase)
    with pytest.raises(ClientDisconnected) as info:
        machine.app_message(message)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "websocket.send"},
        {"type": "websocket.send", "text": "a", "bytes": b"b"},
        {"type": "websocket.send", "text": b"bytes"},
        {"type": "websocket.send", "bytes": "text"},
        {"type": "websocket.close", "code": 1005},
        {"type": "websocket.close", "code": 1006},
        {"type": "websocket.close", "code": 999},
        {"type": "websocket.close", "code": 5000},
        {"type": "websocket.close", "code": "1000"},
        {"type": "websocket.close", "reason": "x" * 124},
        {"type": "websocket.close", "reason": b"bytes"},
        ["not", "a", "dict"],
    ],
)
def test_invalid_messages_when_open(message: Any) -> None:
    machine = machine_in(Phase.OPEN)
    with pytest.raises(ASGIProtocolError):
        machine.app_message(message)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "websocket.accept", "subprotocol": "other"},
        {"type": "websocket.accept", "subprotocol": b"chat"},
        {"type": "websocket.accept", "headers": [(b"x",)]},
        {"type": "websocket.accept", "headers": [("x", "1")]},
        {"type": "websocket.accept", "headers": 5},
        {"type": "websocket.http.response.start", "status": "200"},
        {"type": "websocket.http.response.start", "status": 42},
    ],
)
def test_invalid_handshake_answers(message: dict[str, Any]) -> None:
    machine = WebSocketMachine(["chat"])
    with pytest.raises(ASGIProtocolError):
        machine.app_message(message)
    assert machine.phase is Phase.HANDSHAKE


def test_invalid_response_body() -> None:
    machine = machine_in(Phase.RESPONSE)
    with pytest.raises(ASGIProtocolError):
        machine.app_message({"type": "websocket.http.response.body", "body": "text"})


# ---- after the peer has gone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "message"),
    [
        (Phase.HANDSHAKE, ACCEPT),
        (Phase.HANDSHAKE, START),
        (Phase.OPEN, SEND_TEXT),
        (Phase.OPEN, CLOSE),
        (Phase.RESPONSE, BODY),
    ],
)
def test_send_after_disconnect_raises_oserror(phase: Phase, message: dict[str, Any]) -> None:
    machine = machine_in(phase)
    machine.push_disconnect(1006)
    with pytest.raises(ClientDisconnected):
        machine.app_message(message)


def test_close_before_accept_after_disconnect_is_allowed() -> None:
    machine = WebSocketMachine()
    machine.push_disconnect(1006)
    assert machine.app_message(CLOSE) == Reject(403)


# ---- receive side ----------------------------------------------------------------------------------


def test_receive_order_and_single_disconnect() -> None:
    machine = machine_in(Phase.OPEN)
    assert machine.pop() == {"type": "websocket.connect"}
    assert machine.pop() is None
    machine.push_message("a")
    machine.push_message(b"b")
    assert machine.queued == 2
    assert machine.push_disconnect(1000, "bye")
    assert not machine.push_disconnect(1006)  # recorded once only
    machine.push_message("ignored after the end")
    assert machine.pop() == {"type": "websocket.receive", "text": "a"}
    assert machine.pop() == {"type": "websocket.receive", "bytes": b"b"}
    disconnect = {"type": "websocket.disconnect", "code": 1000, "reason": "bye"}
    assert machine.pop() == disconnect
    # receive() after the end keeps answering disconnect instead of blocking.
    assert machine.pop() == disconnect
    assert machine.queued == 0


def test_connect_comes_first_even_after_disconnect() -> None:
    machine = WebSocketMachine()
    machine.push_disconnect(1006)
    assert machine.pop() == {"type": "websocket.connect"}
    assert machine.pop() == {"type": "websocket.disconnect", "code": 1006, "reason": ""}


# ---- when the app returns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "failed", "expected"),
    [
        (Phase.HANDSHAKE, False, Reject(403)),
        (Phase.HANDSHAKE, True, Reject(500)),
        (Phase.RESPONSE, False, ResponseBody(b"", False)),
        (Phase.RESPONSE, True, Reject(500)),
        (Phase.OPEN, False, Close(1000, "")),
        (Phase.OPEN, True, Close(1011, "")),
        (Phase.CLOSED, False, None),
        (Phase.DONE, True, None),
    ],
)
def test_app_returned(phase: Phase, failed: bool, expected: object) -> None:
    machine = machine_in(phase)
    assert machine.app_returned(failed) == expected
    assert machine.app_returned(failed) is None  # only once


def test_app_returned_after_disconnect_does_nothing() -> None:
    machine = machine_in(Phase.OPEN)
    machine.push_disconnect(1001)
    assert machine.app_returned(False) is None


# ---- scope ------------------------------------------------------------------------------------------


def test_scope() -> None:
    head = RequestHead(
        method="GET",
        http_version="1.1",
        raw_path=b"/chat%20room",
        query=b"a=1",
        headers=[(b"host", b"x")],
        scheme="https",
        client=("127.0.0.1", 5000),
        server=("127.0.0.1", 443),
        root_path="/app",
    )
    state = {"db": 1}
    scope = websocket_scope(head, ["chat"], state)
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "wss"
    assert scope["path"] == "/app/chat room"
    assert scope["raw_path"] == b"/app/chat%20room"
    assert scope["root_path"] == "/app"
    assert scope["query_string"] == b"a=1"
    assert scope["subprotocols"] == ["chat"]
    assert scope["extensions"] == {"websocket.http.response": {}}
    assert scope["state"] == state
    assert scope["state"] is not state
    assert scope["asgi"]["version"] == "3.0"
    head.scheme = "http"
    assert websocket_scope(head, [], None)["scheme"] == "ws"
    assert "state" not in websocket_scope(head, [], None)
