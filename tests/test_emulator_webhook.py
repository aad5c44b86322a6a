"""The emulated webhook: slot table commands, push settings, and real POSTs over loopback."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any, Dict, Iterator, List

import pytest
from pytest_httpserver import HTTPServer

from reolink.emulator import Emulator
from reolink.emulator.webhook import Sender
from reolink.protocol import (
    build_get_webhook,
    build_set_webhook,
    choose_slot,
    parse_ability,
    parse_webhooks,
    supports_webhook,
)
from reolink.protocol.batch import decode_batch
from reolink.push import PushListener

WAIT = 10.0


def api(emu: Emulator, token: str, *cmds: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Commands over real HTTP to the emulator."""
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=WAIT)
    try:
        query = "token=null&cmd=Login" if not token else f"token={token}"
        conn.request("POST", f"/cgi-bin/api.cgi?{query}", body=json.dumps(list(cmds)).encode())
        result: List[Dict[str, Any]] = json.loads(conn.getresponse().read())
        return result
    finally:
        conn.close()


def login(emu: Emulator) -> str:
    entry = api(emu, "", {"cmd": "Login", "action": 0, "param": {
        "User": {"userName": "admin", "password": "admin123"}}})[0]
    return str(entry["value"]["Token"]["name"])


def get_hooks(emu: Emulator, token: str, ch: int = 0) -> List[Dict[str, Any]]:
    entry = api(emu, token, {"cmd": "GetWebHook", "action": 0, "param": {"channel": ch}})[0]
    assert entry["code"] == 0, entry
    hooks: List[Dict[str, Any]] = entry["value"]["WebHook"]
    return hooks


def set_hook(emu: Emulator, token: str, **hook: Any) -> Dict[str, Any]:
    param = {"channel": 0, "index": 0, "indexEnable": 1, "bCustom": 0, "hookBody": ""}
    param.update(hook)
    return api(emu, token, {"cmd": "SetWebHook", "action": 0, "param": {"WebHook": param}})[0]


def call_test_webhook(emu: Emulator, token: str, url: Any, ch: int = 0) -> Dict[str, Any]:
    hook = {"alarmChannel": ch, "type": 3, "source": "hook", "hookUrl": url, "bCustom": 0,
            "hookBody": ""}
    return api(emu, token, {"cmd": "TestWebHook", "action": 0, "param": {"WebHook": hook}})[0]




@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator("camera") as emulator:
        yield emulator


def test_slot_table_starts_empty_and_is_set_and_freed(emu: Emulator) -> None:
    token = login(emu)
    hooks = get_hooks(emu, token)
    assert [(h["index"], h["indexEnable"], h["hookUrl"]) for h in hooks] == [
        (i, -1, "") for i in range(5)]
    assert set_hook(emu, token, index=2, hookUrl="http://10.0.0.5/x")["code"] == 0
    assert get_hooks(emu, token)[2] == {"index": 2, "indexEnable": 1,
                                        "hookUrl": "http://10.0.0.5/x", "bCustom": 0,
                                        "hookBody": ""}
    assert set_hook(emu, token, index=2, indexEnable=-1, hookUrl="")["code"] == 0
    assert get_hooks(emu, token)[2]["indexEnable"] == -1
    assert get_hooks(emu, token)[2]["hookUrl"] == ""


@pytest.mark.parametrize(
    "hook",
    [
        {"index": 5, "hookUrl": "http://a/"},
        {"index": True, "hookUrl": "http://a/"},
        {"index": "1", "hookUrl": "http://a/"},
        {"index": 0, "indexEnable": 2, "hookUrl": "http://a/"},
        {"index": 0, "indexEnable": 1.0, "hookUrl": "http://a/"},
        {"index": 0, "hookUrl": ""},
        {"index": 0, "hookUrl": 7},
        {"index": 0, "hookUrl": "http://a/" + "x" * 600},
        {"index": 0, "hookUrl": "http://a/", "bCustom": 3},
    ],
)
def test_bad_set_webhook_is_param_error(emu: Emulator, hook: Dict[str, Any]) -> None:
    token = login(emu)
    entry = set_hook(emu, token, **hook)
    assert entry["code"] == 1 and entry["error"]["rspCode"] == -4
    assert all(h["indexEnable"] == -1 for h in get_hooks(emu, token))


def test_legacy_firmware_has_no_webhook_but_has_get_push() -> None:
    with Emulator("legacy") as emu:
        token = login(emu)
        entries = api(emu, token, {"cmd": "GetWebHook", "action": 0, "param": {"channel": 0}},
                      {"cmd": "GetPushV20", "action": 0, "param": {"channel": 0}},
                      {"cmd": "GetPush", "action": 0, "param": {"channel": 0}})
        assert [e.get("error", {}).get("rspCode") for e in entries] == [-9, -9, None]
        assert entries[2]["value"]["Push"]["schedule"]["enable"] == 1
        ability = api(emu, token, {"cmd": "GetAbility", "action": 0,
                                   "param": {"User": {"userName": ""}}})[0]
        assert ability["value"]["Ability"]["abilityChn"][0]["supportWebhook"]["ver"] == 0


def test_event_start_posts_to_enabled_slots_only(emu: Emulator, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/on", method="POST").respond_with_data("")
    httpserver.expect_request("/off", method="POST").respond_with_data("")
    token = login(emu)
    assert set_hook(emu, token, index=0, hookUrl=httpserver.url_for("/on"))["code"] == 0
    assert set_hook(emu, token, index=3, indexEnable=0,
                    hookUrl=httpserver.url_for("/off"))["code"] == 0
    sender = emu.device.webhooks.sender
    emu.set_motion(0, True)
    emu.set_motion(0, True)  # still the same event: no second call
    emu.set_motion(0, False)  # an event's end is never announced
    emu.set_ai(0, "people", True)  # a new AI event: a call
    assert sender.wait_deliveries(2, WAIT)
    assert [(d.kind, d.status) for d in sender.deliveries] == [("motion", 200), ("people", 200)]
    paths = [req.path for req, _resp in httpserver.log]
    assert paths == ["/on", "/on"]
    request = httpserver.log[0][0]
    assert request.headers.get("Connection") == "close"
    assert json.loads(request.data)["alarm"]["type"] == "MD"
    assert json.loads(httpserver.log[1][0].data)["alarm"]["type"] == "PEOPLE"


@pytest.mark.parametrize("switch", ["device", "channel"])
def test_no_call_while_push_is_off(
    emu: Emulator, httpserver: HTTPServer, switch: str
) -> None:
    httpserver.expect_request("/on").respond_with_data("")
    token = login(emu)
    set_hook(emu, token, index=0, hookUrl=httpserver.url_for("/on"))
    emu.device.webhooks.set_push(False, channel=None if switch == "device" else 0)
    push = api(emu, token, {"cmd": "GetPushV20", "action": 0, "param": {"channel": 0}})[0]
    expected = {"device": (0, 1), "channel": (1, 0)}[switch]
    assert (push["value"]["Push"]["enable"], push["value"]["Push"]["scheduleEnable"]) == expected
    emu.set_motion(0, True)
    # TestWebHook calls whatever the push settings: its call comes, the event's never did.
    assert call_test_webhook(emu, token, httpserver.url_for("/on"))["code"] == 0
    assert emu.device.webhooks.sender.wait_deliveries(1, WAIT)
    assert [d.kind for d in emu.device.webhooks.sender.deliveries] == ["test"]
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("url", ["https://127.0.0.1/x", "", 5, "ftp://x/"])
def test_test_webhook_refuses_what_the_device_cannot_call(emu: Emulator, url: Any) -> None:
    token = login(emu)
    entry = call_test_webhook(emu, token, url)
    assert entry["error"]["rspCode"] == -4


def test_test_webhook_checks_its_channel() -> None:
    with Emulator("nvr") as emu:
        token = login(emu)
        assert call_test_webhook(emu, token, "http://127.0.0.1/x", ch=5)["error"]["rspCode"] == -17
        assert call_test_webhook(emu, token, "http://127.0.0.1/x", ch=99)["error"]["rspCode"] == -4


def test_nvr_channels_have_their_own_tables(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ch2").respond_with_data("")
    with Emulator("nvr") as emu:
        token = login(emu)
        assert set_hook(emu, token, channel=2, index=1,
                        hookUrl=httpserver.url_for("/ch2"))["code"] == 0
        assert all(h["indexEnable"] == -1 for h in get_hooks(emu, token, 0))
        assert get_hooks(emu, token, 2)[1]["indexEnable"] == 1
        emu.set_motion(0, True)  # channel 0 has no hook: nothing
        emu.set_motion(2, True)
        assert emu.device.webhooks.sender.wait_deliveries(1, WAIT)
        assert [(d.channel, d.status) for d in emu.device.webhooks.sender.deliveries] == [(2, 200)]
        offline = get_hooks_error(emu, token, 5)
        assert offline == -17


def get_hooks_error(emu: Emulator, token: str, ch: int) -> int:
    entry = api(emu, token, {"cmd": "GetWebHook", "action": 0, "param": {"channel": ch}})[0]
    return int(entry["error"]["rspCode"])


def test_a_stuck_receiver_never_blocks_events_and_stop_ends_the_sender() -> None:
    # A receiver that accepts and never answers: the POST hangs until stop() cuts it.
    hole = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: List[socket.socket] = []

    def accept() -> None:
        try:
            conn, _ = hole.accept()
        except OSError:
            return
        held.append(conn)
        accepted.set()

    acceptor = threading.Thread(target=accept)
    acceptor.start()
    emu = Emulator("camera").start()
    try:
        token = login(emu)
        set_hook(emu, token, index=0, hookUrl=f"http://127.0.0.1:{hole.getsockname()[1]}/x")
        emu.set_motion(0, True)
        assert accepted.wait(WAIT)
        for _ in range(5):  # events keep coming while the first call hangs
            emu.set_motion(0, False)
            emu.set_ai(0, "vehicle", True)
            emu.set_ai(0, "vehicle", False)
        assert emu.device.webhooks.sender.deliveries == []
    finally:
        emu.stop()
        hole.close()
        acceptor.join(WAIT)
        for conn in held:
            conn.close()
    assert not any(t.name == "reolink-emulator-webhook" for t in threading.enumerate())


def test_the_queue_is_bounded() -> None:
    # The first POST is accepted and never answered, so it holds the sender thread. Only
    # once it is in flight is the queue's content known: empty, room for max_queue more.
    # (Posting at once raced the thread's first pop: [T, T, F, F, T] is a right answer too.)
    hole = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{hole.getsockname()[1]}/x"
    sender = Sender(timeout=WAIT, max_queue=2)
    hole.settimeout(WAIT)
    conn = None
    try:
        assert sender.post(url, b"{}", "motion", 0) is True
        conn, _ = hole.accept()  # the thread has popped the first POST and sent it
        results = [sender.post(url, b"{}", "motion", 0) for _ in range(4)]
        assert results == [True, True, False, False]
        assert sender.dropped == 2
    finally:
        sender.stop()
        if conn is not None:
            conn.close()
        hole.close()
    assert sender.post(url, b"{}", "motion", 0) is False  # stopped: nothing is queued


def test_emulator_and_listener_over_loopback_with_the_protocol_layer(emu: Emulator) -> None:
    """Phase-1 pieces together: protocol builders/parsers pick the slot, the device calls it."""
    with PushListener("127.0.0.1", 0) as listener:
        woke = threading.Event()
        reg = listener.register(woke.set)
        url = reg.url("127.0.0.1")
        token = login(emu)
        ability = api(emu, token, {"cmd": "GetAbility", "action": 0,
                                   "param": {"User": {"userName": ""}}})
        assert supports_webhook(parse_ability(json.dumps(ability).encode()), 0)
        set_hook(emu, token, index=0, hookUrl="http://192.0.2.1/someone-else")
        cmds = [build_get_webhook(0)]
        table = parse_webhooks(decode_batch(json.dumps(api(emu, token, *cmds)).encode(),
                                            cmds)[0], 0)
        slot = choose_slot(table, url)
        assert slot is not None and slot.index == 1
        assert api(emu, token, build_set_webhook(0, slot.index, url))[0]["code"] == 0
        emu.device.webhooks.set_slot(0, {"index": 0, "indexEnable": -1})  # quiet the other
        emu.set_ai(0, "people", True)
        assert woke.wait(WAIT)
        assert reg.wakes == 1
