"""TLS for both real transports: one SSL context per device, one pin check, one CA check.

Both transports hand the same :func:`make_context` context to their connections (urllib3's
``ssl_context``, http.client's ``context``) and run :func:`verify_pin` right after the handshake,
before a byte of the request (and its token) is sent. Nothing here imports urllib3: the stdlib
transport must work without it.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import ssl
import string

from reolink.errors import ConfigError
from reolink.transport import TLSOptions

__all__ = [
    "FingerprintMismatch",
    "check_fingerprint",
    "format_fingerprint",
    "make_context",
    "parse_fingerprint",
    "speaks_tls",
    "validate_ca_file",
    "verify_pin",
]

_SHA256_HEX_DIGITS = 64


class FingerprintMismatch(ssl.SSLError):
    """The peer's certificate is not the pinned one.

    A subclass of :class:`ssl.SSLError` on purpose: raised from inside a connection's
    ``connect()``, it travels through urllib3 like any handshake failure, and the transport's
    single translation point finds it in the exception chain and turns it into ``TLSError``.
    """

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"certificate fingerprint mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual

    def __str__(self) -> str:
        return f"certificate fingerprint mismatch: expected {self.expected}, got {self.actual}"


def parse_fingerprint(text: str) -> bytes:
    """Turn a SHA-256 fingerprint (hex, colons optional, any case) into its 32 raw bytes.

    Raises :class:`~reolink.errors.ConfigError` when it is not 64 hex digits.
    """
    digits = text.strip().replace(":", "").lower()
    if not digits or any(c not in string.hexdigits for c in digits):
        raise ConfigError(
            "TLS fingerprint must be a SHA-256 digest written as 64 hex digits "
            "(colons optional); it contains characters that are not hex digits",
            attribute="fingerprint",
        )
    if len(digits) != _SHA256_HEX_DIGITS:
        raise ConfigError(
            f"TLS fingerprint must be a SHA-256 digest written as {_SHA256_HEX_DIGITS} hex digits "
            f"(colons optional); got {len(digits)} hex digits",
            attribute="fingerprint",
        )
    return bytes.fromhex(digits)


def format_fingerprint(digest: bytes) -> str:
    """``AB:CD:...``, the way browsers and ``openssl x509 -fingerprint`` show it."""
    return ":".join(f"{b:02X}" for b in digest)


def check_fingerprint(der_cert: bytes | None, expected: bytes) -> None:
    """Raise :class:`FingerprintMismatch` unless ``sha256(der_cert) == expected``."""
    actual = hashlib.sha256(der_cert).digest() if der_cert else b""
    if not hmac.compare_digest(actual, expected):
        raise FingerprintMismatch(
            format_fingerprint(expected),
            format_fingerprint(actual) if actual else "(no certificate)",
        )


def validate_ca_file(ca_file: str) -> None:
    """Load ``ca_file`` once so that a missing or unreadable bundle fails at construction."""
    try:
        ssl.create_default_context(cafile=ca_file)
    except (OSError, ValueError) as err:
        # ssl.SSLError is an OSError: a file that is not PEM lands here too.
        raise ConfigError(
            f"TLS ca_file {ca_file!r} cannot be loaded as a CA bundle: {err}",
            attribute="ca_file",
        ) from err


def verify_pin(sock: object, pin: bytes | None) -> None:
    """After the handshake: raise :class:`FingerprintMismatch` unless the peer is the pinned one.

    ``sock`` is the connection's ``ssl.SSLSocket``; ``pin`` None (not "pin" mode) checks nothing.
    """
    if pin is None:
        return
    assert isinstance(sock, ssl.SSLSocket)
    check_fingerprint(sock.getpeercert(binary_form=True), pin)


def make_context(tls: TLSOptions) -> ssl.SSLContext:
    """The :class:`ssl.SSLContext` of one device's connections, matching the TLS mode.

    * ``verify``: chain checked against ``ca_file`` and the host name (or IP SAN) checked;
    * ``pin`` and ``self-signed``: no chain check (cameras ship self-signed certificates);
      in ``pin`` mode the caller compares the certificate's fingerprint after the handshake.
    """
    if tls.mode == "verify":
        assert tls.ca_file is not None  # mode "verify" implies it
        validate_ca_file(tls.ca_file)
        return ssl.create_default_context(cafile=tls.ca_file)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` completes a TLS handshake (no request is sent; any certificate).

    Asked only after a plain-HTTP request was reset at once with no reply, so that the error
    can say "the port expects HTTPS" instead of guessing.
    """
    context = make_context(TLSOptions())  # any certificate: only "is this TLS?" is asked
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                context.wrap_socket(sock):
            return True
    except (OSError, ValueError):
        return False
