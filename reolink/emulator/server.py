"""The HTTP(S) edge: a ThreadingHTTPServer whose handler writes each reply in one send.

Replies are assembled (status line, headers, body) into one buffer and written with a single
``sendall`` on a TCP_NODELAY socket, so a loopback round trip costs well under a millisecond
instead of waiting out a 40 ms delayed ACK. TLS is wrapped per connection in the connection's
thread, so a client that connects and never says hello cannot block ``accept``.
"""

from __future__ import annotations

import email.utils
import http
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:
    from .core import Emulator

__all__ = ["Listener", "response_head"]

log = logging.getLogger(__name__)


def response_head(status: int, headers: Dict[str, str]) -> bytes:
    """Status line and headers, ending with the blank line."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def base_headers(content_type: str, length: Optional[int], close: bool) -> Dict[str, str]:
    headers = {
        "Server": "nginx",
        "Date": email.utils.formatdate(usegmt=True),
        "Content-Type": content_type,
    }
    if length is not None:
        headers["Content-Length"] = str(length)
    headers["Connection"] = "close" if close else "keep-alive"
    return headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr: Tuple[str, int], emu: Emulator, ctx: Optional[ssl.SSLContext]) -> None:
        self.emu = emu
        self.ctx = ctx
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Track the socket before its thread starts, so stop() can always cut it short, even
        # when it comes before the thread reaches its TLS handshake.
        self.emu._track_conn(request, True)
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="reolink-emulator-conn",
            daemon=True,
        )
        self.emu._track_thread(thread)
        thread.start()
        if self.emu._stop.is_set():  # stop() ran in between: end this one too
            self.emu._drop_connections()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.emu._track_conn(request, False)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ctx is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10.0)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError):
            request.close()
            return
        self.emu._track_conn(tls, True)  # so stop() can cut a hanging handshake short
        try:
            tls.do_handshake()
        except (OSError, ValueError):  # handshake refused or aborted by the client
            tls.close()
            return
        finally:
            self.emu._track_conn(tls, False)
        try:
            _Handler(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("emulator connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed, as nginx does
    server: _Server

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.emu._track_conn(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.emu._track_conn(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator http: " + format, *args)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: List[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self, method: str) -> None:
        body = self._read_body()
        self.server.emu._serve_http(self, method, self.path, dict(self.headers.items()), body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def send_raw(self, data: bytes) -> None:
        self.wfile.write(data)

    def abort(self) -> None:
        """Close the connection without (the rest of) a reply."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Listener:
    """One bound listening socket plus its accept thread."""

    def __init__(self, emu: Emulator, host: str, port: int, ctx: Optional[ssl.SSLContext]) -> None:
        self.server = _Server((host, port), emu, ctx)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="reolink-emulator-accept",
            daemon=True,
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5.0)
