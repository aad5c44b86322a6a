"""A transport on urllib3 2.x: one connection pool per device, no retries, no redirects.

Imported only when a urllib3 transport is asked for (``transports.open_transport`` imports it
lazily), so the rest of the driver runs without urllib3.

Keep-alive: the pool keeps the connection; urllib3 checks an idle pooled connection before
reusing it and reconnects when the device closed it. If the device closes it in the very moment
we reuse it, the request fails before any byte of the reply arrives; that one case, and only
that one, is retried once on a fresh connection (urllib3 itself runs with ``retries=False``).
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any, TypeVar

import urllib3
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

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

from ._tls import FingerprintMismatch, check_fingerprint, parse_fingerprint, validate_ca_file
from ._wire import (
    DeadlineConnectionMixin,
    StaleConnectionError,
    authority,
    build_headers,
    normalize_host,
    read_capped,
)

__all__ = ["Urllib3Transport"]

log = logging.getLogger(__name__)

_E = TypeVar("_E", bound=BaseException)


class _HTTPConnection(DeadlineConnectionMixin, HTTPConnection):
    pass


class _HTTPSConnection(DeadlineConnectionMixin, HTTPSConnection):
    #: Set by the pool right after construction; None outside "pin" mode.
    pin: bytes | None = None

    def connect(self) -> None:
        super().connect()
        if self.pin is not None:
            # The handshake accepted any certificate (CERT_NONE); the pin decides, before a
            # single byte of the request (and its token) is sent. FingerprintMismatch is an
            # ssl.SSLError, so urllib3 reports it like any handshake failure.
            try:
                check_fingerprint(self.sock.getpeercert(binary_form=True), self.pin)
            except FingerprintMismatch:
                self.close()
                raise


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    """An HTTPS pool for one device that does not emit ``InsecureRequestWarning``.

    Cameras ship self-signed certificates, so in the default mode we connect with
    ``CERT_NONE`` on purpose (the user chose it; "pin" mode checks the fingerprint instead).
    urllib3 2.x warns from ``HTTPSConnectionPool._validate_conn`` whenever ``not
    conn.is_verified``. Silencing that through ``warnings`` filters would change global state
    (and ``warnings.catch_warnings`` is not thread-safe), so this private subclass does the
    rest of ``_validate_conn`` (connect early) and skips only the warning, for this pool only.
    """

    ConnectionCls = _HTTPSConnection

    def __init__(self, *args: Any, pin: bytes | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin = pin

    def _new_conn(self) -> Any:
        conn = super()._new_conn()
        if isinstance(conn, _HTTPSConnection):
            conn.pin = self._pin
        return conn

    def _validate_conn(self, conn: Any) -> None:
        # Deliberately not calling HTTPSConnectionPool._validate_conn (it only connects and
        # warns); HTTPConnectionPool._validate_conn is the (empty) base hook.
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


class _RedactTargets(logging.Filter):
    """Redacts ``token=``/``password=`` query values in urllib3's own log records.

    urllib3 logs the request target at DEBUG (``"GET /cgi-bin/api.cgi?...&token=..." 200``) and,
    for malformed reply headers, at WARNING. The token must never reach a log, so the first
    Urllib3Transport puts this filter on those two urllib3 loggers. It is the one piece of
    process-wide state this module sets up: idempotent, and it only rewrites secret query values.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_target(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_target(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


_URLLIB3_LOGGERS_WITH_TARGETS = ("urllib3.connectionpool", "urllib3.connection")


def _install_log_redaction() -> None:
    for name in _URLLIB3_LOGGERS_WITH_TARGETS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactTargets) for f in logger.filters):
            logger.addFilter(_RedactTargets())


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


def _translate(err: BaseException, in_body: bool, where: str, request: Request) -> TransportError:
    """The one place where a urllib3 / socket / ssl exception becomes ours."""
    pin = _find(err, FingerprintMismatch)
    if pin is not None:
        return TLSError(f"{where}: TLS {pin}")
    if isinstance(err, u3.NameResolutionError):
        return ConnectError(f"{where}: host name could not be resolved ({_reason(err)})")
    if isinstance(err, u3.NewConnectionError):
        if _find(err, ConnectionRefusedError) is not None:
            return ConnectError(f"{where}: connection refused")
        return ConnectError(f"{where}: connection failed: {_reason(err)}")
    if isinstance(err, u3.ConnectTimeoutError):
        return ConnectError(f"{where}: connect timed out after {request.connect_timeout} s")
    if isinstance(err, u3.SSLError) and not in_body:
        # Reply-time TLS errors were turned into ConnectionAbortedError by the connection, so
        # an SSLError from urlopen comes from the handshake.
        return TLSError(f"{where}: TLS handshake failed: {_reason(err)}")
    if isinstance(err, u3.ReadTimeoutError) or _find(err, socket.timeout) is not None:
        return Timeout(f"{where}: no complete response within {request.read_timeout} s")
    if isinstance(err, u3.IncompleteRead) or _find(err, u3.IncompleteRead) is not None:
        return TransportProtocolError(f"{where}: connection closed mid-reply")
    if _find(err, ConnectionError) is not None:
        return TransportProtocolError(f"{where}: connection broken: {_reason(err)}")
    return TransportProtocolError(f"{where}: invalid HTTP reply ({type(err).__name__})")


class Urllib3Transport:
    """HTTP(S) to one device over a urllib3 connection pool.

    ``pool_maxsize`` is how many kept-alive connections the pool keeps (1 suits a device
    thread that sends one request at a time; cameras allow few concurrent connections).
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
        self._pool: HTTPConnectionPool | None = None
        self._lock = threading.Lock()
        _install_log_redaction()

    def __repr__(self) -> str:
        tls = f" tls={self._tls.mode}" if self._scheme == "https" else ""
        return f"<Urllib3Transport {self._scheme}://{self._where}{tls}>"

    def _get_pool(self) -> HTTPConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = self._make_pool()
            return self._pool

    def _make_pool(self) -> HTTPConnectionPool:
        common: Any = {"maxsize": self._pool_maxsize, "block": False, "retries": False}
        if self._scheme == "http":
            return _HTTPPool(self._host, self._port, **common)
        if self._tls.mode == "verify":
            return _HTTPSPool(
                self._host, self._port, cert_reqs="CERT_REQUIRED", ca_certs=self._tls.ca_file,
                **common,
            )
        return _HTTPSPool(
            self._host, self._port, cert_reqs="CERT_NONE", assert_hostname=False,
            pin=self._pin, **common,
        )

    def close(self) -> None:
        """Close every pooled connection. Idempotent; a later ``send`` opens a new pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def send(self, request: Request) -> Response:
        """Send ``request`` and return the whole response (see :mod:`reolink.transport`)."""
        try:
            return self._exchange(request)
        except StaleConnectionError:
            log.debug("%s: kept-alive connection was closed by the device; reconnecting",
                      self._where)
            return self._exchange(request)

    def _exchange(self, request: Request) -> Response:
        """One attempt. Raises ours, or StaleConnectionError for the idle-close race."""
        pool = self._get_pool()
        in_body = False
        response: urllib3.BaseHTTPResponse | None = None
        try:
            response = pool.urlopen(
                request.method,
                request.target,
                body=request.body,
                headers=build_headers(request.headers, request.body is not None),
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(
                    connect=request.connect_timeout, read=request.read_timeout
                ),
                preload_content=False,
                release_conn=False,
            )
            in_body = True
            body = read_capped(
                response.read, response.headers.get("content-length"), request.max_body,
                self._where,
            )
            status, headers = response.status, dict(response.headers.items())
        except ResponseTooLarge:
            _discard(response)
            raise
        except (u3.HTTPError, OSError) as err:
            _discard(response)
            stale = _find(err, StaleConnectionError)
            if stale is not None and not in_body:
                raise stale from err
            raise _translate(err, in_body, self._where, request) from err
        response.release_conn()
        log.debug("%s %s -> %s (%d bytes)", request.method, redact_target(request.target),
                  status, len(body))
        return Response(status=status, headers=headers, body=body)


def _discard(response: urllib3.BaseHTTPResponse | None) -> None:
    """Close the response's connection (it is not reusable) and give the slot back."""
    if response is not None:
        response.close()
        response.release_conn()
