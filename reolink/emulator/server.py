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
import selectors
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "Connections",
    "Listener",
    "RequestHandler",
    "Serve",
    "ThreadsAlive",
    "base_headers",
    "response_head",
]

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


class ThreadsAlive(RuntimeError):
    """:meth:`Connections.close` could not join every connection thread in time."""


#: A TLS client gets this long to finish its handshake; shorter than any join in
#: :meth:`Connections.close`, so a silent client never outlives a stop.
HANDSHAKE_TIMEOUT = 2.0


class Connections:
    """Every connection socket and thread the server started, so a stop can end and join them.

    A socket or thread is registered under the lock, and once :meth:`close` has begun a new
    one is refused instead (the caller then closes it): there is no moment in which a
    connection exists that :meth:`close` cannot reach. Shared by the listeners of one emulator
    (a reboot replaces the listener, not the connections).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: Set[Any] = set()
        self._threads: Set[threading.Thread] = set()
        self._closed = False

    def reopen(self) -> None:
        with self._lock:
            self._closed = False

    def start(self, sock: Any, thread: threading.Thread) -> bool:
        """Register and start a connection's thread; False (nothing started) once closing."""
        with self._lock:
            if self._closed:
                return False
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)
            self._sockets.add(sock)
            thread.start()
        return True

    def add(self, sock: Any) -> bool:
        """Register a socket (e.g. the TLS one that replaces a raw one); False once closing."""
        with self._lock:
            if not self._closed:
                self._sockets.add(sock)
            return not self._closed

    def discard(self, sock: Any) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def drop(self, spare: Any = None) -> None:
        """Shut down every connection but ``spare``: their threads see EOF and end."""
        with self._lock:
            sockets = [s for s in self._sockets if s is not spare]
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self, timeout: float) -> List[str]:
        """Refuse new connections, drop all, join every thread within ``timeout`` (in total);
        the names of threads still alive (the calling thread itself is not waited for)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        self.drop()
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            return [t.name for t in self._threads if t is not threading.current_thread()]


#: What the listener calls for each request: ``(handler, method, target, headers, body)``.
Serve = Callable[["RequestHandler", str, str, Dict[str, str], bytes], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        addr: Tuple[str, int],
        serve: Serve,
        connections: Connections,
        ctx: Optional[ssl.SSLContext],
    ) -> None:
        self.serve = serve
        self.connections = connections
        self.ctx = ctx
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, RequestHandler)

    def accept_one(self) -> None:
        """Accept one waiting connection and start serving it (the listening socket is ready:
        no second select, as handle_request's would block if the client gave up meanwhile)."""
        try:
            request, client_address = self.get_request()
        except OSError:
            return
        try:
            self.process_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Registered (socket and thread) before the thread runs, so close() always reaches it,
        # even before the thread gets to its TLS handshake.
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="reolink-emulator-conn",
            daemon=True,
        )
        if not self.connections.start(request, thread):  # closing: this one never starts
            self.shutdown_request(request)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.connections.discard(request)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ctx is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError):
            request.close()
            return
        # wrap_socket took the descriptor over from ``request``: track the new socket, or give
        # up if a stop began in between (its drop could not reach this socket).
        if not self.connections.add(tls):
            tls.close()
            return
        try:
            tls.do_handshake()
        except (OSError, ValueError):  # handshake refused, aborted or timed out
            self.connections.discard(tls)
            tls.close()
            return
        try:
            RequestHandler(tls, client_address, self)
        finally:
            self.connections.discard(tls)
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("emulator connection from %s ended with an error", client_address, exc_info=True)


class RequestHandler(BaseHTTPRequestHandler):
    """One connection's HTTP/1.1 requests, each handed to the listener's ``serve``."""

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
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.connections.discard(self.connection)

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
        self.server.serve(self, method, self.path, dict(self.headers.items()), body)

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
    """One bound listening socket plus its accept thread; connections go to ``connections``."""

    def __init__(
        self,
        serve: Serve,
        connections: Connections,
        host: str,
        port: int,
        ctx: Optional[ssl.SSLContext],
    ) -> None:
        self.server = _Server((host, port), serve, connections, ctx)
        self.port: int = self.server.server_address[1]
        self._closing = threading.Event()
        # close() writes a byte here to end the accept loop at once (socketserver's
        # serve_forever notices a shutdown only at its next poll, 50 ms on average per stop).
        self._wake_r, self._wake_w = socket.socketpair()
        self.thread = threading.Thread(
            target=self._accept_loop, name="reolink-emulator-accept", daemon=True
        )
        self.thread.start()

    def _accept_loop(self) -> None:
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.server.socket, selectors.EVENT_READ)
                selector.register(self._wake_r, selectors.EVENT_READ)
                while not self._closing.is_set():
                    for key, _ in selector.select():
                        if key.fileobj is self.server.socket and not self._closing.is_set():
                            self.server.accept_one()
        finally:
            self._wake_r.close()

    def close(self, timeout: float = 5.0) -> bool:
        """Stop accepting and close the port; whether the accept thread ended in ``timeout``."""
        self._closing.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # the loop has already ended
        self._wake_w.close()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout)
        self.server.server_close()
        return not self.thread.is_alive() or self.thread is threading.current_thread()
