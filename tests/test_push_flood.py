"""The push listener serves devices first (issue 16): under a flood without the secret, a call
with the secret is never reset; one remote address cannot hold every connection; the listener
binds the address the device calls. Real loopback sockets; waits on events only.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import List

import pytest
from conftest import wait_until
from test_push import WAIT, post

from reolink.errors import ConfigError
from reolink.push import PushListener, PushListenerError


def _idle(port: int, count: int, source: str = "127.0.0.1") -> List[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(WAIT)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        socks.append(sock)
    return socks


def _delivered(sock: socket.socket) -> bool:
    """No byte sent on ``sock`` is still unacknowledged: the peer's kernel holds them all
    (Linux: the send queue's length; elsewhere assumed, as loopback delivers at once)."""
    if not sys.platform.startswith("linux"):
        return True
    import fcntl
    import struct
    import termios

    queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return bool(struct.unpack("i", queued)[0] == 0)


def _answer(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return b"reset"
    return b"".join(chunks)


def test_a_call_queued_behind_a_flood_is_read_before_anything_is_evicted() -> None:
    """The listener thread is busy while a real call and a flood of idle connections queue
    up; when it accepts them in one burst, the real call (the oldest) must be read, not
    evicted as the oldest connection."""
    with PushListener("127.0.0.1", 0, deadline=30.0, max_connections=20) as lst:
        busy, release = threading.Event(), threading.Event()

        def block() -> None:
            busy.set()
            release.wait(WAIT)

        blocker = lst.register(block)
        woke = threading.Event()
        device = lst.register(woke.set)
        holder = threading.Thread(target=post, args=(lst.port, blocker.path))
        holder.start()
        idle: List[socket.socket] = []
        try:
            assert busy.wait(WAIT)  # the listener thread is stuck in a wake callback
            call = socket.create_connection(("127.0.0.1", lst.port), timeout=WAIT)
            call.sendall(
                f"POST {device.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}"
                .encode()
            )
            # The call's bytes are in the listener's kernel before the flood comes (loopback
            # hands them over in a softirq, which a loaded machine may run late: a call whose
            # bytes are still in flight looks like one that sent nothing, and is evicted).
            assert wait_until(lambda: _delivered(call), WAIT)
            idle = _idle(lst.port, 60)  # queued behind the call, in the backlog
            release.set()
            reply = _answer(call)
            call.close()
            assert reply.startswith(b"HTTP/1.1 200"), reply[:40]
            assert woke.is_set()
            assert wait_until(lambda: lst.stats().connections == 62, WAIT)  # all accepted
            assert lst.stats().evicted >= 60 - 20
        finally:
            release.set()
            holder.join(WAIT)
            for sock in idle:
                sock.close()


def test_one_address_cannot_hold_every_connection() -> None:
    with PushListener("", 0, deadline=30.0, max_connections=40, max_per_address=8) as lst:
        woke = threading.Event()
        device = lst.register(woke.set)
        idle: List[socket.socket] = []
        try:
            idle = _idle(lst.port, 50, source="127.0.0.2")  # the flooder
            held = _idle(lst.port, 5)  # other clients, idle too, keep their connections
            assert post(lst.port, device.path) == 200 and woke.is_set()
            assert wait_until(lambda: lst.stats().connections == 56, WAIT)  # all accepted
            assert wait_until(lambda: lst.stats().open_connections <= 8 + 5, WAIT)
            assert lst.stats().evicted >= 50 - 8
            for sock in held:
                sock.settimeout(0.05)
                with pytest.raises(socket.timeout):
                    sock.recv(1)  # still open: nothing to read, no reset
                sock.close()
        finally:
            for sock in idle:
                sock.close()


def test_a_bad_per_address_cap_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_per_address"):
        PushListener("127.0.0.1", 0, max_per_address=0)


def test_an_address_that_is_not_local_says_so() -> None:
    with pytest.raises(PushListenerError) as caught:
        PushListener("192.0.2.1", 0).start()  # TEST-NET-1: never an address of this host
    assert caught.value.not_local


def _refused(port: int, source: str) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    try:
        sock.bind((source, 0))
        sock.connect(("127.0.0.2", port))
    except ConnectionRefusedError:
        return True
    finally:
        sock.close()
    return False


def test_the_shared_listener_binds_push_host_when_one_is_set() -> None:
    from conftest import Recorder, http_driver
    from test_driver_push_http import _ours

    from reolink.emulator import Emulator

    with Emulator(profile="camera") as emu:
        recorder = Recorder()
        driver = http_driver(emu, {"0": {}}, recorder, push_host="127.0.0.1",
                             status_interval="30000")
        try:
            assert driver.connect() is True
            assert recorder.wait_for("event_source", "push", timeout=WAIT)
            (slot,) = _ours(emu)
            port = int(slot["hookUrl"].split(":")[2].split("/")[0])
            assert _refused(port, "127.0.0.1")  # 127.0.0.2 is not the address it listens on
        finally:
            driver.disconnect()


def test_the_probe_tells_live_from_dead_and_wakes_nobody() -> None:
    from reolink.driver.loop import _answers

    woke = threading.Event()
    with PushListener("127.0.0.1", 0) as lst:
        reg = lst.register(woke.set)
        live = reg.url("127.0.0.1")
        assert _answers(live) is True
        assert _answers(live + "x") is False  # a listener, but the path is nobody's (404)
        assert not woke.is_set() and lst.stats().wakes == 0
    assert _answers(live) is False  # nothing listens there any more (refused)
