"""The one exception tree of the driver, rooted at :class:`ReolinkError`.

Every error the driver raises is one of these. Foreign exceptions (urllib3, socket, ssl, json) are
translated at exactly one boundary each and chained with ``raise ... from err``.

No error message ever contains a password or a token: messages are built from command names,
rspCodes, device ``detail`` strings, attribute names and non-secret values only.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "ApiError",
    "ArgumentError",
    "AuthError",
    "BatchShapeError",
    "CommandError",
    "CommandTimeout",
    "ConfigError",
    "ConnectError",
    "CredentialsError",
    "DeviceOffline",
    "LeftOutError",
    "LockedOutError",
    "NotConnected",
    "PackageClashError",
    "RemoteProtocolError",
    "ReolinkError",
    "ResponseTooLarge",
    "SessionLimitError",
    "TLSError",
    "Timeout",
    "TransportError",
    "TransportProtocolError",
    "WrongProtocolError",
]


class ReolinkError(Exception):
    """Base class of every error this package raises.

    ``may_have_run`` is a fact, not a wording: True only when a command that changes something
    (PtzCtrl, AudioAlarmPlay, Reboot, Set*) reached the device and its reply was lost or could
    not be read, so the device may have executed it (and nothing sent it again). The driver's
    client and the transports set it where :func:`reolink.transport.decide` (the one home of the
    request-safety rule) says so; hints use it ("did it move?") and the client uses it (the
    transport's message already says it) instead of reading the message. A lost reply to a
    read-only request or to Login never sets it.
    """

    #: Class default; set on the instance where a changing command's reply was lost.
    may_have_run: bool = False


# --- our caller's bad input -------------------------------------------------------------------


class ConfigError(ReolinkError, ValueError):
    """A device or zone attribute is missing or has a value that is not allowed."""

    def __init__(self, message: str, *, attribute: Optional[str] = None) -> None:
        super().__init__(message)
        self.attribute = attribute


class ArgumentError(ReolinkError, ValueError):
    """A command argument is missing or has a value that is not allowed. Nothing was sent."""

    def __init__(self, message: str, *, argument: Optional[str] = None) -> None:
        super().__init__(message)
        self.argument = argument


# --- the network ------------------------------------------------------------------------------


class TransportError(ReolinkError):
    """The request did not produce a complete HTTP response.

    ``request_sent`` tells whether the device may have received the request (and so may have
    executed it). It is False only when the request provably never left: the connection could
    not be made, or writing failed before any byte of the request was sent. Only such a request
    may be sent again for a command that changes something (see :mod:`reolink.transport`).

    ``closed_by_device`` is True when the device closed or reset the connection (before or in
    the reply, or during a handshake): no timeout, so a longer one does not help. Hints read
    this field, never the message.
    """

    #: Class default; an instance may override it (``request_sent=False`` in the constructor).
    request_sent: bool = True
    #: Class default; the transports set it where the device ended the connection.
    closed_by_device: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        request_sent: Optional[bool] = None,
        may_have_run: bool = False,
        closed_by_device: bool = False,
    ) -> None:
        super().__init__(message)
        if request_sent is not None:
            self.request_sent = request_sent
        if may_have_run:
            self.may_have_run = True
        if closed_by_device:
            self.closed_by_device = True


class ConnectError(TransportError):
    """No connection could be made (refused, unreachable, name not resolved, connect timeout).

    The request never reached the device, so it is always safe to retry.
    ``in_tls_handshake`` is True when the TCP connection was made and the device then closed
    or reset it, or let it time out, during the TLS handshake (before any certificate came).
    ``refused`` is True when the connection was refused (nothing listens on the port).
    """

    request_sent = False
    in_tls_handshake: bool = False
    refused: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        request_sent: Optional[bool] = None,
        in_tls_handshake: bool = False,
        refused: bool = False,
        closed_by_device: bool = False,
    ) -> None:
        super().__init__(message, request_sent=request_sent, closed_by_device=closed_by_device)
        self.in_tls_handshake = in_tls_handshake
        self.refused = refused


class WrongProtocolError(ConnectError):
    """The port speaks the other protocol: HTTPS asked of a plain-HTTP port, or the reverse.

    ``expected`` is the protocol the port speaks (``"http"`` or ``"https"``): the fix is the
    device's ``protocol`` setting, not a timeout or a certificate option. The device's API never
    saw the request (a TLS handshake a plain-HTTP server refused, or plain bytes a TLS server
    refused), so, like every ``ConnectError``, it is safe to send again.
    """

    def __init__(self, message: str, *, expected: str) -> None:
        super().__init__(message)
        self.expected = expected


class TLSError(ConnectError):
    """The TLS handshake failed; ``failure`` says which part (a field, so nobody parses text).

    * ``"version"``: no TLS version in common;
    * ``"cipher"``: no cipher suite in common, or the device's key exchange is too weak;
    * ``"certificate"``: the certificate failed a ``tls_verify`` check (chain, host name,
      dates, key strength), or the device sent none;
    * ``"fingerprint"``: a certificate was received and it is not the pinned one;
    * ``"handshake"``: any other handshake failure (OpenSSL's reason is in the message).

    ``pin_would_connect`` is True when a ``tls_verify`` handshake failed on the version or the
    cipher and the device completes one with what ``tls_fingerprint`` accepts: pinning its
    certificate is the way out. A connection closed, reset or timed out during the handshake is
    a plain ``ConnectError``.
    """

    FAILURES = ("version", "cipher", "certificate", "fingerprint", "handshake")

    def __init__(
        self, message: str = "", *, failure: str = "handshake", pin_would_connect: bool = False
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.pin_would_connect = pin_would_connect


class Timeout(TransportError):
    """The device accepted the request but did not answer in time.

    The command may have run: only read-only (``Get*``) commands are retried after this.
    """


class TransportProtocolError(TransportError):
    """The connection broke or the HTTP framing was invalid after the request was sent."""


class ResponseTooLarge(TransportProtocolError):
    """The device sent more bytes than the response-size cap allows; the rest was not read."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message, request_sent=True)
        self.limit = limit


# --- the device's answers ---------------------------------------------------------------------


class RemoteProtocolError(ReolinkError):
    """The device sent something that is not a valid reply of the expected shape.

    Parsers raise this and nothing else for bad bytes (HTML pages, truncated JSON, wrong types).
    ``http_status`` is the HTTP status when the device answered with an error status (a 502
    page from a proxy, a 404) instead of 200; ``web_page`` is True when a snapshot was answered
    with the device's web UI page (older firmware's way of rejecting a token).
    """

    def __init__(
        self, message: str = "", *, http_status: Optional[int] = None, web_page: bool = False
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.web_page = web_page


class BatchShapeError(RemoteProtocolError):
    """A batch reply did not have one entry per command (too few, too many, or one global error).

    ``error`` holds the single error entry when the device collapsed the whole batch into one.
    """

    def __init__(
        self, message: str, *, expected: int, got: int, error: Optional[ApiError] = None
    ) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got
        self.error = error


class ApiError(ReolinkError):
    """The device answered a command with an error envelope (``code: 1`` with ``error``)."""

    def __init__(
        self,
        message: str,
        *,
        cmd: str,
        rsp_code: Optional[int],
        detail: str = "",
        channel: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.cmd = cmd
        self.rsp_code = rsp_code
        self.detail = detail
        self.channel = channel


class CommandError(ApiError):
    """The device refused or failed a command (not an authentication problem)."""


class LeftOutError(CommandError):
    """Not sent: the command kept timing out alone and is left out for the rest of the session."""


class AuthError(ApiError):
    """The token is missing, expired or invalid: log in again and retry once."""


class CredentialsError(AuthError):
    """The username or password is wrong: stop logging in automatically."""


class LockedOutError(AuthError):
    """The device refuses logins for now (locked account, throttled logins): wait, then retry.

    ``unlock_seconds`` is how long the device said the lock lasts (its ``auth_warning_info``
    ``unlock_time``), None when it did not say.
    """

    unlock_seconds: Optional[int] = None


class SessionLimitError(LockedOutError):
    """The device's session table is full (-5 max session): wait for leases to end."""


# --- the driver's own state -------------------------------------------------------------------


class NotConnected(ReolinkError):
    """The driver is not connected (connect() not called yet, or disconnect() was called)."""


class DeviceOffline(ReolinkError):
    """The device is unreachable right now; the reason is in the message.

    ``channel`` is set when one channel of an NVR or hub is offline or asleep ("channel N is
    offline"): every per-channel command on it raises this, in the library and the CLI.
    ``asleep`` is True when that channel is a battery camera asleep (not offline).
    """

    def __init__(
        self, message: str = "", *, channel: Optional[int] = None, asleep: bool = False
    ) -> None:
        super().__init__(message)
        self.channel = channel
        self.asleep = asleep


class CommandTimeout(ReolinkError):
    """A command did not complete within request_timeout."""


# --- the installation -------------------------------------------------------------------------


class PackageClashError(ReolinkError, ImportError):
    """Another installed package answers to one of our import names (``transports``).

    The message names the module's location and the fix (uninstall the other, reinstall this).
    """
