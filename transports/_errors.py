"""The one place where socket / ssl / http.client / urllib3 exceptions become ours.

Both real transports use it: connection failures (urllib3 wraps the socket's exception in its
own, http.client raises it bare; both are found by walking the exception chain, so nothing here
imports urllib3) and failures after the request was sent. Every message starts with the
device's ``host:port`` and names the real cause: a refused connection says refused, a port that
speaks the other protocol says so, a reply lost after the request left says that the device may
have executed it.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import Optional, Tuple, TypeVar, Union

from reolink.errors import (
    ConnectError,
    Timeout,
    TLSError,
    TransportError,
    TransportProtocolError,
    WrongProtocolError,
)
from reolink.transport import Decision, Failure, NegotiatedTLS, Request, decide, show_tls_version

from ._tls import ACCEPTS, NO_CERTIFICATE, FingerprintMismatch

__all__ = [
    "NoReply",
    "NothingSent",
    "WrongProtocol",
    "connect_error",
    "ended",
    "lost_reply_error",
    "maybe_executed",
    "reply_error",
    "tls_failure",
]

_E = TypeVar("_E", bound=BaseException)

#: OpenSSL's reasons when the peer answered a ClientHello with something that is not TLS (a
#: plain-HTTP server's "400 Bad Request").
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"}
)


#: OpenSSL's reasons when the two ends have no TLS version in common.
_VERSION_REASONS = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "WRONG_SSL_VERSION",
        "VERSION_TOO_LOW",
        "VERSION_TOO_HIGH",
    }
)
#: ... no cipher suite in common (a server's bare handshake_failure alert means that too), or
#: a key exchange below the security level.
_CIPHER_REASONS = frozenset(
    {
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "NO_SHARED_CIPHER",
        "NO_CIPHERS_AVAILABLE",
        "WRONG_CIPHER_RETURNED",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
        "NO_SUITABLE_KEY_SHARE",
        "NO_SHARED_SIGNATURE_ALGORITHMS",
        "NO_SUITABLE_SIGNATURE_ALGORITHM",
        "DH_KEY_TOO_SMALL",
        "BAD_DH_VALUE",
    }
)
_WEAK_KEY_EXCHANGE = frozenset({"DH_KEY_TOO_SMALL", "BAD_DH_VALUE"})
#: ... the certificate is too weak for the security level (tls_verify).
_WEAK_CERTIFICATE_REASONS = frozenset({"EE_KEY_TOO_SMALL", "CA_KEY_TOO_SMALL", "CA_MD_TOO_WEAK"})
#: verify codes (X509_V_ERR_*) of a certificate for another host name / IP address, and of
#: a certificate outside its dates.
_WRONG_HOST_CODES = frozenset({62, 64})
_DATE_CODES = frozenset({9, 10})


class NothingSent(ConnectionError):
    """The first write of the request failed: provably nothing the device could read left."""


class NoReply(ConnectionError):
    """The request was written, then the connection ended before any byte of a reply.

    ``args[0]`` is ``"closed"`` (an orderly close) or ``"reset"``.
    """


class WrongProtocol(ConnectionError):
    """The reply is a TLS record: the port expects ``args[0]`` (``"https"``)."""


def find(err: BaseException, kind: Union[type[_E], Tuple[type[_E], ...]]) -> Optional[_E]:
    """The first exception of ``kind`` in ``err``'s chain (causes, contexts, wrapped args)."""
    seen = set()
    todo = [err]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None


def _reason(err: BaseException) -> str:
    """The innermost OS-level reason (``[Errno 101] Network is unreachable``), without URLs."""
    inner = find(err, OSError)
    return str(inner) if inner is not None else type(err).__name__


def tls_failure(err: BaseException) -> Optional[str]:
    """Which part of a TLS connect failed, None when it is not one.

    ``"fingerprint"`` (a certificate was received and is not the pinned one), ``"certificate"``
    (a check of the certificate failed, or the device sent none), ``"version"``, ``"cipher"``,
    ``"not-tls"`` (the port answered something that is not TLS), ``"timeout"``, ``"closed"``
    or ``"reset"`` (the device ended the connection during the handshake), ``"handshake"``
    (any other handshake failure).
    """
    pin = find(err, FingerprintMismatch)
    if pin is not None:
        return "certificate" if pin.actual == NO_CERTIFICATE else "fingerprint"
    if find(err, ssl.SSLCertVerificationError) is not None:
        return "certificate"
    tls = find(err, ssl.SSLError)
    reason = getattr(tls, "reason", None)
    if reason in _NOT_TLS_REASONS:
        return "not-tls"
    if reason in _VERSION_REASONS:
        return "version"
    if reason in _CIPHER_REASONS:
        return "cipher"
    if reason in _WEAK_CERTIFICATE_REASONS:
        return "certificate"
    timeout = find(err, socket.timeout)
    if timeout is not None:
        return "timeout"
    if isinstance(tls, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or (
        reason == "UNEXPECTED_EOF_WHILE_READING"
    ):
        return "closed"
    if find(err, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) is not None:
        return "reset"
    return "handshake" if tls is not None else None


def connect_error(
    err: BaseException,
    where: str,
    request: Request,
    *,
    tls_mode: Optional[str] = None,
    offered: Optional[NegotiatedTLS] = None,
    pin_would_connect: bool = False,
    in_handshake: bool = False,
) -> TransportError:
    """What a failure while connecting (TCP, TLS handshake, pin check) becomes.

    ``tls_mode`` (``"self-signed"``, ``"pin"``, ``"verify"``; None over plain HTTP): a
    connection ended during a TLS handshake is said to be so. ``offered`` is what the device
    negotiates when asked again after a handshake found no version or cipher in common, and
    ``pin_would_connect`` says that was with what ``tls_fingerprint`` accepts, after a
    ``tls_verify`` handshake failed. ``in_handshake``: the TCP connection stood when it
    failed (the connection says so), so a timeout was the TLS handshake's.
    Nothing of the request was sent: every error returned has ``request_sent`` False. A pin is
    blamed only when a certificate was received and it did not match.
    """
    kind = tls_failure(err)
    if kind == "not-tls":
        return WrongProtocolError(
            f"{where}: the port speaks plain HTTP, not HTTPS: use protocol http "
            "(or the device's HTTPS port)",
            expected="http",
        )
    if kind in ("fingerprint", "certificate", "version", "cipher", "handshake"):
        return _tls_error(err, kind, where, offered, pin_would_connect)
    if find(err, socket.gaierror) is not None:
        return ConnectError(f"{where}: host name could not be resolved ({_reason(err)})")
    if find(err, ConnectionRefusedError) is not None:
        return ConnectError(
            f"{where}: connection refused (nothing listens on that port)", refused=True
        )
    timeout = find(err, socket.timeout)
    if timeout is not None:
        if kind == "timeout" and tls_mode is not None and in_handshake:
            return ConnectError(
                f"{where}: TLS handshake timed out after {request.connect_timeout} s (the port "
                "accepted the connection; the handshake got no answer)",
                in_tls_handshake=True,
            )
        return ConnectError(f"{where}: connect timed out after {request.connect_timeout} s")
    if tls_mode is not None and kind in ("closed", "reset"):
        how = "closed" if kind == "closed" else "reset"
        return ConnectError(
            f"{where}: connection {how} by the device during the TLS handshake (before any "
            "certificate came; nothing else was sent): check that the port is the device's "
            "HTTPS port and that HTTPS is enabled on it",
            in_tls_handshake=True,
            closed_by_device=True,
        )
    return ConnectError(f"{where}: connection failed: {_reason(err)}", closed_by_device=ended(err))


def _tls_error(
    err: BaseException,
    kind: str,
    where: str,
    offered: Optional[NegotiatedTLS],
    pin_would_connect: bool,
) -> TLSError:
    """The TLSError of a handshake that failed on ``kind`` (see :func:`tls_failure`)."""
    if kind == "fingerprint":
        pin = find(err, FingerprintMismatch)
        return TLSError(
            f"{where}: TLS {pin}: the device's certificate changed (factory reset, some "
            "firmware upgrades) or another device answers; check it, then update "
            "tls_fingerprint",
            failure="fingerprint",
        )
    if kind == "certificate":
        return TLSError(f"{where}: {_certificate_problem(err)}", failure="certificate")
    reason = getattr(find(err, ssl.SSLError), "reason", None) or _reason(err)
    if kind == "handshake":
        return TLSError(f"{where}: TLS handshake failed: {_reason(err)}")
    if kind == "version":
        what = "no TLS version in common"
    elif reason in _WEAK_KEY_EXCHANGE:
        what = (
            "cipher too weak: the device's DHE key exchange uses a Diffie-Hellman group below "
            "the security level"
        )
    else:
        what = "no cipher suite in common"
    device = (
        f"the device offers {show_tls_version(offered.version)} with {offered.cipher}"
        if offered is not None
        else "the device completes no handshake this OpenSSL can make"
    )
    if pin_would_connect:
        return TLSError(
            f"{where}: TLS handshake failed: {what} ({reason}): {device}; tls_verify accepts "
            f"{ACCEPTS['verify']} only: pin the device's certificate with tls_fingerprint "
            "instead (README: HTTPS)",
            failure=kind,
            pin_would_connect=True,
        )
    return TLSError(
        f"{where}: TLS handshake failed: {what} ({reason}): {device}, outside what this driver "
        f"accepts ({ACCEPTS['pin']}): update the device's firmware, or use protocol http if "
        "HTTP is enabled on it",
        failure=kind,
    )


def _certificate_problem(err: BaseException) -> str:
    """Which check of the certificate failed, and the next step."""
    pin = find(err, FingerprintMismatch)
    if pin is not None:  # the device sent no certificate at all
        return (
            "TLS: the device sent no certificate, so the pinned tls_fingerprint cannot be "
            "checked (an anonymous cipher suite): remove tls_fingerprint, or update the firmware"
        )
    verify = find(err, ssl.SSLCertVerificationError)
    if verify is not None:
        code = getattr(verify, "verify_code", None)
        check = getattr(verify, "verify_message", None) or _reason(err)
        if code in _WRONG_HOST_CODES:
            step = (
                "the certificate is not issued for the host name or IP used: connect by a name "
                "or IP it names, or pin it with tls_fingerprint instead"
            )
        elif code in _DATE_CODES:
            step = "check the dates of the certificate and the clocks of the device and this host"
        else:
            step = (
                "the certificate does not chain to a CA of the tls_verify bundle: give the "
                "bundle of the CA that signed it, or pin it with tls_fingerprint instead"
            )
        return f"TLS certificate verify failed (tls_verify): {check}: {step}"
    reason = getattr(find(err, ssl.SSLError), "reason", None) or _reason(err)
    return (
        f"TLS certificate verify failed (tls_verify): the certificate's key or signature is too "
        f"weak for tls_verify ({reason}): pin it with tls_fingerprint instead"
    )


def maybe_executed(decision: Decision) -> str:
    """The note a lost reply carries when :func:`reolink.transport.decide` says it may have run."""
    if not decision.may_have_run:
        return ""
    return "; the device may have executed the request (it was not sent again)"


def _noted(error: TransportError, decision: Decision) -> TransportError:
    """``error`` with the decision's ``may_have_run`` as a field (its message says it too)."""
    error.may_have_run = decision.may_have_run
    return error


def lost_reply_error(err: NoReply, where: str, request: Request) -> TransportError:
    """The request left, and the connection ended before any byte of a reply.

    Not a timeout (nothing timed out): the message never suggests a longer one.
    """
    decision = decide(request, Failure(sent=True))
    how = "reset by the device" if err.args and err.args[0] == "reset" else "closed by the device"
    note = maybe_executed(decision)
    error = TransportProtocolError(
        f"{where}: connection {how} before any reply{note}", closed_by_device=True
    )
    return _noted(error, decision)


def reply_error(err: BaseException, where: str, request: Request) -> TransportError:
    """What a failure after the request was (at least partly) sent becomes; it may have run
    when :func:`reolink.transport.decide` says so (field and message)."""
    decision = decide(request, Failure(sent=True))
    return _noted(_reply_error(err, where, request, maybe_executed(decision)), decision)


def _reply_error(err: BaseException, where: str, request: Request, note: str) -> TransportError:
    if isinstance(err, WrongProtocol):
        return WrongProtocolError(
            f"{where}: the port expects HTTPS, not plain HTTP: use protocol https",
            expected="https",
        )
    if isinstance(err, socket.timeout):
        return Timeout(f"{where}: no complete response within {request.read_timeout:.1f} s{note}")
    if isinstance(err, http.client.IncompleteRead):
        more = "" if err.expected is None else f", {err.expected} more expected"
        return TransportProtocolError(
            f"{where}: connection closed mid-reply ({len(err.partial)} bytes of the body "
            f"read{more}){note}",
            closed_by_device=True,
        )
    if isinstance(err, http.client.RemoteDisconnected):
        return TransportProtocolError(
            f"{where}: connection closed inside the reply head{note}", closed_by_device=True
        )
    if isinstance(err, http.client.HTTPException):
        detail = str(err)[:80] if isinstance(err, http.client.BadStatusLine) else str(err)
        return TransportProtocolError(
            f"{where}: invalid HTTP reply ({type(err).__name__}: {detail!r}){note}"
        )
    return TransportProtocolError(
        f"{where}: connection broken: {_reason(err)}{note}", closed_by_device=ended(err)
    )


def ended(err: BaseException) -> bool:
    """The device reset or aborted the connection (a fact of the OS error, not its words)."""
    return find(err, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) is not None
