"""Loopback HTTPS servers set up the way older Reolink firmware serves HTTPS, made at test time.

Each :data:`LEGACY` entry is one way a camera's TLS can be old: only AES-CBC suites (RSA or ECDHE
key exchange), AES-GCM with RSA key exchange only, DHE with a 1024-bit group, TLS 1.0 only or
TLS 1.1 only. :func:`build` makes the server context and then tries one handshake with a client
that accepts anything this OpenSSL can do; when the local OpenSSL cannot build or serve that
setup, it raises :class:`Unbuildable` with OpenSSL's own reason (the tests skip with it).
"""

from __future__ import annotations

import base64
import http.server
import socket
import ssl
import threading
import warnings
from typing import Any, List, NamedTuple, Optional, Tuple

import trustme

#: RFC 2409's 1024-bit MODP group ("Oakley group 2"), generator 2: the DH group old firmware uses.
_OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E"
    "3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0B"
    "FF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


class Suite(NamedTuple):
    """One server setup: its OpenSSL cipher string and TLS version range."""

    ciphers: str
    minimum: ssl.TLSVersion = ssl.TLSVersion.MINIMUM_SUPPORTED
    maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    dh_1024: bool = False


#: The setups of issue 17 (names are test ids).
LEGACY = {
    "aes-cbc-rsa": Suite("AES128-SHA:AES256-SHA"),
    "aes-cbc-ecdhe": Suite("ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"),
    "aes-gcm-rsa-kx": Suite("AES128-GCM-SHA256:AES256-GCM-SHA384"),
    "dhe-1024": Suite("DHE-RSA-AES128-GCM-SHA256", dh_1024=True),
    "tls1.0-only": Suite("DEFAULT", ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
    "tls1.1-only": Suite("DEFAULT", ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
}
#: Outside what the driver accepts in any mode: only Camellia suites (not in OpenSSL's DEFAULT).
OUTSIDE_DEFAULT = Suite("CAMELLIA128-SHA:CAMELLIA256-SHA")
#: A modern setup (TLS 1.2, ECDHE with AES-GCM): what Python's default client context accepts.
MODERN = Suite("ECDHE-RSA-AES128-GCM-SHA256")


class Unbuildable(Exception):
    """The local OpenSSL cannot build or serve this setup (the message says why)."""


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der_integer(n: int) -> bytes:
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big")
    return b"\x02" + _der_length(len(raw)) + raw


def dh_1024_pem() -> bytes:
    """PKCS#3 DH parameters of the 1024-bit Oakley group 2, PEM."""
    body = _der_integer(_OAKLEY_GROUP_2) + _der_integer(2)
    der = b"\x30" + _der_length(len(body)) + body
    return b"-----BEGIN DH PARAMETERS-----\n" + base64.encodebytes(der) + \
        b"-----END DH PARAMETERS-----\n"


def server_context(suite: Suite, cert: trustme.LeafCert, tmp_dir: str) -> ssl.SSLContext:
    """The server's context (raises :class:`Unbuildable` when OpenSSL refuses a setting)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    try:
        with warnings.catch_warnings():
            # TLSVersion.TLSv1 / TLSv1_1 are deprecated in the ssl module: that is the point.
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = suite.minimum
            context.maximum_version = suite.maximum
        context.set_ciphers(f"{suite.ciphers}:@SECLEVEL=0")
        if suite.dh_1024:
            path = f"{tmp_dir}/dh1024.pem"
            with open(path, "wb") as out:
                out.write(dh_1024_pem())
            context.load_dh_params(path)
    except (ssl.SSLError, ValueError) as err:
        raise Unbuildable(
            f"the local OpenSSL ({ssl.OPENSSL_VERSION}) cannot build it: {err}"
        ) from err
    return context


def _anything_client() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are separate writes

    def setup(self) -> None:
        # The handshake runs here, in the connection's thread, not in the accept loop.
        self.request.do_handshake()
        server: LegacyServer = self.server  # type: ignore[assignment]
        server.sessions.append((self.request.version(), self.request.cipher()[0]))
        server.handshaken.set()
        super().setup()

    def _answer(self) -> None:
        server: LegacyServer = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server.requests.append((self.command, self.path, body))
        reply = server.reply
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class LegacyServer(http.server.ThreadingHTTPServer):
    """An HTTPS server on 127.0.0.1 with one TLS setup; records sessions and requests."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext, reply: bytes = b"[]") -> None:
        self.context = context
        self.reply = reply
        #: The setup's name (a test id).
        self.name = ""
        #: (TLS version, cipher) of every handshake that completed.
        self.sessions: List[Tuple[Optional[str], str]] = []
        #: Set at each completed handshake.
        self.handshaken = threading.Event()
        #: (method, target, body) of every request that arrived.
        self.requests: List[Tuple[str, str, bytes]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port: int = self.server_address[1]
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def get_request(self) -> Tuple[Any, Any]:
        sock, address = self.socket.accept()
        sock.settimeout(5)
        return self.context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), address

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # refused handshakes are what several tests are about

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)


def build(suite: Suite, cert: trustme.LeafCert, tmp_dir: str) -> LegacyServer:
    """A running server for ``suite``; :class:`Unbuildable` when this OpenSSL cannot serve it."""
    server = LegacyServer(server_context(suite, cert, tmp_dir))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock, \
                _anything_client().wrap_socket(sock):
            pass
    except (OSError, ValueError) as err:
        server.close()
        raise Unbuildable(
            f"the local OpenSSL ({ssl.OPENSSL_VERSION}) cannot serve it "
            f"(a client accepting anything fails: {err})"
        ) from err
    server.handshaken.wait(5)  # the server's side of that handshake is recorded: forget it
    server.sessions.clear()
    return server
