"""A minimal Django project in one module (``app``), served over WSGI and ASGI."""
