"""A transport on the standard library only: no third-party dependency at all.

``http.client`` makes the connections (TCP, TLS with the shared context of
:mod:`transports._tls`); the exchange on them is the one both real transports share
(:mod:`transports._exchange`). Keep-alive and the request-safety rule are in
:mod:`transports._base`.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
from typing import Any, Callable, Optional

from ._base import Connection, ConnectionTransport
from ._tls import verify_pin

__all__ = ["StdlibTransport"]

log = logging.getLogger("reolink.transports.stdlib")


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self, host: str, port: int, *, context: ssl.SSLContext, pin: Optional[bytes],
        timeout: float,
    ) -> None:
        super().__init__(host, port, context=context, timeout=timeout)
        self._pin = pin
        #: True once the TCP connection stands, before the TLS handshake: a timeout after it
        #: is the handshake's (a fact of ours, not read from the ssl module's message).
        self.tcp_connected = False
        create: Callable[..., socket.socket] = socket.create_connection

        def tcp(*args: Any, **kwargs: Any) -> socket.socket:
            sock = create(*args, **kwargs)
            self.tcp_connected = True
            return sock

        self._create_connection = tcp

    def connect(self) -> None:
        super().connect()
        # The handshake accepted any certificate (CERT_NONE); the pin decides, before a single
        # byte of the request (and its token) is sent. On a mismatch the transport closes us.
        verify_pin(self.sock, self._pin)


class StdlibTransport(ConnectionTransport):
    """HTTP(S) to one device over ``http.client`` connections.

    ``pool_maxsize`` is how many kept-alive connections are kept (default 1). Thread-safe:
    concurrent requests each get a connection of their own.
    """

    _log = log

    def _new_conn(self, connect_timeout: float) -> Connection:
        if self._context is None:
            return http.client.HTTPConnection(self._host, self._port, timeout=connect_timeout)
        return _HTTPSConnection(
            self._host, self._port, context=self._context, pin=self._pin,
            timeout=connect_timeout,
        )
