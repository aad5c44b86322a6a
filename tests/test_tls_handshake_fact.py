"""A TLS handshake timeout is told from a TCP connect timeout by what the connection knows
(its TCP connection stood: ``tcp_connected``), never by the words of the ssl module's message."""

from __future__ import annotations

import socket

import pytest

from reolink.errors import ConnectError
from reolink.transport import Request
from transports._errors import connect_error

REQUEST = Request("POST", "/cgi-bin/api.cgi", b"[]", connect_timeout=0.5, read_timeout=0.5)


@pytest.mark.parametrize("words", ["The handshake operation timed out", "timed out", ""])
def test_a_timeout_after_the_tcp_connection_is_the_handshakes(words: str) -> None:
    err = connect_error(socket.timeout(words), "cam", REQUEST, tls_mode="pin", in_handshake=True)
    assert isinstance(err, ConnectError)
    assert err.in_tls_handshake
    assert "TLS handshake timed out" in str(err)


@pytest.mark.parametrize("words", ["The handshake operation timed out", "timed out"])
def test_a_timeout_before_the_tcp_connection_is_a_connect_timeout(words: str) -> None:
    err = connect_error(socket.timeout(words), "cam", REQUEST, tls_mode="pin", in_handshake=False)
    assert isinstance(err, ConnectError)
    assert not err.in_tls_handshake
    assert "connect timed out" in str(err)
