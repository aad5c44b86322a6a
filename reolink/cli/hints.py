"""One clear line per failure: what failed, its real cause, and what to do next.

The hint follows the error's type and fields and, for network failures, its actual cause (the
exception it was raised from), never its wording: nothing here reads a message (facts travel as
fields: ``may_have_run``, ``closed_by_device``, ``ConnectError.refused`` / ``in_tls_handshake``,
``TLSError.failure``, ``WrongProtocolError.expected``...). ``WrongProtocolError.expected``
(set by the transports) decides directly; for other errors the cause is looked at:

* HTTPS to a port that speaks plain HTTP: the TLS handshake fails because the answer is not a
  TLS record (OpenSSL's ``WRONG_VERSION_NUMBER``). The port speaks HTTP: ``--protocol http``.
* Plain HTTP to an HTTPS port: the device resets or closes the connection at once, before any
  reply. That is no timeout; the command line checks whether the port answers a TLS handshake
  (nothing is sent but the handshake) and, if it does, says the port expects HTTPS.
* A connection closed or reset before any reply is never answered with "raise --timeout".
* ``--tls-fingerprint`` / ``--tls-verify`` are only mentioned when the certificate was the
  problem (a pin mismatch, a CA that does not verify it), or as the way out of a ``--tls-verify``
  handshake that found no TLS version or cipher in common with an older camera. A TLS failure's
  part is its ``TLSError.failure`` field (version, cipher, certificate, fingerprint, handshake);
  a connection closed, reset or timed out during the handshake is a ``ConnectError`` and never
  blames the pin.
"""

from __future__ import annotations

import ssl
from typing import Iterator, NamedTuple, Optional

from ..errors import (
    AuthError,
    CommandError,
    CommandTimeout,
    ConnectError,
    CredentialsError,
    LockedOutError,
    RemoteProtocolError,
    ReolinkError,
    ResponseTooLarge,
    SessionLimitError,
    Timeout,
    TLSError,
    TransportError,
    WrongProtocolError,
)

__all__ = ["Target", "answers_tls", "explain_error", "explain_offline", "speaks_plain_http"]

LOGIN_HINT = (
    "Confirm the username and password in the Reolink mobile app. "
    "Repeated bad attempts lock the account for several minutes."
)
LOCKED_HINT = (
    "The device locks the account for several minutes after repeated bad attempts and did not "
    "say for how long: wait at least 5 minutes without trying (a try may extend the lock), "
    "then confirm the username and password in the Reolink mobile app."
)
RELOGIN_HINT = (
    "Token expired or invalidated by another session. The driver auto-recovers; persistent "
    "failures usually mean two clients are racing on Login."
)
SNAPSHOT_HINT = (
    "Older firmware returns the web UI HTML when the token is rejected. "
    "Retry, or rotate the password."
)
SESSION_HINT = (
    "The device's session table is full (too many clients logged in): close other apps or "
    "wait for their sessions to end."
)
PIN_HINT = (
    "The certificate is not the one --tls-fingerprint / --tls-verify accepts: if the device's "
    "certificate changed (reset, firmware update), check the new one and update the option "
    "(README: HTTPS and certificate pinning)."
)
CERTIFICATE_HINT = (
    "The certificate failed the check named above: with --tls-verify, give the CA bundle that "
    "signed it, or pin the certificate with --tls-fingerprint instead (README: HTTPS and "
    "certificate pinning)."
)
VERIFY_TOO_STRICT_HINT = (
    "Pin the certificate with --tls-fingerprint instead of --tls-verify: it accepts the older "
    "TLS this device offers (README: HTTPS and certificate pinning)."
)
FIRMWARE_TOO_OLD_HINT = (
    "Update the device's firmware, or use --protocol http if HTTP is enabled on it."
)
HANDSHAKE_CLOSED_HINT = (
    "The device ended the TLS handshake before sending a certificate: check that --port is the "
    "device's HTTPS port (usually 443) and that HTTPS is enabled on it; no pin is involved."
)
HANDSHAKE_HINT = (
    "Check that --port is the device's HTTPS port (usually 443) and that HTTPS is enabled on "
    "the device."
)
PLAIN_HTTP_HINT = (
    "The port speaks plain HTTP, not HTTPS: use --protocol http (or --port with the device's "
    "HTTPS port, usually 443)."
)
EXPECTS_HTTPS_HINT = (
    "The port expects HTTPS: use --protocol https (newer firmware ships with HTTP off; HTTPS "
    "is on port 443)."
)
USE_HTTP_HINT = "Use --protocol http, or --port with the device's HTTPS port (usually 443)."
USE_HTTPS_HINT = "Use --protocol https (newer firmware ships with HTTP off; HTTPS is on port 443)."
CLOSED_HINT = (
    "The device closed the connection without an answer: this is not a timeout, a longer "
    "--timeout will not help. Check --port and --protocol (http or https); if they are right, "
    "other clients may be overloading the device."
)
TIMEOUT_HINT = "The device did not answer in time: check the network, or raise --timeout."
TOO_LARGE_HINT = "Something other than the camera's API may answer on this port: check --port."
REFUSED_HINT = (
    "Check that the camera supports this (spotlight, siren, PTZ) and that the account may use it "
    "(admin recommended)."
)
PROTOCOL_HINT = (
    "The reply is not the JSON API's: the firmware may be too old (2018+ firmware exposes "
    "/cgi-bin/api.cgi), or something else answers on this port."
)
MAY_HAVE_RUN_HINT = (
    "Check the device (did it move, sound, switch or restart?) before sending it again."
)
HTTP_STATUS_HINT = (
    "The device (or a proxy in front of it) answered with an HTTP {status} error page instead "
    "of the API: retry; if it persists, restart the device or check what answers on --port."
)
REACH_HINT = (
    "Check --ip and --port, and that http://IP/cgi-bin/api.cgi?cmd=Login answers with JSON; "
    "battery cameras: --protocol https --port 443."
)

#: OpenSSL reasons for "the peer's answer is not a TLS record" (it is plain HTTP).
_NOT_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
    }
)
#: How long the HTTPS check of a port may take (s).
PROBE_TIMEOUT = 2.0


class Target(NamedTuple):
    """Where the command line was talking to, for hints that depend on it."""

    host: str
    port: int
    protocol: str
    #: --tls-fingerprint or --tls-verify was given.
    pinned: bool = False


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it was raised from (cause first, then context)."""
    seen = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def speaks_plain_http(error: BaseException) -> bool:
    """The TLS handshake failed because the port answered with something that is not TLS."""
    for item in _chain(error):
        if isinstance(item, WrongProtocolError) and item.expected == "http":
            return True
        # getattr: SSLError subclasses (a pin mismatch) may never set ``reason``.
        if isinstance(item, ssl.SSLError) and getattr(item, "reason", None) in _NOT_TLS_REASONS:
            return True
    return False


def _closed_at_once(error: BaseException) -> bool:
    """The device closed or reset the connection (``closed_by_device``, or the OS said so)."""
    for item in _chain(error):
        if isinstance(item, TransportError) and item.closed_by_device:
            return True
        # (http.client's RemoteDisconnected, "closed, no reply", is a ConnectionResetError.)
        if isinstance(item, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
            return True
    return False


def _refused(error: BaseException) -> bool:
    """Nothing listens on the port (``ConnectError.refused``, or the OS said so)."""
    return any(
        (isinstance(item, ConnectError) and item.refused)
        or isinstance(item, ConnectionRefusedError)
        for item in _chain(error)
    )


def answers_tls(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when ``host:port`` completes a TLS handshake (nothing else is sent)."""
    # Imported here: most command lines never ask, and `--help` need not load the transports.
    from .._transports import load_transports

    return bool(load_transports().speaks_tls(host, port, timeout))


def _transport_hint(error: TransportError, target: Optional[Target]) -> str:
    if isinstance(error, WrongProtocolError):
        # The transport already named the cause; say the command-line way to fix it.
        return USE_HTTP_HINT if error.expected == "http" else USE_HTTPS_HINT
    if isinstance(error, TLSError):
        return _tls_hint(error)
    if isinstance(error, ConnectError) and error.in_tls_handshake:
        return HANDSHAKE_CLOSED_HINT
    if isinstance(error, Timeout):
        return TIMEOUT_HINT
    if isinstance(error, ResponseTooLarge):
        return TOO_LARGE_HINT
    # Whatever class the transport files it under, a reset or close with no reply is no
    # timeout; over plain HTTP it is what an HTTPS port does with a request it cannot read.
    if _closed_at_once(error) and not _refused(error):
        if (
            target is not None
            and target.protocol == "http"
            and answers_tls(target.host, target.port)
        ):
            return EXPECTS_HTTPS_HINT
        return CLOSED_HINT
    if isinstance(error, ConnectError):
        return REACH_HINT
    return "The connection broke: check the network and --port."


def _tls_hint(error: TLSError) -> str:
    """The next step for a failed TLS handshake, by the part that failed (``error.failure``)."""
    if speaks_plain_http(error):
        return PLAIN_HTTP_HINT
    failure = error.failure
    if failure == "fingerprint":
        return PIN_HINT
    if failure == "certificate":
        return CERTIFICATE_HINT
    if failure in ("version", "cipher"):
        return VERIFY_TOO_STRICT_HINT if error.pin_would_connect else FIRMWARE_TOO_OLD_HINT
    return HANDSHAKE_HINT


def explain_error(error: ReolinkError, command: str, target: Optional[Target] = None) -> str:
    """What failed and what to check, in the words of the driver page's troubleshooting table."""
    text = str(error)
    if error.may_have_run:
        # A command that changes something got no readable answer: the first thing a user must
        # know is that it may have run (running it again could sound a siren twice).
        if isinstance(error, TransportError) and not isinstance(error, WrongProtocolError):
            return f"{command}: {text}. {MAY_HAVE_RUN_HINT} {_transport_hint(error, target)}"
        return f"{command}: {text}. {MAY_HAVE_RUN_HINT}"
    if isinstance(error, SessionLimitError):
        return f"login refused: {text}. {SESSION_HINT}"
    if isinstance(error, LockedOutError):
        return f"login refused: {text}. {locked_hint(error.unlock_seconds)}"
    if isinstance(error, CredentialsError):
        return f"login failed: {text}. {LOGIN_HINT}"
    if isinstance(error, AuthError):
        return f"{command}: {text}. {RELOGIN_HINT}"
    if isinstance(error, TransportError):
        hint = _transport_hint(error, target)
        if isinstance(error, WrongProtocolError):
            return f"wrong protocol for the port: {text}. {hint}"
        if isinstance(error, TLSError):
            return f"TLS failed: {text}. {hint}"
        if isinstance(error, ConnectError):
            return f"cannot reach the device: {text}. {hint}"
        return f"{command}: {text}. {hint}"
    if isinstance(error, CommandTimeout):
        return f"{command}: {text}. {TIMEOUT_HINT}"
    if isinstance(error, RemoteProtocolError) and error.http_status is not None:
        # An error page (a proxy's 502, a 404): the status is the news, not the password.
        return f"{command}: {text}. {HTTP_STATUS_HINT.format(status=error.http_status)}"
    if command == "snapshot" and isinstance(error, RemoteProtocolError) and error.web_page:
        return f"snapshot rejected: {text}. {SNAPSHOT_HINT}"
    if isinstance(error, CommandError):
        return f"{command} refused by the device: {text}. {REFUSED_HINT}"
    if isinstance(error, RemoteProtocolError):
        return f"{command}: {text}. {PROTOCOL_HINT}"
    return f"{command} failed: {text}"


def locked_hint(unlock_seconds: Optional[int]) -> str:
    """How long to wait: what the device said (``unlock_time``), or how to find out."""
    if unlock_seconds is not None and unlock_seconds > 0:
        minutes = -(-unlock_seconds // 60)
        return (
            f"The device says the account unlocks in {unlock_seconds} s (about {minutes} min): "
            "wait that long (a login before then may extend the lock), then confirm the "
            "username and password in the Reolink mobile app."
        )
    return LOCKED_HINT


def explain_offline(reason: str) -> str:
    """The line for a device shown offline when no exception is at hand (the driver keeps the
    error that made it go offline, ``last_exception``: :func:`explain_error` reads its fields).

    A reason is text: nothing is learned from its words, so the next step is the general one.
    """
    return f"device offline: {reason or 'no answer'}. {REACH_HINT}"
