"""An in-memory transport: requests go straight to a Python callable (e.g. the emulator).

It keeps the real transports' contract where it can be kept without a socket: the same default
headers, the same ``max_body`` cap, and the same error types for network-like failures the app
raises, so the driver's error handling can be tested without a network.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Callable, Dict, Optional, Tuple

from reolink.errors import (
    ConnectError,
    ResponseTooLarge,
    Timeout,
    TLSError,
    TransportError,
    TransportProtocolError,
)
from reolink.transport import Request, Response

from ._wire import default_headers

__all__ = ["App", "MemoryTransport"]

#: ``app(method, target, headers, body) -> (status, headers, body)``.
App = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]


def _translate(err: OSError) -> TransportError:
    """Map what the app raised to what a real transport would raise for it."""
    # socket.timeout is TimeoutError on Python 3.10+, a distinct OSError on 3.9.
    if isinstance(err, (TimeoutError, socket.timeout)):
        return Timeout(f"memory: no response in time ({type(err).__name__})")
    if isinstance(err, ConnectionRefusedError):
        return ConnectError("memory: connection refused")
    if isinstance(err, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return TransportProtocolError(f"memory: connection broken ({type(err).__name__})")
    if isinstance(err, ssl.SSLError):
        return TLSError(f"memory: TLS handshake failed ({type(err).__name__})")
    # Any other OSError (unreachable, name not resolved, ...) happens while connecting.
    return ConnectError(f"memory: connection failed ({type(err).__name__})")


class MemoryTransport:
    """Calls ``app`` for every request, in the caller's thread.

    * the app gets the request's headers plus the defaults a real transport sends
      (lower-case names) and the body (``b""`` when there is none);
    * a reply body above ``request.max_body`` raises ``ResponseTooLarge``;
    * ``OSError``\\ s raised by the app become ours: ``ConnectionRefusedError`` and other
      connect-time errors → ``ConnectError``; ``ConnectionResetError`` / ``BrokenPipeError`` →
      ``TransportProtocolError``; ``TimeoutError`` / ``socket.timeout`` → ``Timeout``;
      ``ssl.SSLError`` → ``TLSError``. Other exceptions are the app's bugs and propagate;
    * :attr:`requests_sent` counts the requests handed to the app;
    * :meth:`local_address` answers ``local_address`` (default loopback: the app runs in this
      process), the address a push URL uses when no ``push_host`` is set.
    """

    def __init__(self, app: App, *, local_address: Optional[str] = "127.0.0.1") -> None:
        self._app = app
        self._local_address = local_address
        self._count_lock = threading.Lock()
        #: (a copy of the request's headers, has a body, our merged headers): the last merge,
        #: a memo keyed by every input of default_headers (a poll sends the same headers every
        #: cycle); one tuple, replaced whole, so a send on another thread reads a whole one
        self._merged: Tuple[Dict[str, str], bool, Dict[str, str]] = ({}, False, {})
        self.requests_sent = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"<MemoryTransport requests_sent={self.requests_sent}>"

    def send(self, request: Request) -> Response:
        """Hand ``request`` to the app and return its reply."""
        has_body = request.body is not None
        source, had_body, merged = self._merged
        if had_body is not has_body or request.headers != source or not merged:
            merged = default_headers(request.headers, has_body)
            self._merged = (dict(request.headers), has_body, merged)
        headers = dict(merged)  # the app's own copy: what it does with it stays there
        self.closed = False
        with self._count_lock:
            self.requests_sent += 1
        try:
            status, reply_headers, body = self._app(
                request.method, request.target, headers, request.body or b""
            )
        except OSError as err:
            raise _translate(err) from err
        if len(body) > request.max_body:
            raise ResponseTooLarge(
                f"memory: response body of {len(body)} bytes exceeds the "
                f"{request.max_body}-byte cap",
                limit=request.max_body,
            )
        # Response copies the headers itself (lower-casing the names): no copy here.
        return Response(status=status, headers=reply_headers, body=bytes(body))

    def local_address(self) -> Optional[str]:
        """The address this host has towards the app (see the class docstring)."""
        return self._local_address

    def close(self) -> None:
        """Nothing to release; marks the transport closed (``send`` reopens it)."""
        self.closed = True
