"""Transport errors name the real cause and the next step (issue 11, item 3, transport side).

Against the emulator serving plain HTTP and HTTPS, and raw sockets: the wrong protocol for the
port, a connection closed before any reply, a refused connection. None of them tells the user
to raise a timeout, and none gives certificate advice when no certificate is involved.
"""

from __future__ import annotations

import socket
import threading
from typing import Iterator

import pytest
from loopback import QuickRawServer

from reolink.emulator import Emulator
from reolink.errors import ConnectError, TransportError, TransportProtocolError, WrongProtocolError
from reolink.transport import Request
from transports import open_transport

KINDS = ["urllib3", "stdlib"]
LOGIN = Request("POST", "/cgi-bin/api.cgi?cmd=Login", body=b"[]", connect_timeout=3,
                read_timeout=3)


@pytest.fixture(scope="module")
def plain_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Emulator]:
    with Emulator(https=True) as emu:
        yield emu


def fail(kind: str, scheme: str, port: int) -> TransportError:
    transport = open_transport(scheme=scheme, host="127.0.0.1", port=port, kind=kind)
    try:
        with pytest.raises(TransportError) as info:
            transport.send(LOGIN)
    finally:
        transport.close()
    return info.value


def assert_no_wrong_advice(message: str) -> None:
    lowered = message.lower()
    assert "timeout" not in lowered and "timed out" not in lowered and "in time" not in lowered
    assert "fingerprint" not in lowered and "verify" not in lowered


@pytest.mark.parametrize("kind", KINDS)
def test_https_to_the_emulators_plain_http_port(plain_emulator: Emulator, kind: str) -> None:
    err = fail(kind, "https", plain_emulator.port)
    assert isinstance(err, WrongProtocolError)
    assert err.expected == "http"
    assert err.request_sent is False
    assert "port speaks plain HTTP" in str(err)
    assert "use protocol http" in str(err)
    assert f"127.0.0.1:{plain_emulator.port}" in str(err)
    assert_no_wrong_advice(str(err))


@pytest.mark.parametrize("kind", KINDS)
def test_plain_http_to_the_emulators_https_port(tls_emulator: Emulator, kind: str) -> None:
    err = fail(kind, "http", tls_emulator.port)
    assert isinstance(err, WrongProtocolError)
    assert isinstance(err, ConnectError)  # the device's API never saw it: safe to send again
    assert err.request_sent is False
    assert err.expected == "https"
    assert "port expects HTTPS" in str(err)
    assert "use protocol https" in str(err)
    assert_no_wrong_advice(str(err))


@pytest.mark.parametrize("kind", KINDS)
def test_plain_http_answered_with_a_tls_alert(kind: str) -> None:
    def alert(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(b"\x15\x03\x01\x00\x02\x02\x46")  # a TLS "protocol version" alert

    server = QuickRawServer(alert)
    try:
        err = fail(kind, "http", server.port)
    finally:
        server.close()
    assert isinstance(err, WrongProtocolError)
    assert err.expected == "https"
    assert err.request_sent is False
    assert_no_wrong_advice(str(err))


@pytest.mark.parametrize("kind", KINDS)
def test_closed_before_any_reply_says_so(kind: str) -> None:
    def close(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)  # the request; then an orderly close, no reply

    server = QuickRawServer(close)
    try:
        err = fail(kind, "http", server.port)
    finally:
        server.close()
    assert isinstance(err, TransportProtocolError)
    assert "closed by the device before any reply" in str(err)
    assert err.request_sent is True
    assert_no_wrong_advice(str(err))


@pytest.mark.parametrize("kind", KINDS)
def test_refused_says_refused(kind: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    err = fail(kind, "http", port)
    assert isinstance(err, ConnectError)
    assert "connection refused" in str(err)
    assert err.request_sent is False
    assert_no_wrong_advice(str(err))
