"""TLS for the emulator's HTTPS mode.

The stdlib cannot make certificates, so the package ships ``emulator.pem``: a throwaway,
self-signed, test-only certificate and key (EC P-256, CN ``reolink-emulator``, SAN localhost /
127.0.0.1 / ::1). Its private key is public by design; it secures nothing and exists only so
clients can exercise HTTPS the way real cameras offer it (self-signed, verification off).
Pass ``certfile``/``keyfile`` (e.g. made with trustme) to use another certificate, for instance to
test fingerprint pinning against a changed certificate.
"""

from __future__ import annotations

import os
import ssl
from typing import Optional

__all__ = ["BUNDLED_PEM", "server_context"]

BUNDLED_PEM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emulator.pem")


def server_context(certfile: Optional[str] = None, keyfile: Optional[str] = None) -> ssl.SSLContext:
    """A server-side context with the given certificate, or the bundled test-only one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if certfile is None:
        ctx.load_cert_chain(BUNDLED_PEM)
    else:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx
