"""One HTTP/1.1 exchange on a connected socket: send the request, read the whole reply.

Both real transports run this on their own connections (they differ only in how they connect),
so the contract of :mod:`reolink.transport` is kept in one place:

* the request goes out in one ``sendall`` (head and body together), bounded by the connect
  timeout;
* the reply (head and body together) must be complete within ``read_timeout`` counted from
  just after the request was sent. The socket timeout is set to what is left of that budget,
  and set again before a read only when the one set earlier could overshoot the deadline by
  more than :data:`DEADLINE_SLACK`: a device that drips a byte every 100 ms is cut off when the
  budget runs out, not after each byte, and a reply that arrives at once costs one
  ``settimeout``;
* at most ``max_body`` body bytes: a declared ``Content-Length`` above the cap fails before
  reading anything, a chunked or close-delimited body as soon as it passes the cap;
* a reply that fails before its first byte on a reused connection raises
  :class:`~transports._wire.StaleConnectionError` (the caller retries that once);
* TLS errors after the handshake become ``ConnectionAbortedError``, so that they are not
  mistaken for handshake failures.

Failures are raised as ``OSError`` / ``http.client.HTTPException`` subclasses (and
``ResponseTooLarge``); the transport translates them (see :func:`transports._wire.reply_error`).

The reply parser accepts what ``http.client`` accepts (bare-LF line ends, folded header lines,
lines without a colon are skipped, interim 1xx replies are skipped), and refuses a
``Content-Length`` that is not a number, or several that disagree, instead of guessing.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from reolink.errors import ResponseTooLarge
from reolink.transport import Request

from ._wire import StaleConnectionError, TruncatedHeadersError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["DEADLINE_SLACK", "Reply", "exchange"]

#: How far (seconds) a read may overshoot the whole-response deadline before the socket
#: timeout is set again. Setting it before every read costs a call per read for nothing.
DEADLINE_SLACK = 0.01

#: Largest head (status line plus headers) accepted; http.client allows 100 lines of 64 KiB.
MAX_HEAD = 64 * 1024
#: Largest single line in a chunked body (a chunk-size line, a trailer).
MAX_LINE = 64 * 1024
#: Bytes asked for per read when the amount to come is unknown.
RECV_SIZE = 64 * 1024
#: Buffer of the reader of the rest of a Content-Length body (most of it bypasses the buffer).
_BODY_BUFFER = 8 * 1024

#: status, headers (lower-case names, last value wins), body, keep the connection.
Reply = Tuple[int, Dict[str, str], bytes, bool]

_monotonic = time.monotonic


class BadContentLength(http.client.HTTPException):
    """The reply's ``Content-Length`` is not a number, or several disagree."""


class _Deadline:
    """Reads from the socket under the whole-response deadline; counts the bytes received."""

    __slots__ = ("armed_at", "budget", "deadline", "received", "sock")

    def __init__(self, sock: socket.socket, budget: float, armed_at: Optional[float]) -> None:
        """``armed_at``: when the socket timeout was last set to ``budget`` (None: set it now)."""
        if budget <= 0:
            raise socket.timeout(f"no complete response within {budget} s")
        self.sock = sock
        self.budget = budget
        now = _monotonic()
        self.deadline = now + budget
        self.received = 0
        if armed_at is None:
            sock.settimeout(budget)
            armed_at = now
        self.armed_at = armed_at

    def _arm(self) -> None:
        now = _monotonic()
        # The timeout set at armed_at ends at deadline + (now - armed_at) if set now.
        if now - self.armed_at > DEADLINE_SLACK:
            remaining = self.deadline - now
            if remaining <= 0:
                raise socket.timeout(f"no complete response within {self.budget} s")
            self.sock.settimeout(remaining)
            self.armed_at = now

    def recv(self, size: int) -> bytes:
        self._arm()
        try:
            data = self.sock.recv(size)
        except ssl.SSLError as err:
            raise ConnectionAbortedError(f"TLS error while reading the reply: {err}") from err
        self.received += len(data)
        return data

    def recv_into(self, view: memoryview) -> int:
        self._arm()
        try:
            count = self.sock.recv_into(view)
        except ssl.SSLError as err:
            raise ConnectionAbortedError(f"TLS error while reading the reply: {err}") from err
        self.received += count
        return count


def _head_end(data: bytes | bytearray, start: int) -> Tuple[int, int]:
    """(end of the head, start of the body), or (-1, -1) when the blank line has not come."""
    end = data.find(b"\r\n\r\n", start)
    # A head with bare-LF line ends may be followed by a body holding CRLFCRLF: look for an
    # earlier LF-LF first (only inside the head found so far, so it is cheap).
    bare = data.find(b"\n\n", start, None if end < 0 else end)
    if bare >= 0 and (end < 0 or bare < end):
        return bare, bare + 2
    if end >= 0:
        return end, end + 4
    return -1, -1


def _read_head(reader: _Deadline, data: bytes, reused: bool) -> Tuple[bytes, int, int]:
    """Read until the blank line after the headers; ``data`` is what is already buffered."""
    if not data:
        data = reader.recv(RECV_SIZE)
        if not data:
            if reused and reader.received == 0:
                raise StaleConnectionError("kept-alive connection closed before the reply")
            raise http.client.RemoteDisconnected("connection closed without a reply")
    end, body_start = _head_end(data, 0)
    if end >= 0:
        return data, end, body_start
    buffer = bytearray(data)
    while True:
        if len(buffer) > MAX_HEAD:
            raise http.client.LineTooLong("reply head")
        more = reader.recv(RECV_SIZE)
        if not more:
            raise TruncatedHeadersError("connection closed inside the reply headers")
        searched = max(0, len(buffer) - 3)
        buffer += more
        end, body_start = _head_end(buffer, searched)
        if end >= 0:
            return bytes(buffer), end, body_start


def _parse_head(head: bytes) -> Tuple[str, int, Dict[str, str]]:
    """(version, status, headers) of a head without its final blank line."""
    text = head.decode("iso-8859-1")
    lines = text.replace("\r\n", "\n").split("\n")
    status_line = lines[0]
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise http.client.BadStatusLine(status_line[:80])
    version, code = parts[0], parts[1]
    if len(code) != 3 or not code.isdigit() or not code.isascii():
        raise http.client.BadStatusLine(status_line[:80])
    status = int(code)
    if status < 100:
        raise http.client.BadStatusLine(status_line[:80])
    headers: Dict[str, str] = {}
    lengths = []
    name = ""
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            if name:  # an obsolete folded continuation of the previous header
                headers[name] = f"{headers[name]} {line.strip()}"
            continue
        raw_name, colon, value = line.partition(":")
        if not colon:
            name = ""
            continue  # not a header line; http.client and urllib3 skip it too
        name = raw_name.strip().lower()
        value = value.strip(" \t\r")
        headers[name] = value
        if name == "content-length":
            lengths.append(value)
    if len(lengths) > 1 or (lengths and "," in lengths[0]):
        values = {v.strip() for joined in lengths for v in joined.split(",")}
        if len(values) != 1:
            raise BadContentLength("conflicting Content-Length values")
        headers["content-length"] = values.pop()
    return version, status, headers


def _keep_alive(version: str, headers: Dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.1" or (version.startswith("HTTP/1.") and version != "HTTP/1.0"):
        return "close" not in connection
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    raise http.client.UnknownProtocol(version[:20])


def _too_large(where: str, max_body: int, declared: Optional[int] = None) -> ResponseTooLarge:
    if declared is not None:
        return ResponseTooLarge(
            f"{where}: response declares {declared} bytes, more than the {max_body}-byte cap",
            limit=max_body,
        )
    return ResponseTooLarge(
        f"{where}: response body exceeds the {max_body}-byte cap", limit=max_body
    )


class _RawBody(io.RawIOBase):
    """The rest of a body: first what was read with the head, then the socket (with deadline).

    Wrapped in ``io.BufferedReader``, whose ``read(n)`` allocates the final ``bytes`` once and
    reads into it: a large body is copied once (by the kernel), not gathered and joined.
    """

    def __init__(self, reader: _Deadline, pending: memoryview) -> None:
        super().__init__()
        self._reader = reader
        self._pending = pending
        self.delivered = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        pending = self._pending
        if pending:
            count = min(len(view), len(pending))
            view[:count] = pending[:count]
            self._pending = pending[count:]
        else:
            count = self._reader.recv_into(view)
        self.delivered += count
        return count


def _read_length(
    reader: _Deadline, data: bytes, start: int, length: int
) -> Tuple[bytes, bool]:
    """A body of ``length`` bytes, ``data[start:]`` already read. (body, nothing extra came)."""
    have = len(data) - start
    if have >= length:
        return data[start:start + length], have == length
    with memoryview(data) as pending:
        raw = _RawBody(reader, pending[start:])
        body = io.BufferedReader(raw, _BODY_BUFFER).read(length)
        raw.close()
    if len(body) < length:
        raise http.client.IncompleteRead(body, length - len(body))
    # The buffered reader may have read past the body into its buffer.
    return body, raw.delivered == length


def _read_to_close(
    reader: _Deadline, data: bytes, start: int, max_body: int, where: str
) -> bytes:
    chunks = [data[start:]]
    total = len(chunks[0])
    while total <= max_body:
        chunk = reader.recv(min(RECV_SIZE, max_body + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    raise _too_large(where, max_body)


class _Chunked:
    """Decodes a chunked body from the bytes after the head and the socket, under the cap."""

    def __init__(self, reader: _Deadline, data: bytes, start: int) -> None:
        self._reader = reader
        self._buffer = bytearray(memoryview(data)[start:])
        self._pos = 0

    def _more(self) -> None:
        if self._pos:
            del self._buffer[:self._pos]
            self._pos = 0
        data = self._reader.recv(RECV_SIZE)
        if not data:
            raise http.client.IncompleteRead(b"")
        self._buffer += data

    def _line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\n", self._pos)
            if end >= 0:
                line = bytes(self._buffer[self._pos:end])
                self._pos = end + 1
                return line
            if len(self._buffer) - self._pos > MAX_LINE:
                raise http.client.LineTooLong("chunk size")
            self._more()

    def _take(self, size: int) -> bytes:
        while len(self._buffer) - self._pos < size:
            self._more()
        data = bytes(self._buffer[self._pos:self._pos + size])
        self._pos += size
        return data

    def body(self, max_body: int, where: str) -> Tuple[bytes, bool]:
        """(body, nothing extra came after it)."""
        chunks: List[bytes] = []
        total = 0
        while True:
            size_text = self._line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(chunks)) from None
            if not size_text.isalnum():  # int() also takes "+1", "-1", "1_0"
                raise http.client.IncompleteRead(b"".join(chunks))
            if size == 0:
                break
            total += size
            if total > max_body:
                raise _too_large(where, max_body)
            chunks.append(self._take(size))
            self._line()  # the CRLF after the chunk data
        while self._line().strip():  # trailer fields up to the blank line
            pass
        return b"".join(chunks), self._pos == len(self._buffer)


def exchange(
    sock: socket.socket, head: bytes, request: Request, reused: bool, where: str
) -> Reply:
    """Send ``head`` (and ``request.body``) on ``sock``, read the whole reply.

    ``where`` (the device's ``host:port``) prefixes the ``ResponseTooLarge`` message.
    ``reused`` says whether the connection already served a reply: only then is an early
    close a :class:`StaleConnectionError`. The caller must discard the connection when this
    raises or when the returned keep flag is false.
    """
    sent_at = _monotonic()
    sock.settimeout(request.connect_timeout)
    try:
        sock.sendall(head + request.body if request.body else head)
    except ssl.SSLError as err:
        if reused:
            raise StaleConnectionError("kept-alive connection failed while sending") from err
        raise ConnectionAbortedError(f"TLS error while sending the request: {err}") from err
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as err:
        if reused:
            raise StaleConnectionError(
                "kept-alive connection closed before the request was sent"
            ) from err
        raise

    # The driver gives both timeouts the same value: the timeout set for sending is then
    # already the one for the reply (set a moment before the deadline starts: never later).
    same = request.read_timeout == request.connect_timeout
    reader = _Deadline(sock, request.read_timeout, sent_at if same else None)
    data = b""
    try:
        while True:
            data, end, start = _read_head(reader, data, reused)
            version, status, headers = _parse_head(data[:end])
            if status < 200 and status != 101:
                data = data[start:]  # an interim reply (100 Continue): the real one follows
                continue
            break
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as err:
        # RemoteDisconnected is a ConnectionResetError too; StaleConnectionError passes as is.
        if reused and reader.received == 0 and not isinstance(err, StaleConnectionError):
            raise StaleConnectionError("kept-alive connection closed before the reply") from err
        raise
    keep = _keep_alive(version, headers)

    if status == 101:  # the connection now speaks another protocol: never reuse it
        return status, headers, b"", False
    if request.method == "HEAD" or status in (204, 304):
        return status, headers, b"", keep and len(data) == start
    max_body = request.max_body
    coding = headers.get("transfer-encoding")
    if coding is not None:
        if coding.lower().rsplit(",", 1)[-1].strip() == "chunked":
            body, clean = _Chunked(reader, data, start).body(max_body, where)
            return status, headers, body, keep and clean
        return status, headers, _read_to_close(reader, data, start, max_body, where), False
    declared = headers.get("content-length")
    if declared is None:
        return status, headers, _read_to_close(reader, data, start, max_body, where), False
    if not (declared.isdigit() and declared.isascii()):
        raise BadContentLength("Content-Length is not a number")
    length = int(declared)
    if length > max_body:
        raise _too_large(where, max_body, length)
    body, clean = _read_length(reader, data, start, length)
    return status, headers, body, keep and clean
