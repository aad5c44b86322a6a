"""A transport on urllib3 2.x connections: no retries, no redirects.

Imported only when a urllib3 transport is asked for (``transports.open_transport`` imports it
lazily), so the rest of the driver runs without urllib3.

urllib3 makes the connections (name resolution, socket options, TLS set-up with the shared
context of :mod:`transports._tls`, its connection errors); the exchange on them is the one both
real transports share (:mod:`transports._exchange`: plain replies read by us, the rest by
``http.client``), not urllib3's pool and response machinery. Keep-alive and the request-safety
rule are in :mod:`transports._base`.
"""

from __future__ import annotations

import logging
import socket
from typing import Optional

from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection

from ._base import Connection, ConnectionTransport
from ._tls import verify_pin

__all__ = ["Urllib3Transport"]

log = logging.getLogger("reolink.transports.urllib3")


class _HTTPSConnection(HTTPSConnection):
    #: Set right after construction; None outside "pin" mode.
    pin: Optional[bytes] = None
    #: True once the TCP connection stands, before the TLS handshake: a timeout after it is
    #: the handshake's (a fact of ours, not read from the ssl module's message).
    tcp_connected = False

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.tcp_connected = True
        return sock

    def connect(self) -> None:
        super().connect()
        # The handshake accepted any certificate (CERT_NONE); the pin decides, before a single
        # byte of the request (and its token) is sent. On a mismatch the transport closes us.
        verify_pin(self.sock, self.pin)


class Urllib3Transport(ConnectionTransport):
    """HTTP(S) to one device over urllib3 connections.

    ``pool_maxsize`` is how many kept-alive connections are kept (1 suits a device thread that
    sends one request at a time; cameras allow few concurrent connections). Thread-safe:
    concurrent requests each get a connection of their own.
    """

    _log = log
    _connect_errors = (OSError, u3.HTTPError)

    def _new_conn(self, connect_timeout: float) -> Connection:
        if self._context is None:
            return HTTPConnection(self._host, self._port, timeout=connect_timeout)
        # urllib3 warns about unverified HTTPS only from its pool, which is not used here, so
        # nothing global is silenced. Host names are checked by the context in "verify" mode.
        conn = _HTTPSConnection(
            self._host, self._port, timeout=connect_timeout, ssl_context=self._context,
            assert_hostname=None if self._tls.mode == "verify" else False,
        )
        conn.pin = self._pin
        return conn
