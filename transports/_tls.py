"""TLS for both real transports: one SSL context per device, one pin check, one CA check.

Both transports hand the same :func:`make_context` context to their connections (urllib3's
``ssl_context``, http.client's ``context``) and run :func:`verify_pin` right after the handshake,
before a byte of the request (and its token) is sent. Nothing here imports urllib3: the stdlib
transport must work without it.

What each mode accepts (README: HTTPS and certificate pinning):

* no pin and ``tls_fingerprint``: what real Reolink firmware serves, the way Home Assistant
  talks to Reolink cameras: TLS 1.0 to 1.3 and every suite of OpenSSL's ``DEFAULT`` list at
  security level 0 (AES-CBC with RSA or ECDHE key exchange, AES-GCM with RSA key exchange, DHE
  with a 1024-bit group, ...). Without a pin nothing is authenticated anyway; with one, the pin
  authenticates the device whatever the suite. The transports log a WARNING once per connection
  whose TLS is below 1.2 or whose cipher is not AEAD (:func:`negotiated`);
* ``tls_verify``: Python 3.10+'s default client context (TLS 1.2 or newer, forward-secret
  suites, security level 2), set explicitly so that Python 3.9 is as strict: a verified chain is
  its promise, and it is not weakened.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import ssl
import string
from typing import FrozenSet, Optional

from reolink.errors import ConfigError
from reolink.transport import NegotiatedTLS, TLSOptions

__all__ = [
    "ACCEPTS",
    "LEGACY_CIPHERS",
    "FingerprintMismatch",
    "aead_ciphers",
    "check_fingerprint",
    "format_fingerprint",
    "make_context",
    "negotiated",
    "parse_fingerprint",
    "probe_tls",
    "speaks_tls",
    "validate_ca_file",
    "verify_pin",
    "widest_context",
]

#: The cipher list of the no-pin and pin modes (Home Assistant's for Reolink cameras).
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"

#: The cipher list of the verify mode: Python 3.10+'s own default, set explicitly so that
#: ``tls_verify`` is equally strict on Python 3.9, whose default context still offers AES-CBC
#: with SHA-1 and RSA key exchange and allows TLS 1.0.
STRICT_CIPHERS = (
    "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
)

#: What each TLS mode accepts, for messages.
ACCEPTS = {
    "verify": "TLS 1.2 or newer with forward-secret suites (Python 3.10+'s defaults)",
    "pin": "TLS 1.0 to 1.3 with OpenSSL's DEFAULT suites at security level 0",
    "self-signed": "TLS 1.0 to 1.3 with OpenSSL's DEFAULT suites at security level 0",
}

_SHA256_HEX_DIGITS = 64
#: ``FingerprintMismatch.actual`` when the device sent no certificate (nothing to blame the pin on).
NO_CERTIFICATE = "(no certificate)"


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
            format_fingerprint(actual) if actual else NO_CERTIFICATE,
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
      TLS 1.2 or newer with :data:`STRICT_CIPHERS` (Python 3.10+'s defaults, on 3.9 too);
    * ``pin`` and ``self-signed``: no chain check (cameras ship self-signed certificates);
      in ``pin`` mode the caller compares the certificate's fingerprint after the handshake.
      TLS 1.0 and newer, :data:`LEGACY_CIPHERS` (see the module docstring).
    """
    if tls.mode == "verify":
        assert tls.ca_file is not None  # mode "verify" implies it
        validate_ca_file(tls.ca_file)
        strict = ssl.create_default_context(cafile=tls.ca_file)
        # Python 3.10+'s defaults, on every supported Python (3.9's are weaker).
        strict.minimum_version = ssl.TLSVersion.TLSv1_2
        strict.set_ciphers(STRICT_CIPHERS)
        return strict
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # MINIMUM_SUPPORTED, not TLSv1 (deprecated in the ssl module: it warns). SSLv3 stays off:
    # the default context sets OP_NO_SSLv3, so the lowest version left is TLS 1.0.
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers(LEGACY_CIPHERS)
    return context


def aead_ciphers(context: ssl.SSLContext) -> FrozenSet[str]:
    """The names of the AEAD suites ``context`` may negotiate."""
    return frozenset(c["name"] for c in context.get_ciphers() if c.get("aead"))


def negotiated(sock: object, aead: FrozenSet[str]) -> Optional[NegotiatedTLS]:
    """The version and cipher a connected TLS socket agreed on (None for a plain socket)."""
    version = getattr(sock, "version", None)
    cipher = getattr(sock, "cipher", None)
    if not callable(version) or not callable(cipher):
        return None
    name_version = version()
    suite = cipher()
    if not isinstance(name_version, str) or not suite:
        return None
    name, _, bits = suite
    is_aead = name in aead or name_version == "TLSv1.3"
    return NegotiatedTLS(version=name_version, cipher=name, bits=int(bits or 0), aead=is_aead)


def widest_context() -> ssl.SSLContext:
    """A client context that accepts every version and suite this OpenSSL can do (probes only)."""
    context = make_context(TLSOptions())
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def probe_tls(
    host: str, port: int, timeout: float, context: ssl.SSLContext
) -> Optional[NegotiatedTLS]:
    """What ``host:port`` negotiates with ``context`` (None: no handshake).

    Asked after a handshake failed on the version or the cipher, so that the error can name
    what the device offers. Nothing but the handshake is sent.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                context.wrap_socket(sock) as tls:
            return negotiated(tls, aead_ciphers(context))
    except (OSError, ValueError):
        return None


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
