"""The WebSocket upgrade hook the HTTP/1.1 connection calls (see ``Server.install_upgrades``).

An upgrade request whose ``Upgrade`` header does not name ``websocket`` is left to the HTTP/1.1
connection, which answers it as a plain request. A WebSocket handshake that is not valid gets
400 (or 426 for another version) here. A valid one moves the transport to a
``WebSocketConnection`` that runs the ASGI app with a ``websocket`` scope.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from forno.http.channel import RequestHead
from forno.http.websocket import (
    DeflateSettings,
    HandshakeError,
    handshake_error_response,
    negotiate_extensions,
    parse_handshake,
    wants_websocket,
)
from forno.server.ws_connection import WebSocketConnection, WebSocketOptions
from forno.typing import ASGIApp

if TYPE_CHECKING:
    from forno.server.h1 import H1Connection
    from forno.server.state import ServerState, UpgradeHandler

logger = logging.getLogger("forno.error")


def websocket_upgrade_handler(
    state: ServerState, app: ASGIApp, lifespan_state: dict[str, Any] | None = None
) -> UpgradeHandler:
    settings = state.config.websocket
    options = WebSocketOptions(
        max_size=settings.ws_max_size,
        max_queue=settings.ws_max_queue,
        ping_interval=settings.ws_ping_interval,
        ping_timeout=settings.ws_ping_timeout,
    )
    deflate = DeflateSettings() if settings.ws_per_message_deflate else None

    def handle(connection: H1Connection, head: RequestHead, rest: bytes) -> bool:
        if not wants_websocket(head.headers):
            return False  # another protocol: answered as a plain HTTP request
        transport = connection.transport
        if transport is None or connection.closed:
            return True
        try:
            handshake = parse_handshake(head.method, head.http_version, head.headers)
            extensions = negotiate_extensions(handshake.extensions, deflate)
        except HandshakeError as error:
            logger.debug("invalid WebSocket handshake from %s: %s", head.client, error.reason)
            transport.write(handshake_error_response(error, date_line=state.date_line))
            connection.close()
            return True
        if state.in_flight >= state.limits.max_in_flight or state.shutting_down:
            return False  # the HTTP/1.1 connection answers 503
        websocket = WebSocketConnection(
            state, options, head, handshake, extensions, app, lifespan_state
        )
        websocket.take_over(connection, transport, rest)
        return True

    return handle
