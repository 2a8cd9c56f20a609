"""Sans-IO HTTP helpers: no event loop, sockets, threads, logging or Config in here."""
