"""The emulator's HTTP edge owns its connections: a stop reaches and joins every thread."""

from __future__ import annotations

import inspect
import socket
import threading

import pytest

from reolink.emulator import Emulator
from reolink.emulator.server import HANDSHAKE_TIMEOUT, Connections, ThreadsAlive


def _pair() -> socket.socket:
    left, right = socket.socketpair()
    right.close()
    return left


def test_connections_refuse_a_thread_or_socket_once_stop_began() -> None:
    conns = Connections()
    assert conns.close(1.0) == []
    ran = threading.Event()
    thread = threading.Thread(target=ran.set)
    sock = _pair()
    try:
        assert not conns.start(sock, thread)  # refused: the caller closes it
        assert not conns.add(sock)
        assert not thread.is_alive() and not ran.is_set()
        conns.reopen()
        assert conns.add(sock)
    finally:
        sock.close()


def test_connections_close_names_a_thread_that_outlives_the_stop() -> None:
    conns = Connections()
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="stuck-conn", daemon=True)
    sock = _pair()
    try:
        assert conns.start(sock, thread)
        assert conns.close(0.05) == ["stuck-conn"]
    finally:
        release.set()
        thread.join(5.0)
        sock.close()
    assert conns.close(1.0) == []


class _GateClock:
    """A clock that holds connection threads at the gate while it is closed."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self) -> float:
        if threading.current_thread().name == "reolink-emulator-conn":
            self.entered.set()
            self.release.wait(10.0)
        return 1000.0


def test_stop_raises_when_a_connection_thread_survives() -> None:
    """A request stuck where no stop can reach it (here: in the clock) makes stop() raise and
    name the thread, instead of leaving it behind unnoticed."""
    clock = _GateClock()
    emu = Emulator(clock=clock).start()
    clock.release.clear()
    client = socket.create_connection((emu.host, emu.port), timeout=5)
    try:
        client.sendall(b"GET /cgi-bin/api.cgi?cmd=GetDevInfo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert clock.entered.wait(5.0)
        with pytest.raises(ThreadsAlive, match="reolink-emulator-conn"):
            emu.stop(timeout=0.2)
        clock.release.set()
        emu.stop()  # the thread passed the gate, found its socket shut down and ended
    finally:
        clock.release.set()
        client.close()


def test_stop_outwaits_the_tls_handshake_timeout() -> None:
    """A TLS client that never says hello is cut by the stop; should the cut miss, the
    handshake times out before the stop gives up joining."""
    stop_timeout = inspect.signature(Emulator.stop).parameters["timeout"].default
    assert HANDSHAKE_TIMEOUT < stop_timeout
