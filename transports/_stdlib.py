"""A transport on the standard library only: no third-party dependency at all.

``http.client`` makes the connection (TCP, TLS); the exchange on it is the one both real
transports share (:mod:`transports._http11`).

One kept-alive connection per device, reused between requests. Before reusing it we look
whether the device closed it while it was idle (the socket is then readable: EOF) and open a
fresh one. If the device closes it in the very moment we reuse it, the request fails before any
byte of the reply; that one case, and only that one, is retried once on a fresh connection (the
device closed an idle connection, it did not fail the request). Every other failure is reported.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
from typing import Union

from reolink.errors import (
    ConfigError,
    ConnectError,
    ResponseTooLarge,
    TLSError,
    TransportError,
)
from reolink.redact import redact_target
from reolink.transport import Request, Response, TLSOptions

from ._http11 import exchange
from ._tls import FingerprintMismatch, check_fingerprint, make_stdlib_context, parse_fingerprint
from ._wire import (
    HeadBuilder,
    StaleConnectionError,
    authority,
    closed_while_idle,
    normalize_host,
    reply_error,
)

__all__ = ["StdlibTransport"]

log = logging.getLogger(__name__)


class _HTTPConnection(http.client.HTTPConnection):
    """Used to connect only (TCP_NODELAY, audit hook); the exchange is ours (see _http11)."""

    #: Replies read on this connection (it is never reconnected: a new one is made instead).
    replies_served = 0


class _HTTPSConnection(http.client.HTTPSConnection):
    replies_served = 0

    def __init__(
        self, host: str, port: int, *, context: ssl.SSLContext, pin: bytes | None,
        timeout: float,
    ) -> None:
        super().__init__(host, port, context=context, timeout=timeout)
        self._pin = pin

    def connect(self) -> None:
        super().connect()
        if self._pin is not None:
            # The handshake accepted any certificate (CERT_NONE); the pin decides, before a
            # single byte of the request (and its token) is sent.
            try:
                check_fingerprint(self.sock.getpeercert(binary_form=True), self._pin)
            except FingerprintMismatch:
                self.close()
                raise


_Connection = Union[_HTTPConnection, _HTTPSConnection]


def _translate(err: BaseException, phase: str, where: str, request: Request) -> TransportError:
    """The one place where a socket / ssl / http.client exception becomes ours."""
    if phase == "connect":
        if isinstance(err, FingerprintMismatch):
            return TLSError(f"{where}: TLS {err}")
        if isinstance(err, (ssl.SSLError, ssl.CertificateError)):
            return TLSError(f"{where}: TLS handshake failed: {err}")
        if isinstance(err, socket.gaierror):
            return ConnectError(f"{where}: host name could not be resolved ({err})")
        if isinstance(err, socket.timeout):
            return ConnectError(f"{where}: connect timed out after {request.connect_timeout} s")
        if isinstance(err, ConnectionRefusedError):
            return ConnectError(f"{where}: connection refused")
        return ConnectError(f"{where}: connection failed: {err}")
    return reply_error(err, where, request)


class StdlibTransport:
    """HTTP(S) to one device over ``http.client``, one kept-alive connection.

    Thread-safe: requests are serialized on the one connection.
    """

    def __init__(
        self, scheme: str, host: str, port: int, tls: TLSOptions | None = None
    ) -> None:
        if scheme not in ("http", "https"):
            raise ConfigError(
                f"scheme must be 'http' or 'https', not {scheme!r}", attribute="scheme"
            )
        self._scheme = scheme
        self._host = normalize_host(host)
        self._port = port
        self._tls = tls or TLSOptions()
        self._where = authority(self._host, port)
        self._context: ssl.SSLContext | None = None
        self._pin: bytes | None = None
        if scheme == "https":
            # Validated now, so that a bad fingerprint or CA file fails at configuration time.
            if self._tls.fingerprint:
                self._pin = parse_fingerprint(self._tls.fingerprint)
            self._context = make_stdlib_context(self._tls)
        self._heads = HeadBuilder(self._host, port, 443 if scheme == "https" else 80)
        self._conn: _Connection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        tls = f" tls={self._tls.mode}" if self._scheme == "https" else ""
        return f"<StdlibTransport {self._scheme}://{self._where}{tls}>"

    def send(self, request: Request) -> Response:
        """Send ``request`` and return the whole response (see :mod:`reolink.transport`)."""
        with self._lock:
            try:
                return self._exchange(request)
            except StaleConnectionError:
                pass
            # Outside the except block, so that a failure of the retry is not chained to the
            # stale connection's error.
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s: kept-alive connection was closed by the device; reconnecting",
                          self._where)
            return self._exchange(request)

    def close(self) -> None:
        """Close the connection. Idempotent; a later ``send`` opens a new one."""
        with self._lock:
            self._discard()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _new_connection(self, timeout: float) -> _Connection:
        if self._context is not None:
            return _HTTPSConnection(
                self._host, self._port, context=self._context, pin=self._pin, timeout=timeout
            )
        return _HTTPConnection(self._host, self._port, timeout=timeout)

    def _exchange(self, request: Request) -> Response:
        """One attempt. Raises ours, or StaleConnectionError for the idle-close race."""
        head = self._heads.head(request)  # a bad target or header: ValueError, nothing sent
        conn = self._conn
        try:
            if conn is not None and (conn.sock is None or closed_while_idle(conn.sock)):
                self._discard()
                conn = None
            if conn is None:
                conn = self._new_connection(request.connect_timeout)
                conn.connect()
                self._conn = conn
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("%s: connected", self._where)
        except OSError as err:
            if conn is not None:
                conn.close()
            raise _translate(err, "connect", self._where, request) from err
        try:
            status, headers, body, keep = exchange(
                conn.sock, head, request, conn.replies_served > 0, self._where
            )
        except StaleConnectionError:
            self._discard()
            raise
        except ResponseTooLarge:
            self._discard()
            raise
        except (OSError, http.client.HTTPException) as err:
            self._discard()
            raise _translate(err, "reply", self._where, request) from err
        if keep:
            conn.replies_served += 1
        else:
            self._discard()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s (%d bytes)", request.method, redact_target(request.target),
                      status, len(body))
        return Response(status=status, headers=headers, body=body)
