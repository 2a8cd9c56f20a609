#!/usr/bin/env python3
"""Compare the sans-IO WebSocket libraries forno could use, in-process (no sockets).

For each message size, a batch of masked client frames is prepared once; the timed loop feeds
them to a server-side protocol object of each library, collects the messages, echoes each one
back and collects the bytes to write: the work a server does per echoed message. Best of
``--repeat`` runs, messages per second. Usage::

    python benchmarks/ws_library.py [--messages 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any, cast

from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN, Protocol, Side
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, TextMessage

SIZES = (32, 1024, 16 * 1024, 256 * 1024)


def client_frames(size: int, count: int, text: bool) -> bytes:
    client = Protocol(Side.CLIENT, state=OPEN, max_size=None)
    payload = ("x" * size) if text else (b"\x01" * size)
    for _ in range(count):
        if isinstance(payload, str):
            client.send_text(payload.encode())
        else:
            client.send_binary(payload)
    return b"".join(client.data_to_send())


def run_websockets(wire: bytes, chunk: int) -> int:
    server = Protocol(Side.SERVER, state=OPEN, max_size=None)
    echoed = 0
    for start in range(0, len(wire), chunk):
        server.receive_data(wire[start : start + chunk])
        for event in server.events_received():
            frame = cast(Frame, event)
            if frame.opcode is Opcode.TEXT:
                text = bytes(frame.data).decode()  # an app gets str
                server.send_text(text.encode())
            elif frame.opcode is Opcode.BINARY:
                server.send_binary(bytes(frame.data))
            else:
                continue
            echoed += 1
        server.data_to_send()
    return echoed


def run_wsproto(wire: bytes, chunk: int) -> int:
    server = Connection(ConnectionType.SERVER)
    parts: list[Any] = []
    echoed = 0
    for start in range(0, len(wire), chunk):
        server.receive_data(wire[start : start + chunk])
        out = []
        for event in server.events():
            if isinstance(event, TextMessage | BytesMessage):
                parts.append(event.data)
                if event.message_finished:
                    data = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                    parts.clear()
                    message = TextMessage(data) if isinstance(data, str) else BytesMessage(data)
                    out.append(server.send(message))
                    echoed += 1
        b"".join(out)
    return echoed


LIBRARIES: dict[str, Callable[[bytes, int], int]] = {
    "websockets": run_websockets,
    "wsproto": run_wsproto,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'library':<12}{'kind':<8}{'size':>9}{'msg/s':>12}{'MB/s':>9}")
    for size in SIZES:
        count = max(50, min(args.messages, args.messages * 1024 // size))
        for text in (True, False):
            wire = client_frames(size, count, text)
            for name, run in LIBRARIES.items():
                best = float("inf")
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    echoed = run(wire, 65536)
                    best = min(best, time.perf_counter() - started)
                assert echoed == count, (name, echoed, count)
                rate = count / best
                kind = "text" if text else "binary"
                print(f"{name:<12}{kind:<8}{size:>9}{rate:>12,.0f}{rate * size / 1e6:>9.1f}")


if __name__ == "__main__":
    main()
