"""One HTTP/1.1 exchange on a connected socket: send the request, read the whole reply.

Both real transports run this on their own connections (they differ only in how they connect),
so the contract of :mod:`reolink.transport` is kept in one place. A reply in the plain shape
a camera answers with is read by us (below); every other reply is parsed by the standard
library's :class:`http.client.HTTPResponse` (what urllib3 parses with too). What we add on top
of it:

* **the whole-response deadline** (``read_timeout`` counted from just after the request was
  sent): the reply's first read runs under a socket timeout of the whole budget (a socket
  timeout counts from the start of each read), and every later read goes through
  :class:`_Wire`, which first checks the deadline and sets the socket timeout to what is
  left of it; ``HTTPResponse`` reads through a buffered reader of ours over it
  instead of ``sock.makefile("rb")``. A device that drips a byte every 100 ms is cut off
  when the budget runs out, not after each byte. The timeout is set again only when the one
  set earlier could overshoot the deadline by more than :data:`DEADLINE_SLACK`, and never
  to the value it already has (each ``settimeout`` is a system call), so a reply that
  arrives at once on a kept-alive connection costs none;
* **the size cap**: a declared ``Content-Length`` above ``max_body`` fails before the body is
  read; a chunked or close-delimited body fails as soon as it passes the cap; a compressed body
  (``gzip`` / ``deflate``, never asked for: we send ``Accept-Encoding: identity``) is decoded
  and the cap applies to the decoded size too (a decompression bomb stops at the cap). As in
  http.client and urllib3, a ``Content-Encoding`` that is not a compression (``none``,
  ``UTF-8``) is identity, and gzip with several members or zero padding after its end decodes;
* **strict lengths**: several ``Content-Length`` values that disagree, or one that is not a
  number, fail instead of falling back to reading until the close;
* **what happened to the request**: the first write is checked on its own, so that a
  connection that is already dead when we write raises :class:`NothingSent` (provably nothing
  left); a connection that ends before the first byte of a reply raises :class:`NoReply` (the
  request left, the device may have run it). The transport decides what to do with each
  (see :mod:`transports._base`);
* **keep-alive**: the connection is kept only when the reply said so, was final (not 1xx), and
  nothing came after its end.

**A plain reply is read without http.client** (issue 19: its header parsing, through the
``email`` package, was the largest single cost of a poll, and the ``HTTPResponse`` and buffered
reader objects the next largest). The first read of the reply asks for up to
:data:`READ_SIZE` bytes. When the whole head is within its first 16 KiB (what http.client's
buffered reader would have held after the same read) and in the one plain shape a device
answers a poll with (``HTTP/1.1 2xx``, no 204; one ``Content-Length`` of digits; no
``Transfer-Encoding``; each other line a token name, ``:``, spaces, then printable ASCII not
ending in a space; no name twice; at most 99 fields), :func:`_plain_head` reads it as
``begin()`` would, and the body is cut straight out of that first read; only a body that did
not all arrive with the head is read on through a buffered reader (as ``HTTPResponse`` reads
it: :class:`http.client.IncompleteRead` when the connection ends early). Why this is safe:
such a head has exactly one reading (no folding, no encodings, no duplicates, no
``Transfer-Encoding``, one length), the same one http.client gives it, and the cap, the
decoding, the keep-alive rule and the deadline are the same code on both paths. Everything
else (a HEAD request; a head that is cut, long or not plain; whatever the fast path declines)
goes through ``HTTPResponse.begin()`` with the bytes already read handed to it first, so it
sees the byte stream it would have seen. tests/test_transports_plain_head.py runs both paths
on the 250+ framings of tests/test_transports_differential.py and on plain heads and their
near misses, and compares each fast-path result with bare http.client's.

Other failures are raised as ``OSError`` / ``http.client.HTTPException`` (translated by
:func:`transports._errors.reply_error`) or as our own ``TransportProtocolError`` /
``ResponseTooLarge`` (already carrying the device's name).
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import ssl
import time
import zlib
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from reolink.errors import ResponseTooLarge, TransportProtocolError
from reolink.transport import Request

from ._errors import NoReply, NothingSent, WrongProtocol

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["DEADLINE_SLACK", "Reply", "exchange"]

#: How far (seconds) a read may overshoot the whole-response deadline before the socket
#: timeout is set again. Setting it before every read costs a call per read for nothing.
DEADLINE_SLACK = 0.01
#: Bytes asked for per read of a body whose length is not known in advance.
READ_SIZE = 64 * 1024
#: Buffer of the reader ``HTTPResponse`` reads through (large bodies bypass it).
_BUFFER = 16 * 1024
#: The first write is at most one TLS record: if it fails, no complete record (and so no
#: byte the device could read) has left.
_FIRST_WRITE = 16 * 1024
#: A TLS record header (alert 0x15, handshake 0x16; version 3.x): the port speaks TLS.
_TLS_RECORD_STARTS = ("\x15\x03", "\x16\x03")

#: status, headers (lower-case names, last value wins), body, keep the connection.
Reply = Tuple[int, Dict[str, str], bytes, bool]

_monotonic = time.monotonic
_write = os.write
#: A socket's descriptor takes os.write only on POSIX (on Windows a socket is no file).
_ONE_WRITE = os.name == "posix"

#: The plain head (see the module docstring): status line, then fields, up to the blank line.
_PLAIN_HEAD = re.compile(
    rb"HTTP/1\.1 (2[0-9][0-9]) ([\x20-\x7e]*)\r\n"
    rb"((?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ ]*[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?\r\n)*)"
)
#: Most fields in a plain head: http.client fails on more than 100 head lines, and it counts
#: the blank line that ends the head (more: it fails, so we leave them to it).
_MAX_FIELDS = 99


class _Wire:
    """The socket under the whole-response deadline; counts the bytes received.

    Every read of a reply after the first goes through it, by way of :class:`_DeadlineRaw`
    (the plain path's in :func:`_read_on`, ``HTTPResponse``'s).
    """

    __slots__ = ("armed_at", "budget", "deadline", "eof", "received", "sock")

    def __init__(self, sock: socket.socket, budget: float, start: float, received: int) -> None:
        """``start``: when the deadline started, and the socket timeout was ``budget``
        (the first read's); ``received``: the bytes the first read gave."""
        self.sock = sock
        self.budget = budget
        self.deadline = start + budget
        self.received = received
        #: The peer closed (a read returned nothing).
        self.eof = False
        #: When the socket timeout was last set to what was left of the budget.
        self.armed_at = start

    def _arm(self) -> None:
        now = _monotonic()
        # The timeout set at armed_at ends at deadline + (now - armed_at) if set now.
        if now - self.armed_at > DEADLINE_SLACK:
            remaining = self.deadline - now
            if remaining <= 0:
                raise socket.timeout(f"no complete response within {self.budget:.1f} s")
            self.sock.settimeout(remaining)
            self.armed_at = now

    def recv_into(self, buffer: WriteableBuffer) -> int:
        self._arm()
        try:
            count = self.sock.recv_into(buffer)
        except ssl.SSLError as err:
            raise _tls_broke(err) from err
        self.received += count
        if not count:
            self.eof = True
        return count


def _tls_broke(err: ssl.SSLError) -> ConnectionAbortedError:
    """A TLS error while reading the reply, as the connection's end it is."""
    broke = ConnectionAbortedError(f"TLS error while reading the reply: {err}")
    broke.__cause__ = err
    return broke


class _DeadlineRaw(io.RawIOBase):
    """The raw stream a :class:`_Reader` reads: first ``seed`` (bytes already received from
    the wire), then the wire."""

    def __init__(self, wire: _Wire, seed: bytes) -> None:
        super().__init__()
        self.wire = wire
        self.seed = seed

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        # Lets the buffered reader's tell() say how much of what we received it handed out.
        return self.wire.received - len(self.seed)

    def readinto(self, buffer: WriteableBuffer) -> int:
        seed = self.seed
        if not seed:
            return self.wire.recv_into(buffer)
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(seed))
        view[:count] = seed[:count]
        self.seed = seed[count:]
        return count


class _Reader(io.BufferedReader):
    """What ``HTTPResponse`` reads through. Closing it leaves the socket (and us) alone."""

    def close(self) -> None:
        # HTTPResponse closes its file when the body is done; we still need tell() then.
        pass

    def leftover(self) -> int:
        """Bytes received but not consumed: something came after the end of the reply."""
        raw = self.raw
        assert isinstance(raw, _DeadlineRaw)
        return raw.wire.received - self.tell()


class _SocketShim:
    """Stands in for the socket ``HTTPResponse`` is given: its ``makefile`` is our reader."""

    __slots__ = ("reader",)

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def makefile(self, mode: str) -> _Reader:
        return self.reader


def _send(sock: socket.socket, data: bytes, timeout: float) -> None:
    """Write the request; :class:`NothingSent` when the first write fails (nothing left).

    On a plain socket (POSIX) the first write is one ``write`` system call: the socket's
    own ``send`` waits for the socket to be writable first (a ``poll`` per request), and a
    request's first 16 KiB fit an idle connection's buffer. What did not fit goes on
    through ``sendall`` under the timeout."""
    if sock.gettimeout() != timeout:  # the same value again would cost a system call
        sock.settimeout(timeout)
    first = data[:_FIRST_WRITE]
    try:
        if _ONE_WRITE and type(sock) is socket.socket:
            try:
                sent = _write(sock.fileno(), first)
            except BlockingIOError:  # the buffer is full: wait for it as send() does
                sent = sock.send(first)
        else:  # TLS (the SSL object writes), or Windows (a socket there is no file)
            sent = sock.send(first)
    except OSError as err:
        # A failed send() wrote nothing (a failed TLS write: at most part of one record,
        # which the device cannot decrypt, let alone run).
        raise NothingSent(f"the connection failed before the request was sent: {err}") from err
    if sent < len(data):
        try:
            sock.sendall(memoryview(data)[sent:])
        except ssl.SSLError as err:
            raise ConnectionAbortedError(f"TLS error while sending the request: {err}") from err


#: A plain head read by :func:`_plain_head`: status, headers, Content-Length, will close.
PlainHead = Tuple[int, Dict[str, str], int, bool]


def _plain_head(data: bytes, end: int) -> Optional[PlainHead]:
    """The head ``data[:end + 4]`` (``end``: where its blank line starts) if it is plain
    (module docstring), as ``begin()`` would read it; None if not."""
    match = _PLAIN_HEAD.fullmatch(data, 0, end + 2)
    if match is None:
        return None
    status = int(match.group(1))
    if status == 204:
        return None
    # The pattern let only printable ASCII through: one decode, then plain string splits.
    lines = match.group(3).decode("ascii").split("\r\n")
    lines.pop()  # after the last line's CRLF
    if len(lines) > _MAX_FIELDS:
        return None
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.lower()] = value.lstrip(" ")
    if len(headers) != len(lines) or "transfer-encoding" in headers:
        return None
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        return None
    return status, headers, int(length), "close" in headers.get("connection", "").lower()


def _read_on(wire: _Wire, seed: bytes, length: int) -> Tuple[bytes, int]:
    """A plain reply's body of ``length`` bytes that did not all come with its head
    (``seed``: the part that did), read on as ``HTTPResponse`` reads it
    (:class:`http.client.IncompleteRead` when the connection ends early); and how many bytes
    came after its end."""
    reader = _Reader(_DeadlineRaw(wire, seed), _BUFFER)
    body = reader.read(length)
    if len(body) < length:
        raise http.client.IncompleteRead(body, length - len(body))
    return body, reader.leftover()


def _begin(response: http.client.HTTPResponse, wire: _Wire) -> None:
    """Read the status line and headers; tell a lost reply, a cut head and a TLS peer apart."""
    try:
        response.begin()
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as err:
        # RemoteDisconnected (closed without a status line) is a ConnectionResetError too.
        if wire.received == 0:
            reset = not isinstance(err, http.client.RemoteDisconnected)
            raise NoReply("reset" if reset else "closed") from err
        raise
    except http.client.BadStatusLine as err:
        if err.args and str(err.args[0]).startswith(_TLS_RECORD_STARTS):
            raise WrongProtocol("https") from err
        raise
    if wire.eof:
        # The buffered reader reads on only for a line it has not seen the end of: the close
        # cut a line of the head (http.client would take the head for a whole one).
        raise http.client.RemoteDisconnected("connection closed inside the reply head")


def _full_reply(wire: _Wire, seed: bytes, request: Request, where: str) -> Reply:
    """The reply read by ``http.client.HTTPResponse`` (every head that is not plain)."""
    reader = _Reader(_DeadlineRaw(wire, seed), _BUFFER)
    response = http.client.HTTPResponse(
        _SocketShim(reader), method=request.method  # type: ignore[arg-type]
    )
    _begin(response, wire)
    headers = _headers(response)
    body = _read_body(response, request.max_body, where)
    if body:
        body = _decode(headers, body, request.max_body, wire.deadline, where)
    status = response.status
    # A 1xx other than 100 Continue is returned by http.client as the reply: its real reply
    # may follow on the connection, so the connection is never used again.
    keep = not response.will_close and status >= 200 and reader.leftover() == 0
    return status, headers, body, keep


def _headers(response: http.client.HTTPResponse) -> Dict[str, str]:
    """The reply's headers (lower-case names, last value wins), its lengths checked strictly.

    Several ``Content-Length`` values that disagree, or one that is not a number, fail instead
    of being ignored (http.client then reads to the close); equal repeats (``2, 2``) are one.
    """
    headers: Dict[str, str] = {}
    lengths: List[str] = []
    for name, value in response.msg.items():
        name = name.lower()
        if "\n" in value:  # obsolete line folding: one line
            value = " ".join(part.strip() for part in value.splitlines())
        headers[name] = value
        if name == "content-length":
            lengths.extend(v.strip() for v in value.split(","))
    no_body = response.length == 0 and (response.status < 200 or response.status in (204, 304))
    if not lengths or response.chunked or no_body:
        return headers
    if len(set(lengths)) != 1:
        raise http.client.HTTPException("conflicting Content-Length values")
    if not (lengths[0].isdigit() and lengths[0].isascii()):
        raise http.client.HTTPException("Content-Length is not a number")
    if response.length is None:
        response.length = int(lengths[0])
    return headers


def _declared_too_large(where: str, length: int, max_body: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{where}: response declares {length} bytes, more than the {max_body}-byte cap",
        limit=max_body,
    )


def _read_body(response: http.client.HTTPResponse, max_body: int, where: str) -> bytes:
    """The whole body, under the cap (the deadline is the reader's)."""
    if response.length is not None and not response.chunked:
        if response.length > max_body:
            raise _declared_too_large(where, response.length, max_body)
        return response.read()  # IncompleteRead when the connection ends early
    # Chunked or delimited by the close: read in pieces, stop as soon as the cap is passed.
    pieces: List[bytes] = []
    total = 0
    while True:
        piece = response.read(min(READ_SIZE, max_body + 1 - total))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        total += len(piece)
        if total > max_body:
            raise ResponseTooLarge(
                f"{where}: response body exceeds the {max_body}-byte cap", limit=max_body
            )


#: Content-codings that compress. gzip and deflate are decoded; the others are refused. Any
#: other value (``none``, ``UTF-8``, ``binary``: labels some firmware puts there) is not a
#: compression: the body is read as it is, as http.client and urllib3 read it.
_COMPRESSIONS = frozenset(
    {"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress", "bzip2", "x-bzip2"}
)
_DECODED = frozenset({"gzip", "x-gzip", "deflate"})
_GZIP_MAGIC = b"\x1f\x8b"
#: Input fed to the decompressor per call: what is left after a gzip member is copied once per
#: member, so a body of many tiny members costs at most this much copying per member.
_DECODE_STEP = 16 * 1024


def _compressions(headers: Dict[str, str], where: str) -> List[str]:
    """The compressions of the body, in the order they were applied (identity: none)."""
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    found = [c for c in codings if c in _COMPRESSIONS]
    for coding in found:
        if coding not in _DECODED:
            raise TransportProtocolError(
                f"{where}: reply uses Content-Encoding {coding!r}, which is not decoded "
                "(the request asked for identity)"
            )
    return found


def _decompressor(coding: str, data: bytes) -> zlib._Decompress:
    if coding != "deflate":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    # "deflate" is meant to be zlib-wrapped; some servers send raw deflate.
    wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


def _too_large(where: str, coding: str, max_body: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{where}: {coding} body decodes to more than the {max_body}-byte cap for decoded bodies",
        limit=max_body,
    )


def _cut(where: str, coding: str) -> TransportProtocolError:
    return TransportProtocolError(f"{where}: {coding} body is truncated or has trailing data")


def _undo(coding: str, body: bytes, max_body: int, deadline: float, where: str) -> bytes:
    """Undo one compression: every gzip member, zero padding after the last one ignored.

    At most ``max_body`` bytes come out (a decompression bomb stops there); the
    whole-response deadline is checked between members.
    """
    out: List[bytes] = []
    total = 0
    view = memoryview(body)
    offset = 0
    while True:  # one gzip member (or the one deflate stream) per turn
        decoder = _decompressor(coding, body[offset:offset + 2])
        try:
            while not decoder.eof and offset < len(view):
                step = view[offset:offset + _DECODE_STEP]
                offset += len(step)
                # At most one byte over the cap: then it raises, so no input is left unread.
                piece = decoder.decompress(step, max_body + 1 - total)
                total += len(piece)
                out.append(piece)
                if total > max_body:
                    raise _too_large(where, coding, max_body)
            if not decoder.eof:
                piece = decoder.flush()
                total += len(piece)
                out.append(piece)
        except zlib.error as err:
            raise TransportProtocolError(f"{where}: invalid {coding} body ({err})") from err
        if total > max_body or decoder.unconsumed_tail:
            raise _too_large(where, coding, max_body)
        if not decoder.eof:
            raise _cut(where, coding)
        offset -= len(decoder.unused_data)
        rest = view[offset:]
        if coding != "deflate" and bytes(rest[:2]) == _GZIP_MAGIC:
            if _monotonic() > deadline:
                raise socket.timeout("no complete response within the deadline (decoding)")
            continue  # another gzip member
        if rest and (coding == "deflate" or bytes(rest).strip(b"\0")):
            raise _cut(where, coding)
        return b"".join(out)


def _decode(
    headers: Dict[str, str], body: bytes, max_body: int, deadline: float, where: str
) -> bytes:
    """Undo the compressions of a body (never asked for), the cap applied to each decoded size."""
    codings = _compressions(headers, where)
    if not codings:
        return body
    for coding in reversed(codings):
        body = _undo(coding, body, max_body, deadline, where)
    # The headers now describe the decoded body.
    del headers["content-encoding"]
    headers.pop("content-length", None)
    return body


def exchange(
    sock: socket.socket, head: bytes, request: Request, where: str
) -> Reply:
    """Send ``head`` (and ``request.body``) on ``sock``, read the whole reply.

    ``where`` (the device's ``host:port``) prefixes the messages of the errors raised as ours.
    The caller must discard the connection when this raises or the returned keep flag is false.
    """
    _send(sock, head + request.body if request.body else head, request.connect_timeout)
    budget = request.read_timeout
    # The driver gives both timeouts the same value: the timeout set for sending is then
    # already the one for the reply's first read (a socket timeout counts from the start of
    # each read, not from when it was set).
    if budget != request.connect_timeout and sock.gettimeout() != budget:
        sock.settimeout(budget)  # the same value again would cost a system call
    now = _monotonic()  # the deadline starts: the first read cannot outlast it
    if request.method == "HEAD":  # http.client reads no body then, whatever the head says
        return _full_reply(_Wire(sock, budget, now, 0), b"", request, where)
    try:  # the first bytes of the reply (b"" if the connection ended)
        data = sock.recv(READ_SIZE)
    except ssl.SSLError as err:  # not a handshake failure: the connection broke
        raise NoReply("reset") from _tls_broke(err)
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as err:
        raise NoReply("reset") from err  # it broke before any
    end = data.find(b"\r\n\r\n", 0, _BUFFER)  # a head http.client would have read in one
    plain = _plain_head(data, end) if end >= 0 else None
    if plain is None:
        wire = _Wire(sock, budget, now, len(data))
        wire.eof = not data
        return _full_reply(wire, data, request, where)
    # A plain head (module docstring): the reply is read here, without http.client.
    status, headers, length, will_close = plain
    if length > request.max_body:
        raise _declared_too_large(where, length, request.max_body)
    start = end + 4
    stop = start + length
    if len(data) >= stop:  # the whole body came with the head (a poll's reply does)
        body = data[start:stop]
        extra = len(data) - stop
    else:
        body, extra = _read_on(_Wire(sock, budget, now, len(data)), data[start:], length)
    if body and "content-encoding" in headers:
        body = _decode(headers, body, request.max_body, now + budget, where)
    return status, headers, body, not will_close and extra == 0
