"""reolink.push: the webhook listener, over real loopback sockets."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from typing import Iterator, List

import pytest
from conftest import wait_until

from reolink.errors import ConfigError
from reolink.push import (
    PATH_PREFIX,
    PushListener,
    PushListenerError,
    Registration,
    register_shared,
    shared_listener_count,
)

WAIT = 10.0  # generous upper bound for an event that should come at once


@pytest.fixture
def listener() -> Iterator[PushListener]:
    with PushListener("127.0.0.1", 0, deadline=2.0) as lst:
        yield lst
    assert not lst.running


def post(port: int, path: str, body: bytes = b'{"alarm":{"type":"MD"}}',
         method: str = "POST", headers: dict[str, str] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_a_known_path_wakes_its_device_once(listener: PushListener) -> None:
    woke = threading.Event()
    calls: List[str] = []
    reg = listener.register(lambda: (calls.append(threading.current_thread().name), woke.set()))
    other = threading.Event()
    listener.register(other.set)
    assert reg.path.startswith(PATH_PREFIX)
    assert post(listener.port, reg.path) == 200
    assert woke.wait(WAIT)
    assert calls == ["reolink-push-listener"]
    assert not other.is_set()
    assert reg.wakes == 1 and reg.last_wake is not None
    assert listener.stats().wakes == 1
    # a query string and GET still reach the path (firmware differ); the body is not needed
    assert post(listener.port, reg.path + "?x=1", b"", method="GET") == 200
    assert reg.wakes == 2


def test_paths_are_long_random_and_distinct(listener: PushListener) -> None:
    paths = {listener.register(lambda: None).path for _ in range(50)}
    assert len(paths) == 50
    for path in paths:
        token = path[len(PATH_PREFIX):]
        assert len(token) >= 22  # >= 128 bits in URL-safe base64
        assert token.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize("path", ["/", PATH_PREFIX, PATH_PREFIX + "guess", "/favicon.ico"])
def test_unknown_paths_get_404_and_wake_nothing(listener: PushListener, path: str) -> None:
    woke = threading.Event()
    reg = listener.register(woke.set)
    assert post(listener.port, path) == 404
    assert post(listener.port, reg.path + "x") == 404
    assert post(listener.port, reg.path[:-1]) == 404
    assert not woke.is_set() and reg.wakes == 0
    assert listener.stats().not_found == 3


def test_unregistered_path_gets_404(listener: PushListener) -> None:
    woke = threading.Event()
    reg = listener.register(woke.set)
    reg.unregister()
    reg.unregister()  # idempotent
    assert not reg.active
    assert post(listener.port, reg.path) == 404
    assert not woke.is_set()


def test_body_is_capped(listener: PushListener) -> None:
    small = PushListener("127.0.0.1", 0, body_limit=100).start()
    try:
        woke = threading.Event()
        reg = small.register(woke.set)
        assert post(small.port, reg.path, b"x" * 100) == 200
        assert post(small.port, reg.path, b"x" * 101) == 413
        assert reg.wakes == 2  # the path is what counts: a big body still woke it
        assert small.stats().bad_requests == 1
    finally:
        small.close()


def test_expect_continue_is_answered(listener: PushListener) -> None:
    reg = listener.register(lambda: None)
    head = (f"POST {reg.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            "Expect: 100-continue\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", listener.port), timeout=WAIT) as sock:
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(b"body")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
    assert reg.wakes == 1


GARBAGE = [
    b"\x00\x01\x02\xff\r\n\r\n",
    b"HELLO\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET relative HTTP/1.1\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"POST / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nX: " + b"a" * 9000,
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_is_refused_and_the_listener_keeps_serving(
    listener: PushListener, data: bytes
) -> None:
    woke = threading.Event()
    reg = listener.register(woke.set)
    reply = raw_exchange(listener.port, data)
    assert reply.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431"))
    assert listener.stats().bad_requests == 1
    assert not woke.is_set()
    assert post(listener.port, reg.path) == 200
    assert woke.wait(WAIT)


def test_garbage_to_a_known_path_wakes_nothing(listener: PushListener) -> None:
    woke = threading.Event()
    reg = listener.register(woke.set)
    raw_exchange(listener.port, f"POST {reg.path} HTTP/1.1\r\nbroken\r\n\r\n".encode())
    assert not woke.is_set()


def test_slow_connection_is_closed_at_its_deadline() -> None:
    with PushListener("127.0.0.1", 0, deadline=0.3) as lst:
        woke = threading.Event()
        reg = lst.register(woke.set)
        with socket.create_connection(("127.0.0.1", lst.port), timeout=WAIT) as slow:
            slow.sendall(f"POST {reg.path} HTTP/1.1\r\nHost".encode())  # never finished
            assert slow.recv(100) == b""  # closed by the listener, not by us
        assert lst.stats().timed_out == 1
        assert not woke.is_set()


def _room_for_sockets(needed: int) -> bool:
    """Raise the soft open-file limit towards the hard one; True when ``needed`` fit."""
    try:
        import resource
    except ImportError:  # not POSIX: leave the limit alone
        return True
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft == resource.RLIM_INFINITY or soft >= needed


def test_a_thousand_idle_connections_do_not_stop_a_wake() -> None:
    if not _room_for_sockets(2600):  # 1000 client sockets, up to 1000 accepted, and spare
        pytest.skip("the open-file limit is too low for 1000 client sockets")
    with PushListener("127.0.0.1", 0, deadline=30.0, max_connections=256) as lst:
        woke = threading.Event()
        reg = lst.register(woke.set)
        idle: List[socket.socket] = []
        try:
            for _ in range(1000):
                idle.append(socket.create_connection(("127.0.0.1", lst.port), timeout=WAIT))
            for sock in idle[::50]:
                sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")  # half a request on some
            assert post(lst.port, reg.path) == 200
            assert woke.wait(WAIT)
            stats = lst.stats()
            assert stats.open_connections <= 256
            assert stats.evicted >= 1000 - 256
        finally:
            for sock in idle:
                sock.close()


def test_paths_stay_out_of_reprs_logs_and_errors(
    listener: PushListener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="reolink")

    def boom() -> None:
        raise RuntimeError("host bug")

    reg = listener.register(boom, label="192.0.2.7:80")
    token = reg.path[len(PATH_PREFIX):]
    assert post(listener.port, reg.path) == 200  # the wake raised; the reply is still 200
    assert post(listener.port, reg.path + "zz") == 404
    assert listener.stats().wake_errors == 1
    for text in (repr(reg), repr(listener), caplog.text):
        assert token not in text
    assert "the wake callback of 192.0.2.7:80 raised" in caplog.text
    record = next(r for r in caplog.records if "wake callback" in r.getMessage())
    assert record.reolink_device == "192.0.2.7:80"  # type: ignore[attr-defined]


def test_url_formats_hosts() -> None:
    with PushListener("127.0.0.1", 0) as lst:
        reg = lst.register(lambda: None)
        assert reg.url("10.0.0.2") == f"http://10.0.0.2:{lst.port}{reg.path}"
        assert reg.url("fe80::1").startswith(f"http://[fe80::1]:{lst.port}/")


def test_busy_port_is_a_clear_error() -> None:
    with PushListener("127.0.0.1", 0) as first:
        second = PushListener("127.0.0.1", first.port)
        with pytest.raises(PushListenerError, match="Choose another push_port") as info:
            second.start()
        assert info.value.port == first.port
        second.close()


def test_close_joins_the_thread_and_is_final() -> None:
    lst = PushListener("127.0.0.1", 0).start()
    reg = lst.register(lambda: None)
    port = lst.port
    lst.close()
    lst.close()
    assert not lst.running and not reg.active
    with pytest.raises(PushListenerError, match="closed"):
        lst.register(lambda: None)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()


def test_close_from_inside_a_wake() -> None:
    lst = PushListener("127.0.0.1", 0).start()
    done = threading.Event()

    def wake() -> None:
        lst.close()
        done.set()

    reg = lst.register(wake)
    # The request's connection ends with the listener: its reply may or may not have left.
    with socket.create_connection(("127.0.0.1", lst.port), timeout=WAIT) as sock:
        sock.sendall(f"POST {reg.path} HTTP/1.1\r\nContent-Length: 0\r\n\r\n".encode())
        assert done.wait(WAIT)
    lst.close()  # from outside: joins
    assert not lst.running


def test_shared_listener_lives_only_while_registered() -> None:
    assert shared_listener_count() == 0
    woke_a, woke_b = threading.Event(), threading.Event()
    a = register_shared(woke_a.set, host="127.0.0.1")
    b = register_shared(woke_b.set, host="127.0.0.1")
    assert a.listener is b.listener and shared_listener_count() == 1
    lst = a.listener
    assert post(lst.port, b.path) == 200 and woke_b.wait(WAIT) and not woke_a.is_set()
    a.unregister()
    assert lst.running
    b.unregister()
    assert not lst.running and shared_listener_count() == 0
    c = register_shared(lambda: None, host="127.0.0.1")  # a fresh one on next use
    assert c.listener is not lst and c.listener.running
    c.unregister()
    assert shared_listener_count() == 0


def test_registration_repr_is_plain() -> None:
    with PushListener("127.0.0.1", 0) as lst:
        reg: Registration = lst.register(lambda: None)
        assert repr(reg) == "<Registration active wakes=0>"


@pytest.mark.parametrize("bad", [-1, 65536, True, "80", 80.0])
def test_bad_port_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"push_port must be an integer 0\.\.65535") as info:
        PushListener("127.0.0.1", bad)  # type: ignore[arg-type]
    assert info.value.attribute == "push_port"


def test_bad_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="push_host must be a string") as info:
        PushListener(None, 0)  # type: ignore[arg-type]
    assert info.value.attribute == "push_host"


def test_out_of_file_descriptors_backs_off_and_logs_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """EMFILE on accept: the listening socket stays readable, so retrying at once would spin a
    core and flood the log. The listener stops watching it for a while, says so once, and keeps
    serving the connections it holds; accepting resumes when descriptors are back."""
    import errno

    with PushListener("127.0.0.1", 0, deadline=WAIT) as lst:
        woke = threading.Event()
        reg = lst.register(woke.set)
        server = lst._server
        failing = threading.Event()
        failing.set()
        attempts: List[int] = []
        first = threading.Event()
        third = threading.Event()
        real_accept = socket.socket.accept

        def accept(self: socket.socket):  # type: ignore[no-untyped-def]
            if self is server and failing.is_set():
                attempts.append(1)
                first.set()
                if len(attempts) >= 3:
                    third.set()
                raise OSError(errno.EMFILE, "Too many open files")
            return real_accept(self)

        # a connection held from before the episode, its request not sent yet
        held = socket.create_connection(("127.0.0.1", lst.port), timeout=WAIT)
        assert wait_until(lambda: lst.stats().connections >= 1, WAIT)
        monkeypatch.setattr(socket.socket, "accept", accept)
        caplog.set_level(logging.DEBUG, logger="reolink")
        waiting = socket.create_connection(("127.0.0.1", lst.port), timeout=WAIT)
        assert first.wait(WAIT)
        # the held connection is still served during the episode
        held.sendall(f"POST {reg.path} HTTP/1.1\r\nContent-Length: 0\r\n\r\n".encode())
        assert held.recv(100).startswith(b"HTTP/1.1 200")
        assert woke.wait(WAIT)
        # Two more tries come after back-offs (0.1 s, then 0.2 s); a spinning loop would reach
        # them at once, with a warning each time.
        assert third.wait(WAIT)
        tries = len(attempts)
        warned = len([r for r in caplog.records if r.levelno >= logging.WARNING])
        failing.clear()
        woke.clear()
        waiting.sendall(f"POST {reg.path} HTTP/1.1\r\nContent-Length: 0\r\n\r\n".encode())
        assert waiting.recv(100).startswith(b"HTTP/1.1 200")  # accepting resumed
        assert woke.wait(WAIT)
        held.close()
        waiting.close()
    assert 3 <= tries < 20 and warned == 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "file descriptors" in warnings[0].getMessage() or "Too many" in warnings[0].getMessage()


def test_live_urls_can_be_asked_but_never_shown(listener: PushListener) -> None:
    reg = listener.register(lambda: None)
    live = listener.live_urls()
    url = reg.url("10.0.0.2")
    assert url in live
    assert url + "x" not in live and "http://10.0.0.2:1/other" not in live and 5 not in live
    token = reg.path.rsplit("/", 1)[1]
    assert token not in repr(live) and token not in str(live)
    later = listener.register(lambda: None)  # asked at the time: later registrations count
    assert later.url("10.0.0.2") in live
    reg.unregister()
    assert url not in live
