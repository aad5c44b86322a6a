"""The command table, metadata hints and argument validation (plain data, no camera)."""

from __future__ import annotations

import json
import re
from typing import Any, Dict

import pytest

from reolink.driver.table import (
    COMMANDS,
    METADATA,
    PTZ_DRIVER_OPS,
    command_table,
    metadata,
    validate_args,
)
from reolink.errors import ArgumentError

# The driver page's command list, in its order.
PAGE_COMMANDS = [
    "login",
    "logout",
    "get_dev_info",
    "get_channels",
    "snapshot",
    "get_motion",
    "get_ai_state",
    "ptz",
    "ptz_preset",
    "spotlight_on",
    "spotlight_off",
    "siren",
    "reboot",
]
# The ops the driver page spells out for ptz.
PAGE_PTZ_OPS = (
    "Up Down Left Right LeftUp RightUp LeftDown RightDown ZoomInc ZoomDec FocusInc FocusDec Auto "
    "Stop"
).split()
SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def _refused(command: str, args: Dict[str, Any], argument: str) -> ArgumentError:
    with pytest.raises(ArgumentError) as info:
        validate_args(command, args)
    assert info.value.argument == argument
    return info.value


def _args(command: str) -> Any:
    return next(c for c in COMMANDS if c["name"] == command)["args"]


def _plain(value: Any) -> None:
    """Only dict/list/str/int/bool/None (and float) all the way down."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _plain(item)
    elif isinstance(value, list):
        for item in value:
            _plain(item)
    else:
        assert value is None or isinstance(value, (str, int, float, bool)), repr(value)


# --- the table as data -------------------------------------------------------------------


def test_table_and_metadata_are_plain_json_data() -> None:
    for data in (COMMANDS, METADATA, command_table(), metadata()):
        _plain(data)
        assert json.loads(json.dumps(data)) == data


def test_command_names_match_the_driver_page_exactly() -> None:
    names = [command["name"] for command in COMMANDS]
    assert names == PAGE_COMMANDS
    for command in COMMANDS:
        assert SNAKE.fullmatch(command["name"])
        assert command["description"]
        for arg in command["args"]:
            assert SNAKE.fullmatch(arg["name"])
            assert arg["type"] in ("string", "int")
            assert isinstance(arg["required"], bool)
            assert arg["description"]


def test_ptz_ops_cover_the_driver_page() -> None:
    ptz = next(c for c in COMMANDS if c["name"] == "ptz")
    op = next(a for a in ptz["args"] if a["name"] == "op")
    assert set(PAGE_PTZ_OPS) <= set(op["options"])
    assert op["options"] == list(PTZ_DRIVER_OPS)


def test_attribute_names_are_snake_case() -> None:
    for attribute in METADATA["attributes"] + METADATA["zone_attributes"]:
        assert SNAKE.fullmatch(attribute["name"])


def test_only_the_password_is_secure() -> None:
    secure = {a["name"]: a.get("secure", False) for a in METADATA["attributes"]}
    assert secure.pop("password") is True
    assert set(secure.values()) == {False}
    assert all("secure" not in a or a["secure"] is False for a in METADATA["zone_attributes"])
    # The sample configuration shows no real password.
    assert set(METADATA["sample_configuration"]["attributes"]["password"]) == {"*"}


def test_command_table_returns_a_copy() -> None:
    first = command_table()
    first[0]["name"] = "changed"
    first.append({"name": "extra"})
    next(c for c in first if c["name"] == "ptz")["args"][1]["options"].clear()
    second = command_table()
    assert [c["name"] for c in second] == PAGE_COMMANDS
    assert next(c for c in second if c["name"] == "ptz")["args"][1]["options"]
    assert second == COMMANDS


def test_metadata_returns_a_copy() -> None:
    first = metadata()
    first["attributes"][0]["name"] = "changed"
    assert metadata() == METADATA
    assert METADATA["attributes"][0]["name"] == "ip"


# --- validate_args -----------------------------------------------------------------------


def test_commands_without_arguments() -> None:
    for name in ("login", "logout", "get_dev_info", "get_channels", "reboot"):
        assert validate_args(name, {}) == {}


def test_address_commands() -> None:
    for name in ("snapshot", "get_motion", "get_ai_state", "spotlight_on", "siren"):
        assert validate_args(name, {"address": "1"}) == {"address": "1"}
    assert validate_args("snapshot", {"address": 0}) == {"address": "0"}


def test_ptz_defaults_filled() -> None:
    assert validate_args("ptz", {"address": "0", "op": "Left"}) == {
        "address": "0",
        "op": "Left",
        "speed": 32,
        "duration": 1000,
    }
    assert validate_args("ptz", {"address": "0", "op": "Up", "speed": "", "duration": None}) == {
        "address": "0",
        "op": "Up",
        "speed": 32,
        "duration": 1000,
    }


def test_ptz_values_as_strings_or_ints() -> None:
    args = validate_args("ptz", {"address": "0", "op": "Stop", "speed": "64", "duration": 0})
    assert args["speed"] == 64
    assert args["duration"] == 0
    assert validate_args("ptz", {"address": "0", "op": "Up", "speed": 1})["speed"] == 1
    assert (
        validate_args("ptz", {"address": "0", "op": "Up", "duration": "60000"})["duration"] == 60000
    )


def test_ptz_preset() -> None:
    assert validate_args("ptz_preset", {"address": "0", "preset": "5"}) == {
        "address": "0",
        "preset": 5,
        "speed": 32,
    }
    assert validate_args("ptz_preset", {"address": "0", "preset": 255})["preset"] == 255


def test_unknown_command() -> None:
    err = _refused("Reboot", {}, "command")
    assert "'Reboot'" in str(err)
    assert "reboot" in str(err)  # the allowed names are listed


@pytest.mark.parametrize(
    ("command", "args", "bad"),
    [
        ("reboot", {"address": "0"}, "address"),
        ("snapshot", {"address": "0", "channel": "0"}, "channel"),
        ("ptz", {"address": "0", "op": "Up", "spd": 3}, "spd"),
    ],
)
def test_unknown_argument(command: str, args: Dict[str, Any], bad: str) -> None:
    err = _refused(command, args, bad)
    assert repr(bad) in str(err)


@pytest.mark.parametrize("command", ["snapshot", "get_motion", "ptz", "ptz_preset", "siren"])
@pytest.mark.parametrize("address", [None, ""])
def test_missing_address(command: str, address: Any) -> None:
    others = {"op": "Up", "preset": 1}
    names = {a["name"] for a in _args(command)}
    args: Dict[str, Any] = {k: v for k, v in others.items() if k in names}
    if address is not None:
        args["address"] = address
    err = _refused(command, args, "address")
    assert "required" in str(err)


def test_address_must_be_text() -> None:
    _refused("snapshot", {"address": ["0"]}, "address")


@pytest.mark.parametrize("op", ["ToPos", "stop", "Left; Reboot", " Up", 1, None, ""])
def test_bad_ptz_op(op: Any) -> None:
    err = _refused("ptz", {"address": "0", "op": op}, "op")
    if op not in (None, ""):
        assert repr(op) in str(err)
        assert "Stop" in str(err) and "ZoomInc" in str(err)


@pytest.mark.parametrize("speed", [0, 65, "abc", True, 3.5, "3.5", "-1", "²", "1" * 12])
def test_bad_speed(speed: Any) -> None:
    err = _refused("ptz", {"address": "0", "op": "Up", "speed": speed}, "speed")
    assert "1 to 64" in str(err)
    assert repr(speed)[:20] in str(err)


@pytest.mark.parametrize("duration", [-1, 60001, "-1"])
def test_bad_duration(duration: Any) -> None:
    err = _refused("ptz", {"address": "0", "op": "Up", "duration": duration}, "duration")
    assert "0 to 60000" in str(err)


@pytest.mark.parametrize("preset", [256, -1, "x", None])
def test_bad_preset(preset: Any) -> None:
    err = _refused("ptz_preset", {"address": "0", "preset": preset}, "preset")
    assert str(preset) in str(err) or "required" in str(err)


def test_ptz_preset_speed_limits() -> None:
    _refused("ptz_preset", {"address": "0", "preset": 1, "speed": 65}, "speed")
