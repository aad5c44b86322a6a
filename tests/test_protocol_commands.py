"""Builders: output against the digest's envelopes, and every validation error."""

from __future__ import annotations

import json

import pytest

from reolink.errors import ArgumentError
from reolink.protocol import (
    MOVE_OPS,
    PTZ_OPS,
    api_target,
    build_audio_alarm_play,
    build_get_ability,
    build_get_ai_state,
    build_get_channel_status,
    build_get_dev_info,
    build_get_events,
    build_get_md_state,
    build_get_ptz_preset,
    build_get_white_led,
    build_login,
    build_logout,
    build_ptz_ctrl,
    build_reboot,
    build_set_white_led,
    encode_body,
    snap_target,
)

PASSWORD = "S3cr3t!pw"


def digest(text: str) -> object:
    return json.loads(text)


def test_login_matches_digest() -> None:
    assert build_login("admin", "xxxx") == digest(
        '{"cmd":"Login","action":0,"param":{"User":{"Version":"0","userName":"admin",'
        '"password":"xxxx"}}}'
    )


def test_simple_getters() -> None:
    assert build_logout() == {"cmd": "Logout", "action": 0, "param": {}}
    assert build_get_dev_info() == {"cmd": "GetDevInfo", "action": 0, "param": {}}
    assert build_get_channel_status() == {"cmd": "GetChannelstatus", "action": 0, "param": {}}
    assert build_reboot() == {"cmd": "Reboot", "action": 0, "param": {}}
    assert build_get_ability("admin") == digest(
        '{"cmd":"GetAbility","action":0,"param":{"User":{"userName":"admin"}}}'
    )
    assert build_get_ability() == {
        "cmd": "GetAbility", "action": 0, "param": {"User": {"userName": ""}}}


@pytest.mark.parametrize(
    ("builder", "cmd"),
    [
        (build_get_md_state, "GetMdState"),
        (build_get_ai_state, "GetAiState"),
        (build_get_events, "GetEvents"),
        (build_get_white_led, "GetWhiteLed"),
    ],
)
def test_channel_getters(builder, cmd: str) -> None:  # type: ignore[no-untyped-def]
    assert builder(3) == {"cmd": cmd, "action": 0, "param": {"channel": 3}}


def test_get_ptz_preset_uses_action_1() -> None:
    assert build_get_ptz_preset(0) == digest(
        '{"cmd":"GetPtzPreset","action":1,"param":{"channel":0}}'
    )


def test_ptz_ops_table() -> None:
    assert len(PTZ_OPS) == 19 and len(set(PTZ_OPS)) == 19
    assert set(MOVE_OPS) <= set(PTZ_OPS)
    assert "Stop" not in MOVE_OPS and "ToPos" not in MOVE_OPS and "Auto" in MOVE_OPS


def test_ptz_ctrl_envelopes() -> None:
    assert build_ptz_ctrl(0, "Left", speed=32) == digest(
        '{"cmd":"PtzCtrl","action":0,"param":{"channel":0,"op":"Left","speed":32}}'
    )
    assert build_ptz_ctrl(1, "Stop", speed=32) == {
        "cmd": "PtzCtrl", "action": 0, "param": {"channel": 1, "op": "Stop"}}
    assert build_ptz_ctrl(0, "ToPos", preset=1, speed=32)["param"] == {
        "channel": 0, "op": "ToPos", "id": 1, "speed": 32}
    assert build_ptz_ctrl(0, "ToPos", preset=0)["param"] == {"channel": 0, "op": "ToPos", "id": 0}
    assert build_ptz_ctrl(0, "StartPatrol", patrol=0)["param"] == {
        "channel": 0, "op": "StartPatrol", "id": 0}
    assert build_ptz_ctrl(0, "StopPatrol")["param"] == {"channel": 0, "op": "StopPatrol"}
    for op in MOVE_OPS:
        assert build_ptz_ctrl(0, op)["param"] == {"channel": 0, "op": op}


def test_white_led() -> None:
    assert build_set_white_led(0, on=True, bright=80) == digest(
        '{"cmd":"SetWhiteLed","action":0,"param":{"WhiteLed":{"channel":0,"state":1,"bright":80}}}'
    )
    assert build_set_white_led(2, on=False)["param"] == {"WhiteLed": {"channel": 2, "state": 0}}


def test_audio_alarm() -> None:
    assert build_audio_alarm_play(0, times=2) == digest(
        '{"cmd":"AudioAlarmPlay","action":0,"param":{"alarm_mode":"times","times":2,'
        '"channel":0,"manual_switch":0}}'
    )
    assert build_audio_alarm_play(1)["param"]["times"] == 1  # type: ignore[index]
    assert build_audio_alarm_play(0, manual=True)["param"] == {
        "alarm_mode": "manul", "manual_switch": 1, "channel": 0}
    assert build_audio_alarm_play(0, times=None, manual=False)["param"] == {
        "alarm_mode": "manul", "manual_switch": 0, "channel": 0}


def test_targets() -> None:
    assert api_target(cmd="Login") == "/cgi-bin/api.cgi?cmd=Login&token=null"
    assert api_target(cmd="GetMdState", token="ab c&d") == (
        "/cgi-bin/api.cgi?cmd=GetMdState&token=ab%20c%26d")
    assert api_target(token="t1") == "/cgi-bin/api.cgi?token=t1"
    assert api_target(cmd="GetEvents") == "/cgi-bin/api.cgi?cmd=GetEvents"
    assert api_target() == "/cgi-bin/api.cgi"
    assert snap_target(0, rs="abc123", token="tok") == (
        "/cgi-bin/api.cgi?cmd=Snap&channel=0&rs=abc123&token=tok")


def test_encode_body_compact() -> None:
    raw = encode_body([build_get_md_state(0), build_reboot()])
    assert raw == (b'[{"cmd":"GetMdState","action":0,"param":{"channel":0}},'
                   b'{"cmd":"Reboot","action":0,"param":{}}]')


# --- validation --------------------------------------------------------------------------------

BAD = [
    (lambda: build_get_md_state(-1), "channel", "-1"),
    (lambda: build_get_md_state(256), "channel", "256"),
    (lambda: build_get_md_state(True), "channel", "bool"),
    (lambda: build_get_md_state("0"), "channel", "str"),  # type: ignore[arg-type]
    (lambda: build_get_ai_state(1.0), "channel", "float"),  # type: ignore[arg-type]
    (lambda: build_ptz_ctrl(0, "Spin"), "op", "Spin"),
    (lambda: build_ptz_ctrl(0, "left"), "op", "left"),
    (lambda: build_ptz_ctrl(0, "Left", speed=0), "speed", "0"),
    (lambda: build_ptz_ctrl(0, "Left", speed=65), "speed", "65"),
    (lambda: build_ptz_ctrl(0, "Left", speed=True), "speed", "bool"),
    (lambda: build_ptz_ctrl(0, "ToPos"), "preset", "preset"),
    (lambda: build_ptz_ctrl(0, "ToPos", preset=256), "preset", "256"),
    (lambda: build_ptz_ctrl(0, "ToPos", preset=False), "preset", "bool"),
    (lambda: build_ptz_ctrl(0, "Left", preset=1), "preset", "ToPos"),
    (lambda: build_ptz_ctrl(0, "Left", patrol=1), "patrol", "StartPatrol"),
    (lambda: build_ptz_ctrl(0, "StartPatrol", patrol=-1), "patrol", "-1"),
    (lambda: build_set_white_led(0, on=1), "on", "int"),  # type: ignore[arg-type]
    (lambda: build_set_white_led(0, on=True, bright=0), "bright", "0"),
    (lambda: build_set_white_led(0, on=True, bright=101), "bright", "101"),
    (lambda: build_audio_alarm_play(0, times=0), "times", "0"),
    (lambda: build_audio_alarm_play(0, times=True), "times", "bool"),
    (lambda: build_audio_alarm_play(0, times=None), "times", "manual"),
    (lambda: build_audio_alarm_play(0, times=3, manual=True), "times", "not both"),
    (lambda: build_audio_alarm_play(0, manual=1), "manual", "1"),  # type: ignore[arg-type]
    (lambda: build_login("", PASSWORD), "username", "1..31"),
    (lambda: build_login("a" * 32, PASSWORD), "username", "32"),
    (lambda: build_login("ad\nmin", PASSWORD), "username", "control"),
    (lambda: build_login(5, PASSWORD), "username", "int"),  # type: ignore[arg-type]
    (lambda: build_get_ability("x\ty"), "username", "control"),
    (lambda: snap_target(0, rs="", token="t"), "rs", "rs"),
    (lambda: snap_target(0, rs="a-b", token="t"), "rs", "a-b"),
    (lambda: snap_target(0, rs="a" * 33, token="t"), "rs", "32"),
    (lambda: snap_target(0, rs="ok", token=""), "token", "token"),
    (lambda: api_target(cmd=""), "cmd", "cmd"),
]


@pytest.mark.parametrize(("call", "argument", "mentions"), BAD)
def test_validation_names_argument_and_value(call, argument: str, mentions: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArgumentError) as info:
        call()
    assert info.value.argument == argument
    assert argument in str(info.value)
    assert mentions in str(info.value)


@pytest.mark.parametrize(
    "password", ["", "Zq" * 16, "Zq9\nKv7", "Zq9\x00Kv7", "Zq9\tKv7", 12345, None]
)
def test_bad_password_is_never_shown(password: object) -> None:
    with pytest.raises(ArgumentError) as info:
        build_login("admin", password)  # type: ignore[arg-type]
    assert info.value.argument == "password"
    text = str(info.value)
    if isinstance(password, str) and password:
        assert password not in text
        assert "Zq" not in text and "Kv7" not in text


def test_password_limits_accepted() -> None:
    assert build_login("a", "p")["param"]["User"]["password"] == "p"  # type: ignore[index]
    long_pw = "P@ss w0rd!" + "z" * 21
    assert build_login("u" * 31, long_pw)["param"]["User"]["password"] == long_pw  # type: ignore[index]
