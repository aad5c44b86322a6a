"""A device that closes its connection after every reply, without ``Connection: close`` (issue 17).

Polls (repeatable) keep their keep-alive and are sent again when the reused connection turns
out closed; a command that changes something goes on a connection that cannot have been closed
under it (a new one), so no command fails with a spurious "may have executed". The device
counts, on its side, every request that arrived and every one it ran.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from typing import Iterator, List

import pytest
from loopback import QuickRawServer
from rawserver import read_request

from reolink.errors import TransportError
from reolink.transport import Request
from transports import open_transport

KINDS = ["urllib3", "stdlib"]
COMMANDS = 50
POLL = b'[{"cmd":"GetMdState","action":0,"param":{"channel":0}}]'


def command(n: int) -> bytes:
    return b'[{"cmd":"PtzCtrl","action":0,"param":{"channel":0,"op":"ToPos","id":%d}}]' % n


def reply(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body
    )


class ClosingDevice:
    """Answers one request per connection, then closes it (no ``Connection: close`` header).

    ``how``: ``"after-reply"`` closes right after the reply (the close races the client's next
    request, as on a real device); ``"on-reuse"`` reads the next request on that connection and
    closes without running it (the close always lands just as the connection is reused).
    """

    def __init__(self, how: str) -> None:
        self.how = how
        self.lock = threading.Lock()
        self.arrived: List[bytes] = []
        self.ran: List[bytes] = []
        self.server = QuickRawServer(self.script)

    def script(self, conn: socket.socket, stop: threading.Event) -> None:
        request = read_request(conn)
        if not request:
            return
        body = request.partition(b"\r\n\r\n")[2]
        with self.lock:
            self.arrived.append(body)
            self.ran.append(body)
        conn.sendall(reply(b'[{"cmd":"x","code":0,"value":{}}]'))
        if self.how == "on-reuse":
            late = read_request(conn)
            if late:
                with self.lock:
                    self.arrived.append(late.partition(b"\r\n\r\n")[2])


@pytest.fixture(params=["after-reply", "on-reuse"])
def device(request: pytest.FixtureRequest) -> Iterator[ClosingDevice]:
    made = ClosingDevice(request.param)
    yield made
    made.server.close()


@pytest.mark.parametrize("kind", KINDS)
def test_no_spurious_may_have_executed_from_a_device_that_closes_after_every_reply(
    device: ClosingDevice, kind: str
) -> None:
    transport = open_transport(scheme="http", host="127.0.0.1", port=device.server.port, kind=kind)
    failures: List[str] = []
    try:
        for n in range(COMMANDS):
            transport.send(Request("POST", "/cgi-bin/api.cgi", body=POLL, repeatable=True))
            try:
                transport.send(Request("POST", "/cgi-bin/api.cgi?cmd=PtzCtrl", body=command(n)))
            except TransportError as err:
                failures.append(str(err))
    finally:
        transport.close()
    assert failures == []
    arrived, ran = Counter(device.arrived), Counter(device.ran)
    for n in range(COMMANDS):  # each command arrived exactly once, and ran exactly once
        assert arrived[command(n)] == 1 and ran[command(n)] == 1
    assert ran[POLL] == COMMANDS
