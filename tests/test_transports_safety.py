"""The request-safety rule of reolink.transport, obeyed by both real transports.

A request is sent again only when it provably never reached the device (the first write
failed) or when it is ``repeatable``. The raw-socket device here reads the whole request and
then drops the connection without a reply, the way a camera that ran a PTZ move or a siren and
then closed its kept-alive connection does; it counts what it received.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Callable, Iterator, List

import pytest
from loopback import QuickRawServer
from rawserver import read_request

import transports._base
from reolink.errors import TransportError, TransportProtocolError
from reolink.transport import Request, Transport
from transports import StdlibTransport, Urllib3Transport, open_transport
from transports._errors import NoReply, NothingSent

KINDS = ["urllib3", "stdlib"]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
SIREN = b'[{"cmd":"AudioAlarmPlay","action":0,"param":{"alarm_mode":"times","times":1}}]'


class Device:
    """Connection 1: answers the first request, reads the second whole, then drops it.

    Later connections answer every request. ``reset`` drops with an RST instead of a FIN.
    """

    def __init__(self, reset: bool = False, drop: bytes = b"") -> None:
        self.reset = reset
        #: Also drop (unanswered) every request with this body, on any connection.
        self.drop = drop
        self.received: List[bytes] = []
        self.dropped = threading.Event()
        self.server = QuickRawServer(self.script)

    def script(self, conn: socket.socket, stop: threading.Event) -> None:
        first = self.server.connections == 1
        while True:
            request = read_request(conn)
            if not request:
                return
            self.received.append(request)
            if (first and len(self.received) == 2) or (self.drop and request.endswith(self.drop)):
                self._drop(conn)
                return
            conn.sendall(OK)
            if first and self.reset:  # drop the idle connection before the next request
                self._drop(conn)
                return

    def _drop(self, conn: socket.socket) -> None:
        if self.reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        self.dropped.set()

    def count(self, body: bytes) -> int:
        return sum(1 for request in self.received if request.endswith(body))


@pytest.fixture
def device() -> Iterator[Callable[..., Device]]:
    made: List[Device] = []

    def make(reset: bool = False, drop: bytes = b"") -> Device:
        made.append(Device(reset, drop))
        return made[-1]

    yield make
    for dev in made:
        dev.server.close()


def make(kind: str, port: int) -> Transport:
    return open_transport(scheme="http", host="127.0.0.1", port=port, kind=kind)


@pytest.mark.parametrize("kind", KINDS)
def test_lost_reply_to_a_command_is_an_error_never_a_repeat(
    device: Callable[..., Device], kind: str
) -> None:
    # The siren goes on a new connection (never a kept-alive one); the device reads it, runs
    # it and drops the connection without a reply.
    dev = device(drop=SIREN)
    transport = make(kind, dev.server.port)
    try:
        poll = Request("POST", "/cgi-bin/api.cgi", body=b"[]", repeatable=True)
        assert transport.send(poll).body == b"ok"
        with pytest.raises(TransportProtocolError) as info:
            transport.send(Request("POST", "/cgi-bin/api.cgi?cmd=AudioAlarmPlay", body=SIREN))
    finally:
        transport.close()
    assert dev.count(SIREN) == 1  # the siren sounded once: the request was not sent again
    assert dev.server.connections == 2
    assert info.value.request_sent is True
    message = str(info.value)
    assert "before any reply" in message
    assert "may have executed" in message
    assert "timeout" not in message.lower()


@pytest.mark.parametrize("kind", KINDS)
def test_lost_reply_to_a_repeatable_request_is_sent_again_once(
    device: Callable[..., Device], kind: str
) -> None:
    poll = b'[{"cmd":"GetMdState","action":0,"param":{"channel":0}}]'
    dev = device()
    transport = make(kind, dev.server.port)
    try:
        assert transport.send(Request("POST", "/cgi-bin/api.cgi", body=b"[]")).body == b"ok"
        reply = transport.send(Request("POST", "/cgi-bin/api.cgi", body=poll, repeatable=True))
    finally:
        transport.close()
    assert reply.body == b"ok"
    assert dev.count(poll) == 2  # once on the dropped connection, once on a fresh one
    assert dev.server.connections == 2


@pytest.mark.parametrize("kind", KINDS)
def test_write_that_fails_before_any_byte_is_sent_again(
    device: Callable[..., Device], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The device resets the idle connection. The idle check would see it; here it "misses"
    # (the race where the reset lands just as the connection is reused): it waits until the
    # reset has arrived, then says the connection is fine. The first write then fails.
    def late_idle_check(sock: socket.socket) -> bool:
        select.select([sock], [], [], 5)
        return False

    dev = device(reset=True)
    transport = make(kind, dev.server.port)
    try:
        assert transport.send(Request("POST", "/cgi-bin/api.cgi", body=b"[]")).body == b"ok"
        assert dev.dropped.wait(5)
        monkeypatch.setattr(transports._base, "closed_while_idle", late_idle_check)
        poll = b'[{"cmd":"GetMdState","action":0,"param":{"channel":0}}]'
        reply = transport.send(Request("POST", "/cgi-bin/api.cgi", body=poll, repeatable=True))
    finally:
        transport.close()
    assert reply.body == b"ok"
    assert dev.count(poll) == 1  # nothing left the first time; sent once, on a new connection
    assert dev.server.connections == 2


@pytest.mark.parametrize("kind", KINDS)
def test_fresh_connection_lost_reply_is_not_sent_again(
    device: Callable[..., Device], kind: str
) -> None:
    # Even a repeatable request is not sent again when its connection was new: the device
    # dropped it on purpose, not an idle connection.
    received: List[bytes] = []

    def drop(conn: socket.socket, stop: threading.Event) -> None:
        received.append(read_request(conn))

    server = QuickRawServer(drop)
    transport = make(kind, server.port)
    try:
        with pytest.raises(TransportError) as info:
            transport.send(Request("POST", "/cgi-bin/api.cgi", body=b"[]", repeatable=True))
    finally:
        transport.close()
        server.close()
    assert len(received) == 1
    assert server.connections == 1
    assert info.value.request_sent is True
    assert "closed by the device before any reply" in str(info.value)
    assert "may have executed" not in str(info.value)  # read-only: nothing to worry about


@pytest.mark.parametrize("cls", [StdlibTransport, Urllib3Transport])
def test_what_each_failure_becomes(cls: type) -> None:
    # The decision table of the rule, without a network: (what failed, on a reused connection,
    # repeatable) -> sent again, or the error and whether the request may have been sent.
    transport = cls("http", "cam.local", 80)
    command = Request("POST", "/cgi-bin/api.cgi", body=SIREN)
    poll = Request("POST", "/cgi-bin/api.cgi", body=b"[]", repeatable=True)
    nothing, closed = NothingSent("broken pipe"), NoReply("closed")

    def outcome(err: BaseException, request: Request, reused: bool) -> str:
        result = transport._failure(err, request, reused)
        if type(result).__name__ == "_SendAgain":
            return "again"
        assert isinstance(result, TransportError)
        assert "cam.local:80" in str(result)
        return "sent" if result.request_sent else "not-sent"

    assert outcome(nothing, command, reused=True) == "again"
    assert outcome(nothing, command, reused=False) == "not-sent"
    assert outcome(closed, command, reused=True) == "sent"
    assert outcome(closed, command, reused=False) == "sent"
    assert outcome(closed, poll, reused=True) == "again"
    assert outcome(closed, poll, reused=False) == "sent"
    assert "may have executed" in str(transport._failure(closed, command, True))
