"""A transport on urllib3 2.x connections: no retries, no redirects.

Imported only when a urllib3 transport is asked for (``transports.open_transport`` imports it
lazily), so the rest of the driver runs without urllib3.

urllib3 makes the connections (name resolution, socket options, TLS set-up and checks, its
connection errors); the exchange on them is the one both real transports share
(:mod:`transports._http11`), not urllib3's pool and response machinery, which cost more CPU
per request than the whole rest of the exchange.

Keep-alive: up to ``pool_maxsize`` idle connections are kept. Before reusing one we look
whether the device closed it while it was idle (the socket is then readable) and open a fresh
one. If the device closes it in the very moment we reuse it, the request fails before any byte
of the reply arrives; that one case, and only that one, is retried once on a fresh connection.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
from typing import Any, List, TypeVar, Union

from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection

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
from ._tls import FingerprintMismatch, check_fingerprint, parse_fingerprint, validate_ca_file
from ._wire import (
    HeadBuilder,
    StaleConnectionError,
    authority,
    closed_while_idle,
    normalize_host,
    reply_error,
)

__all__ = ["Urllib3Transport"]

log = logging.getLogger(__name__)

_E = TypeVar("_E", bound=BaseException)


class _HTTPConnection(HTTPConnection):
    """Used to connect only (DNS, socket options); the exchange is ours (see _http11)."""

    #: Replies read on this connection (it is never reconnected: a new one is made instead).
    replies_served = 0


class _HTTPSConnection(HTTPSConnection):
    replies_served = 0
    #: Set right after construction; None outside "pin" mode.
    pin: bytes | None = None

    def connect(self) -> None:
        super().connect()
        if self.pin is not None:
            # The handshake accepted any certificate (CERT_NONE); the pin decides, before a
            # single byte of the request (and its token) is sent.
            sock: Any = self.sock  # an ssl.SSLSocket once connected
            try:
                check_fingerprint(sock.getpeercert(binary_form=True), self.pin)
            except FingerprintMismatch:
                self.close()
                raise


_Connection = Union[_HTTPConnection, _HTTPSConnection]


def _find(err: BaseException, kind: type[_E]) -> _E | None:
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
    """The innermost OS-level reason (``[Errno 111] Connection refused``), without URLs."""
    inner = _find(err, OSError)
    return str(inner) if inner is not None else type(err).__name__


def _translate(
    err: BaseException, connected: bool, where: str, request: Request
) -> TransportError:
    """The one place where a urllib3 / socket / ssl / http.client exception becomes ours.

    ``connected`` is false for failures while connecting (TCP and TLS handshake): those become
    ``ConnectError`` / ``TLSError``; later ones are translated by :func:`reply_error`.
    """
    if not connected:
        pin = _find(err, FingerprintMismatch)
        if pin is not None:
            return TLSError(f"{where}: TLS {pin}")
        if isinstance(err, u3.NameResolutionError):
            return ConnectError(f"{where}: host name could not be resolved ({_reason(err)})")
        if isinstance(err, u3.NewConnectionError):
            if _find(err, ConnectionRefusedError) is not None:
                return ConnectError(f"{where}: connection refused")
            return ConnectError(f"{where}: connection failed: {_reason(err)}")
        if isinstance(err, u3.ConnectTimeoutError) or isinstance(err, socket.timeout):
            return ConnectError(f"{where}: connect timed out after {request.connect_timeout} s")
        if _find(err, ssl.SSLError) is not None or _find(err, ssl.CertificateError) is not None:
            return TLSError(f"{where}: TLS handshake failed: {_reason(err)}")
        return ConnectError(f"{where}: connection failed: {_reason(err)}")
    return reply_error(err, where, request)


class Urllib3Transport:
    """HTTP(S) to one device over urllib3 connections.

    ``pool_maxsize`` is how many kept-alive connections are kept (1 suits a device thread that
    sends one request at a time; cameras allow few concurrent connections). Thread-safe:
    concurrent requests each get a connection of their own.
    """

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        tls: TLSOptions | None = None,
        *,
        pool_maxsize: int = 1,
    ) -> None:
        if scheme not in ("http", "https"):
            raise ConfigError(
                f"scheme must be 'http' or 'https', not {scheme!r}", attribute="scheme"
            )
        if pool_maxsize < 1:
            raise ConfigError("pool_maxsize must be at least 1", attribute="pool_maxsize")
        self._scheme = scheme
        self._host = normalize_host(host)
        self._port = port
        self._tls = tls or TLSOptions()
        self._pool_maxsize = pool_maxsize
        self._where = authority(self._host, port)
        self._pin: bytes | None = None
        if scheme == "https":
            # Validated now, so that a bad fingerprint or CA file fails at configuration time.
            if self._tls.mode == "pin":
                assert self._tls.fingerprint is not None  # mode "pin" implies it
                self._pin = parse_fingerprint(self._tls.fingerprint)
            elif self._tls.mode == "verify":
                assert self._tls.ca_file is not None  # mode "verify" implies it
                validate_ca_file(self._tls.ca_file)
        self._heads = HeadBuilder(self._host, port, 443 if scheme == "https" else 80)
        self._idle: List[_Connection] = []
        #: Bumped by close(): connections checked out before it are not kept afterwards.
        self._generation = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        tls = f" tls={self._tls.mode}" if self._scheme == "https" else ""
        return f"<Urllib3Transport {self._scheme}://{self._where}{tls}>"

    def _new_conn(self, connect_timeout: float) -> _Connection:
        if self._scheme == "http":
            return _HTTPConnection(self._host, self._port, timeout=connect_timeout)
        if self._tls.mode == "verify":
            return _HTTPSConnection(
                self._host, self._port, timeout=connect_timeout, cert_reqs="CERT_REQUIRED",
                ca_certs=self._tls.ca_file,
            )
        # Cameras ship self-signed certificates: no chain check on purpose (the user chose
        # it; "pin" mode checks the fingerprint instead). urllib3 warns about unverified
        # HTTPS only from its pool, which is not used here, so nothing global is silenced.
        conn = _HTTPSConnection(
            self._host, self._port, timeout=connect_timeout, cert_reqs="CERT_NONE",
            assert_hostname=False,
        )
        conn.pin = self._pin
        return conn

    def _checkout(self, request: Request, fresh: bool) -> tuple[_Connection, int]:
        """An idle connection still open (unless ``fresh``), or a new connected one."""
        with self._lock:
            generation = self._generation
            conn = self._idle.pop() if self._idle and not fresh else None
        while conn is not None:
            if conn.sock is not None and not closed_while_idle(conn.sock):
                return conn, generation
            conn.close()
            with self._lock:
                conn = self._idle.pop() if self._idle else None
        conn = self._new_conn(request.connect_timeout)
        try:
            conn.connect()
        except (u3.HTTPError, OSError) as err:
            conn.close()
            raise _translate(err, False, self._where, request) from err
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: connected", self._where)
        return conn, generation

    def _checkin(self, conn: _Connection, generation: int) -> None:
        with self._lock:
            if generation == self._generation and len(self._idle) < self._pool_maxsize:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection. Idempotent; a later ``send`` connects again.

        A connection in use by a concurrent ``send`` is closed when that ``send`` ends.
        """
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for conn in idle:
            conn.close()

    def send(self, request: Request) -> Response:
        """Send ``request`` and return the whole response (see :mod:`reolink.transport`)."""
        try:
            return self._exchange(request, fresh=False)
        except StaleConnectionError:
            pass
        # Outside the except block, so that a failure of the retry is not chained to the
        # stale connection's error.
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: kept-alive connection was closed by the device; reconnecting",
                      self._where)
        return self._exchange(request, fresh=True)

    def _exchange(self, request: Request, fresh: bool) -> Response:
        """One attempt. Raises ours, or StaleConnectionError for the idle-close race."""
        head = self._heads.head(request)  # a bad target or header: ValueError, nothing sent
        conn, generation = self._checkout(request, fresh)
        try:
            status, headers, body, keep = exchange(
                conn.sock, head, request, conn.replies_served > 0, self._where
            )
        except (StaleConnectionError, ResponseTooLarge):
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise _translate(err, True, self._where, request) from err
        if keep:
            conn.replies_served += 1
            self._checkin(conn, generation)
        else:
            conn.close()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s (%d bytes)", request.method, redact_target(request.target),
                      status, len(body))
        return Response(status=status, headers=headers, body=body)
