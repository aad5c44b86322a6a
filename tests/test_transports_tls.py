"""The transports over HTTPS on loopback, with certificates from trustme CAs.

Warnings are errors in the pytest configuration, so an ``InsecureRequestWarning`` leaking
out of the self-signed mode fails these tests by itself; they also record warnings explicitly.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import warnings
from typing import Any, Iterator, List, Optional, Tuple

import pytest
import trustme
from tlshelp import ca_fixture, make_leaf, other_ca_fixture, pin_of  # noqa: F401 (fixtures)

from reolink.errors import ConfigError, TLSError, WrongProtocolError
from reolink.transport import Request, TLSOptions, Transport
from transports import StdlibTransport, Urllib3Transport, open_transport

KINDS = ["urllib3", "stdlib"]
TOKEN = "tok-SECRET-456"
TARGET = f"/cgi-bin/api.cgi?cmd=GetDevInfo&token={TOKEN}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body are two writes: without TCP_NODELAY a kept-alive connection's second
    # reply waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        # The handshake runs here, in the connection's thread, not in the accept loop.
        self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:
        server: _TLSServer = self.server  # type: ignore[assignment]
        server.requests.append(self.path)
        body = str(self.client_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.requests: List[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> Tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), address

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # rejected handshakes are what several tests are about


def _serve(cert: trustme.LeafCert) -> Iterator[_TLSServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server = _TLSServer(context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def ip_cert() -> trustme.LeafCert:
    return make_leaf("127.0.0.1", rsa=False)  # an IP SAN, as a camera addressed by IP needs


@pytest.fixture(scope="module")
def tls_server(ip_cert: trustme.LeafCert) -> Iterator[_TLSServer]:
    yield from _serve(ip_cert)


@pytest.fixture(scope="module")
def name_only_server() -> Iterator[_TLSServer]:
    yield from _serve(make_leaf("camera.example", rsa=False))


@pytest.fixture
def server(tls_server: _TLSServer) -> _TLSServer:
    tls_server.requests.clear()
    return tls_server


def make(kind: str, port: int, tls: Optional[TLSOptions] = None) -> Transport:
    return open_transport(scheme="https", host="127.0.0.1", port=port, tls=tls, kind=kind)


def send_twice(transport: Transport) -> Tuple[bytes, bytes]:
    try:
        return (transport.send(Request("GET", TARGET, repeatable=True)).body,
                transport.send(Request("GET", TARGET, repeatable=True)).body)
    finally:
        transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_self_signed_accepted_without_warning(server: _TLSServer, kind: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = send_twice(make(kind, server.server_address[1]))
    assert caught == []
    assert first == second  # same client port: the TLS connection was kept alive
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("style", ["plain", "colons-upper"])
def test_right_fingerprint_accepted(
    server: _TLSServer, ip_cert: trustme.LeafCert, kind: str, style: str
) -> None:
    digest = pin_of(ip_cert)
    if style == "colons-upper":
        digest = ":".join(digest[i:i + 2] for i in range(0, 64, 2)).upper()
    first, second = send_twice(make(kind, server.server_address[1], TLSOptions(fingerprint=digest)))
    assert first == second
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_fingerprint_rejected_before_the_request(
    server: _TLSServer, ip_cert: trustme.LeafCert, kind: str
) -> None:
    wrong = pin_of(make_leaf("127.0.0.1", ca="other", rsa=False))
    transport = make(kind, server.server_address[1], TLSOptions(fingerprint=wrong))
    with pytest.raises(TLSError) as info:
        transport.send(Request("GET", TARGET))
    message = str(info.value)
    assert "expected " + ":".join(wrong[i:i + 2] for i in range(0, 64, 2)).upper() in message
    actual = pin_of(ip_cert)
    assert ":".join(actual[i:i + 2] for i in range(0, 64, 2)).upper() in message
    assert f"127.0.0.1:{server.server_address[1]}" in message
    assert TOKEN not in message
    assert info.value.__cause__ is not None
    assert server.requests == []  # the token never left the client


@pytest.mark.parametrize("kind", KINDS)
def test_ca_file_mode_accepts_the_right_ca(
    server: _TLSServer, ca: trustme.CA, tmp_path: Any, kind: str
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    tls = TLSOptions(ca_file=str(bundle))
    first, second = send_twice(make(kind, server.server_address[1], tls))
    assert first == second


@pytest.mark.parametrize("kind", KINDS)
def test_ca_file_mode_rejects_another_ca(
    server: _TLSServer, other_ca: trustme.CA, tmp_path: Any, kind: str
) -> None:
    bundle = tmp_path / "other.pem"
    other_ca.cert_pem.write_to_path(str(bundle))
    transport = make(kind, server.server_address[1], TLSOptions(ca_file=str(bundle)))
    with pytest.raises(TLSError) as info:
        transport.send(Request("GET", TARGET))
    assert "certificate verify failed" in str(info.value)
    assert server.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_ca_file_mode_checks_the_host(
    name_only_server: _TLSServer, ca: trustme.CA, tmp_path: Any, kind: str
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    transport = make(kind, name_only_server.server_address[1], TLSOptions(ca_file=str(bundle)))
    with pytest.raises(TLSError):
        transport.send(Request("GET", TARGET))
    assert name_only_server.requests == []


@pytest.mark.parametrize("pinned", [False, True], ids=["no-pin", "pin"])
@pytest.mark.parametrize("kind", KINDS)
def test_https_to_a_plain_http_port_says_so(kind: str, pinned: bool) -> None:
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def plain_http() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            stop.wait(5)

    thread = threading.Thread(target=plain_http, daemon=True)
    thread.start()
    tls = TLSOptions(fingerprint="ab" * 32) if pinned else None
    try:
        with pytest.raises(WrongProtocolError) as info:
            make(kind, listener.getsockname()[1], tls).send(Request("GET", TARGET))
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    message = str(info.value)
    assert "speaks plain HTTP" in message
    assert "use protocol http" in message
    assert "fingerprint" not in message and "verify" not in message
    assert info.value.expected == "http"
    assert info.value.request_sent is False


@pytest.mark.parametrize("cls", [StdlibTransport, Urllib3Transport])
@pytest.mark.parametrize(
    "bad", ["abc", "zz" * 32, "ab" * 31, "ab" * 33, "", "AB:CD"], ids=repr
)
def test_malformed_fingerprint_is_a_config_error(cls: Any, bad: str) -> None:
    with pytest.raises(ConfigError, match="fingerprint") as info:
        cls("https", "127.0.0.1", 443, TLSOptions(fingerprint=bad or " "))
    assert isinstance(info.value, ValueError)
    assert info.value.attribute == "fingerprint"


@pytest.mark.parametrize("kind", KINDS)
def test_unreadable_ca_file_is_a_config_error(tmp_path: Any, kind: str) -> None:
    with pytest.raises(ConfigError, match="ca_file"):
        make(kind, 443, TLSOptions(ca_file=str(tmp_path / "missing.pem")))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigError, match="ca_file"):
        make(kind, 443, TLSOptions(ca_file=str(junk)))


def test_repr_shows_the_tls_mode(tmp_path: Any) -> None:
    pin = "ab" * 32
    assert "tls=pin" in repr(make("stdlib", 443, TLSOptions(fingerprint=pin)))
    assert "tls=pin" in repr(make("urllib3", 443, TLSOptions(fingerprint=pin)))
    assert pin not in repr(make("urllib3", 443, TLSOptions(fingerprint=pin)))
