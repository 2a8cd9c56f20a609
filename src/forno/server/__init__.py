"""The only layer that touches sockets, transports, TLS and the event loop."""
