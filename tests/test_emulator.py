"""The emulator answers like firmware (digest shapes, formatting, login rules), HTTP and app."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from conftest import FakeClock

from reolink.emulator import Emulator


def http_call(
    emu: Emulator, method: str, query: Dict[str, Any], body: Optional[Any] = None
) -> Tuple[int, Dict[str, str], bytes]:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    try:
        data = None if body is None else json.dumps(body).encode()
        target = "/cgi-bin/api.cgi?" + urllib.parse.urlencode(query)
        conn.request(method, target, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def app_call(
    emu: Emulator, query: Dict[str, Any], body: Any, method: str = "POST"
) -> Tuple[int, Dict[str, str], bytes]:
    target = "/cgi-bin/api.cgi?" + urllib.parse.urlencode(query)
    status, headers, raw = emu.app(
        method, target, {}, None if body is None else json.dumps(body).encode()
    )
    return status, {k.lower(): v for k, v in headers.items()}, raw


def login_body(user: str = "admin", password: str = "admin123") -> List[Dict[str, Any]]:
    return [
        {"cmd": "Login", "action": 0, "param": {"User": {"userName": user, "password": password}}}
    ]


def login(emu: Emulator, password: str = "admin123", user: str = "admin") -> Dict[str, Any]:
    _s, _h, raw = app_call(emu, {"cmd": "Login", "token": "null"}, login_body(user, password))
    entry: Dict[str, Any] = json.loads(raw)[0]
    return entry


def token_of(emu: Emulator) -> str:
    entry = login(emu)
    assert entry["code"] == 0, entry
    return str(entry["value"]["Token"]["name"])


def call(emu: Emulator, token: str, *cmds: Dict[str, Any]) -> List[Dict[str, Any]]:
    _s, _h, raw = app_call(emu, {"token": token}, list(cmds))
    result: List[Dict[str, Any]] = json.loads(raw)
    return result


def cmd(name: str, channel: Optional[int] = None, action: int = 0, **param: Any) -> Dict[str, Any]:
    if channel is not None:
        param["channel"] = channel
    return {"cmd": name, "action": action, "param": param}


@pytest.fixture
def camera() -> Iterator[Emulator]:
    with Emulator(profile="camera") as emu:
        yield emu


# ---------------------------------------------------------------------- transport-level format
def test_json_is_text_html_pretty_printed_with_spaced_colons(camera: Emulator) -> None:
    status, headers, raw = http_call(
        camera, "POST", {"cmd": "Login", "token": "null"}, login_body()
    )
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert headers["content-length"] == str(len(raw))
    text = raw.decode()
    assert '"cmd" : "Login"' in text
    assert "\n\t" in text
    token = json.loads(raw)[0]["value"]["Token"]
    assert token["leaseTime"] == 3600
    assert len(token["name"]) == 15 and int(token["name"], 16) >= 0


def test_keep_alive_serves_several_requests_on_one_connection(camera: Emulator) -> None:
    token = token_of(camera)
    conn = http.client.HTTPConnection(camera.host, camera.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("POST", f"/api.cgi?token={token}", body=json.dumps([cmd("GetMdState", 0)]))
            resp = conn.getresponse()
            assert json.loads(resp.read())[0]["value"] == {"state": 0}
            assert resp.getheader("Connection") == "keep-alive"
    finally:
        conn.close()
    assert [r.http for r in camera.requests[-3:]] == [True, True, True]


def test_body_dispatch_ignores_url_cmd_and_get_forms_work(camera: Emulator) -> None:
    token = token_of(camera)
    camera.set_motion(0, True)
    _s, _h, raw = app_call(camera, {"cmd": "GetDevInfo", "token": token}, [cmd("GetMdState", 0)])
    assert json.loads(raw)[0]["cmd"] == "GetMdState"
    status, _h, raw = http_call(camera, "GET", {"cmd": "GetMdState", "channel": 0, "token": token})
    assert status == 200 and json.loads(raw)[0]["value"] == {"state": 1}


def test_short_session_credentials_in_query(camera: Emulator) -> None:
    q = {"cmd": "GetMdState", "channel": 0, "user": "admin", "password": "admin123"}
    _s, _h, raw = app_call(camera, q, None, method="GET")
    assert json.loads(raw)[0]["code"] == 0
    _s, _h, raw = app_call(camera, dict(q, password="nope"), None, method="GET")
    assert json.loads(raw)[0]["error"] == {"detail": "login failed", "rspCode": -7}


def test_unknown_command_answered_in_place_and_garbage_is_param_error(camera: Emulator) -> None:
    token = token_of(camera)
    out = call(camera, token, cmd("GetMdState", 0), cmd("GetFrobnicator"), cmd("GetMdState", 0))
    assert [e["cmd"] for e in out] == ["GetMdState", "Unknown", "GetMdState"]
    assert out[1] == {
        "cmd": "Unknown",
        "code": 1,
        "error": {"detail": "not support", "rspCode": -9},
    }
    _s, _h, raw = camera.app("POST", f"/cgi-bin/api.cgi?token={token}", {}, b"{not json")
    assert json.loads(raw) == [
        {"cmd": "Unknown", "code": 1, "error": {"detail": "param error", "rspCode": -4}}
    ]


def test_batch_over_35_gets_one_send_failed_entry(camera: Emulator) -> None:
    token = token_of(camera)
    assert len(call(camera, token, *[cmd("GetMdState", 0)] * 35)) == 35
    out = call(camera, token, *[cmd("GetDevInfo")] + [cmd("GetMdState", 0)] * 35)
    assert out == [
        {"cmd": "GetDevInfo", "code": 1, "error": {"detail": "send failed", "rspCode": -16}}
    ]


# ---------------------------------------------------------------------- login, sessions, lockout
def test_wrong_password_and_wrong_user() -> None:
    with Emulator() as emu:
        assert login(emu, "bad")["error"] == {"detail": "login failed", "rspCode": -7}
        assert login(emu, user="bob")["error"] == {"detail": "invalid user", "rspCode": -27}


def test_lockout_after_five_wrong_passwords_until_duration_passes() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock, lockout_attempts=5, lockout_duration=300.0)
    for _ in range(5):
        assert login(emu, "bad")["error"]["rspCode"] == -7
        clock.advance(1.0)
    locked = login(emu)  # right password, still locked
    assert locked["code"] == 1
    assert locked["error"] == {"detail": "Login has been locked", "rspCode": -7}
    clock.advance(290.0)
    assert login(emu)["error"]["detail"] == "Login has been locked"
    clock.advance(11.0)
    assert login(emu)["code"] == 0


def test_failures_outside_window_do_not_lock() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock, lockout_attempts=3, lockout_window=10.0)
    for _ in range(4):
        assert login(emu, "bad")["error"]["detail"] == "login failed"
        clock.advance(6.0)
    assert login(emu)["code"] == 0


def test_lease_expiry_by_clock() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock, lease=60)
    token = token_of(emu)
    assert call(emu, token, cmd("GetMdState", 0))[0]["code"] == 0
    clock.advance(59.0)
    assert call(emu, token, cmd("GetMdState", 0))[0]["code"] == 0
    clock.advance(1.0)
    out = call(emu, token, cmd("GetMdState", 0), cmd("GetDevInfo"))
    assert [e["error"] for e in out] == [{"detail": "please login first", "rspCode": -6}] * 2
    assert emu.sessions == []


def test_session_table_full_gives_max_session() -> None:
    emu = Emulator(max_sessions=2, login_throttle=(100, 1.0))
    tokens = [token_of(emu), token_of(emu)]
    assert login(emu)["error"] == {"detail": "max session", "rspCode": -5}
    assert sorted(emu.sessions) == sorted(tokens)
    call(emu, tokens[0], cmd("Logout"))
    assert login(emu)["code"] == 0
    assert emu.login_count == 3


def test_login_throttle_gives_105() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock, login_throttle=(3, 1.0), max_sessions=10)
    assert [login(emu)["code"] for _ in range(3)] == [0, 0, 0]
    assert login(emu)["error"] == {
        "detail": "Frequent logins, please try again later!",
        "rspCode": -105,
    }
    clock.advance(1.5)
    assert login(emu)["code"] == 0


def test_logout_invalidates_token_for_every_command_including_snap(camera: Emulator) -> None:
    token = token_of(camera)
    assert call(camera, token, cmd("Logout"))[0] == {
        "cmd": "Logout",
        "code": 0,
        "value": {"rspCode": 200},
    }
    out = call(camera, token, cmd("GetDevInfo"), cmd("PtzCtrl", 0, op="Stop"), cmd("Logout"))
    assert [e["error"]["rspCode"] for e in out] == [-6, -6, -6]
    status, headers, raw = http_call(
        camera, "GET", {"cmd": "Snap", "channel": 0, "rs": "x", "token": token}
    )
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert json.loads(raw) == [
        {"cmd": "Snap", "code": 1, "error": {"detail": "please login first", "rspCode": -6}}
    ]
    assert b'"detail" : "please login first"' in raw


# ---------------------------------------------------------------------- shapes per profile
@pytest.mark.parametrize("profile", ["camera", "ptz", "nvr", "legacy", "hub"])
def test_dev_info_and_ability_shapes(profile: str) -> None:
    emu = Emulator(profile=profile)
    token = token_of(emu)
    info, ability = call(
        emu, token, cmd("GetDevInfo"), cmd("GetAbility", User={"userName": "admin"})
    )
    dev = info["value"]["DevInfo"]
    for key in ("model", "firmVer", "hardVer", "serial", "channelNum", "type", "name", "buildDay"):
        assert key in dev
    if profile == "legacy":
        assert not {"exactType", "frameworkVer", "pakSuffix"} & set(dev)
        assert not dev["firmVer"].startswith("v")
    else:
        assert dev["firmVer"].startswith("v") and "exactType" in dev and "pakSuffix" in dev
    ab = ability["value"]["Ability"]
    assert ab["reboot"] == {"permit": 1, "ver": 1}
    assert len(ab["abilityChn"]) == dev["channelNum"]
    for chn in ab["abilityChn"]:
        for key in (
            "ptzType",
            "ptzCtrl",
            "ptzPreset",
            "floodLight",
            "supportFLswitch",
            "alarmAudio",
            "supportAi",
            "supportAiPeople",
            "supportAiVehicle",
            "supportAiDogCat",
            "supportAiFace",
            "alarmMd",
        ):
            assert set(chn[key]) == {"permit", "ver"}


def test_camera_channelstatus_unknown_and_events_nested(camera: Emulator) -> None:
    token = token_of(camera)
    camera.set_ai(0, "vehicle", True)
    status, events, ai = call(
        camera, token, cmd("GetChannelstatus"), cmd("GetEvents", 0), cmd("GetAiState", 0)
    )
    assert status["cmd"] == "Unknown" and status["error"]["rspCode"] == -9
    value = events["value"]
    assert value["channel"] == 0
    assert value["md"] == {"alarm_state": 1, "support": 1}  # AI triggers motion too
    assert value["ai"]["vehicle"] == {"alarm_state": 1, "support": 1}
    assert value["ai"]["people"] == {"alarm_state": 0, "support": 1}
    assert value["visitor"] == {"alarm_state": 0, "support": 0}
    assert set(ai["value"]) == {"channel", "dog_cat", "face", "people", "vehicle"}
    camera.clear()
    assert call(camera, token, cmd("GetMdState", 0))[0]["value"] == {"state": 0}


def test_nvr_channelstatus_offline_and_non_ai_channels() -> None:
    emu = Emulator(profile="nvr")
    token = token_of(emu)
    status = call(emu, token, cmd("GetChannelstatus"))[0]["value"]
    assert status["count"] == 8
    online = [s["channel"] for s in status["status"] if s["online"] == 1]
    assert online == [0, 1, 2, 3, 4, 6]
    assert all({"sleep", "uid", "name", "typeInfo"} <= set(s) for s in status["status"])
    events, ai4, ai5, md7, bad = call(
        emu,
        token,
        cmd("GetEvents", 0),
        cmd("GetAiState", 4),
        cmd("GetAiState", 5),
        cmd("GetMdState", 7),
        cmd("GetMdState", 8),
    )
    assert events["cmd"] == "Unknown" and events["error"]["rspCode"] == -9
    assert all(v["support"] == 0 for k, v in ai4["value"].items() if k != "channel")
    assert ai5["error"] == {"detail": "rcv failed", "rspCode": -17}
    assert md7["error"]["rspCode"] == -17
    assert bad["error"]["rspCode"] == -4


def test_legacy_flat_ai_state_and_no_events() -> None:
    emu = Emulator(profile="legacy")
    token = token_of(emu)
    emu.set_ai(0, "people", True)
    ai, events = call(emu, token, cmd("GetAiState", 0), cmd("GetEvents", 0))
    assert ai["value"] == {"channel": 0, "people_state": 1, "vehicle_state": 0}
    assert events["cmd"] == "Unknown"


def test_hub_sleeping_channel_and_token_only_snap() -> None:
    emu = Emulator(profile="hub")
    token = token_of(emu)
    status = call(emu, token, cmd("GetChannelstatus"))[0]["value"]["status"]
    assert status[0]["sleep"] == 1 and status[1]["sleep"] == 0
    get, set_ = call(
        emu, token, cmd("GetMdState", 0), cmd("SetWhiteLed", WhiteLed={"channel": 0, "state": 1})
    )
    assert get["error"]["rspCode"] == -12 and set_["error"]["rspCode"] == -13
    emu.set_sleeping(0, False)
    assert call(emu, token, cmd("GetMdState", 0))[0]["code"] == 0
    q = {"cmd": "Snap", "channel": 1, "user": "admin", "password": "admin123"}
    _s, headers, raw = app_call(emu, q, None, method="GET")
    assert (
        headers["content-type"].startswith("text/html")
        and json.loads(raw)[0]["error"]["rspCode"] == -6
    )
    _s, headers, raw = app_call(
        emu, {"cmd": "Snap", "channel": 1, "token": token}, None, method="GET"
    )
    assert headers["content-type"] == "image/jpeg" and raw[:2] == b"\xff\xd8"
    emu.set_visitor(1, True)
    value = call(emu, token, cmd("GetEvents", 1))[0]["value"]
    assert value["visitor"] == {"alarm_state": 1, "support": 1}
    assert value["ai"]["package"]["support"] == 1


def test_white_led_has_initial_and_range_even_at_action_0(camera: Emulator) -> None:
    token = token_of(camera)
    entry = call(camera, token, cmd("GetWhiteLed", 0))[0]
    assert {"initial", "range", "value"} <= set(entry)
    assert entry["range"]["WhiteLed"]["bright"] == {"max": 100, "min": 0}
    assert entry["value"]["WhiteLed"]["state"] == 0
    ok, bad = call(
        camera,
        token,
        cmd("SetWhiteLed", WhiteLed={"channel": 0, "state": 1, "bright": 80}),
        cmd("SetWhiteLed", WhiteLed={"channel": 0, "bright": 101}),
    )
    assert ok["value"] == {"rspCode": 200} and bad["error"]["rspCode"] == -4
    assert camera.spotlight(0) is True


def test_siren_times_and_manul(camera: Emulator) -> None:
    token = token_of(camera)
    out = call(
        camera,
        token,
        cmd("AudioAlarmPlay", 0, alarm_mode="times", times=2, manual_switch=0),
        cmd("AudioAlarmPlay", 0, alarm_mode="manul", manual_switch=1),
        cmd("AudioAlarmPlay", 0, alarm_mode="manu", manual_switch=1),
    )
    assert [e["code"] for e in out] == [0, 0, 1]
    assert out[2]["error"]["rspCode"] == -4
    assert camera.siren_plays(0) == 3 and camera.siren_on(0)
    call(camera, token, cmd("AudioAlarmPlay", 0, alarm_mode="manul", manual_switch=0))
    assert not camera.siren_on(0)


def test_ptz_moves_by_elapsed_time_and_presets() -> None:
    clock = FakeClock()
    emu = Emulator(profile="ptz", clock=clock)
    token = token_of(emu)
    start = emu.position(0)
    assert call(emu, token, cmd("PtzCtrl", 0, op="Right", speed=10))[0]["value"] == {"rspCode": 200}
    clock.advance(2.0)
    moved = emu.position(0)
    assert moved["pan"] == pytest.approx(start["pan"] + 200.0) and moved["op"] == "Right"
    call(emu, token, cmd("PtzCtrl", 0, op="Stop", speed=0))
    clock.advance(5.0)
    assert emu.position(0)["pan"] == pytest.approx(moved["pan"]) and emu.position(0)["op"] is None
    bad_speed, no_preset, topos = call(
        emu,
        token,
        cmd("PtzCtrl", 0, op="Left", speed=65),
        cmd("PtzCtrl", 0, op="ToPos", id=9, speed=32),
        cmd("PtzCtrl", 0, op="ToPos", id=2, speed=32),
    )
    assert bad_speed["error"]["rspCode"] == -4 and no_preset["error"]["rspCode"] == -4
    assert topos["code"] == 0 and emu.position(0)["pan"] == pytest.approx(600.0)
    preset = call(emu, token, cmd("GetPtzPreset", 0, action=1))[0]
    assert len(preset["value"]["PtzPreset"]) == 64
    assert [p["id"] for p in preset["value"]["PtzPreset"] if p["enable"]] == [1, 2, 3]
    assert preset["range"]["PtzPreset"]["id"] == {"max": 64, "min": 1}
    assert "initial" in preset
    call(
        emu,
        token,
        cmd("SetPtzPreset", PtzPreset={"channel": 0, "enable": 1, "id": 9, "name": "new"}),
    )
    assert call(emu, token, cmd("PtzCtrl", 0, op="ToPos", id=9, speed=32))[0]["code"] == 0


def test_ptz_ops_all_accepted() -> None:
    emu = Emulator(profile="ptz")
    token = token_of(emu)
    ops = [
        "Left",
        "Right",
        "Up",
        "Down",
        "LeftUp",
        "LeftDown",
        "RightUp",
        "RightDown",
        "ZoomInc",
        "ZoomDec",
        "FocusInc",
        "FocusDec",
        "IrisInc",
        "IrisDec",
        "Auto",
        "StartPatrol",
        "StopPatrol",
        "Stop",
    ]
    out = call(emu, token, *[cmd("PtzCtrl", 0, op=op, speed=20, id=1) for op in ops])
    assert [e["code"] for e in out] == [0] * len(ops)
    cam = Emulator(profile="camera")
    assert call(cam, token_of(cam), cmd("PtzCtrl", 0, op="Left"))[0]["error"]["rspCode"] == -9


def test_request_records_and_wait(camera: Emulator) -> None:
    camera.clear_requests()
    token = token_of(camera)
    http_call(camera, "POST", {"token": token}, [cmd("GetMdState", 0), cmd("GetDevInfo")])
    assert camera.wait_for_requests(2, timeout=2.0)
    rec = camera.requests[-1]
    assert rec.cmds == ["GetMdState", "GetDevInfo"] and rec.token == token and rec.http
    assert rec.status == 200 and rec.path == "/cgi-bin/api.cgi" and rec.query["token"] == token
    assert rec.duration >= 0.0
    assert camera.requests[0].http is False
    camera.clear_requests()
    assert camera.requests == []
    assert not camera.wait_for_requests(1, timeout=0.01)
