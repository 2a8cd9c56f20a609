"""The ASGI HTTP response message-order state machine (forno.asgi.http_machine), pure."""

from __future__ import annotations

from typing import Any

import pytest

from forno.asgi.http_machine import BeginResponse, HTTPResponseMachine, ResponsePhase, SendBody
from forno.errors import ASGIProtocolError, ClientDisconnected

START = {"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]}
BODY = {"type": "http.response.body", "body": b"done"}
BODY_MORE = {"type": "http.response.body", "body": b"part", "more_body": True}


def machine_in(phase: ResponsePhase) -> HTTPResponseMachine:
    machine = HTTPResponseMachine()
    steps = {
        ResponsePhase.START: [],
        ResponsePhase.HEAD_HELD: [START],
        ResponsePhase.STREAMING: [START, BODY_MORE],
        ResponsePhase.COMPLETE: [START, BODY],
    }[phase]
    for message in steps:
        machine.app_message(message)
    assert machine.phase is phase
    return machine


def test_start_is_held_until_the_first_body() -> None:
    machine = HTTPResponseMachine()
    assert machine.app_message(START) is None
    assert machine.phase is ResponsePhase.HEAD_HELD
    assert machine.app_message(BODY) == BeginResponse(200, [(b"a", b"b")], b"done", False)
    assert machine.phase is ResponsePhase.COMPLETE


def test_a_streamed_body_ends_with_the_chunk_without_more_body() -> None:
    machine = HTTPResponseMachine()
    machine.app_message(START)
    assert machine.app_message(BODY_MORE) == BeginResponse(200, [(b"a", b"b")], b"part", True)
    assert machine.phase is ResponsePhase.STREAMING
    for _ in range(3):
        assert machine.app_message(BODY_MORE) == SendBody(b"part", True)
    assert machine.app_message({"type": "http.response.body"}) == SendBody(b"", False)
    assert machine.phase is ResponsePhase.COMPLETE


def test_body_defaults_to_empty_and_headers_to_none() -> None:
    machine = HTTPResponseMachine()
    machine.app_message({"type": "http.response.start", "status": 204})
    assert machine.app_message({"type": "http.response.body"}) == BeginResponse(204, (), b"", False)


@pytest.mark.parametrize("body", [bytearray(b"xy"), memoryview(b"xy")])
def test_bytes_like_bodies_become_bytes(body: Any) -> None:
    machine = machine_in(ResponsePhase.HEAD_HELD)
    action = machine.app_message({"type": "http.response.body", "body": body, "more_body": True})
    assert isinstance(action, BeginResponse)
    assert type(action.body) is bytes
    assert action.body == b"xy"
    action = machine.app_message({"type": "http.response.body", "body": body})
    assert action == SendBody(b"xy", False)
    assert type(action.body) is bytes


@pytest.mark.parametrize(
    ("phase", "message", "error"),
    [
        (ResponsePhase.START, BODY, "expected 'http.response.start'"),
        (ResponsePhase.START, {"type": "http.response.push"}, "expected 'http.response.start'"),
        (ResponsePhase.START, {"status": 200}, "got None"),
        (ResponsePhase.START, {"type": "http.response.start", "status": "200"}, "must be int"),
        (ResponsePhase.START, {"type": "http.response.start"}, "must be int"),
        (ResponsePhase.START, {"type": "http.response.start", "status": 200.0}, "must be int"),
        (
            ResponsePhase.START,
            {"type": "http.response.start", "status": 200, "trailers": True},
            "trailers are not supported",
        ),
        (ResponsePhase.HEAD_HELD, START, "expected 'http.response.body'"),
        (ResponsePhase.HEAD_HELD, {"type": "http.response.body", "body": "str"}, "must be bytes"),
        (ResponsePhase.STREAMING, START, "expected 'http.response.body'"),
        (ResponsePhase.STREAMING, {"type": "http.response.body", "body": 1}, "must be bytes"),
        (ResponsePhase.COMPLETE, BODY, "after the response was complete"),
        (ResponsePhase.COMPLETE, START, "after the response was complete"),
    ],
)
def test_out_of_order_or_malformed_messages_are_protocol_errors(
    phase: ResponsePhase, message: Any, error: str
) -> None:
    machine = machine_in(phase)
    with pytest.raises(ASGIProtocolError, match=error):
        machine.app_message(message)
    assert machine.phase is phase  # the runner decides what a failed app gets


def test_a_message_that_is_not_a_dict_is_a_protocol_error() -> None:
    with pytest.raises(ASGIProtocolError):
        HTTPResponseMachine().app_message(["http.response.start"])  # type: ignore[arg-type]


@pytest.mark.parametrize("phase", list(ResponsePhase))
def test_after_the_client_is_gone_every_send_raises_an_oserror(phase: ResponsePhase) -> None:
    machine = machine_in(phase)
    machine.client_gone()
    for message in (START, BODY, BODY_MORE, {"type": "nonsense"}):
        with pytest.raises(ClientDisconnected) as caught:
            machine.app_message(message)
        assert isinstance(caught.value, OSError)


def test_the_runner_can_end_the_response() -> None:
    machine = machine_in(ResponsePhase.STREAMING)
    machine.complete()
    with pytest.raises(ASGIProtocolError, match="after the response was complete"):
        machine.app_message(BODY)
