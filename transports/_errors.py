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
from typing import Optional, TypeVar

from reolink.errors import (
    ConnectError,
    Timeout,
    TLSError,
    TransportError,
    TransportProtocolError,
    WrongProtocolError,
)
from reolink.transport import Request

from ._tls import FingerprintMismatch

__all__ = [
    "NoReply",
    "NothingSent",
    "WrongProtocol",
    "connect_error",
    "lost_reply_error",
    "maybe_executed",
    "reply_error",
]

_E = TypeVar("_E", bound=BaseException)

#: OpenSSL's reasons when the peer answered a ClientHello with something that is not TLS (a
#: plain-HTTP server's "400 Bad Request").
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"}
)


class NothingSent(ConnectionError):
    """The first write of the request failed: provably nothing the device could read left."""


class NoReply(ConnectionError):
    """The request was written, then the connection ended before any byte of a reply.

    ``args[0]`` is ``"closed"`` (an orderly close) or ``"reset"``.
    """


class WrongProtocol(ConnectionError):
    """The reply is a TLS record: the port expects ``args[0]`` (``"https"``)."""


def find(err: BaseException, kind: type[_E]) -> Optional[_E]:
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


def connect_error(err: BaseException, where: str, request: Request) -> TransportError:
    """What a failure while connecting (TCP, TLS handshake, pin check) becomes.

    Nothing of the request was sent: every error returned has ``request_sent`` False.
    """
    pin = find(err, FingerprintMismatch)
    if pin is not None:
        return TLSError(f"{where}: TLS {pin}")
    tls = find(err, ssl.SSLError)
    if tls is not None and tls.reason in _NOT_TLS_REASONS:
        return WrongProtocolError(
            f"{where}: the port speaks plain HTTP, not HTTPS: use protocol http "
            "(or the device's HTTPS port)",
            expected="http",
        )
    if find(err, socket.gaierror) is not None:
        return ConnectError(f"{where}: host name could not be resolved ({_reason(err)})")
    if find(err, ConnectionRefusedError) is not None:
        return ConnectError(f"{where}: connection refused (nothing listens on that port)")
    if find(err, socket.timeout) is not None:
        return ConnectError(f"{where}: connect timed out after {request.connect_timeout} s")
    if tls is not None or find(err, ssl.CertificateError) is not None:
        return TLSError(f"{where}: TLS handshake failed: {_reason(err)}")
    return ConnectError(f"{where}: connection failed: {_reason(err)}")


def maybe_executed(request: Request) -> str:
    """The note a lost reply to a command that changes something carries."""
    if request.repeatable or not request.changes_state:
        return ""
    return "; the device may have executed the request (it was not sent again)"


def lost_reply_error(err: NoReply, where: str, request: Request) -> TransportError:
    """The request left, and the connection ended before any byte of a reply.

    Not a timeout (nothing timed out): the message never suggests a longer one.
    """
    how = "reset by the device" if err.args and err.args[0] == "reset" else "closed by the device"
    return TransportProtocolError(
        f"{where}: connection {how} before any reply{maybe_executed(request)}"
    )


def reply_error(err: BaseException, where: str, request: Request) -> TransportError:
    """What a failure after the request was (at least partly) sent becomes."""
    note = maybe_executed(request)
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
            f"read{more}){note}"
        )
    if isinstance(err, http.client.RemoteDisconnected):
        return TransportProtocolError(f"{where}: connection closed inside the reply head{note}")
    if isinstance(err, http.client.HTTPException):
        detail = str(err)[:80] if isinstance(err, http.client.BadStatusLine) else str(err)
        return TransportProtocolError(
            f"{where}: invalid HTTP reply ({type(err).__name__}: {detail!r}){note}"
        )
    return TransportProtocolError(f"{where}: connection broken: {_reason(err)}{note}")
