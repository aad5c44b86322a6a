"""TLS for the emulator's HTTPS mode: a throwaway self-signed certificate made at start.

No certificate or private key ships with the package (secret scanners flag any private key in a
firmware image, even a test one). When HTTPS is asked for without ``certfile``, a fresh EC P-256
certificate for ``reolink-emulator`` (SAN localhost, 127.0.0.1, ::1) is made, in this order:

1. with ``trustme`` (installed by the test extra: ``pip install 'reolink-lan-driver[test]'``);
2. with the ``openssl`` command line, when it is on PATH;
3. else :class:`CertificateUnavailable` says how to get one (``--cert``/``--key``, or the test
   extra).

The key lives in a private temporary directory only while the context loads it. Clients use it
the way real cameras are used (self-signed, verification off, or a pinned fingerprint). Pass
``certfile``/``keyfile`` to serve a certificate of your own (for instance to test pinning
against a changed certificate).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
from typing import Optional

__all__ = ["COMMON_NAME", "CertificateUnavailable", "server_context"]

COMMON_NAME = "reolink-emulator"
_SAN = "DNS:localhost,IP:127.0.0.1,IP:::1"
_OPENSSL_TIMEOUT = 30.0


class CertificateUnavailable(RuntimeError):
    """HTTPS was asked for, no certificate was given and none can be made here."""


def server_context(certfile: Optional[str] = None, keyfile: Optional[str] = None) -> ssl.SSLContext:
    """A server-side context with the given certificate, or one made now (see the module)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if certfile is not None:
        ctx.load_cert_chain(certfile, keyfile)
    elif not _load_with_trustme(ctx):
        _load_with_openssl(ctx)
    return ctx


def _load_with_trustme(ctx: ssl.SSLContext) -> bool:
    """Load a trustme-made certificate; False when trustme is not installed."""
    try:
        import trustme
    except ImportError:
        return False
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1", "::1", common_name=COMMON_NAME)
    leaf.configure_cert(ctx)
    return True


def _load_with_openssl(ctx: ssl.SSLContext) -> None:
    """Make a self-signed certificate with the openssl command line and load it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateUnavailable(
            "HTTPS needs a certificate and none can be made here (neither the trustme package "
            "nor the openssl command is available): pass --cert FILE (and --key FILE) with "
            "one of your own, or install the test extra (pip install 'reolink-lan-driver[test]')"
        )
    with tempfile.TemporaryDirectory(prefix="reolink-emulator-") as folder:
        cert = os.path.join(folder, "cert.pem")
        key = os.path.join(folder, "key.pem")
        command = [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "825", "-subj", f"/CN={COMMON_NAME}",
            "-addext", f"subjectAltName={_SAN}", "-keyout", key, "-out", cert,
        ]  # fmt: skip
        try:
            subprocess.run(  # noqa: S603 - a fixed argv of the openssl found on PATH, no shell
                command,
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=_OPENSSL_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError) as err:
            detail = getattr(err, "stderr", b"") or b""
            reason = detail.decode("utf-8", "replace").strip().splitlines()[-1:] or [str(err)]
            raise CertificateUnavailable(
                f"HTTPS needs a certificate and `openssl req` could not make one ({reason[0]}): "
                "pass --cert FILE (and --key FILE), or install the test extra "
                "(pip install 'reolink-lan-driver[test]')"
            ) from err
        ctx.load_cert_chain(cert, key)
