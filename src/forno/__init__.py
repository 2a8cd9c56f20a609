"""forno: one fast, strict application server for WSGI and ASGI Python web apps."""

from forno.api import run, serve
from forno.config import Config, load_config

__version__ = "0.1.0"
__all__ = ["Config", "__version__", "load_config", "run", "serve"]
