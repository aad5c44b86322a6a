"""Every fault kind, over real sockets and through ``app``; reboot and refuse on the same port."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.parse
from typing import Any, Dict, Iterator, List, Optional, Tuple

import attrs
import pytest
from conftest import FakeClock

from reolink.emulator import FAULT_KINDS, Emulator, Fault, Latency, Stall


def request(
    emu: Emulator, body: Any, query: Optional[Dict[str, str]] = None, timeout: float = 5.0
) -> Tuple[int, Dict[str, str], bytes]:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=timeout)
    try:
        target = "/cgi-bin/api.cgi?" + urllib.parse.urlencode(query or {"token": "null"})
        conn.request("POST", target, body=json.dumps(body))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def login(emu: Emulator) -> str:
    body = [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": "admin123"}}}]
    _s, _h, raw = request(emu, body, {"cmd": "Login", "token": "null"})
    return str(json.loads(raw)[0]["value"]["Token"]["name"])


def cmds(*names: str) -> List[Dict[str, Any]]:
    return [{"cmd": n, "action": 0, "param": {"channel": 0}} for n in names]


def refused(emu: Emulator) -> bool:
    try:
        socket.create_connection((emu.host, emu.port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(profile="camera") as e:
        yield e


def test_fault_kind_list_is_complete() -> None:
    assert set(FAULT_KINDS) == {
        "latency",
        "drop",
        "drop_mid_reply",
        "http_502",
        "html_index",
        "truncated",
        "short_reply",
        "batch_error",
        "never_ending",
        "stall",
        "slow_drip",
        "huge",
        "rsp_code",
        "refuse",
    }
    with pytest.raises(ValueError):
        Fault("explode")
    with pytest.raises(ValueError):
        Fault("batch_error", code=-4)


def test_each_kind_is_its_own_frozen_class_with_only_its_knobs() -> None:
    latency = Fault("latency", seconds=0.2)
    assert latency == Latency(seconds=0.2) and isinstance(latency, Fault)
    assert {Fault(kind).kind for kind in FAULT_KINDS} == set(FAULT_KINDS)
    assert Fault("stall").seconds is None and Fault("rsp_code").code == -6
    with pytest.raises(ValueError, match="'drop' has no seconds; it takes count, cmd"):
        Fault("drop", seconds=1.0)
    with pytest.raises(ValueError, match="count must be >= 1"):
        Stall(count=0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        latency.seconds = 1.0  # type: ignore[misc]


def test_latency(emu: Emulator) -> None:
    token = login(emu)
    emu.add_fault(Fault("latency", seconds=0.05))
    started = time.monotonic()
    _s, _h, raw = request(emu, cmds("GetMdState"), {"token": token})
    assert time.monotonic() - started >= 0.05
    assert json.loads(raw)[0]["code"] == 0
    assert emu.pending_faults == []  # count=1: used up
    request(emu, cmds("GetMdState"), {"token": token})


def test_drop_closes_without_reply_and_does_not_run(emu: Emulator) -> None:
    token = login(emu)
    emu.add_fault(Fault("drop"))
    body = [{"cmd": "SetWhiteLed", "param": {"WhiteLed": {"channel": 0, "state": 1}}}]
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        request(emu, body, {"token": token})
    assert emu.spotlight(0) is False
    assert emu.requests[-1].status is None
    emu.add_fault(Fault("drop"))
    with pytest.raises(ConnectionResetError):
        emu.app("POST", f"/cgi-bin/api.cgi?token={token}", {}, json.dumps(body).encode())


def test_drop_mid_reply_runs_the_command_then_cuts(emu: Emulator) -> None:
    token = login(emu)
    emu.add_fault(Fault("drop_mid_reply"))
    body = [{"cmd": "SetWhiteLed", "param": {"WhiteLed": {"channel": 0, "state": 1}}}]
    with pytest.raises(http.client.IncompleteRead):
        request(emu, body, {"token": token})
    assert emu.spotlight(0) is True


def test_http_502_and_html_index(emu: Emulator) -> None:
    emu.add_fault(Fault("http_502"))
    status, headers, raw = request(emu, cmds("GetDevInfo"))
    assert status == 502 and b"502 Bad Gateway" in raw and headers["content-type"] == "text/html"
    emu.add_fault(Fault("html_index"))
    status, headers, raw = request(emu, cmds("GetDevInfo"))
    assert status == 200 and raw.startswith(b"<!DOCTYPE html>")
    with pytest.raises(ValueError):
        json.loads(raw)


def test_truncated_and_short_reply(emu: Emulator) -> None:
    token = login(emu)
    emu.add_fault(Fault("truncated"))
    _s, headers, raw = request(emu, cmds("GetMdState", "GetDevInfo"), {"token": token})
    assert int(headers["content-length"]) == len(raw)
    with pytest.raises(ValueError):
        json.loads(raw)
    emu.add_fault(Fault("short_reply"))
    _s, _h, raw = request(emu, cmds("GetMdState", "GetDevInfo", "GetAiState"), {"token": token})
    assert [e["cmd"] for e in json.loads(raw)] == ["GetMdState", "GetDevInfo"]


def test_batch_error_and_rsp_code(emu: Emulator) -> None:
    token = login(emu)
    emu.add_fault(Fault("batch_error", code=-10))
    _s, _h, raw = request(emu, cmds("GetMdState", "GetAiState", "GetEvents"), {"token": token})
    assert json.loads(raw) == [
        {"cmd": "GetMdState", "code": 1, "error": {"detail": "protocol", "rspCode": -10}}
    ]
    emu.add_fault(Fault("rsp_code", code=-6))
    _s, _h, raw = request(emu, cmds("GetMdState", "GetAiState"), {"token": token})
    assert [(e["cmd"], e["error"]["rspCode"]) for e in json.loads(raw)] == [
        ("GetMdState", -6),
        ("GetAiState", -6),
    ]


def test_cmd_filter_and_persistent_count(emu: Emulator) -> None:
    token = login(emu)
    emu.add_fault(Fault("http_502", count=None, cmd="GetAiState"))
    assert request(emu, cmds("GetMdState"), {"token": token})[0] == 200
    assert request(emu, cmds("GetMdState", "GetAiState"), {"token": token})[0] == 502
    assert request(emu, cmds("GetAiState"), {"token": token})[0] == 502
    emu.clear_faults()
    assert request(emu, cmds("GetAiState"), {"token": token})[0] == 200
    emu.add_fault(Fault("rsp_code", count=2, code=-5))
    codes = [
        json.loads(request(emu, cmds("GetMdState"), {"token": token})[2])[0]["code"]
        for _ in range(3)
    ]
    assert codes == [1, 1, 0]


def test_never_ending_streams_until_client_leaves(emu: Emulator) -> None:
    emu.add_fault(Fault("never_ending"))
    sock = socket.create_connection((emu.host, emu.port), timeout=5)
    try:
        sock.sendall(
            b"POST /cgi-bin/api.cgi?token=null HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]"
        )
        received = b""
        while len(received) < 200_000:
            chunk = sock.recv(65536)
            assert chunk
            received += chunk
    finally:
        sock.close()
    head = received.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200") and b"content-length" not in head
    assert request(emu, cmds("GetDevInfo"))[0] == 200  # the emulator is still fine
    emu.add_fault(Fault("never_ending"))
    with pytest.raises(TimeoutError):
        emu.app("POST", "/cgi-bin/api.cgi?token=null", {}, b"[]")


def test_stall_never_answers_and_ends_on_stop() -> None:
    emu = Emulator().start()
    emu.add_fault(Fault("stall"))
    with pytest.raises(socket.timeout):
        request(emu, cmds("GetDevInfo"), timeout=0.1)
    emu.stop()  # raises ThreadsAlive if the stalled connection's thread outlives it
    emu.add_fault(Fault("stall"))
    with pytest.raises(TimeoutError):
        emu.app("POST", "/cgi-bin/api.cgi?token=null", {}, b"[]")


def test_stall_with_seconds_closes_afterwards(emu: Emulator) -> None:
    emu.add_fault(Fault("stall", seconds=0.1))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        request(emu, cmds("GetDevInfo"), timeout=5)


def test_slow_drip_delivers_a_valid_reply_slowly(emu: Emulator) -> None:
    emu.add_fault(Fault("slow_drip", seconds=0.001))
    started = time.monotonic()
    status, _h, raw = request(emu, [{"cmd": "Logout"}], {"token": "bad"})
    elapsed = time.monotonic() - started
    assert status == 200 and json.loads(raw)[0]["error"]["rspCode"] == -6
    assert elapsed >= 0.001 * len(raw)


def test_huge_reply_is_valid_json_of_the_requested_size(emu: Emulator) -> None:
    emu.add_fault(Fault("huge", size=3_000_000))
    _s, headers, raw = request(emu, cmds("GetDevInfo"))
    assert len(raw) == 3_000_000 == int(headers["content-length"])
    assert json.loads(raw)[0]["cmd"] == "GetDevInfo"


def test_refuse_closes_the_port_then_reopens_the_same_one(emu: Emulator) -> None:
    port = emu.port
    token = login(emu)
    emu.add_fault(Fault("refuse", seconds=0.3))
    assert refused(emu)
    with pytest.raises(ConnectionRefusedError):
        emu.app(
            "POST", f"/cgi-bin/api.cgi?token={token}", {}, json.dumps(cmds("GetMdState")).encode()
        )
    assert emu.wait_until_up(5.0)
    assert emu.port == port and not refused(emu)
    _s, _h, raw = request(emu, cmds("GetMdState"), {"token": token})
    assert json.loads(raw)[0]["code"] == 0  # refuse is not a reboot: the token lives


def test_reboot_command_refuses_then_returns_with_tokens_invalid() -> None:
    with Emulator(profile="nvr") as emu:
        emu.reboot_down_seconds = 0.3
        token = login(emu)
        _s, _h, raw = request(emu, [{"cmd": "Reboot", "action": 0, "param": {}}], {"token": token})
        assert json.loads(raw) == [{"cmd": "Reboot", "code": 0, "value": {"rspCode": 200}}]
        assert refused(emu)
        assert emu.wait_until_up(5.0)
        _s, _h, raw = request(emu, cmds("GetMdState"), {"token": token})
        assert json.loads(raw)[0]["error"] == {"detail": "please login first", "rspCode": -6}
        assert emu.sessions == []
        assert (
            json.loads(request(emu, cmds("GetMdState"), {"token": login(emu)})[2])[0]["code"] == 0
        )


def test_reboot_on_fake_clock_comes_back_on_tick() -> None:
    clock = FakeClock()
    with Emulator(clock=clock) as emu:
        token = login(emu)
        emu.reboot(down_seconds=10.0)
        assert refused(emu)
        clock.now += 10.0
        emu.tick()
        assert emu.wait_until_up(1.0) and not refused(emu)
        _s, _h, raw = request(emu, cmds("GetMdState"), {"token": token})
        assert json.loads(raw)[0]["error"]["rspCode"] == -6


def test_app_reboot_via_command_and_refusal() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock)
    body = [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": "admin123"}}}]
    _st, _h, raw = emu.app(
        "POST", "/cgi-bin/api.cgi?cmd=Login&token=null", {}, json.dumps(body).encode()
    )
    token = json.loads(raw)[0]["value"]["Token"]["name"]
    reboot = json.dumps([{"cmd": "Reboot"}]).encode()
    assert emu.app("POST", f"/cgi-bin/api.cgi?token={token}", {}, reboot)[0] == 200
    with pytest.raises(ConnectionRefusedError):
        emu.app("POST", f"/cgi-bin/api.cgi?token={token}", {}, b"[]")
    clock.now += emu.reboot_down_seconds
    _st, _h, raw = emu.app(
        "POST", f"/cgi-bin/api.cgi?token={token}", {}, json.dumps(cmds("GetMdState")).encode()
    )
    assert json.loads(raw)[0]["error"]["rspCode"] == -6


def test_stop_joins_every_thread_even_with_idle_and_stalled_connections() -> None:
    import threading

    before = set(threading.enumerate())  # other tests' threads are not this emulator's
    emu = Emulator(profile="ptz", https=True, random_events=True).start()
    idle = socket.create_connection((emu.host, emu.port), timeout=5)  # never says hello
    emu.add_fault(Fault("stall"))
    stalled = socket.create_connection((emu.host, emu.port), timeout=5)
    try:
        emu.stop()
        alive = [
            t.name
            for t in threading.enumerate()
            if t not in before and t.name.startswith("reolink-emulator")
        ]
        assert alive == []
    finally:
        idle.close()
        stalled.close()
    emu.start()  # restartable on the same port
    try:
        assert not refused(emu)
    finally:
        emu.stop()
