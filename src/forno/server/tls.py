"""The TLS context built from the tls settings."""

from __future__ import annotations

import ssl

from forno.config import ClientCertMode, TLSSettings
from forno.errors import ConfigError

_CERT_REQS = {
    ClientCertMode.NONE: ssl.CERT_NONE,
    ClientCertMode.OPTIONAL: ssl.CERT_OPTIONAL,
    ClientCertMode.REQUIRED: ssl.CERT_REQUIRED,
}


def create_ssl_context(tls: TLSSettings) -> ssl.SSLContext | None:
    if tls.ssl_certfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(
            str(tls.ssl_certfile),
            str(tls.ssl_keyfile) if tls.ssl_keyfile else None,
            tls.ssl_keyfile_password,
        )
        if tls.ssl_ca_certs is not None:
            context.load_verify_locations(str(tls.ssl_ca_certs))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"ssl_certfile: cannot load the certificate or key: {exc}") from exc
    context.verify_mode = _CERT_REQS[tls.ssl_cert_reqs]
    if tls.ssl_ciphers:
        try:
            context.set_ciphers(tls.ssl_ciphers)
        except ssl.SSLError as exc:
            raise ConfigError(f"ssl_ciphers: {exc}") from exc
    context.set_alpn_protocols(["http/1.1"])
    return context
