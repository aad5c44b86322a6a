"""Content-Encoding the way http.client and urllib3 read it, through both transports (issue 17).

A ``Content-Encoding`` that is not a compression (``none``, ``UTF-8``, ``binary``: labels some
firmware puts there) is read as identity; gzip with several members, or with zero padding after
its end, decodes to what :func:`gzip.decompress` (the reference) gives; a list of codings is
undone in reverse order. The decoded-size cap and the whole-response deadline still hold, and
trailing bytes that are neither a member nor padding are still an error.
"""

from __future__ import annotations

import gzip
import io
import socket
import threading
import zlib
from typing import Callable, Iterator, List

import pytest
from loopback import QuickRawServer
from rawserver import read_request

from reolink.errors import ResponseTooLarge, Timeout, TransportProtocolError
from reolink.transport import Request, Transport
from transports import open_transport

KINDS = ["urllib3", "stdlib"]
PAYLOAD = b'[{"cmd":"GetDevInfo","code":0,"value":{"DevInfo":{"name":"Caf\xc3\xa9"}}}]'


def reply(coding: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        coding, len(body), body
    )


@pytest.fixture
def serve() -> Iterator[Callable[[bytes], QuickRawServer]]:
    servers: List[QuickRawServer] = []

    def start(data: bytes) -> QuickRawServer:
        def script(conn: socket.socket, stop: threading.Event) -> None:
            if read_request(conn):
                conn.sendall(data)

        servers.append(QuickRawServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def make(kind: str, port: int) -> Transport:
    return open_transport(scheme="http", host="127.0.0.1", port=port, kind=kind)


def fetch(kind: str, server: QuickRawServer, **kwargs: float) -> bytes:
    transport = make(kind, server.port)
    try:
        return transport.send(Request("GET", "/cgi-bin/api.cgi", **kwargs)).body  # type: ignore[arg-type]
    finally:
        transport.close()


@pytest.mark.parametrize("coding", [b"none", b"UTF-8", b"binary", b"identity", b"8bit"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_coding_that_is_not_a_compression_is_identity(
    serve: Callable[[bytes], QuickRawServer], kind: str, coding: bytes
) -> None:
    assert fetch(kind, serve(reply(coding, PAYLOAD))) == PAYLOAD


GZIP_CASES = {
    "two-members": gzip.compress(PAYLOAD[:20]) + gzip.compress(PAYLOAD[20:]),
    "three-members": b"".join(gzip.compress(PAYLOAD[i:i + 10]) for i in (0, 10, 20))
    + gzip.compress(PAYLOAD[30:]),
    "zero-padding": gzip.compress(PAYLOAD) + b"\0" * 512,
    "members-and-padding": gzip.compress(PAYLOAD[:5]) + gzip.compress(PAYLOAD[5:]) + b"\0" * 7,
}


@pytest.mark.parametrize("case", sorted(GZIP_CASES))
@pytest.mark.parametrize("kind", KINDS)
def test_multi_member_and_padded_gzip_decode_like_the_gzip_module(
    serve: Callable[[bytes], QuickRawServer], kind: str, case: str
) -> None:
    body = GZIP_CASES[case]
    assert gzip.decompress(body) == PAYLOAD  # the reference reads it so
    assert fetch(kind, serve(reply(b"gzip", body))) == PAYLOAD


def urllib3_reads(coding: bytes, body: bytes) -> bytes:
    """What urllib3's own response decoding makes of ``body`` (the other reference)."""
    urllib3_response = pytest.importorskip("urllib3.response")
    response = urllib3_response.HTTPResponse(
        body=io.BytesIO(body), headers={"content-encoding": coding.decode()},
        preload_content=False, decode_content=True,
    )
    return bytes(response.read())


@pytest.mark.parametrize(
    ("coding", "body"),
    [(b"gzip", GZIP_CASES[name]) for name in sorted(GZIP_CASES)]
    + [(coding, PAYLOAD) for coding in (b"none", b"UTF-8", b"binary")],
    ids=[*sorted(GZIP_CASES), "none", "UTF-8", "binary"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_reads_what_urllib3_reads(
    serve: Callable[[bytes], QuickRawServer], kind: str, coding: bytes, body: bytes
) -> None:
    assert fetch(kind, serve(reply(coding, body))) == urllib3_reads(coding, body) == PAYLOAD


@pytest.mark.parametrize("kind", KINDS)
def test_a_list_of_codings_is_undone_in_reverse_order(
    serve: Callable[[bytes], QuickRawServer], kind: str
) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    deflated = packer.compress(PAYLOAD) + packer.flush()
    body = gzip.compress(deflated)  # deflate first, then gzip
    assert fetch(kind, serve(reply(b"deflate, identity, gzip", body))) == PAYLOAD


@pytest.mark.parametrize("kind", KINDS)
def test_trailing_bytes_that_are_neither_member_nor_padding_fail(
    serve: Callable[[bytes], QuickRawServer], kind: str
) -> None:
    body = gzip.compress(PAYLOAD) + b"\0\0junk"
    with pytest.raises(TransportProtocolError, match="trailing data"):
        fetch(kind, serve(reply(b"gzip", body)))


@pytest.mark.parametrize("kind", KINDS)
def test_the_decoded_cap_counts_every_member(
    serve: Callable[[bytes], QuickRawServer], kind: str
) -> None:
    member = gzip.compress(b"\0" * 60_000)  # each under the cap, together over it
    with pytest.raises(ResponseTooLarge) as info:
        fetch(kind, serve(reply(b"gzip", member * 3)), max_body=100_000)
    assert info.value.limit == 100_000
    assert "decodes to more than the 100000-byte cap" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_the_deadline_holds_for_a_dripped_multi_member_body(
    kind: str,
) -> None:
    body = gzip.compress(PAYLOAD) * 50

    def drip(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(reply(b"gzip", body)[: -len(body)])
        for i in range(0, len(body), 64):
            if stop.wait(0.02):
                return
            conn.sendall(body[i:i + 64])

    server = QuickRawServer(drip)
    try:
        with pytest.raises(Timeout):
            fetch(kind, server, read_timeout=0.1, connect_timeout=5.0)
    finally:
        server.close()


@pytest.mark.parametrize("kind", KINDS)
def test_the_deadline_holds_while_many_members_are_decoded(
    serve: Callable[[bytes], QuickRawServer], kind: str
) -> None:
    # ~100 000 empty members (2 MiB): decoding them all takes far longer than 0.1 s (0.6 s
    # here); the deadline is checked between members.
    member = gzip.compress(b"")
    body = member * (2 * 1024 * 1024 // len(member))
    with pytest.raises(Timeout):
        fetch(kind, serve(reply(b"gzip", body)), read_timeout=0.1, connect_timeout=5.0)
