"""The ASGI interface adapter: scopes, message-order checks, the app runners."""
