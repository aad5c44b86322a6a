"""Differential test: our transports against bare ``http.client`` on generated reply framings.

A raw-socket server (one thread, one connection at a time) answers ``GET /<n>`` with framing
number n, byte for byte, cut into the TCP segments the framing names, then closes (or, for
complete self-delimited replies, keeps the connection open until the client closes it). Each
framing is fetched three times: by ``http.client`` (the reference; urllib3 parses with it too),
by our urllib3 transport and by our stdlib transport.

* wherever http.client returns a body, ours return the same status and body;
* wherever http.client fails, ours fail with a clear ``TransportError`` naming the device;
* ours never return a different body. Where we are stricter on purpose (a ``Content-Length``
  that is not a number or several that disagree, which http.client ignores and reads to the
  close; a head cut off by the close, which http.client takes for a whole one) the framing
  says so, and ours must then fail clearly.

Framings: CRLF / LF / mixed line ends (with ``\\n\\r\\n`` and ``\\r\\n\\n`` head ends), chunk
sizes under and over the data, chunk extensions, trailers, Content-Length and
Transfer-Encoding combinations (``identity`` + Content-Length, chunked + Content-Length,
``gzip, chunked``), 1xx replies, 204 / 304, HTTP/1.0 close-delimited and keep-alive, heads
split across many TCP segments.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
from typing import Dict, Iterator, List, Optional, Tuple, Union

import attrs
import pytest

from reolink.errors import TransportError
from reolink.transport import Request
from transports import open_transport

TIMEOUT = 0.5
KINDS = ("urllib3", "stdlib")


@attrs.frozen
class Framing:
    name: str
    segments: Tuple[bytes, ...]
    #: The server keeps the connection open after sending (only for complete, delimited replies).
    hold: bool = False
    #: We knowingly fail where http.client returns a body (see the module docstring).
    strict: bool = False


# --- the generator -------------------------------------------------------------------------

BODIES = {
    "ascii": b'[{"cmd":"GetMdState","code":0,"value":{"state":1}}]',
    "utf8": '[{"cmd":"GetDevInfo","code":0,"value":{"DevInfo":{"name":"Garten Süd ☀"}}}]'.encode(),
    "binary": bytes(range(256)),
    "crlfs": b"line one\r\n\r\nline two\n\nend",
}
HEAD_ENDS = {"crlf": b"\r\n\r\n", "lf": b"\n\n", "lf-crlf": b"\n\r\n", "crlf-lf": b"\r\n\n"}


def _head(rng: random.Random, status_line: bytes, fields: List[bytes], style: str) -> bytes:
    """Status line and fields joined by ``style`` line ends, plus the head end."""
    lines = [status_line, *fields]
    if style == "crlf":
        return b"\r\n".join(lines) + b"\r\n\r\n"
    if style in ("lf", "lf-crlf", "crlf-lf"):
        sep = b"\r\n" if style == "crlf-lf" else b"\n"
        return sep.join(lines) + HEAD_ENDS[style]
    joined = b"".join(line + rng.choice((b"\r\n", b"\n")) for line in lines)
    return joined + rng.choice((b"\r\n", b"\n"))  # "mixed"


def _chunked(rng: random.Random, body: bytes, variant: str) -> Tuple[bytes, bool]:
    """A chunked body; (bytes, complete and correctly counted)."""
    pieces, pos = [], 0
    while pos < len(body):
        size = rng.randint(1, max(1, len(body) // 2))
        pieces.append(body[pos:pos + size])
        pos += size
    out = []
    correct = True
    for index, piece in enumerate(pieces):
        declared = len(piece)
        if variant in ("under", "over") and index == len(pieces) // 2:
            declared += -rng.randint(1, 2) if variant == "under" else rng.randint(1, 3)
            declared = max(declared, 1)
            correct = declared == len(piece)
        size = b"%x" % declared
        if variant == "upper-zeros":
            size = (b"%04X" % declared)
        ext = b";name=value" if variant == "extensions" else b""
        if variant == "extensions" and index % 2:
            ext = b'; q="quoted"'
        end = b"\n" if variant == "lf-size-lines" else b"\r\n"
        out.append(size + ext + end + piece + b"\r\n")
    trailer = b"X-Trailer: 1\r\nX-Other: two\r\n" if variant == "trailers" else b""
    out.append(b"0\r\n" + trailer + b"\r\n")
    return b"".join(out), correct


def _segments(rng: random.Random, data: bytes, head_len: int, mode: str) -> Tuple[bytes, ...]:
    if mode == "whole":
        return (data,)
    if mode == "bytewise-head":
        return (*(data[i:i + 1] for i in range(head_len)), data[head_len:])
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 12)))
    return tuple(data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)]))


def _framing(rng: random.Random, n: int) -> Framing:
    """One random framing (deterministic for the seed)."""
    body_kind = rng.choice(sorted(BODIES))
    body = BODIES[body_kind]
    style = rng.choice(("crlf", "crlf", "lf", "lf-crlf", "crlf-lf", "mixed"))
    version = rng.choice((b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"))
    status = rng.choice((200, 200, 201, 404, 500, 204, 304))
    framing = rng.choice((
        "length", "length", "length-short", "length-long", "close", "chunked", "chunked-under",
        "chunked-over", "chunked-ext", "chunked-trailers", "chunked-upper", "chunked-lf",
        "te-identity", "te-chunked+length", "te-gzip-chunked", "bad-length", "lengths-disagree",
        "lengths-agree",
    ))
    interim = rng.choice((b"", b"", b"", b"HTTP/1.1 100 Continue\r\n\r\n"))
    fields = [b"Content-Type: text/html", b"Server: nginx"]
    if version == b"HTTP/1.0" and rng.random() < 0.5:
        fields.append(b"Connection: keep-alive")
    delimited, strict = True, False
    payload = body
    if framing in ("length", "length-short", "length-long"):
        extra = {"length": 0, "length-short": -5, "length-long": 7}[framing]
        fields.append(b"Content-Length: %d" % (len(body) + extra))
        delimited = extra <= 0
    elif framing == "close":
        delimited = False
    elif framing.startswith("chunked") or framing in ("te-chunked+length", "te-gzip-chunked"):
        variant = {"chunked-under": "under", "chunked-over": "over", "chunked-ext": "extensions",
                   "chunked-trailers": "trailers", "chunked-upper": "upper-zeros",
                   "chunked-lf": "lf-size-lines"}.get(framing, "plain")
        payload, delimited = _chunked(rng, body, variant)
        coding = b"gzip, chunked" if framing == "te-gzip-chunked" else b"chunked"
        fields.append(b"Transfer-Encoding: " + coding)
        if framing == "te-chunked+length":
            fields.append(b"Content-Length: %d" % len(body))
        delimited = delimited and framing != "te-gzip-chunked"
    elif framing == "te-identity":
        fields += [b"Transfer-Encoding: identity", b"Content-Length: %d" % len(body)]
    elif framing == "bad-length":
        fields.append(rng.choice((b"Content-Length: 12abc", b"Content-Length: -1",
                                  b"Content-Length: +5", b"Content-Length:")))
        delimited, strict = False, True
    elif framing == "lengths-disagree":
        fields += [b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1)]
        delimited, strict = False, True
    else:  # lengths-agree: "n, n" plus a repeat; http.client reads to the close
        fields += [b"Content-Length: %d, %d" % (len(body), len(body)),
                   b"Content-Length: %d" % len(body)]
        strict = True
    rng.shuffle(fields)
    if status in (204, 304) and b"chunked" not in b"".join(fields):
        delimited = True  # no body whatever the headers say (what follows is extra bytes)
    head = _head(rng, version + b" %d Whatever" % status, fields, style)
    data = interim + head + payload
    mode = rng.choice(("whole", "whole", "split", "bytewise-head"))
    segments = _segments(rng, data, len(interim) + len(head), mode)
    hold = delimited and not strict and rng.random() < 0.5
    name = (f"{n:03d}-{version.decode()}-{status}-{framing}-{style}-{body_kind}"
            f"{'-100' if interim else ''}-{mode}{'-hold' if hold else ''}")
    return Framing(name, segments, hold=hold, strict=strict)


def _corner_cases() -> List[Framing]:
    """The framings named in issue 10, spelled out."""
    utf8 = "Süd".encode()  # 4 bytes, 3 characters
    return [
        Framing("issue-chunk-counts-characters", (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\n" + utf8 + b"\r\n0\r\n\r\n",)),
        Framing("issue-lf-head-crlf-blank-keepalive", (
            b"HTTP/1.1 200 OK\nContent-Length: 2\n\r\nok",), hold=True),
        Framing("issue-lf-head-crlf-blank-close", (
            b"HTTP/1.1 200 OK\nConnection: close\n\r\nfirst line\nsecond\n",)),
        Framing("issue-te-identity-with-length", (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nok",),
            hold=True),
        Framing("103-early-hints-then-200", (
            b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",)),
        Framing("many-100-continue", (b"HTTP/1.1 100 Continue\r\n\r\n" * 5
                                      + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",),
                hold=True),
        Framing("head-cut-by-close", (b"HTTP/1.1 200 OK\r\nContent-Le",), strict=True),
        Framing("status-only-then-close", (b"HTTP/1.1 200 OK\r\n",), strict=True),
        Framing("nothing", (b"",)),
        Framing("not-http", (b"SSH-2.0-OpenSSH_9.6\r\n",)),
        Framing("http2-version", (b"HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok",)),
        Framing("status-2000", (b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",)),
        Framing("no-reason-phrase", (b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",), hold=True),
        Framing("chunk-size-garbage", (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",)),
        Framing("chunk-cut", (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",)),
        Framing("chunked-no-last-chunk", (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",)),
        Framing("folded-header", (
            b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nok",), hold=True),
        Framing("length-zero", (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",), hold=True),
        Framing("http10-close-delimited-binary", (b"HTTP/1.0 200 OK\r\n\r\n" + bytes(range(256)),)),
        Framing("tls-alert", (b"\x15\x03\x01\x00\x02\x02\x46",)),
    ]


def _all_framings() -> List[Framing]:
    rng = random.Random(20261202)
    return _corner_cases() + [_framing(rng, n) for n in range(230)]


FRAMINGS = _all_framings()


# --- the server and the clients ----------------------------------------------------------------


class FramingServer:
    """One thread, one connection at a time: ``GET /<n>`` gets framing n."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                try:
                    self._answer(conn)
                except OSError:
                    pass  # the client gave up: fine

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        framing = FRAMINGS[int(request.split(b" ", 2)[1][1:])]
        for segment in framing.segments:
            conn.sendall(segment)
        if framing.hold:
            while conn.recv(4096):  # until the client closes
                pass
        conn.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture(scope="module")
def server() -> Iterator[FramingServer]:
    srv = FramingServer()
    yield srv
    srv.close()


Outcome = Union[Tuple[int, bytes], BaseException]


def reference(port: int, index: int) -> Outcome:
    """What bare http.client makes of framing ``index``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", f"/{index}", headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        return response.status, response.read()
    except Exception as err:
        return err
    finally:
        conn.close()


def ours(port: int, index: int, kind: str) -> Outcome:
    transport = open_transport(scheme="http", host="127.0.0.1", port=port, kind=kind)
    try:
        response = transport.send(Request("GET", f"/{index}", connect_timeout=TIMEOUT,
                                          read_timeout=TIMEOUT))
        return response.status, response.body
    except Exception as err:
        return err
    finally:
        transport.close()


def test_enough_framings() -> None:
    assert len(FRAMINGS) >= 200
    assert len({f.name for f in FRAMINGS}) == len(FRAMINGS)
    held = [f for f in FRAMINGS if f.hold]
    assert len(held) >= 40  # keep-alive replies that must end without the close


@pytest.mark.parametrize("index", range(len(FRAMINGS)), ids=[f.name for f in FRAMINGS])
def test_same_body_as_http_client_or_a_clear_error(server: FramingServer, index: int) -> None:
    framing = FRAMINGS[index]
    expected = reference(server.port, index)
    results: Dict[str, Outcome] = {kind: ours(server.port, index, kind) for kind in KINDS}
    for kind, got in results.items():
        where = f"{framing.name} via {kind}: http.client gave {_show(expected)}, ours {_show(got)}"
        if isinstance(got, BaseException):
            assert isinstance(got, TransportError), where
            assert f"127.0.0.1:{server.port}" in str(got), where
            assert not isinstance(expected, tuple) or framing.strict, where
        else:
            assert isinstance(expected, tuple), where  # http.client failed: so must we
            assert got == expected, where


def _show(outcome: Optional[Outcome]) -> str:
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}({str(outcome)[:120]!r})"
    if outcome is None:
        return "nothing"
    status, body = outcome
    return f"{status} {body[:60]!r}{'...' if len(body) > 60 else ''} ({len(body)} bytes)"
