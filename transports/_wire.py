"""Pieces shared by the real transports: headers, the whole-response deadline, the size cap.

Nothing here imports urllib3: the stdlib transport must work without it.

The deadline works one level below ``http.client``. ``http.client.HTTPResponse`` reads the
status line, the headers and the body through ``sock.makefile("rb")``; both our stdlib
connection and urllib3's connection are ``http.client.HTTPConnection`` subclasses, so
:class:`DeadlineConnectionMixin` hands the response a file whose every ``recv`` gets only what
is left of the budget. A device that drips a byte every 100 ms is then cut off when the budget
runs out, not after each byte (a plain socket timeout restarts on every byte).
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from reolink import __version__
from reolink.errors import ResponseTooLarge

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "READ_CHUNK",
    "DeadlineConnectionMixin",
    "StaleConnectionError",
    "TruncatedHeadersError",
    "authority",
    "build_headers",
    "normalize_host",
    "read_capped",
]

#: Size of each body read; the cap is checked between reads.
READ_CHUNK = 64 * 1024

USER_AGENT = f"reolink-python/{__version__}"


class StaleConnectionError(ConnectionResetError):
    """A kept-alive connection was closed by the device before it sent any byte of the reply.

    This is the idle-close race every HTTP/1.1 client knows: the device dropped the idle
    connection just as we reused it. The transports retry such a request once on a fresh
    connection, and only this case (see their docstrings).
    """


def normalize_host(host: str) -> str:
    """``"[::1]"`` → ``"::1"``; names and IPv4 addresses unchanged."""
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def authority(host: str, port: int) -> str:
    """``host:port`` for messages and reprs, IPv6 literals bracketed (``[::1]:443``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _title_case(name: str) -> str:
    # Header names are case-insensitive, but embedded web servers are not always tolerant:
    # send the conventional spelling.
    return "-".join(part.capitalize() for part in name.split("-"))


def build_headers(headers: Mapping[str, str], has_body: bool) -> dict[str, str]:
    """The request's headers plus our defaults; the request's own values win."""
    merged: dict[str, str] = {
        "user-agent": USER_AGENT,
        "accept": "*/*",
        "connection": "keep-alive",
    }
    if has_body:
        merged["content-type"] = "application/json"
    merged.update({name.lower(): value for name, value in headers.items()})
    return {_title_case(name): value for name, value in merged.items()}


class TruncatedHeadersError(http.client.HTTPException):
    """The connection ended inside the reply's header block (no blank line after the headers).

    ``http.client`` accepts such a reply as if the headers were complete; we do not.
    """


class _ReplyProgress:
    """What arrived on the current exchange: bytes (stale-connection test) and end of stream."""

    __slots__ = ("bytes_received", "eof_seen")

    def __init__(self) -> None:
        self.bytes_received = 0
        self.eof_seen = False


class _DeadlineReader(io.RawIOBase):
    """A raw file over a socket whose every read gets the remaining budget as its timeout."""

    def __init__(self, sock: socket.socket, budget: float | None, progress: _ReplyProgress):
        super().__init__()
        self._sock = sock
        # The socket's own raw file: it holds a reference on the socket, so a connection that
        # closes itself after a "Connection: close" reply can still be read to the end.
        self._file = sock.makefile("rb", buffering=0)
        self._deadline = None if budget is None else time.monotonic() + budget
        self._budget = budget
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"no complete response within {self._budget} s")
            self._sock.settimeout(remaining)
        count = self._file.readinto(buffer)
        if count:
            self._progress.bytes_received += count
        elif count == 0:
            self._progress.eof_seen = True
        return count

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` sees as its socket: it only calls ``makefile``."""

    def __init__(self, sock: socket.socket, budget: float | None, progress: _ReplyProgress):
        self._sock = sock
        self._budget = budget
        self._progress = progress

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._budget, self._progress))


class DeadlineConnectionMixin:
    """Mix into an ``http.client.HTTPConnection`` subclass (urllib3's included).

    * the response reads under a whole-response deadline of ``self.timeout`` seconds, counted
      from ``getresponse()``, i.e. from just after the request was sent (urllib3 sets
      ``conn.timeout`` to the read timeout right before calling it; the stdlib transport too);
    * a reply that fails before its first byte on a connection that already served a reply
      raises :class:`StaleConnectionError`;
    * a TLS error while reading a reply becomes ``ConnectionAbortedError``, so that it is not
      mistaken for a handshake failure (which would be "safe to retry").
    """

    # Provided by http.client.HTTPConnection.
    sock: Any
    timeout: Any
    response_class: Any

    replies_served = 0

    def connect(self) -> None:
        self.replies_served = 0
        super().connect()  # type: ignore[misc]

    def getresponse(self) -> Any:
        budget = self.timeout if isinstance(self.timeout, (int, float)) else None
        progress = _ReplyProgress()
        base_class: Callable[..., Any] = type(self).response_class

        def make_response(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
            return base_class(_DeadlineSocket(sock, budget, progress), *args, **kwargs)

        reused = self.replies_served > 0
        # An instance attribute shadows the class's response_class for this one call.
        self.response_class = make_response
        try:
            response = super().getresponse()  # type: ignore[misc]
        except ssl.SSLError as err:
            raise ConnectionAbortedError(f"TLS error while reading the reply: {err}") from err
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as err:
            # http.client.RemoteDisconnected is a ConnectionResetError.
            if reused and progress.bytes_received == 0:
                raise StaleConnectionError(
                    "kept-alive connection closed before the reply started"
                ) from err
            raise
        finally:
            del self.response_class
        if progress.eof_seen:
            # http.client reads the head line by line through a buffer, so it only hits the
            # end of the stream while parsing the head when the blank line never came.
            response.close()
            raise TruncatedHeadersError("connection closed inside the reply headers")
        self.replies_served += 1
        return response


def read_capped(
    read: Callable[[int], bytes], declared_length: str | None, max_body: int, where: str
) -> bytes:
    """Read a body with ``read(amount)`` until it returns ``b""``, at most ``max_body`` bytes.

    A declared ``Content-Length`` above the cap fails at once, before reading anything.
    Raises :class:`ResponseTooLarge`; the caller must then discard the connection.
    """
    if declared_length is not None:
        try:
            length: int | None = int(declared_length)
        except ValueError:
            length = None  # http.client / urllib3 reject it themselves
        if length is not None and length > max_body:
            raise ResponseTooLarge(
                f"{where}: response declares {length} bytes, more than the {max_body}-byte cap",
                limit=max_body,
            )
    chunks: list[bytes] = []
    total = 0
    while True:
        # Ask for one byte past the cap so that an overflow is seen without reading more.
        chunk = read(min(READ_CHUNK, max_body + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > max_body:
            raise ResponseTooLarge(
                f"{where}: response body exceeds the {max_body}-byte cap", limit=max_body
            )
        chunks.append(chunk)
    return b"".join(chunks)
