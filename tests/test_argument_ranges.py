"""Each argument range and validator is defined once, in :mod:`reolink.protocol.commands`.

The host command table, the zone addresses and the webhook builders use the same objects (not
equal numbers: the same objects), and a ``ptz`` channel is validated once on its way.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from conftest import memory_driver

import reolink.protocol.commands as commands
import reolink.protocol.webhook as webhook
from reolink.driver import config, table
from reolink.emulator import Emulator
from reolink.errors import ArgumentError, ConfigError
from reolink.protocol.commands import CHANNEL, PTZ_ID, PTZ_SPEED, Channel, IntRange


def _spec(command: str, arg: str) -> Dict[str, Any]:
    [found] = [
        a
        for c in table.command_table()
        if c["name"] == command
        for a in c["args"]
        if a["name"] == arg
    ]
    return found


def test_the_table_checks_with_the_builders_range_objects() -> None:
    assert table.RANGES["speed"] is commands.PTZ_SPEED
    assert table.RANGES["preset"] is commands.PTZ_ID
    assert table.RANGES["address"] is commands.CHANNEL
    for command, arg in [("ptz", "speed"), ("ptz_preset", "speed"), ("ptz_preset", "preset"),
                         ("ptz", "duration")]:
        spec, allowed = _spec(command, arg), table.RANGES[arg]
        assert (spec["min"], spec["max"]) == (allowed.low, allowed.high)
    # The ptz ops of the table are the builder's continuous moves, and Stop.
    assert set(_spec("ptz", "op")["options"]) == {*commands.MOVE_OPS, "Stop"}
    assert set(table.PTZ_DRIVER_OPS) <= set(commands.PTZ_OPS)


def test_the_webhook_builders_check_channels_with_the_builders_rule() -> None:
    assert webhook._channel is commands.channel_of
    assert isinstance(webhook.SLOT_INDEX, IntRange)
    assert (webhook.SLOT_INDEX.low, webhook.SLOT_INDEX.high) == (0, webhook.MAX_SLOTS - 1)


def test_zone_addresses_use_the_same_channel_range_and_pattern() -> None:
    assert config.MAX_CHANNEL == commands.MAX_CHANNEL == CHANNEL.high
    assert _spec("ptz", "address")["pattern"] == f"^({config.ADDRESS_PATTERN})$"
    assert config.parse_channel(str(CHANNEL.high)) == CHANNEL.high
    with pytest.raises(ConfigError, match=f"from 0 to {CHANNEL.high}"):
        config.parse_channel(str(CHANNEL.high + 1))


@pytest.mark.parametrize(
    ("allowed", "build", "command", "arg", "base"),
    [
        (PTZ_SPEED, lambda v: commands.build_ptz_ctrl(0, "Left", speed=v), "ptz", "speed",
         {"address": "0", "op": "Left"}),
        (PTZ_ID, lambda v: commands.build_ptz_ctrl(0, "ToPos", preset=v), "ptz_preset", "preset",
         {"address": "0"}),
        (CHANNEL, lambda v: commands.build_get_md_state(v), None, None, {}),
        (CHANNEL, lambda v: webhook.build_get_webhook(v), None, None, {}),
    ],
)
def test_table_and_builders_agree_at_every_edge(
    allowed: IntRange, build: Any, command: Any, arg: Any, base: Dict[str, Any]
) -> None:
    for value in (allowed.low - 1, allowed.low, allowed.high, allowed.high + 1):
        inside = allowed.low <= value <= allowed.high
        if inside:
            build(value)
        else:
            with pytest.raises(ArgumentError):
                build(value)
        if command is not None:
            if inside:
                assert table.validate_args(command, {**base, arg: value})[arg] == value
            else:
                with pytest.raises(ArgumentError, match=f"from {allowed.low} to {allowed.high}"):
                    table.validate_args(command, {**base, arg: value})


def test_a_checked_channel_is_taken_as_is() -> None:
    checked = config.parse_channel("3")
    assert type(checked) is Channel and checked == 3
    assert commands.channel_of(checked) is checked
    with pytest.raises(ArgumentError):
        commands.channel_of(CHANNEL.high + 1)  # a plain int is still checked


def test_a_ptz_channel_is_validated_once_on_its_way(monkeypatch: pytest.MonkeyPatch) -> None:
    checks: List[object] = []
    contains, check = IntRange.__contains__, IntRange.check

    def counting_contains(self: IntRange, value: object) -> bool:
        if self is CHANNEL:
            checks.append(value)
        return contains(self, value)

    def counting_check(self: IntRange, value: object, name: Any = None) -> int:
        if self is CHANNEL:
            checks.append(value)
        return check(self, value, name)

    emu = Emulator(profile="ptz")
    # push off: no webhook registered, so no emulator thread outlives the test
    driver = memory_driver(emu, {"0": {}}, lambda event: None, push="off")
    try:
        assert driver.connect()
        monkeypatch.setattr(IntRange, "__contains__", counting_contains)
        monkeypatch.setattr(IntRange, "check", counting_check)
        result = driver.command("ptz", {"address": "0", "op": "Left", "duration": 0})
        monkeypatch.undo()
    finally:
        driver.disconnect()
    assert result["op"] == "Left"
    moves = [r for r in emu.requests if "PtzCtrl" in r.cmds]
    assert moves  # it went out, with a channel checked once: parse_channel, not the builder
    assert checks == [0]


def test_the_metadata_shows_the_device_attribute_ranges_parse_device_checks() -> None:
    shown = {a["name"]: a for a in table.metadata()["attributes"]}
    for name, allowed in [("request_timeout", config.REQUEST_TIMEOUT_MS),
                          ("push_port", commands.PUSH_PORT)]:
        assert (shown[name]["min"], shown[name]["max"]) == (allowed.low, allowed.high)
        base = {"ip": "127.0.0.1", "username": "u", "password": "p"}
        config.parse_device({**base, name: str(allowed.high)})
        with pytest.raises(ConfigError):
            config.parse_device({**base, name: str(allowed.high + 1)})
    assert shown["status_interval"]["min"] == config.MIN_STATUS_INTERVAL_MS
    assert shown["status_interval"]["default"] == config.DEFAULT_STATUS_INTERVAL_MS
    assert shown["request_timeout"]["default"] == config.DEFAULT_REQUEST_TIMEOUT_MS


def test_every_port_check_uses_the_one_range() -> None:
    """The device's port and the push port have one home (reolink.protocol.commands): the
    device attributes, the metadata, open_transport and the push listener use those objects,
    and no other module of the driver side writes the numbers."""
    import ast
    from pathlib import Path

    import reolink.push.listener as listener
    import transports
    from reolink.push import PushListener

    assert transports.PORT is commands.PORT and listener.PUSH_PORT is commands.PUSH_PORT
    for bad in (commands.PORT.low - 1, commands.PORT.high + 1, True, "80"):
        with pytest.raises(ConfigError, match=f"port must be 1-65535, not {bad!r}"):
            transports.open_transport(scheme="http", host="127.0.0.1", port=bad)  # type: ignore[arg-type]
    transports.open_transport(scheme="http", host="127.0.0.1", port=commands.PORT.high).close()
    for bad in (commands.PUSH_PORT.low - 1, commands.PUSH_PORT.high + 1, False):
        with pytest.raises(ConfigError, match=r"push_port must be an integer 0\.\.65535"):
            PushListener("127.0.0.1", bad)  # type: ignore[arg-type]
    root = Path(__file__).resolve().parent.parent
    home = root / "reolink" / "protocol" / "commands.py"
    written = [
        f"{path.relative_to(root)}:{node.lineno}"
        for folder in ("reolink", "transports")
        for path in (root / folder).rglob("*.py")
        if path != home and "emulator" not in path.parts
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in (65535, 65536)
    ]
    assert written == []


def test_the_command_line_help_shows_the_table_s_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from reolink.cli.oneshot import add_device_commands

    ptz = next(spec for spec in table.COMMANDS if spec["name"] == "ptz")
    speed = next(arg for arg in ptz["args"] if arg["name"] == "speed")
    monkeypatch.setitem(speed, "max", 63)  # what the table says, the help says
    parser = argparse.ArgumentParser(prog="reolink")
    add_device_commands(parser.add_subparsers(dest="command"))
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    help_text = " ".join(sub.choices["ptz"].format_help().split())
    assert "1-63 (default 32)" in help_text and "0-60000 (default 1000)" in help_text
