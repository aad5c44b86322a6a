"""HTTPS with cameras whose TLS is old, through both transports (issue 17).

Servers are made at test time on loopback (:mod:`tlsservers`): only AES-CBC suites (RSA and
ECDHE key exchange), AES-GCM with RSA key exchange only, DHE with a 1024-bit group, TLS 1.0
only, TLS 1.1 only. Without a pin and with the right ``tls_fingerprint`` every one of them
connects, and a WARNING names the version and cipher once per connection; ``tls_verify`` stays
strict and says which part of the handshake failed (version or cipher) and what the device
offers. Each setup is skipped only where the local OpenSSL cannot build that server. A TLS 1.0
AES128-SHA server made by ``openssl s_server`` (OpenSSL's own server, not Python's) checks the
same.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Iterator, List, Optional

import pytest
import trustme
from tlshelp import ca_file_fixture, pin_of, rsa_cert_fixture  # noqa: F401 (fixtures)
from tlsservers import LEGACY, MODERN, LegacyServer, Suite, Unbuildable, build

from reolink.cli.hints import Target, explain_error
from reolink.errors import TLSError
from reolink.transport import NegotiatedTLS, Request, TLSOptions, Transport, show_tls_version
from transports import open_transport

KINDS = ["urllib3", "stdlib"]
LOGGERS = ("reolink.transports.urllib3", "reolink.transports.stdlib")
BODY = b'[{"cmd":"GetDevInfo","action":0,"param":{}}]'

#: What tls_verify (Python's default client context) finds wrong with each setup.
VERIFY_FAILURE = {
    "aes-cbc-rsa": "cipher",
    "aes-cbc-ecdhe": "cipher",
    "aes-gcm-rsa-kx": "cipher",
    "dhe-1024": "cipher",
    "tls1.0-only": "version",
    "tls1.1-only": "version",
}


def _serve(name: str, suite: Suite, cert: trustme.LeafCert, tmp: str) -> Iterator[LegacyServer]:
    try:
        server = build(suite, cert, tmp)
    except Unbuildable as err:
        pytest.skip(f"{name}: {err}")
    server.name = name
    yield server
    server.close()


@pytest.fixture(scope="module", params=sorted(LEGACY))
def legacy(
    request: pytest.FixtureRequest, rsa_cert: trustme.LeafCert,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LegacyServer]:
    name = request.param
    yield from _serve(name, LEGACY[name], rsa_cert, str(tmp_path_factory.mktemp("dh")))


@pytest.fixture(scope="module")
def modern(
    rsa_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LegacyServer]:
    yield from _serve("modern", MODERN, rsa_cert, str(tmp_path_factory.mktemp("modern")))


def make(kind: str, port: int, tls: Optional[TLSOptions] = None) -> Transport:
    return open_transport(scheme="https", host="127.0.0.1", port=port, tls=tls, kind=kind)


def tls_warnings(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [
        r.getMessage() for r in caplog.records
        if r.name in LOGGERS and r.levelno == logging.WARNING
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["no-pin", "pin"])
def test_old_tls_connects_without_a_pin_and_with_the_right_one(
    legacy: LegacyServer, rsa_cert: trustme.LeafCert, kind: str, mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    legacy.requests.clear()
    legacy.sessions.clear()
    tls = TLSOptions(fingerprint=pin_of(rsa_cert)) if mode == "pin" else TLSOptions()
    transport = make(kind, legacy.port, tls)
    caplog.set_level(logging.WARNING)
    try:
        reply = transport.send(Request("POST", "/cgi-bin/api.cgi?cmd=GetDevInfo", body=BODY))
        negotiated = transport.negotiated_tls()  # type: ignore[attr-defined]
    finally:
        transport.close()
    assert reply.status == 200 and reply.body == b"[]"
    assert legacy.requests == [("POST", "/cgi-bin/api.cgi?cmd=GetDevInfo", BODY)]
    [(version, cipher)] = legacy.sessions
    assert isinstance(negotiated, NegotiatedTLS)
    assert (negotiated.version, negotiated.cipher) == (version, cipher)
    # Every setup here is below TLS 1.2 or has no AEAD cipher, except the AES-GCM ones.
    assert negotiated.legacy is (version not in ("TLSv1.2", "TLSv1.3") or "GCM" not in cipher)
    [warning] = tls_warnings(caplog) if negotiated.legacy else [None]
    if warning is not None:
        assert f"127.0.0.1:{legacy.port}" in warning
        assert show_tls_version(version) in warning and cipher in warning


@pytest.mark.parametrize("kind", KINDS)
def test_tls_verify_stays_strict_and_names_what_failed(
    legacy: LegacyServer, ca_file: str, kind: str
) -> None:
    legacy.requests.clear()
    legacy.sessions.clear()
    legacy.handshaken.clear()
    transport = make(kind, legacy.port, TLSOptions(ca_file=ca_file))
    try:
        with pytest.raises(TLSError) as info:
            transport.send(Request("GET", "/cgi-bin/api.cgi?cmd=GetDevInfo"))
    finally:
        transport.close()
    assert legacy.requests == []
    expected = VERIFY_FAILURE[legacy.name]
    assert info.value.failure == expected
    assert info.value.pin_would_connect is True
    message = str(info.value)
    assert "mismatch" not in message
    # What the device offers (learned by a second handshake that sends nothing) is named, and
    # what tls_verify accepts, and the way out.
    assert legacy.handshaken.wait(5)
    [(version, cipher)] = legacy.sessions
    shown = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2"}[str(version)]
    assert shown in message and cipher in message
    assert "tls_verify accepts" in message and "tls_fingerprint" in message
    # The command line reads the error's fields (the driver keeps it), never the message.
    line = explain_error(info.value, "connect", Target("127.0.0.1", 443, "https", True))
    assert "--tls-fingerprint instead" in line
    if expected == "version":
        assert "no TLS version in common" in message
    else:
        assert "no cipher suite in common" in message or "cipher too weak" in message


@pytest.mark.parametrize("kind", KINDS)
def test_modern_tls_logs_no_warning_and_verify_accepts_it(
    modern: LegacyServer, ca_file: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for tls in (TLSOptions(), TLSOptions(ca_file=ca_file)):
        transport = make(kind, modern.port, tls)
        try:
            assert transport.send(Request("GET", "/")).status == 200
            negotiated = transport.negotiated_tls()  # type: ignore[attr-defined]
        finally:
            transport.close()
        assert negotiated is not None and not negotiated.legacy
        assert negotiated.aead and negotiated.version == "TLSv1.2"
    assert tls_warnings(caplog) == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_warning_comes_once_per_transport_and_again_after_close(
    rsa_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory, kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tmp = str(tmp_path_factory.mktemp("w"))
    for server in _serve("tls1.0-only", LEGACY["tls1.0-only"], rsa_cert, tmp):
        caplog.set_level(logging.WARNING)
        transport = make(kind, server.port)
        try:
            assert transport.negotiated_tls() is None  # type: ignore[attr-defined]
            for _ in range(3):  # one kept-alive connection
                transport.send(Request("GET", "/", repeatable=True))
            assert len(server.sessions) == 1
            assert len(tls_warnings(caplog)) == 1
            transport.close()
            transport.send(Request("GET", "/", repeatable=True))  # a new connection
        finally:
            transport.close()
        assert len(server.sessions) == 2
        warnings = tls_warnings(caplog)
        assert len(warnings) == 2
        assert "TLS 1.0" in warnings[0] and "below TLS 1.2" in warnings[0]


# --- the same through OpenSSL's own server (openssl s_server), not Python's --------------------


@pytest.fixture(scope="module")
def s_server(
    rsa_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """``openssl s_server`` serving only TLS 1.0 with AES128-SHA (RSA key exchange, CBC)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not on PATH (the s_server cross-check needs it)")
    folder = tmp_path_factory.mktemp("s_server")
    rsa_cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    rsa_cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    process = subprocess.Popen(
        [openssl, "s_server", "-accept", "127.0.0.1:0", "-cert", str(folder / "cert.pem"),
         "-key", str(folder / "key.pem"), "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-www"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = 0
        assert process.stdout is not None
        for line in process.stdout:  # ends when s_server exits (it could not build the server)
            if line.startswith("ACCEPT"):
                port = int(line.rsplit(":", 1)[1])
                break
        if not port:
            process.wait(5)
            assert process.stderr is not None
            reason = process.stderr.read().strip()
            pytest.skip(f"the local openssl cannot serve TLS 1.0 with AES128-SHA: {reason}")
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=5)


@pytest.mark.parametrize("kind", KINDS)
def test_openssl_s_server_tls_1_0_no_pin_pin_and_verify(
    s_server: int, rsa_cert: trustme.LeafCert, ca_file: str, kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    for tls in (TLSOptions(), TLSOptions(fingerprint=pin_of(rsa_cert))):
        transport = make(kind, s_server, tls)
        try:
            reply = transport.send(Request("GET", "/"))
            negotiated = transport.negotiated_tls()  # type: ignore[attr-defined]
        finally:
            transport.close()
        assert reply.status == 200 and b"s_server" in reply.body  # its -www status page
        assert negotiated == NegotiatedTLS("TLSv1", "AES128-SHA", 128, False)
    assert len(tls_warnings(caplog)) == 2  # one per connection
    transport = make(kind, s_server, TLSOptions(ca_file=ca_file))
    try:
        with pytest.raises(TLSError) as info:
            transport.send(Request("GET", "/"))
    finally:
        transport.close()
    assert info.value.failure == "version" and info.value.pin_would_connect is True
    assert "TLS 1.0 with AES128-SHA" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_old_tls_is_warned_about_once_per_transport_not_per_connection(
    legacy: LegacyServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A camera that closes after every reply costs a handshake per poll: one WARNING, not one
    a poll (the next connections with the same version and cipher log at DEBUG)."""
    legacy.sessions.clear()
    transport = make(kind, legacy.port)
    caplog.set_level(logging.DEBUG)
    try:
        for _ in range(3):  # not repeatable: each request goes on a connection of its own
            transport.send(Request("POST", "/cgi-bin/api.cgi?cmd=GetDevInfo", body=BODY))
        negotiated = transport.negotiated_tls()  # type: ignore[attr-defined]
    finally:
        transport.close()
    assert len(legacy.sessions) == 3
    assert negotiated is not None
    expected = 1 if negotiated.legacy else 0
    assert len(tls_warnings(caplog)) == expected
    again = [r for r in caplog.records if r.levelno == logging.DEBUG and "TLS" in r.getMessage()
             and "below TLS 1.2" in r.getMessage()]
    assert len(again) == (2 if negotiated.legacy else 0)
