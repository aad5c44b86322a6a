"""A transport on the standard library's ``http.client``: no third-party dependency at all.

One kept-alive connection per device, reused between requests. Before reusing it we look
whether the device closed it while it was idle (the socket is then readable: EOF) and open a
fresh one. If the device closes it in the very moment we reuse it, the request fails before any
byte of the reply; that one case, and only that one, is retried once on a fresh connection (the
device closed an idle connection, it did not fail the request). Every other failure is reported.
"""

from __future__ import annotations

import http.client
import logging
import select
import socket
import ssl
import threading
from typing import Union

from reolink.errors import (
    ConfigError,
    ConnectError,
    ResponseTooLarge,
    Timeout,
    TLSError,
    TransportError,
    TransportProtocolError,
)
from reolink.redact import redact_target
from reolink.transport import Request, Response, TLSOptions

from ._tls import FingerprintMismatch, check_fingerprint, make_stdlib_context, parse_fingerprint
from ._wire import (
    DeadlineConnectionMixin,
    StaleConnectionError,
    authority,
    build_headers,
    normalize_host,
    read_capped,
)

__all__ = ["StdlibTransport"]

log = logging.getLogger(__name__)


class _HTTPConnection(DeadlineConnectionMixin, http.client.HTTPConnection):
    pass


class _HTTPSConnection(DeadlineConnectionMixin, http.client.HTTPSConnection):
    def __init__(
        self, host: str, port: int, *, context: ssl.SSLContext, pin: bytes | None
    ) -> None:
        super().__init__(host, port, context=context)
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


def _closed_while_idle(sock: socket.socket) -> bool:
    """True when an idle kept-alive socket is readable: the peer closed it (or sent junk)."""
    try:
        if hasattr(select, "poll"):
            # poll() has no FD_SETSIZE limit; hosts with many open files exceed 1024.
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)  # Windows
        return bool(readable)
    except (OSError, ValueError):
        return True


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
    if isinstance(err, socket.timeout):
        return Timeout(f"{where}: no complete response within {request.read_timeout} s")
    if isinstance(err, http.client.IncompleteRead):
        return TransportProtocolError(
            f"{where}: connection closed mid-reply ({len(err.partial)} bytes read, "
            f"{err.expected} more expected)"
        )
    if isinstance(err, http.client.RemoteDisconnected):
        return TransportProtocolError(f"{where}: connection closed before any reply")
    if isinstance(err, http.client.HTTPException):
        return TransportProtocolError(f"{where}: invalid HTTP reply ({type(err).__name__})")
    return TransportProtocolError(f"{where}: connection broken: {err}")


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

    def _new_connection(self) -> _Connection:
        if self._context is not None:
            return _HTTPSConnection(self._host, self._port, context=self._context, pin=self._pin)
        return _HTTPConnection(self._host, self._port)

    def _exchange(self, request: Request) -> Response:
        """One attempt. Raises ours, or StaleConnectionError for the idle-close race."""
        phase = "connect"
        try:
            conn = self._conn
            if conn is not None and (conn.sock is None or _closed_while_idle(conn.sock)):
                self._discard()
                conn = None
            if conn is None:
                conn = self._conn = self._new_connection()
                conn.timeout = request.connect_timeout
                conn.connect()
                log.debug("%s: connected", self._where)
            reused = conn.replies_served > 0
            phase = "send"
            conn.sock.settimeout(request.connect_timeout)
            headers = build_headers(request.headers, request.body is not None)
            try:
                conn.request(request.method, request.target, request.body, headers)
            except (BrokenPipeError, ConnectionResetError) as err:
                if reused:
                    raise StaleConnectionError(
                        "kept-alive connection closed before the request was sent"
                    ) from err
                raise
            phase = "reply"
            conn.timeout = request.read_timeout  # the whole-response budget, see _wire
            response = conn.getresponse()
            body = read_capped(
                response.read, response.getheader("content-length"), request.max_body, self._where
            )
            if response.length:
                # http.client's read(amount) returns b"" on early EOF instead of failing.
                raise http.client.IncompleteRead(body, response.length)
            if response.will_close:
                self._discard()
            log.debug("%s %s -> %s (%d bytes)", request.method, redact_target(request.target),
                      response.status, len(body))
            return Response(status=response.status, headers=dict(response.getheaders()),
                            body=body)
        except StaleConnectionError:
            self._discard()
            raise
        except ResponseTooLarge:
            self._discard()
            raise
        except (OSError, http.client.HTTPException) as err:
            self._discard()
            raise _translate(err, phase, self._where, request) from err
