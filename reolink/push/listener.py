"""The push listener and its registrations (see :mod:`reolink.push` for the contract)."""

from __future__ import annotations

import errno
import logging
import secrets
import selectors
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

import attrs

from reolink.errors import ConfigError, ReolinkError

from .._quiet_threads import start_quietly
from ..protocol.commands import PUSH_PORT
from ..redact import PUSH_PATH_PREFIX
from . import _http

__all__ = ["PATH_PREFIX", "PushListener", "PushListenerError", "PushStats", "Registration"]

log = logging.getLogger(__name__)

#: Every device path starts with this; the rest is the secret token (defined in reolink.redact).
PATH_PREFIX = PUSH_PATH_PREFIX
_TOKEN_BYTES = 24  # 192 random bits, URL-safe base64: 32 characters
_RECV = 8192
#: after accept() fails for want of descriptors (EMFILE...): seconds the listening socket is not
#: watched (doubling up to the second figure), or until one of our connections closes
_ACCEPT_PAUSE = (0.1, 1.0)


class PushListenerError(ReolinkError):
    """The push listener could not bind (port busy, address not local) or was closed."""

    def __init__(
        self, message: str, *, port: Optional[int] = None, not_local: bool = False
    ) -> None:
        super().__init__(message)
        self.port = port
        #: the host to bind is not an address of this machine (e.g. a NAT address)
        self.not_local = not_local


@attrs.frozen
class PushStats:
    """Counters of a listener since it started."""

    connections: int  #: accepted
    open_connections: int  #: held right now
    wakes: int  #: requests to a known path (each woke its device once)
    not_found: int  #: requests to an unknown path (404, nothing woken)
    bad_requests: int  #: garbage, oversized heads or bodies
    timed_out: int  #: closed at their deadline
    evicted: int  #: closed to admit a newer connection over max_connections
    wake_errors: int  #: wake callables that raised


class Registration:
    """One device's path on a listener. ``path`` is a secret: the repr never shows it."""

    def __init__(
        self,
        listener: PushListener,
        path: str,
        wake: Callable[[], None],
        label: Optional[str] = None,
    ) -> None:
        self._listener = listener
        self._path = path
        self._wake = wake
        #: the device label (``host:port``) for log records; None when the caller gave none
        self.label = label
        #: requests that woke this registration
        self.wakes = 0
        #: ``time.monotonic()`` of the last wake, None before the first
        self.last_wake: Optional[float] = None
        self.active = True

    @property
    def path(self) -> str:
        """The secret request path (``/reolink/push/<token>``). Keep it out of logs."""
        return self._path

    @property
    def listener(self) -> PushListener:
        return self._listener

    def url(self, host: str) -> str:
        """The URL a device calls: ``http://host:port/reolink/push/<token>`` (secret)."""
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{shown}:{self._listener.port}{self._path}"

    def unregister(self) -> None:
        """Stop answering this path (idempotent); a shared listener closes with its last one."""
        self._listener.unregister(self)

    def __repr__(self) -> str:
        state = "active" if self.active else "unregistered"
        return f"<Registration {state} wakes={self.wakes}>"


class _LiveUrls:
    """``url in`` it: does a live registration of the listener answer that URL's path?"""

    __slots__ = ("_listener",)

    def __init__(self, listener: PushListener) -> None:
        self._listener = listener

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self._listener._serves(url)

    def __repr__(self) -> str:
        return f"<live push URLs of {self._listener!r}>"


class _Conn:
    __slots__ = ("buf", "deadline", "head_done", "need", "peer", "sock")

    def __init__(self, sock: socket.socket, peer: str, deadline: float) -> None:
        self.sock = sock
        self.peer = peer
        self.deadline = deadline
        self.buf = bytearray()
        self.need = 0
        self.head_done = False


class PushListener:
    """An HTTP listener for device webhook calls, serving many devices on one thread.

    ``host`` "" binds every local address (IPv4 and IPv6 where the system allows both);
    ``port`` 0 takes any free port (see :attr:`port` once started). ``deadline``: seconds a
    connection may take to deliver a whole request. ``body_limit``: bytes of body read and
    ignored (a larger body is refused with 413, after the wake). ``max_connections``: sockets
    held at once; ``max_per_address``: sockets held for one remote address. Over either,
    every connection with data waiting is read first (a device's call is served, never reset),
    then the oldest connection that has sent nothing is closed (then the oldest with an
    unfinished head; one whose call is being read only when nothing else is left).

    :meth:`start` binds (raising :class:`PushListenerError` when it cannot) and starts the
    thread; :meth:`register` starts the listener if needed. :meth:`close` joins the thread.
    """

    def __init__(
        self,
        host: str = "",
        port: int = 0,
        *,
        deadline: float = 5.0,
        body_limit: int = 16384,
        max_connections: int = 256,
        max_per_address: int = 64,
    ) -> None:
        if port not in PUSH_PORT:
            raise ConfigError(
                f"push_port must be an integer {PUSH_PORT.low}..{PUSH_PORT.high} (0 = any free "
                f"port), got {port!r}",
                attribute="push_port",
            )
        if not isinstance(host, str):
            raise ConfigError(
                f"push_host must be a string (an address of this host, or '' for all), "
                f"got {type(host).__name__}",
                attribute="push_host",
            )
        if deadline <= 0 or body_limit < 0 or max_connections < 1:
            raise ConfigError("deadline > 0, body_limit >= 0 and max_connections >= 1 are required")
        if max_per_address < 1:
            raise ConfigError(f"max_per_address must be >= 1, got {max_per_address}")
        self.host = host
        self._requested_port = port
        self.deadline = deadline
        self.body_limit = body_limit
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        #: remote address -> connections held from it
        self._per_peer: Dict[str, int] = {}
        self._lock = threading.Lock()
        self._routes: Dict[str, Registration] = {}
        self._conns: OrderedDict[int, _Conn] = OrderedDict()
        self._server: Optional[socket.socket] = None
        self._sel: Optional[selectors.BaseSelector] = None
        self._waker: Optional[Tuple[socket.socket, socket.socket]] = None
        self._thread: Optional[threading.Thread] = None
        self._closing = False
        self._closed = False
        #: accept() failing (EMFILE...): when to watch the listening socket again, and the pause
        self._accept_paused_until: Optional[float] = None
        self._accept_pause = 0.0
        self._counts = dict.fromkeys(
            ("connections", "wakes", "not_found", "bad_requests", "timed_out", "evicted",
             "wake_errors"), 0)
        #: set by the shared registry (reolink.push.shared): it removes and closes a shared
        #: listener with its last registration; its key there
        self._release: Optional[Callable[[PushListener, Registration], None]] = None
        self._shared_key: Optional[Tuple[str, int]] = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        """The bound port (the requested one until :meth:`start`)."""
        server = self._server
        return int(server.getsockname()[1]) if server is not None else self._requested_port

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> PushListener:
        """Bind and serve (idempotent). Raises PushListenerError when the port cannot be bound."""
        with self._lock:
            if self._closed:
                raise PushListenerError("this push listener is closed; create a new one")
            if self._thread is not None:
                return self
            self._server = self._bind()
            self._sel = selectors.DefaultSelector()
            self._waker = socket.socketpair()
            for sock in (self._server, *self._waker):
                sock.setblocking(False)
            self._sel.register(self._server, selectors.EVENT_READ, "accept")
            self._sel.register(self._waker[0], selectors.EVENT_READ, "wakeup")
            self._thread = threading.Thread(
                target=self._run, name="reolink-push-listener", daemon=True
            )
            start_quietly(self._thread)
        log.debug("push listener serving on port %s", self.port)
        return self

    def _bind(self) -> socket.socket:
        port = self._requested_port
        try:
            if self.host == "" and socket.has_dualstack_ipv6():
                return socket.create_server(
                    ("", port), family=socket.AF_INET6, backlog=1024, dualstack_ipv6=True
                )
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            return socket.create_server((self.host, port), family=family, backlog=1024)
        except OSError as err:
            where = f"{self.host or 'all addresses'} port {port}"
            if err.errno == errno.EADDRNOTAVAIL:
                raise PushListenerError(
                    f"push listener cannot bind {where}: {self.host} is not an address of "
                    "this host",
                    not_local=True,
                ) from err
            raise PushListenerError(
                f"push listener cannot bind {where}: {err.strerror or err}. "
                "Choose another push_port (0 = any free port) or free this one",
                port=port,
            ) from err

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving, close every socket and join the thread (idempotent).

        Raises RuntimeError if the thread is still alive after ``timeout``. Called from the
        listener thread itself (from a ``wake``), it only asks the loop to end.
        """
        with self._lock:
            self._closed = True
            self._closing = True
            thread, waker = self._thread, self._waker
            for registration in self._routes.values():
                registration.active = False
            self._routes.clear()
        if thread is None:
            return
        if waker is not None:
            try:
                waker[1].send(b"x")
            except OSError:
                pass  # the loop is already closing the pair
        if thread is threading.current_thread():
            return
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"push listener thread did not stop within {timeout} s")

    def __enter__(self) -> PushListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else ("closed" if self._closed else "idle")
        return f"<PushListener {state} port={self.port} registrations={len(self._routes)}>"

    # ------------------------------------------------------------------ registrations
    def register(
        self, wake: Callable[[], None], *, label: Optional[str] = None
    ) -> Registration:
        """A new path that calls ``wake()`` (on the listener thread) for each request to it.

        ``label`` (the device's ``host:port``) names the device in log records.
        """
        if not callable(wake):
            raise TypeError("wake must be callable")
        self.start()
        path = PATH_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
        registration = Registration(self, path, wake, label)
        with self._lock:
            if self._closed:
                raise PushListenerError("this push listener is closed; create a new one")
            self._routes[path] = registration
        return registration

    def unregister(self, registration: Registration) -> None:
        """Forget ``registration``'s path (idempotent): later requests to it get 404."""
        if self._release is not None:
            self._release(self, registration)
        else:
            self._remove(registration)

    def _remove(self, registration: Registration) -> int:
        """Drop the route; return how many registrations remain."""
        with self._lock:
            if self._routes.get(registration.path) is registration:
                del self._routes[registration.path]
            registration.active = False
            return len(self._routes)

    def live_urls(self) -> _LiveUrls:
        """The URLs of this listener's live registrations, as a container: ``url in live`` is
        True while a registration answers that URL's path (asked at the time, so it follows
        later registrations). It can only be asked, never listed: the paths are secrets."""
        return _LiveUrls(self)

    def live_paths(self) -> FrozenSet[str]:
        """The paths of this listener's live registrations now, as a value (secrets: the
        driver core receives them in its Listening event and only ever asks ``in``)."""
        with self._lock:
            return frozenset(self._routes)

    def _serves(self, url: str) -> bool:
        path = urllib.parse.urlsplit(url).path
        with self._lock:
            return path in self._routes

    @property
    def registrations(self) -> int:
        with self._lock:
            return len(self._routes)

    def stats(self) -> PushStats:
        """A snapshot of the counters."""
        with self._lock:
            return PushStats(open_connections=len(self._conns), **self._counts)

    # ------------------------------------------------------------------ the loop
    def _run(self) -> None:
        sel = self._sel
        assert sel is not None
        try:
            while not self._closing:
                for key, _mask in sel.select(self._timeout()):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wakeup":
                        self._drain_waker()
                    else:
                        self._on_readable(key.data)
                now = time.monotonic()
                self._expire(now)
                if self._accept_paused_until is not None and now >= self._accept_paused_until:
                    self._resume_accept()
        except Exception:  # the loop must not die silently: log, then clean up
            log.exception("push listener loop failed; push wakes stop until it is restarted")
        finally:
            self._shutdown()

    def _timeout(self) -> Optional[float]:
        times = []
        if self._conns:
            times.append(next(iter(self._conns.values())).deadline)
        if self._accept_paused_until is not None:
            times.append(self._accept_paused_until)
        return max(0.0, min(times) - time.monotonic()) if times else None

    def _drain_waker(self) -> None:
        assert self._waker is not None
        try:
            self._waker[0].recv(64)
        except OSError:
            pass

    def _accept(self) -> None:
        assert self._server is not None and self._sel is not None
        deadline = time.monotonic() + self.deadline
        for _ in range(256):  # a burst, then let the loop serve what it has
            try:
                sock, addr = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # EMFILE and friends: keep serving what is open
                self._pause_accept(err)
                return
            if self._accept_pause:
                self._accept_pause = 0.0
                log.info("push listener accepts connections again")
            sock.setblocking(False)
            conn = _Conn(sock, str(addr[0]), deadline)
            with self._lock:
                self._conns[sock.fileno()] = conn
                self._counts["connections"] += 1
            self._per_peer[conn.peer] = self._per_peer.get(conn.peer, 0) + 1
            self._sel.register(sock, selectors.EVENT_READ, conn)
            if self._over(conn.peer):
                self._read_waiting()  # a device's call already sent is served first
                self._evict(conn)

    def _over(self, peer: str) -> bool:
        return (
            len(self._conns) > self.max_connections
            or self._per_peer.get(peer, 0) > self.max_per_address
        )

    def _read_waiting(self) -> None:
        """Read every held connection that has data waiting (without blocking)."""
        assert self._sel is not None
        for key, _mask in self._sel.select(0):
            if isinstance(key.data, _Conn):
                self._on_readable(key.data)

    def _evict(self, newest: _Conn) -> None:
        """Close connections until both caps hold: from the crowded address if that cap is
        exceeded, else from all - the oldest that sent nothing, then the oldest with an
        unfinished head; a call being read only when nothing else is left (the newest)."""
        while self._over(newest.peer):
            crowded = self._per_peer.get(newest.peer, 0) > self.max_per_address
            pool = [c for c in self._conns.values() if not crowded or c.peer == newest.peer]
            victim = next((c for c in pool if not c.buf and not c.head_done), None)
            if victim is None:
                victim = next((c for c in pool if not c.head_done), None)
            if victim is None:
                victim = pool[-1] if pool else next(reversed(self._conns.values()))
            self._close(victim, "evicted")

    def _pause_accept(self, err: OSError) -> None:
        """Stop watching the listening socket for a while: it stays readable while accept()
        fails for want of descriptors, so retrying at once would spin. Said once an episode."""
        assert self._server is not None and self._sel is not None
        if not self._accept_pause:
            log.warning(
                "push listener cannot accept connections: %s; it keeps serving the %d it "
                "holds and tries again as descriptors free up (raise the process's open-file "
                "limit, ulimit -n, if this persists)",
                err.strerror or err,
                len(self._conns),
            )
        first, most = _ACCEPT_PAUSE
        self._accept_pause = min(most, self._accept_pause * 2) if self._accept_pause else first
        self._accept_paused_until = time.monotonic() + self._accept_pause
        try:
            self._sel.unregister(self._server)
        except (KeyError, ValueError):
            pass

    def _resume_accept(self) -> None:
        """Watch the listening socket again (the pause ended, or a descriptor was freed)."""
        assert self._server is not None and self._sel is not None
        self._accept_paused_until = None
        self._sel.register(self._server, selectors.EVENT_READ, "accept")

    def _expire(self, now: float) -> None:
        while self._conns:
            oldest = next(iter(self._conns.values()))
            if oldest.deadline > now:
                return
            self._close(oldest, "timed_out")

    def _close(self, conn: _Conn, counter: Optional[str] = None) -> None:
        assert self._sel is not None
        with self._lock:
            if self._conns.pop(conn.sock.fileno(), None) is None:
                return
            if counter is not None:
                self._counts[counter] += 1
        left = self._per_peer.get(conn.peer, 1) - 1
        if left > 0:
            self._per_peer[conn.peer] = left
        else:
            self._per_peer.pop(conn.peer, None)
        try:
            self._sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        if self._accept_paused_until is not None:  # a descriptor is free: try accepting now
            self._resume_accept()

    def _finish(self, conn: _Conn, reply: bytes, counter: Optional[str] = None) -> None:
        if counter is not None:  # counted before the reply leaves: a peer that has it sees it
            with self._lock:
                self._counts[counter] += 1
        try:
            conn.sock.send(reply)  # tiny: fits the empty send buffer of a fresh socket
        except OSError:
            pass
        self._close(conn)

    def _on_readable(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        if conn.head_done:
            conn.need -= len(data)
            if conn.need <= 0:
                self._finish(conn, _http.OK)
            return
        conn.buf += data
        end = conn.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(conn.buf) > _http.MAX_HEAD:
                self._finish(conn, _http.HEAD_TOO_LARGE, "bad_requests")
            return
        self._on_head(conn, bytes(conn.buf[:end]), len(conn.buf) - end - 4)

    def _on_head(self, conn: _Conn, head: bytes, body_so_far: int) -> None:
        parsed = _http.parse_head(head)
        if parsed is None:
            self._finish(conn, _http.BAD_REQUEST, "bad_requests")
            return
        path, length, expect_continue = parsed
        with self._lock:
            registration = self._routes.get(path)
        if registration is None:
            log.debug("push listener: request from %s for an unknown path: 404", conn.peer)
            self._finish(conn, _http.NOT_FOUND, "not_found")
            return
        if head.startswith(b"HEAD "):  # a probe (is this path served?): answered, no wake
            self._finish(conn, _http.OK)
            return
        self._wake(registration)
        if length > self.body_limit:
            self._finish(conn, _http.TOO_LARGE, "bad_requests")
            return
        conn.head_done, conn.buf = True, bytearray()
        conn.need = length - body_so_far
        if conn.need <= 0:
            self._finish(conn, _http.OK)
        elif expect_continue:
            try:
                conn.sock.send(_http.CONTINUE)
            except OSError:
                self._close(conn)

    def _wake(self, registration: Registration) -> None:
        registration.wakes += 1
        registration.last_wake = time.monotonic()
        with self._lock:
            self._counts["wakes"] += 1
        try:
            registration._wake()
        except Exception:  # a host callback must not stop the listener
            with self._lock:
                self._counts["wake_errors"] += 1
            log.exception(
                "push listener: the wake callback of %s raised",
                registration.label or "a device",
                extra={"reolink_device": registration.label},
            )

    def _shutdown(self) -> None:
        conns: List[_Conn] = list(self._conns.values())
        for conn in conns:
            self._close(conn)
        sel, server, waker = self._sel, self._server, self._waker
        if sel is not None:
            sel.close()
        for sock in (server, *(waker or ())):
            if sock is not None:
                sock.close()
