"""A plain ASGI app with one endpoint per behaviour the core tests need."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from forno.typing import Receive, Scope, Send

events: dict[str, asyncio.Event] = {}
seen: list[str] = []


async def read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def respond(
    send: Send, body: bytes, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers or [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def describe_scope(scope: Scope) -> dict[str, Any]:
    return {
        "type": scope["type"],
        "asgi": scope["asgi"],
        "http_version": scope["http_version"],
        "method": scope["method"],
        "scheme": scope["scheme"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "query_string": scope["query_string"].decode("latin-1"),
        "root_path": scope["root_path"],
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "client": list(scope["client"]) if scope["client"] else None,
        "server": list(scope["server"]) if scope["server"] else None,
        "state": sorted(scope.get("state", {})),
    }


async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["started"] = True
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            print("lifespan shutdown ran", flush=True)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    path = scope["path"][len(scope.get("root_path", "")) :]
    if path == "/scope":
        await respond(send, json.dumps(describe_scope(scope)).encode())
    elif path == "/echo":
        body = await read_body(receive)
        await respond(send, body)
    elif path == "/echo-stream":
        # Echo each body piece as it arrives, as a chunked response.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            message = await receive()
            await send(
                {
                    "type": "http.response.body",
                    "body": message.get("body", b""),
                    "more_body": message.get("more_body", False),
                }
            )
            if not message.get("more_body", False):
                break
    elif path == "/stream":
        count = int(scope["query_string"] or b"5")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(count):
            await send({"type": "http.response.body", "body": b"chunk %d\n" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/big":
        size = int(scope["query_string"] or b"1048576")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(size).encode())],
            }
        )
        block = b"x" * 65536
        sent = 0
        while sent < size:
            piece = block[: min(65536, size - sent)]
            sent += len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": sent < size})
    elif path == "/firehose":
        # Streams without ever waiting on anything but send: a client that resets must still
        # make send raise, not let the app spin on a dead transport.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        block = b"f" * 65536
        sent = 0
        try:
            while sent < 16384:
                await send({"type": "http.response.body", "body": block, "more_body": True})
                sent += 1
        except OSError:
            print(f"firehose stopped by disconnect after {sent}", flush=True)
            return
        print("firehose finished", flush=True)
        await send({"type": "http.response.body", "body": b""})
    elif path == "/sse":
        # Server-sent events: one event, then wait until the client goes away.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await send({"type": "http.response.body", "body": b"data: hello\n\n", "more_body": True})
        message = await receive()
        while message["type"] != "http.disconnect":
            message = await receive()
        print("sse saw disconnect", flush=True)
    elif path == "/wait-disconnect":
        message = await receive()
        while message["type"] != "http.disconnect":
            message = await receive()
        print("long poll saw disconnect", flush=True)
    elif path == "/slow":
        await asyncio.sleep(float(scope["query_string"] or b"0.3"))
        await respond(send, b"slow")
    elif path == "/slow-logged":
        print("slow request started", flush=True)
        await asyncio.sleep(1.0)
        await respond(send, b"slow")
    elif path == "/fast":
        await respond(send, b"fast")
    elif path == "/cookies":
        await respond(
            send,
            b"ok",
            headers=[
                (b"content-type", b"text/plain"),
                (b"set-cookie", b"a=1; Path=/"),
                (b"set-cookie", b"b=2; Path=/"),
                (b"set-cookie", b"c=3; Path=/; HttpOnly"),
            ],
        )
    elif path == "/status":
        code = int(scope["query_string"] or b"200")
        await respond(send, b"", status=code)
    elif path == "/status-body":
        code = int(scope["query_string"] or b"200")
        await respond(send, b"should not be sent", status=code)
    elif path == "/raise-before":
        raise RuntimeError("boom before start")
    elif path == "/raise-after":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("boom after start")
    elif path == "/no-response":
        return
    elif path == "/incomplete":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
    elif path == "/bad-header":
        await respond(send, b"x", headers=[(b"x-evil", b"a\r\nInjected: yes")])
    elif path == "/bad-header-name":
        await respond(send, b"x", headers=[(b"bad name", b"v")])
    elif path == "/double-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except RuntimeError as exc:
            await send({"type": "http.response.body", "body": f"refused: {exc}".encode()})
    elif path == "/send-after-complete":
        await respond(send, b"done")
        try:
            await send({"type": "http.response.body", "body": b"more"})
        except RuntimeError:
            print("send after complete refused", flush=True)
    elif path == "/content-length-short":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]}
        )
        await send({"type": "http.response.body", "body": b"12345"})
    elif path == "/content-length-long":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]}
        )
        await send({"type": "http.response.body", "body": b"123456789"})
    elif path == "/read-body-later":
        # Reads the body only after a delay; used to test Expect: 100-continue timing.
        seen.append("started")
        body = await read_body(receive)
        await respond(send, b"got %d" % len(body))
    elif path == "/ignore-body":
        await respond(send, b"ignored")
    elif path == "/state":
        await respond(send, json.dumps(scope.get("state", {})).encode())
    else:
        await respond(send, b"not found", status=404)
