"""Hints that fit the facts (issue 18), carried as fields, never read from message text.

* "may have executed / did it move" only for a command that changes something
  (``ReolinkError.may_have_run``); a Login or a read whose reply never came says the device did
  not answer in time and what to check - in the CLI and in the driver's ``error``;
* an offline NVR channel is ``DeviceOffline`` ("channel 5 is offline") for every per-channel
  command, in the library and the CLI;
* a snapshot answered by an HTTP error page names the status, not the password;
* a locked account's line says how long the device said, or that it did not say.

Command-line cases run ``reolink.cli.main`` in this process (what the line says is the
subject); the first runs the installed ``reolink`` command.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from conftest import (
    CLI_TIMEOUT,
    ROOT,
    cli_env,
    http_driver,
    memory_driver,
    reolink_cmd,
    run_cli_inprocess,
)
from loopback import QuickRawServer
from rawserver import read_request

from reolink import DeviceOffline, ReolinkError
from reolink.emulator import Emulator, Fault

PASSWORD = "Facts-pw-77"
DATA = Path(__file__).parent / "data" / "replies"
MAY_RUN = ("may have executed", "did it move", "before sending it again")


def cli(*argv: str, port: int) -> subprocess.CompletedProcess[str]:
    return run_cli_inprocess(*argv, port=port, password=PASSWORD)


def installed_cli(*argv: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        reolink_cmd(*argv, "--ip", "127.0.0.1", "--port", str(port)),
        env=cli_env(PASSWORD),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        cwd=ROOT,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    stop.wait(CLI_TIMEOUT)


@pytest.fixture
def silent() -> Iterator[QuickRawServer]:
    server = QuickRawServer(_silent)
    try:
        yield server
    finally:
        server.close()


# --- a lost reply: may it have run? ---------------------------------------------------------------


def test_cli_login_without_an_answer_says_no_answer_in_time(silent: QuickRawServer) -> None:
    line = one_line(installed_cli("get_dev_info", "--timeout", "100", port=silent.port))
    for words in MAY_RUN:
        assert words not in line, line
    assert "did not answer in time" in line and "--timeout" in line


def test_driver_error_after_a_lost_login_reply_is_no_answer(silent: QuickRawServer) -> None:
    driver = http_driver(_Where(silent.port), {"0": {}}, lambda event: None, request_timeout="100")
    try:
        assert not driver.connect(timeout=5)
        error = driver.last_exception
        text = driver.values()["device"]["error"]
    finally:
        driver.disconnect()
    assert error is not None and error.may_have_run is False
    assert text and "may have executed" not in text and "may have executed" not in str(error)


class _Where:
    """What http_driver reads of an emulator: where it listens."""

    host, scheme = "127.0.0.1", "http"

    def __init__(self, port: int) -> None:
        self.port = port


@pytest.mark.parametrize(
    ("command", "cmd", "may_have_run"),
    [("siren", "AudioAlarmPlay", True), ("get_motion", "GetMdState", False)],
)
def test_may_have_run_is_a_field_set_for_changing_commands_only(
    command: str, cmd: str, may_have_run: bool
) -> None:
    with Emulator(profile="camera", password=PASSWORD) as camera:
        driver = http_driver(
            camera, {"0": {}}, lambda event: None, password=PASSWORD, request_timeout="300"
        )
        try:
            assert driver.connect()
            camera.add_fault(Fault("stall", cmd=cmd, seconds=2))
            with pytest.raises(ReolinkError) as info:
                driver.command(command, {"address": "0"})
        finally:
            driver.disconnect()
    assert info.value.may_have_run is may_have_run
    assert ("may have executed" in str(info.value)) is may_have_run


# --- an offline NVR channel ---------------------------------------------------------------------

PER_CHANNEL: List[Dict[str, Any]] = [
    {"name": "get_motion"},
    {"name": "get_ai_state"},
    {"name": "snapshot"},
    {"name": "siren"},
    {"name": "spotlight_on"},
    {"name": "spotlight_off"},
    {"name": "ptz", "op": "Left"},
    {"name": "ptz_preset", "preset": "1"},
]


def test_every_per_channel_command_on_an_offline_channel_is_device_offline() -> None:
    with Emulator(profile="nvr") as nvr:  # channel 5 of the nvr profile is offline
        driver = memory_driver(nvr, {"0": {}}, lambda event: None)
        try:
            assert driver.connect()
            caught = {}
            for spec in PER_CHANNEL:
                args = {k: v for k, v in spec.items() if k != "name"}
                with pytest.raises(DeviceOffline) as info:
                    driver.command(spec["name"], {"address": "5", **args})
                caught[spec["name"]] = info.value
            changing = {"AudioAlarmPlay", "SetWhiteLed", "PtzCtrl"}
            sent = [c for r in nvr.requests for c in r.cmds if c in changing]
        finally:
            driver.disconnect()
    for name, error in caught.items():
        assert str(error).startswith("channel 5 is offline"), (name, error)
        assert error.channel == 5, name
        assert error.asleep is False, name  # offline, not a battery camera asleep (a field)
    assert sent == []  # nothing that changes anything went to the away channel


def test_cli_get_motion_on_an_offline_channel_says_so() -> None:
    with Emulator(profile="nvr", password=PASSWORD) as nvr:
        line = one_line(cli("get_motion", "5", port=nvr.port))
    assert "channel 5 is offline" in line
    assert "supports this" not in line and "spotlight, siren, PTZ" not in line


# --- snapshot answered by an error page -----------------------------------------------------------


def test_cli_snapshot_answered_by_a_502_page_names_the_status() -> None:
    with Emulator(profile="camera", password=PASSWORD) as camera:
        camera.add_fault(Fault("http_502", cmd="Snap"))
        line = one_line(cli("snapshot", "0", port=camera.port))
    assert "502" in line and "password" not in line.lower()


# --- a locked account -----------------------------------------------------------------------------


def _answer_login(body: bytes) -> Any:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        while read_request(conn):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    return script


def test_cli_locked_account_says_how_long_the_device_said() -> None:
    body = (DATA / "login_password_wrong_-502_locked.json").read_bytes()  # unlock_time 300
    server = QuickRawServer(_answer_login(body))
    try:
        line = one_line(cli("get_dev_info", port=server.port))
    finally:
        server.close()
    assert "login refused" in line and "unlocks in 300 s" in line and "5 min" in line
    assert "several minutes" not in line


def test_cli_locked_account_without_a_duration_says_how_to_find_out() -> None:
    body = json.dumps(
        [{"cmd": "Login", "code": 1, "error": {"rspCode": -506, "detail": "Login locked"}}]
    ).encode()
    server = QuickRawServer(_answer_login(body))
    try:
        line = one_line(cli("get_dev_info", port=server.port))
    finally:
        server.close()
    assert "login refused" in line and "did not say for how long" in line
    assert "wait at least 5 minutes" in line
