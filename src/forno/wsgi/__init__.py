"""The WSGI interface (PEP 3333): environ, ``wsgi.input``, ``start_response``, threads."""
