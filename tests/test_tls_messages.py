"""Every TLS failure says what failed, and the next step that fits (issue 17).

The handshake (no version or cipher in common: tests/test_tls_legacy.py), the certificate (which
check), the pin (only when a certificate came and did not match), or the connection (closed,
reset, timed out during the handshake: a ``ConnectError``, never the pin's fault). Through both
transports, through the command line's hints, and through the ``reolink`` command itself.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any, Iterator, List, Optional

import pytest
import trustme
from conftest import run_cli_inprocess as run_cli
from loopback import QuickRawServer
from tlshelp import (  # noqa: F401 (fixtures)
    ca_file_fixture,
    make_leaf,
    other_ca_fixture,
    pin_of,
    rsa_cert_fixture,
    write_ca,
)
from tlsservers import LEGACY, OUTSIDE_DEFAULT, LegacyServer, Unbuildable, build, server_context

from reolink.cli.hints import Target, explain_error
from reolink.emulator import Emulator
from reolink.errors import ConnectError, TLSError, TransportError
from reolink.transport import Request, TLSOptions, Transport
from transports import open_transport

KINDS = ["urllib3", "stdlib"]
PASSWORD = "tls-Secret-17"


@pytest.fixture(scope="module")
def modern(rsa_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tlsservers import MODERN

    server = build(MODERN, rsa_cert, str(tmp_path_factory.mktemp("m")))
    yield server
    server.close()


def make(kind: str, port: int, tls: Optional[TLSOptions] = None) -> Transport:
    return open_transport(scheme="https", host="127.0.0.1", port=port, tls=tls, kind=kind)


def failure(kind: str, port: int, tls: TLSOptions, connect_timeout: float = 5.0) -> TransportError:
    transport = make(kind, port, tls)
    try:
        transport.send(Request("GET", "/", connect_timeout=connect_timeout, read_timeout=5.0))
    except TransportError as err:
        return err
    finally:
        transport.close()
    raise AssertionError("the request succeeded")


class HandshakeEnder:
    """Reads the ClientHello, then closes (``reset``: with an RST) or never answers (``stall``)."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.hellos: List[bytes] = []
        self.server = QuickRawServer(self.script)

    def script(self, conn: socket.socket, stop: threading.Event) -> None:
        self.hellos.append(conn.recv(65536))
        if self.how == "stall":
            stop.wait(10)
        elif self.how == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.fixture(params=["close", "reset", "stall"])
def ender(request: pytest.FixtureRequest) -> Iterator[HandshakeEnder]:
    made = HandshakeEnder(request.param)
    yield made
    made.server.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_handshake_the_device_ends_is_a_connect_error_never_the_pin(
    ender: HandshakeEnder, rsa_cert: trustme.LeafCert, kind: str
) -> None:
    # With the right pin: no certificate ever came, so the pin cannot be blamed.
    err = failure(kind, ender.server.port, TLSOptions(fingerprint=pin_of(rsa_cert)), 0.15)
    assert len(ender.hellos) == 1 and ender.hellos[0][:1] == b"\x16"  # a ClientHello came
    assert type(err) is ConnectError and err.request_sent is False
    assert err.in_tls_handshake is True
    message = str(err)
    assert "fingerprint" not in message and "mismatch" not in message
    expected = {
        "close": "connection closed by the device during the TLS handshake",
        "reset": "connection reset by the device during the TLS handshake",
        "stall": "TLS handshake timed out after 0.15 s",
    }[ender.how]
    assert expected in message
    line = explain_error(err, "get_motion", Target("127.0.0.1", 443, "https", True))
    assert "--tls-fingerprint" not in line and "certificate changed" not in line
    assert "HTTPS port" in line


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_pin_is_blamed_when_a_certificate_came(
    modern: LegacyServer, kind: str
) -> None:
    err = failure(kind, modern.port, TLSOptions(fingerprint="ab" * 32))
    assert isinstance(err, TLSError) and err.failure == "fingerprint"
    assert "certificate fingerprint mismatch" in str(err) and "update tls_fingerprint" in str(err)
    line = explain_error(err, "get_motion", Target("127.0.0.1", 443, "https", True))
    assert "--tls-fingerprint" in line


@pytest.mark.parametrize("kind", KINDS)
def test_tls_verify_names_the_certificate_check_that_failed(
    modern: LegacyServer, other_ca: trustme.CA, tmp_path: Any, kind: str
) -> None:
    err = failure(kind, modern.port, TLSOptions(ca_file=write_ca(other_ca, tmp_path)))
    assert isinstance(err, TLSError) and err.failure == "certificate"
    assert "unable to get local issuer certificate" in str(err)
    assert "does not chain to a CA of the tls_verify bundle" in str(err)
    line = explain_error(err, "get_motion", Target("127.0.0.1", 443, "https", True))
    assert "--tls-verify" in line and "certificate changed" not in line


@pytest.mark.parametrize("kind", KINDS)
def test_tls_verify_names_a_host_mismatch(
    ca_file: str, tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    server = build(LEGACY["aes-gcm-rsa-kx"]._replace(ciphers="ECDHE-RSA-AES128-GCM-SHA256"),
                   make_leaf("camera.example"),
                   str(tmp_path_factory.mktemp("h")))
    try:
        err = failure(kind, server.port, TLSOptions(ca_file=ca_file))
    finally:
        server.close()
    assert isinstance(err, TLSError) and err.failure == "certificate"
    assert "mismatch" in str(err) and "not issued for the host name or IP" in str(err)


@pytest.mark.parametrize("kind", KINDS)
def test_a_device_outside_every_mode_is_named_and_no_pin_is_suggested(
    rsa_cert: trustme.LeafCert, ca_file: str, tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    try:
        server = build(OUTSIDE_DEFAULT, rsa_cert, str(tmp_path_factory.mktemp("old")))
    except Unbuildable as err:
        pytest.skip(f"Camellia-only: {err}")
    try:
        modes = (
            TLSOptions(), TLSOptions(fingerprint=pin_of(rsa_cert)), TLSOptions(ca_file=ca_file)
        )
        for tls in modes:
            err = failure(kind, server.port, tls)
            assert isinstance(err, TLSError) and err.failure == "cipher", err
            assert err.pin_would_connect is False
            assert "no cipher suite in common" in str(err) and "CAMELLIA" in str(err)
            assert "update the device's firmware" in str(err)
            line = explain_error(err, "get_motion", Target("127.0.0.1", 443, "https", True))
            assert "Update the device's firmware" in line and "--tls-fingerprint" not in line
        assert server.requests == []
    finally:
        server.close()


def test_hints_follow_the_fields_not_the_words() -> None:
    target = Target("10.0.0.9", 443, "https", True)
    for failure in ("version", "cipher"):
        way_out = TLSError("10.0.0.9:443: something", failure=failure, pin_would_connect=True)
        assert "--tls-fingerprint instead" in explain_error(way_out, "x", target)
        too_old = TLSError("10.0.0.9:443: something", failure=failure)
        assert "Update the device's firmware" in explain_error(too_old, "x", target)
    # A message that happens to contain "fingerprint" does not make a handshake failure the
    # pin's fault.
    other = TLSError("10.0.0.9:443: fingerprint reader says no", failure="handshake")
    assert "certificate changed" not in explain_error(other, "x", target)


# --- the command line, against the emulator serving old TLS ---------------------------------


@pytest.fixture(scope="module")
def old_camera(
    rsa_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    try:
        folder = str(tmp_path_factory.mktemp("e"))
        context = server_context(LEGACY["tls1.0-only"], rsa_cert, folder)
    except Unbuildable as err:
        pytest.skip(f"tls1.0-only: {err}")
    with Emulator(profile="camera", password=PASSWORD, https=True, ssl_context=context) as emu:
        yield emu


def test_cli_talks_to_a_tls_1_0_camera_without_a_pin_and_with_the_right_one(
    old_camera: Emulator, rsa_cert: trustme.LeafCert
) -> None:
    for extra in ([], ["--tls-fingerprint", pin_of(rsa_cert)]):
        result = run_cli(
            "get_motion", "0", "--protocol", "https", *extra,
            port=old_camera.port, password=PASSWORD,
        )
        assert result.returncode == 0, result.stderr
        assert '"motion": false' in result.stdout


def test_cli_tls_verify_refuses_a_tls_1_0_camera_and_says_what_to_do(
    old_camera: Emulator, ca_file: str
) -> None:
    old_camera.clear_requests()
    result = run_cli(
        "get_motion", "0", "--protocol", "https", "--tls-verify", ca_file,
        port=old_camera.port, password=PASSWORD,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("reolink: TLS failed:")
    assert "no TLS version in common" in result.stderr and "TLS 1.0" in result.stderr
    assert "--tls-fingerprint instead" in result.stderr
    assert old_camera.requests == []  # not even Login was sent


def test_cli_right_pin_against_a_port_that_ends_the_handshake(rsa_cert: trustme.LeafCert) -> None:
    ender = HandshakeEnder("close")
    try:
        result = run_cli(
            "get_motion", "0", "--protocol", "https", "--tls-fingerprint", pin_of(rsa_cert),
            port=ender.server.port, password=PASSWORD,
        )
    finally:
        ender.server.close()
    assert result.returncode == 1
    assert "during the TLS handshake" in result.stderr
    assert "--tls-fingerprint" not in result.stderr
