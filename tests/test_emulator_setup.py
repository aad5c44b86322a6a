"""The emulator's detection-setup commands answer in the shapes of detection-setup.md, and its
switches (Python API and ``reolink emulate`` options) change exactly what they say."""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, List

import pytest

from reolink.emulator import Emulator
from reolink.emulator import cli as emulator_cli

NOT_SUPPORT = {"detail": "not support", "rspCode": -9}


def call(emu: Emulator, *commands: Dict[str, Any]) -> List[Dict[str, Any]]:
    login = [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": "admin123"}}}]
    _s, _h, raw = emu.app("POST", "/cgi-bin/api.cgi?cmd=Login", {}, json.dumps(login).encode())
    token = json.loads(raw)[0]["value"]["Token"]["name"]
    _s, _h, raw = emu.app(
        "POST", f"/cgi-bin/api.cgi?token={token}", {}, json.dumps(list(commands)).encode()
    )
    result: List[Dict[str, Any]] = json.loads(raw)
    return result


def cmd(name: str, **param: Any) -> Dict[str, Any]:
    return {"cmd": name, "action": 0, "param": param}


def test_legacy_getalarm_has_the_vestigial_enable_and_the_area() -> None:
    emu = Emulator(profile="legacy")
    (alarm, md) = call(emu, cmd("GetAlarm", Alarm={"channel": 0, "type": "md"}),
                       cmd("GetMdAlarm", channel=0))
    value = alarm["value"]["Alarm"]
    assert value["enable"] == 1602 and value["action"]["recChannel"] is None
    assert value["schedule"] == {"table": ""} and value["type"] == "md"
    scope = value["scope"]
    assert len(scope["table"]) == scope["cols"] * scope["rows"] == 4800
    assert set(scope["table"]) == {"1"} and len(value["sens"]) == 4
    assert md["error"] == NOT_SUPPORT  # legacy firmware: no GetMdAlarm
    emu.set_motion_area(0, False)
    (alarm,) = call(emu, cmd("GetAlarm", Alarm={"channel": 0, "type": "md"}))
    assert set(alarm["value"]["Alarm"]["scope"]["table"]) == {"0"}


def test_newer_firmware_has_getmdalarm_not_getalarm() -> None:
    emu = Emulator(profile="camera")
    emu.set_motion_area(0, False)
    (alarm, md) = call(emu, cmd("GetAlarm", Alarm={"channel": 0, "type": "md"}),
                       cmd("GetMdAlarm", channel=0))
    assert alarm["error"] == NOT_SUPPORT
    assert set(md["value"]["MdAlarm"]["scope"]["table"]) == {"0"}


def test_pir_only_on_battery_channels() -> None:
    emu = Emulator(profile="hub")
    emu.set_pir(2, False)
    (pir, plain) = call(emu, cmd("GetPirInfo", channel=2), cmd("GetPirInfo", channel=3))
    assert pir["value"]["pirInfo"] == {"channel": 2, "enable": 0, "reduceAlarm": 1,
                                       "sensitive": 80}
    assert plain["code"] == 1  # channel 3 has no camera
    (camera,) = call(Emulator(profile="camera"), cmd("GetPirInfo", channel=0))
    assert camera["error"] == NOT_SUPPORT


def test_ai_cfg_lists_every_type_and_ai_alarm_only_supported_ones() -> None:
    emu = Emulator(profile="ptz")  # people and vehicle only
    emu.set_ai_detection(0, "vehicle", False)
    emu.set_ai_area(0, "people", False)
    cfg, people, face = call(emu, cmd("GetAiCfg", channel=0),
                             cmd("GetAiAlarm", channel=0, ai_type="people"),
                             cmd("GetAiAlarm", channel=0, ai_type="face"))
    assert cfg["value"]["AiDetectType"] == {"dog_cat": 0, "face": 0, "people": 1, "vehicle": 0}
    area = people["value"]["AiAlarm"]["scope"]
    assert len(area["area"]) == area["cols"] * area["rows"] and set(area["area"]) == {"0"}
    assert face["error"] == NOT_SUPPORT
    with pytest.raises(ValueError, match="no 'face' detection"):
        emu.set_ai_area(0, "face", False)


def test_doorbell_switch_dropped_getevents_and_push_off() -> None:
    emu = Emulator(profile="camera")
    emu.make_doorbell(0)
    emu.set_push(False)
    events, push = call(emu, cmd("GetEvents", channel=0), cmd("GetPushV20", channel=0))
    assert events["value"]["visitor"] == {"alarm_state": 0, "support": 1}
    assert push["value"]["Push"]["enable"] == 0
    assert push["value"]["Push"]["schedule"]["table"]["VISITOR"] == "1" * 168
    emu.drop_command("GetEvents")
    (events,) = call(emu, cmd("GetEvents", channel=0))
    assert events == {"cmd": "Unknown", "code": 1, "error": NOT_SUPPORT}


def test_emulate_options_apply_the_setup_faults() -> None:
    parser = argparse.ArgumentParser()
    emulator_cli.add_arguments(parser)
    args = parser.parse_args(["--profile", "hub", "--empty-motion-area", "1", "--pir-off", "2",
                              "--doorbell", "2", "--push-off", "--no-get-events"])
    emu = Emulator(profile="hub")
    emulator_cli.apply_setup_arguments(emu, args)
    channels = emu.device.channels
    assert not channels[1].motion_area and not channels[2].pir and channels[2].doorbell
    assert not emu.device.webhooks.push_enabled and "GetEvents" in emu.device.dropped_cmds
    healthy = parser.parse_args([])
    assert (healthy.empty_motion_area, healthy.pir_off, healthy.doorbell) == ([], [], [])
    with pytest.raises(ValueError, match="no channel 9"):
        emulator_cli.apply_setup_arguments(emu, parser.parse_args(["--pir-off", "9"]))


def test_legacy_getpush_has_one_table() -> None:
    emu = Emulator(profile="legacy")
    (push,) = call(emu, cmd("GetPush", channel=0))
    schedule = push["value"]["Push"]["schedule"]
    assert schedule["enable"] == 1 and schedule["table"] == "1" * 168
