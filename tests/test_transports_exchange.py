"""The HTTP/1.1 exchange both real transports share (transports._exchange), over loopback.

Replies are scripted byte for byte, so what we add to http.client's parsing is checked for both
transports: keep-alive (interim replies, HTTP/1.0, Connection: close, extra bytes), the size
caps, strict lengths, gzip / deflate, the deadline on large bodies. The reply grammar itself is
http.client's: tests/test_transports_differential.py compares the two on hundreds of framings.
"""

from __future__ import annotations

import socket
import threading
import zlib
from typing import Callable, Iterator, List

import pytest
from loopback import QuickRawServer
from rawserver import Script, read_request

from reolink.errors import ResponseTooLarge, Timeout, TransportProtocolError
from reolink.transport import (
    DEFAULT_MAX_IMAGE_BYTES,
    Request,
    Response,
    Transport,
    owned_response,
)
from transports import open_transport
from transports._wire import HeadBuilder

KINDS = ["urllib3", "stdlib"]
TOKEN = "tok-SECRET-789"
TARGET = f"/cgi-bin/api.cgi?cmd=GetDevInfo&token={TOKEN}"


class Server(QuickRawServer):
    """A QuickRawServer that also records the requests its scripts read."""

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.requests: List[bytes] = []

    def read(self, conn: socket.socket) -> bytes:
        request = read_request(conn)
        if request:
            self.requests.append(request)
        return request


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Server], Script]], Server]]:
    servers: List[Server] = []

    def start(make: Callable[[Server], Script]) -> Server:
        server = Server(lambda conn, stop: None)
        server.script = make(server)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def replies(*answers: bytes) -> Callable[[Server], Script]:
    """Per connection: read a request, send the next answer; close after the last one."""

    def make(server: Server) -> Script:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            for answer in answers:
                if not server.read(conn):
                    return
                conn.sendall(answer)

        return script

    return make


def make(kind: str, port: int) -> Transport:
    return open_transport(scheme="http", host="127.0.0.1", port=port, kind=kind)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


# --- the reply grammar ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_folded_header_is_one_line(serve: Callable[..., Server], kind: str) -> None:
    reply = b"HTTP/1.1 201 Created\nX-Folded: one\n two\nContent-Length: 6\n\nab\r\n\r\n"
    srv = serve(replies(reply, OK))
    transport = make(kind, srv.port)
    try:
        response = transport.send(Request("GET", TARGET, repeatable=True))
        assert (response.status, response.body) == (201, b"ab\r\n\r\n")
        assert response.headers["x-folded"] == "one two"
        assert transport.send(Request("GET", TARGET, repeatable=True)).body == b"ok"
    finally:
        transport.close()
    assert srv.connections == 1


@pytest.mark.parametrize("kind", KINDS)
def test_interim_100_continue_is_skipped(serve: Callable[..., Server], kind: str) -> None:
    srv = serve(replies(b"HTTP/1.1 100 Continue\r\n\r\n" + OK, OK))
    transport = make(kind, srv.port)
    try:
        response = transport.send(Request("POST", TARGET, repeatable=True, body=b"[]"))
        assert (response.status, response.body) == (200, b"ok")
        assert transport.send(Request("POST", TARGET, repeatable=True, body=b"[]")).body == b"ok"
    finally:
        transport.close()
    assert srv.connections == 1


@pytest.mark.parametrize("kind", KINDS)
def test_http10_reply_closes_the_connection(serve: Callable[..., Server], kind: str) -> None:
    # HTTP/1.0 without keep-alive, and a body delimited by the close (no Content-Length).
    def make_script(server: Server) -> Script:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            server.read(conn)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n")
            conn.sendall(b"x" * 100_000)

        return script

    srv = serve(make_script)
    transport = make(kind, srv.port)
    try:
        assert transport.send(Request("GET", TARGET)).body == b"x" * 100_000
        assert transport.send(Request("GET", TARGET)).body == b"x" * 100_000
    finally:
        transport.close()
    assert srv.connections == 2


@pytest.mark.parametrize("kind", KINDS)
def test_close_delimited_body_over_the_cap(serve: Callable[..., Server], kind: str) -> None:
    def make_script(server: Server) -> Script:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            server.read(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 5000)
            stop.wait(10)

        return script

    srv = serve(make_script)
    transport = make(kind, srv.port)
    with pytest.raises(ResponseTooLarge) as info:
        transport.send(Request("GET", TARGET, max_body=4000))
    assert info.value.limit == 4000
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_every_header_name_reaches_the_response_lower_case(
    serve: Callable[..., Server], kind: str
) -> None:
    # The transports hand their dict to owned_response(), which does not lower the names
    # again: both reading paths must give lower-case names (a plain head; a chunked one,
    # read by http.client; a compressed body, whose headers are rewritten).
    plain = b"HTTP/1.1 200 OK\r\nX-Mixed-Case: A\r\nCONTENT-LENGTH: 2\r\n\r\nok"
    chunked = (b"HTTP/1.1 200 OK\r\nX-Mixed-Case: B\r\nTransfer-Encoding: Chunked\r\n\r\n"
               b"2\r\nok\r\n0\r\n\r\n")
    packed = zlib.compress(b"ok")
    deflated = (b"HTTP/1.1 200 OK\r\nX-Mixed-Case: C\r\nContent-Encoding: Deflate\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(packed), packed))
    srv = serve(replies(plain, chunked, deflated))
    transport = make(kind, srv.port)
    try:
        seen = [transport.send(Request("GET", TARGET, repeatable=True)) for _ in range(3)]
    finally:
        transport.close()
    assert [(r.body, r.headers["x-mixed-case"]) for r in seen] == [
        (b"ok", "A"), (b"ok", "B"), (b"ok", "C")
    ]
    for response in seen:
        assert all(name == name.lower() for name in response.headers), response.headers
        assert response == Response(response.status, response.headers, response.body)


def test_owned_response_is_the_response_the_constructor_makes() -> None:
    headers = {"content-type": "application/json", "content-length": "2"}
    owned = owned_response(200, headers, b"[]")
    made = Response(status=200, headers=dict(headers), body=b"[]")
    assert owned == made and repr(owned) == repr(made)
    assert owned.headers is headers  # taken, not copied
    assert owned.content_type == "application/json"
    with pytest.raises(AttributeError):  # still frozen
        owned.status = 500  # type: ignore[misc]


@pytest.mark.parametrize("kind", KINDS)
def test_connection_close_header_is_honoured(serve: Callable[..., Server], kind: str) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    srv = serve(replies(closing))
    transport = make(kind, srv.port)
    try:
        for _ in range(3):
            assert transport.send(Request("GET", TARGET)).body == b"ok"
    finally:
        transport.close()
    assert srv.connections == 3


@pytest.mark.parametrize("kind", KINDS)
def test_head_204_and_304_have_no_body(serve: Callable[..., Server], kind: str) -> None:
    srv = serve(replies(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",  # HEAD: the length is not sent
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
        OK,
    ))
    transport = make(kind, srv.port)
    try:
        head = transport.send(Request("HEAD", TARGET, repeatable=True))
        assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "1234")
        assert transport.send(Request("GET", TARGET, repeatable=True)).status == 204
        assert transport.send(Request("GET", TARGET, repeatable=True)).status == 304
        assert transport.send(Request("GET", TARGET, repeatable=True)).body == b"ok"
    finally:
        transport.close()
    assert srv.connections == 1


@pytest.mark.parametrize("kind", KINDS)
def test_chunked_with_extensions_and_trailers(serve: Callable[..., Server], kind: str) -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    srv = serve(replies(reply, OK))
    transport = make(kind, srv.port)
    try:
        assert transport.send(Request("GET", TARGET, repeatable=True)).body == b"hello world"
        assert transport.send(Request("GET", TARGET, repeatable=True)).body == b"ok"
    finally:
        transport.close()
    assert srv.connections == 1


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
        b"HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["length-not-a-number", "conflicting-lengths", "bad-chunk-size", "version", "status"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_malformed_replies_are_protocol_errors(
    serve: Callable[..., Server], kind: str, reply: bytes
) -> None:
    srv = serve(replies(reply))
    transport = make(kind, srv.port)
    with pytest.raises(TransportProtocolError) as info:
        transport.send(Request("GET", TARGET))
    assert TOKEN not in str(info.value)
    assert info.value.__cause__ is not None
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_repeated_equal_lengths_are_accepted(serve: Callable[..., Server], kind: str) -> None:
    srv = serve(replies(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok"))
    transport = make(kind, srv.port)
    try:
        assert transport.send(Request("GET", TARGET)).body == b"ok"
    finally:
        transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_extra_bytes_after_the_body_discard_the_connection(
    serve: Callable[..., Server], kind: str
) -> None:
    srv = serve(replies(OK + b"junk", OK))
    transport = make(kind, srv.port)
    try:
        assert transport.send(Request("GET", TARGET)).body == b"ok"
        assert transport.send(Request("GET", TARGET)).body == b"ok"
    finally:
        transport.close()
    assert srv.connections == 2  # the junk was not taken for the start of the next reply


# --- large bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_large_body_in_pieces_arrives_whole(serve: Callable[..., Server], kind: str) -> None:
    image = bytes(range(256)) * 800  # 204800 bytes
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(
        image
    )

    def make_script(server: Server) -> Script:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            while server.read(conn):
                conn.sendall(head + image[:1000])
                for offset in range(1000, len(image), 30_000):
                    conn.sendall(image[offset:offset + 30_000])

        return script

    srv = serve(make_script)
    transport = make(kind, srv.port)
    try:
        snap = Request("GET", TARGET, repeatable=True, max_body=DEFAULT_MAX_IMAGE_BYTES)
        for _ in range(3):
            response = transport.send(snap)
            assert response.body == image
            assert type(response.body) is bytes
    finally:
        transport.close()
    assert srv.connections == 1


@pytest.mark.parametrize("kind", KINDS)
def test_large_body_cut_short(serve: Callable[..., Server], kind: str) -> None:
    srv = serve(replies(b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"x" * 100_000))
    transport = make(kind, srv.port)
    with pytest.raises(TransportProtocolError, match="closed mid-reply"):
        transport.send(Request("GET", TARGET, max_body=DEFAULT_MAX_IMAGE_BYTES))
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_chunked_body_cut_short_says_how_much_came(
    serve: Callable[..., Server], kind: str
) -> None:
    # The length of a chunked body is not known: the message says what came, not "None more".
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    srv = serve(replies(head + b"10\r\n0123456789abcdef\r\n10\r\n01234"))
    transport = make(kind, srv.port)
    with pytest.raises(TransportProtocolError, match="closed mid-reply") as caught:
        transport.send(Request("GET", TARGET))
    transport.close()
    assert "None" not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_large_body_slow_drip_hits_the_deadline(serve: Callable[..., Server], kind: str) -> None:
    def make_script(server: Server) -> Script:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            server.read(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"x" * 70_000)
            while not stop.wait(0.02):
                conn.sendall(b"x" * 10)

        return script

    srv = serve(make_script)
    transport = make(kind, srv.port)
    with pytest.raises(Timeout):
        transport.send(Request("GET", TARGET, read_timeout=0.15, max_body=DEFAULT_MAX_IMAGE_BYTES))
    transport.close()


# --- keep-alive and the request-safety rule (more in test_transports_safety.py) -----------


@pytest.mark.parametrize("kind", KINDS)
def test_device_that_drops_every_reused_request_fails_cleanly(
    serve: Callable[..., Server], kind: str
) -> None:
    # First connection: one reply, then the next request is dropped. A read-only request is
    # sent again on a fresh connection, which is dropped too: a clear error, no third try.
    def make_script(server: Server) -> Script:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            server.read(conn)
            if server.connections == 1:
                conn.sendall(OK)
                server.read(conn)

        return script

    srv = serve(make_script)
    transport = make(kind, srv.port)
    try:
        assert transport.send(Request("GET", TARGET)).body == b"ok"
        with pytest.raises(TransportProtocolError, match="closed by the device before any reply"):
            transport.send(Request("GET", TARGET, repeatable=True))
    finally:
        transport.close()
    assert srv.connections == 2
    assert len(srv.requests) == 3


# --- the request ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_request_head_on_the_wire(serve: Callable[..., Server], kind: str) -> None:
    srv = serve(replies(OK, OK, OK))
    transport = make(kind, srv.port)
    try:
        transport.send(Request("POST", TARGET))
        transport.send(Request("GET", TARGET))
        transport.send(Request("POST", TARGET, body=b"[1]", headers={"X-A": "b"}))
    finally:
        transport.close()
    post_empty, get, post = (r.decode("latin-1") for r in srv.requests)
    assert post_empty.startswith(f"POST {TARGET} HTTP/1.1\r\n")
    assert "\r\nContent-Length: 0\r\n" in post_empty
    assert "Content-Type" not in post_empty
    assert "Content-Length" not in get
    assert f"\r\nHost: 127.0.0.1:{srv.port}\r\n" in get
    assert "\r\nAccept-Encoding: identity\r\n" in get
    assert post.endswith("\r\nContent-Length: 3\r\n\r\n[1]")
    assert "\r\nContent-Type: application/json\r\n" in post
    assert "\r\nX-A: b\r\n" in post


@pytest.mark.parametrize("kind", KINDS)
def test_control_characters_are_refused_before_sending(
    serve: Callable[..., Server], kind: str
) -> None:
    srv = serve(replies(OK))
    transport = make(kind, srv.port)
    with pytest.raises(ValueError) as info:
        transport.send(Request("GET", TARGET + " HTTP/1.1\r\nX-Injected: 1"))
    assert TOKEN not in str(info.value)
    with pytest.raises(ValueError):
        transport.send(Request("GET", TARGET, headers={"X-A": "b\r\nX-Injected: 1"}))
    transport.close()
    assert srv.requests == []


def test_host_header_omits_the_default_port() -> None:
    def host(builder: HeadBuilder) -> str:
        head = builder.head(Request("GET", "/")).decode("ascii")
        return next(line for line in head.split("\r\n") if line.startswith("Host: "))

    assert host(HeadBuilder("cam.local", 80, 80)) == "Host: cam.local"
    assert host(HeadBuilder("cam.local", 443, 443)) == "Host: cam.local"
    assert host(HeadBuilder("::1", 8443, 443)) == "Host: [::1]:8443"
    assert host(HeadBuilder("10.0.0.2", 80, 443)) == "Host: 10.0.0.2:80"


@pytest.mark.parametrize("kind", KINDS)
def test_slow_drip_with_equal_timeouts_hits_the_deadline(
    serve: Callable[..., Server], kind: str
) -> None:
    # The driver passes connect_timeout == read_timeout: the timeout set for sending is kept
    # for the reply, and must still end the reply at the deadline, not after each byte.
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n"

    def make_script(server: Server) -> Script:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            server.read(conn)
            for byte in head:
                if stop.wait(0.02):
                    return
                conn.sendall(bytes([byte]))

        return script

    srv = serve(make_script)
    transport = make(kind, srv.port)
    with pytest.raises(Timeout):
        transport.send(Request("GET", TARGET, connect_timeout=0.15, read_timeout=0.15))
    transport.close()


# --- compressed replies (never asked for) ---------------------------------------------------


def _deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("x-gzip", 16 + zlib.MAX_WBITS),
     ("deflate", zlib.MAX_WBITS), ("deflate", -zlib.MAX_WBITS)],
    ids=["gzip", "x-gzip", "deflate-zlib", "deflate-raw"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_compressed_reply_is_decoded(
    serve: Callable[..., Server], kind: str, coding: str, wbits: int
) -> None:
    payload = b'[{"cmd":"GetDevInfo","code":0,"value":{"DevInfo":{"name":"Caf\xc3\xa9"}}}]' * 20
    packed = _deflate(payload, wbits)
    reply = b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        coding.encode(), len(packed), packed
    )
    srv = serve(replies(reply, OK))
    transport = make(kind, srv.port)
    try:
        response = transport.send(Request("POST", TARGET, repeatable=True, body=b"[]"))
        assert transport.send(Request("POST", TARGET, repeatable=True, body=b"[]")).body == b"ok"
    finally:
        transport.close()
    assert response.body == payload
    assert "content-encoding" not in response.headers  # the headers describe what we return
    assert b"\r\nAccept-Encoding: identity\r\n" in srv.requests[0]


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("kind", KINDS)
def test_decompression_bomb_stops_at_the_decoded_cap(
    serve: Callable[..., Server], kind: str, chunked: bool
) -> None:
    bomb = _deflate(b"\0" * 5_000_000, 16 + zlib.MAX_WBITS)  # ~5 KB on the wire
    if chunked:
        framing = b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(bomb), bomb)
    else:
        framing = b"Content-Length: %d\r\n\r\n%s" % (len(bomb), bomb)
    srv = serve(replies(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n" + framing))
    transport = make(kind, srv.port)
    with pytest.raises(ResponseTooLarge) as info:
        transport.send(Request("GET", TARGET, max_body=100_000))
    transport.close()
    assert info.value.limit == 100_000
    assert "decodes to more than the 100000-byte cap" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (b"Content-Encoding: gzip\r\n", b"not gzip at all", "invalid gzip body"),
        (b"Content-Encoding: gzip\r\n", _deflate(b"x" * 100, 31)[:-6], "truncated"),
        (b"Content-Encoding: br\r\n", b"\x0b\x02\x80", "Content-Encoding 'br'"),
    ],
    ids=["garbage", "truncated", "unknown-coding"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_bad_compressed_reply_is_a_protocol_error(
    serve: Callable[..., Server], kind: str, headers: bytes, body: bytes, expected: str
) -> None:
    srv = serve(replies(
        b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s" % (headers, len(body), body)
    ))
    transport = make(kind, srv.port)
    with pytest.raises(TransportProtocolError, match=expected):
        transport.send(Request("GET", TARGET))
    transport.close()


# --- the first write: one system call on a plain socket ----------------------------------------


def _connected_pair() -> tuple[socket.socket, socket.socket, socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname()[:2])
    peer, _ = server.accept()
    return server, client, peer


@pytest.mark.parametrize("one_write", [True, False], ids=["posix", "socket-send"])
def test_the_first_write_is_the_whole_request_when_it_fits(
    one_write: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One write() on POSIX; the socket's own send() where a socket is no file (Windows)."""
    import transports._exchange as ex
    from transports._exchange import _send

    writes: List[int] = []
    real_write = ex._write

    def counted(fd: int, data: bytes) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(ex, "_ONE_WRITE", one_write)
    monkeypatch.setattr(ex, "_write", counted)
    server, client, peer = _connected_pair()
    try:
        client.settimeout(2.0)
        data = b"POST / HTTP/1.1\r\nContent-Length: 40000\r\n\r\n" + b"x" * 40000
        _send(client, data, 2.0)  # 16 KiB in one write, the rest through sendall
        got = b""
        peer.settimeout(2.0)
        while len(got) < len(data):
            got += peer.recv(65536)
        assert got == data
        assert writes == ([16 * 1024] if one_write else [])
    finally:
        for sock in (client, peer, server):
            sock.close()


def test_a_first_write_that_finds_the_buffer_full_goes_through_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one write() meets a full buffer (EAGAIN): the socket's own ``send`` then takes the
    request, waiting for room under the timeout as it always did (not "nothing sent")."""
    import transports._exchange as ex
    from transports._exchange import _send

    def full(fd: int, data: bytes) -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(ex, "_ONE_WRITE", True)
    monkeypatch.setattr(ex, "_write", full)
    server, client, peer = _connected_pair()
    try:
        client.settimeout(2.0)
        data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        _send(client, data, 2.0)
        peer.settimeout(2.0)
        got = b""
        while len(got) < len(data):
            got += peer.recv(65536)
        assert got == data
    finally:
        for sock in (client, peer, server):
            sock.close()
