"""What both real transports share: settings, kept-alive connections, the request-safety rule.

A subclass only says how a connection is made (:meth:`ConnectionTransport._new_conn`: urllib3's
or http.client's connection classes, with the shared SSL context and pin check of
:mod:`transports._tls`); the exchange on it is :func:`transports._exchange.exchange`, and
errors are translated by :mod:`transports._errors`.

Keep-alive: up to ``pool_maxsize`` idle connections are kept, for repeatable requests (polls).
Before reusing one we look whether the device closed it while it was idle (the socket is then
readable) and open a fresh one. The device may still close it in the very moment we reuse it.
What happens then, and why a request that is not repeatable always gets a new connection, is
the request-safety rule of :mod:`reolink.transport` (stated there only); :meth:`_failure` and
:meth:`_checkout` apply it.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
from typing import Any, ClassVar, FrozenSet, List, Optional, Protocol, Tuple

from reolink.errors import ConfigError, TransportProtocolError
from reolink.redact import redact_target
from reolink.transport import (
    Decision,
    Failure,
    NegotiatedTLS,
    Request,
    Response,
    TLSOptions,
    decide,
    needs_new_connection,
    owned_response,
)

from ._errors import (
    NoReply,
    NothingSent,
    WrongProtocol,
    connect_error,
    ended,
    lost_reply_error,
    reply_error,
    tls_failure,
)
from ._exchange import exchange
from ._tls import (
    aead_ciphers,
    make_context,
    negotiated,
    parse_fingerprint,
    probe_tls,
    speaks_tls,
    widest_context,
)
from ._wire import HeadBuilder, authority, closed_while_idle, normalize_host

__all__ = ["Connection", "ConnectionTransport"]


class Connection(Protocol):
    """What the transports need of urllib3's and http.client's connection objects."""

    sock: Any

    def connect(self) -> None: ...

    def close(self) -> None: ...


class _SendAgain(Exception):
    """Internal: the attempt failed in a way that makes sending the request again safe."""


class ConnectionTransport:
    """HTTP(S) to one device; subclasses make the connections.

    Thread-safe: concurrent requests each get a connection of their own.
    """

    #: The logger of the subclass (``reolink.transports.<kind>``).
    _log: ClassVar[logging.Logger]
    #: What the subclass's ``connect()`` raises besides OSError (urllib3's own errors).
    _connect_errors: ClassVar[Tuple[type[BaseException], ...]] = (OSError,)

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        tls: Optional[TLSOptions] = None,
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
        self._extra = {"reolink_device": self._where}
        self._context: Optional[ssl.SSLContext] = None
        self._pin: Optional[bytes] = None
        self._aead: FrozenSet[str] = frozenset()
        self._negotiated: Optional[NegotiatedTLS] = None
        #: (version, cipher) of the last legacy agreement logged at WARNING
        self._legacy_warned: Optional[Tuple[str, str]] = None
        if scheme == "https":
            # Made now, so that a bad fingerprint or CA file fails at configuration time.
            if self._tls.mode == "pin":
                assert self._tls.fingerprint is not None  # mode "pin" implies it
                self._pin = parse_fingerprint(self._tls.fingerprint)
            self._context = make_context(self._tls)
            self._aead = aead_ciphers(self._context)
        self._heads = HeadBuilder(self._host, port, 443 if scheme == "https" else 80)
        self._idle: List[Connection] = []
        #: Bumped by close(): connections checked out before it are not kept afterwards.
        self._generation = 0
        self._lock = threading.Lock()
        self._local_address: Optional[str] = None

    def __repr__(self) -> str:
        tls = f" tls={self._tls.mode}" if self._scheme == "https" else ""
        return f"<{type(self).__name__} {self._scheme}://{self._where}{tls}>"

    def local_address(self) -> Optional[str]:
        """This host's address on the last connection made to the device (None before one).

        The address the device can reach us at: the default for a push URL (``push_host``).
        """
        return self._local_address

    def negotiated_tls(self) -> Optional[NegotiatedTLS]:
        """TLS version and cipher of the last connection made (None before one, or over HTTP).

        For diagnostics (``reolink doctor``); each connection below TLS 1.2 or without an AEAD
        cipher is also logged once at WARNING.
        """
        return self._negotiated

    def _new_conn(self, connect_timeout: float) -> Connection:
        """A new, not yet connected connection to the device."""
        raise NotImplementedError

    def close(self) -> None:
        """Close every idle connection. Idempotent; a later ``send`` connects again.

        A connection in use by a concurrent ``send`` is closed when that ``send`` ends. An old
        TLS agreement is warned about again on the first connection after it.
        """
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
            self._legacy_warned = None
        for conn in idle:
            conn.close()

    def send(self, request: Request) -> Response:
        """Send ``request`` and return the whole response (see :mod:`reolink.transport`)."""
        head = self._heads.head(request)  # a bad target or header: ValueError, nothing sent
        try:
            return self._attempt(request, head, fresh=False)
        except _SendAgain as again:
            reason = str(again)
        # Outside the except block, so that a failure of the second attempt is not chained
        # to the first one's.
        self._log.debug("%s: %s; sending it again on a new connection", self._where, reason,
                        extra=self._extra)
        return self._attempt(request, head, fresh=True)

    def _attempt(self, request: Request, head: bytes, fresh: bool) -> Response:
        """One attempt; raises ours, or _SendAgain when a second one is safe."""
        conn, reused, generation = self._checkout(request, fresh)
        try:
            status, headers, body, keep = exchange(conn.sock, head, request, self._where)
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise self._failure(err, request, reused) from err
        except BaseException:
            conn.close()
            raise
        if keep:
            self._checkin(conn, generation)
        else:
            conn.close()
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("%s: %s %s -> %s (%d bytes)", self._where, request.method,
                            redact_target(request.target), status, len(body), extra=self._extra)
        return owned_response(status, headers, body)  # a new dict, names lower-case

    def _failure(self, err: BaseException, request: Request, reused: bool) -> Exception:
        """What a failed exchange raises: ours, or _SendAgain when :func:`decide` says
        RESEND_NOW (see the module docstring)."""
        sent = not isinstance(err, NothingSent)
        stale = reused and isinstance(err, (NothingSent, NoReply))
        decision = decide(request, Failure(sent=sent, stale=stale))
        if decision is Decision.RESEND_NOW:
            return _SendAgain(
                "the kept-alive connection was closed before the request left"
                if not sent
                else "the kept-alive connection ended before any reply (read-only request)"
            )
        if not sent:
            return TransportProtocolError(
                f"{self._where}: connection broken before the request was sent "
                f"({err.__cause__ or err})",
                request_sent=False,
                closed_by_device=ended(err),
            )
        if isinstance(err, NoReply):
            # A TLS server resets a plain-HTTP request at once: ask the port, then say so.
            plain_http = self._scheme == "http" and not reused
            if plain_http and err.args == ("reset",) and self._expects_https(request):
                return reply_error(WrongProtocol("https"), self._where, request)
            return lost_reply_error(err, self._where, request)
        return reply_error(err, self._where, request)

    def _expects_https(self, request: Request) -> bool:
        """A plain-HTTP request reset at once, on a new connection: does the port speak TLS?"""
        self._log.debug("%s: request reset at once; checking whether the port expects HTTPS",
                        self._where, extra=self._extra)
        return speaks_tls(self._host, self._port, request.connect_timeout)

    def _checkout(self, request: Request, fresh: bool) -> Tuple[Connection, bool, int]:
        """(an idle connection still open, or a new one; whether it is reused; generation).

        A request that is not repeatable always gets a new connection (the request-safety
        rule: a kept-alive one could be closed under it, and :func:`decide` would then have it
        fail as "may have run" though it never arrived); the idle ones are closed first, so
        the device never holds more connections from us than before.
        """
        if needs_new_connection(request):
            with self._lock:
                generation = self._generation
                idle, self._idle = self._idle, []
            for stale in idle:
                stale.close()
            return self._connect(request, generation)
        with self._lock:
            generation = self._generation
            conn = self._idle.pop() if self._idle and not fresh else None
        while conn is not None:
            if conn.sock is not None and not closed_while_idle(conn.sock):
                return conn, True, generation
            conn.close()
            with self._lock:
                conn = self._idle.pop() if self._idle else None
        return self._connect(request, generation)

    def _connect(self, request: Request, generation: int) -> Tuple[Connection, bool, int]:
        conn = self._new_conn(request.connect_timeout)
        try:
            conn.connect()
        except self._connect_errors as err:
            conn.close()
            in_handshake = getattr(conn, "tcp_connected", False)
            raise self._connect_failure(err, request, in_handshake) from err
        self._remember_local(conn)
        if self._context is not None:
            self._note_tls(conn)
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("%s: connected", self._where, extra=self._extra)
        return conn, False, generation

    def _connect_failure(
        self, err: BaseException, request: Request, in_handshake: bool = False
    ) -> Exception:
        """What a failed connect raises. A handshake that found no TLS version or cipher in
        common first asks the device what it offers (handshakes only, nothing sent): under
        ``tls_verify`` with what ``tls_fingerprint`` accepts, else with every suite there is."""
        if self._context is None:
            return connect_error(err, self._where, request)
        offered = None
        pin_would_connect = False
        if tls_failure(err) in ("version", "cipher"):
            timeout = request.connect_timeout
            if self._tls.mode == "verify":
                offered = probe_tls(self._host, self._port, timeout, make_context(TLSOptions()))
                pin_would_connect = offered is not None
            if offered is None:
                offered = probe_tls(self._host, self._port, timeout, widest_context())
        return connect_error(
            err, self._where, request, tls_mode=self._tls.mode, offered=offered,
            pin_would_connect=pin_would_connect, in_handshake=in_handshake,
        )

    def _note_tls(self, conn: Connection) -> None:
        """Remember what the handshake agreed on; WARNING when it is below TLS 1.2 + AEAD (once
        per agreement: the same again on a new connection is logged at DEBUG)."""
        info = negotiated(conn.sock, self._aead)
        self._negotiated = info
        if info is not None and info.legacy:
            # Once per transport and agreement: a camera that closes after every reply makes a
            # handshake per poll, and a WARNING per poll would bury every other line.
            agreed = (info.version, info.cipher)
            level = logging.DEBUG if agreed == self._legacy_warned else logging.WARNING
            self._legacy_warned = agreed
            self._log.log(
                level,
                "%s: TLS connection uses %s, below TLS 1.2 with an AEAD cipher (what the device "
                "offers; accepted in %s mode, see README: HTTPS)",
                self._where, info, self._tls.mode, extra=self._extra,
            )

    def _remember_local(self, conn: Connection) -> None:
        try:
            address = conn.sock.getsockname()[0]
        except (OSError, AttributeError, IndexError, TypeError):
            return
        if isinstance(address, str) and address:
            # An IPv4 peer reached over a dual-stack socket shows as ::ffff:a.b.c.d.
            self._local_address = address[7:] if address.startswith("::ffff:") else address

    def _checkin(self, conn: Connection, generation: int) -> None:
        with self._lock:
            if generation == self._generation and len(self._idle) < self._pool_maxsize:
                self._idle.append(conn)
                return
        conn.close()
