"""How ``reolink`` commands start and end (issue 11 item 4), run as subprocesses.

* stdout closed by its reader (``reolink demo | head -2``, ``watch --json | jq`` ending): the
  command stops, logs out and exits 0 without a traceback;
* SIGTERM (systemd, ``timeout``) to ``watch`` / ``demo``: like Ctrl-C -- summary, Logout, exit 0;
* ``watch`` with the device unreachable at start: shown offline, retried until it answers; a
  refused Login is still a fast, clear exit;
* ``emulate``: URL, profile and credentials on start, a busy port in one line, every default in
  ``--help``;
* ``--seconds -1`` refused; an unknown option shows the subcommand's usage.

Signals are sent after the first line of output is read: no sleeps.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import signal
import socket
import subprocess
from typing import Any, Dict, Iterator, List

import pytest
from conftest import CLI_TIMEOUT, reaped, run_cli_inprocess, start_cli

from reolink.emulator import Emulator
from reolink.emulator import cli as emulator_cli

PASSWORD = "Life-cycle-pw-88"
FAST = ["--interval", "100", "--min-interval", "50"]


#: The command line with this file's password: run to its end in this process (what it says
#: and returns), or started as ``python -m reolink.cli ARGV`` (signals, pipes, the process).
run = functools.partial(run_cli_inprocess, password=PASSWORD)
start = functools.partial(start_cli, password=PASSWORD)


def finish(proc: subprocess.Popen[str]) -> str:
    """Wait for the process; its stderr."""
    with reaped(proc):
        _out, err = proc.communicate(timeout=CLI_TIMEOUT)
    return err


def read_until(proc: subprocess.Popen[str], want: Dict[str, Any]) -> Dict[str, Any]:
    """The first JSON line on stdout whose fields include ``want``."""
    assert proc.stdout is not None
    for line in proc.stdout:
        event: Dict[str, Any] = json.loads(line)
        if all(event.get(k) == v for k, v in want.items()):
            return event
    raise AssertionError(f"stdout ended before {want}")


def no_traceback(err: str) -> None:
    assert "Traceback" not in err, err
    assert "BrokenPipeError" not in err and "Exception ignored" not in err, err


@pytest.fixture
def camera() -> Iterator[Emulator]:
    with Emulator(profile="camera", password=PASSWORD) as emu:
        yield emu


# --- the reader of stdout goes away -----------------------------------------------------------


def test_demo_into_head_exits_quietly() -> None:
    proc = start("demo")  # stdout is a pipe: JSON lines
    assert proc.stdout is not None
    first, second = proc.stdout.readline(), proc.stdout.readline()
    assert json.loads(first) and json.loads(second)
    proc.stdout.close()  # what `head -2` does after two lines
    err = finish(proc)
    assert proc.returncode == 0, err
    no_traceback(err)


def test_watch_reader_gone_stops_logs_out_and_exits_quietly(camera: Emulator) -> None:
    proc = start("watch", "--json", *FAST, port=camera.port)
    read_until(proc, {"target": "zone", "name": "motion", "value": 0})
    assert proc.stdout is not None
    proc.stdout.close()
    camera.set_motion(0, True)  # the next line written finds the pipe closed
    err = finish(proc)
    assert proc.returncode == 0, err
    no_traceback(err)
    assert camera.sessions == []  # logged out on the way out
    assert [c for r in camera.requests for c in r.cmds][-1] == "Logout"


# --- SIGTERM is Ctrl-C --------------------------------------------------------------------------


def test_sigterm_to_watch_prints_the_summary_and_logs_out(camera: Emulator) -> None:
    proc = start("watch", "--json", *FAST, port=camera.port)
    read_until(proc, {"target": "zone", "name": "motion", "value": 0})
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 0, err
    no_traceback(err)
    assert re.search(r"^watch: \d+ events seen \(", err, re.MULTILINE), err
    assert camera.sessions == []
    assert [c for r in camera.requests for c in r.cmds][-1] == "Logout"


def test_sigterm_to_demo_prints_the_summary() -> None:
    proc = start("demo")
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 0, err
    no_traceback(err)
    assert re.search(r"^demo: \d+ events seen \(.*1 login", err, re.MULTILINE), err


# --- watch: unreachable at start, refused Login -------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_watch_unreachable_at_start_shows_offline_then_recovers() -> None:
    port = free_port()
    proc = start("watch", "--json", *FAST, port=port)
    with reaped(proc):
        event = read_until(proc, {"target": "device", "name": "online"})
        assert event["value"] is False
        error = read_until(proc, {"target": "device", "name": "error"})
        assert "refused" in error["value"]
        with Emulator(profile="camera", password=PASSWORD, port=port) as emu:
            # The driver's own retry finds the device; every channel is learned, then watched.
            read_until(proc, {"target": "zone", "address": "0", "name": "motion", "value": 0})
            emu.set_motion(0, True)
            read_until(proc, {"target": "zone", "address": "0", "name": "motion", "value": 1})
            proc.send_signal(signal.SIGTERM)
            err = finish(proc)
            assert emu.sessions == []
    assert proc.returncode == 0, err
    assert "offline for now" in err and "raise --timeout" not in err
    assert re.search(r"^watch: \d+ events seen", err, re.MULTILINE), err


@pytest.mark.parametrize("zones", [[], ["--zones", "0"]], ids=["all", "zones"])
def test_watch_with_a_wrong_password_exits_at_once(camera: Emulator, zones: List[str]) -> None:
    result = run("watch", "--json", *zones, *FAST, port=camera.port, password="wrong-pw-1")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("reolink: login failed:"), lines
    logins = [r for r in camera.requests if "Login" in r.cmds]
    assert len(logins) == 1  # one try: a second could lock the account


# --- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["watch", "demo"])
@pytest.mark.parametrize("value", ["-1", "0", "nan", "soon"])
def test_seconds_must_be_above_zero(camera: Emulator, command: str, value: str) -> None:
    result = run(command, "--seconds", value, port=camera.port if command == "watch" else None)
    assert result.returncode == 2
    assert f"usage: reolink {command}" in result.stderr
    assert "--seconds" in result.stderr and "above 0" in result.stderr
    assert camera.requests == []


@pytest.mark.parametrize(
    ("argv", "bad"),
    [
        (["get_motion", "0", "--bogus"], "--bogus"),
        (["watch", "--frobnicate", "1"], "--frobnicate 1"),
        (["emulate", "--x"], "--x"),
    ],
)
def test_unknown_option_shows_the_subcommand_usage(
    camera: Emulator, argv: List[str], bad: str
) -> None:
    result = run(*argv, port=camera.port if argv[0] != "emulate" else None)
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: reolink {argv[0]} "), result.stderr
    assert f"reolink {argv[0]}: error: unrecognized arguments: {bad}" in result.stderr
    assert camera.requests == []


# --- emulate ------------------------------------------------------------------------------------


def test_emulate_prints_url_profile_and_credentials() -> None:
    argv = ["emulate", "--profile", "nvr", "--username", "operator", "--password", "Pw-e1"]
    proc = start(*argv)
    assert proc.stdout is not None
    first, second = proc.stdout.readline(), proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 0, err
    assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+\n", first), first
    assert "profile nvr" in second and "RLN16-410" in second and "8 channel" in second
    assert "operator / Pw-e1" in second


def test_emulate_busy_port_is_one_clear_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run("emulate", "--port", str(port))
    assert result.returncode == 1
    no_traceback(result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert f"port {port}" in lines[0] and "already in use" in lines[0] and "--port" in lines[0]


def test_emulate_help_describes_every_option_and_its_default() -> None:
    parser = argparse.ArgumentParser()
    emulator_cli.add_arguments(parser)
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 12
    for action in options:
        assert action.help and "default" in action.help, action.option_strings
    result = run("emulate", "--help")
    assert result.returncode == 0
    for words in ("(default: camera)", "(default: 127.0.0.1)", "(default: admin)", "--cert"):
        assert words in " ".join(result.stdout.split()), words
