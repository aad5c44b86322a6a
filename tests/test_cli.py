"""The ``reolink`` command line, run in a subprocess against an emulator in this process."""

from __future__ import annotations

import functools
import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from conftest import CLI_TIMEOUT, ROOT, reaped, run_cli, run_cli_inprocess, start_cli

from reolink.cli.connection import RedactingFilter, explain_error, explain_offline
from reolink.cli.hints import REACH_HINT
from reolink.driver import ReolinkDriver
from reolink.emulator import Emulator, Fault
from reolink.errors import ConnectError, CredentialsError, LockedOutError, Timeout, TLSError

#: Distinctive, so finding it in any output is unambiguous.
PASSWORD = "Zq7-uniq-Pw!x93"


#: ``python -m reolink.cli ARGV`` with this file's password (``password=None``: none in env).
#: The subcommands run in this process (what they print and send is the subject); the exit
#: status through the interpreter is shown by the tests that use ``cli_process``.
cli = functools.partial(run_cli_inprocess, password=PASSWORD)
cli_process = functools.partial(run_cli, password=PASSWORD)


def emulator(profile: str, **kwargs: Any) -> Emulator:
    return Emulator(profile=profile, password=PASSWORD, **kwargs)


@pytest.fixture
def camera() -> Iterator[Emulator]:
    with emulator("camera") as emu:
        yield emu


@pytest.fixture
def ptz() -> Iterator[Emulator]:
    with emulator("ptz") as emu:
        yield emu


def sent(emu: Emulator) -> List[str]:
    return [cmd for record in emu.requests for cmd in record.cmds]


# --- every subcommand ---------------------------------------------------------------------

Check = Callable[[Emulator, Any], None]


def _dev_info(emu: Emulator, out: Any) -> None:
    assert out["model"] == "RLC-811A" and out["channel_count"] == 1


def _channels(emu: Emulator, out: Any) -> None:
    assert out == [{"id": 0, "name": "Front Yard", "online": True}]


def _motion(emu: Emulator, out: Any) -> None:
    assert out == {"channel": 0, "motion": True}


def _ai(emu: Emulator, out: Any) -> None:
    assert out["detected"] == ["people"] and "vehicle" in out["supported"]


def _spotlight_on(emu: Emulator, out: Any) -> None:
    assert out == {"channel": 0, "spotlight": "on"} and emu.spotlight(0) is True


def _spotlight_off(emu: Emulator, out: Any) -> None:
    assert out == {"channel": 0, "spotlight": "off"} and emu.spotlight(0) is False


def _siren(emu: Emulator, out: Any) -> None:
    assert out["siren"] == "played" and emu.siren_plays(0) == 1


def _login(emu: Emulator, out: Any) -> None:
    assert out["logged_in"] is True and emu.login_count == 2  # connect, then the forced one


def _logout(emu: Emulator, out: Any) -> None:
    assert out == {"logged_out": True} and emu.sessions == []


def _reboot(emu: Emulator, out: Any) -> None:
    assert out == {"rebooting": True} and "Reboot" in sent(emu)


def _ptz(emu: Emulator, out: Any) -> None:
    assert out == {"channel": 0, "op": "Left", "speed": 10, "duration": 200}
    moves = [r for r in emu.requests if "PtzCtrl" in r.cmds]
    # The move, then the automatic Stop (before Logout: the CLI waits for it).
    assert len(moves) == 2
    assert sent(emu)[-1] == "Logout"
    assert emu.position(0)["moving"] is False


def _ptz_preset(emu: Emulator, out: Any) -> None:
    assert out == {"channel": 0, "preset": 2, "speed": 32}
    assert "PtzCtrl" in sent(emu)


CASES = [
    ("camera", ["login"], _login),
    ("camera", ["logout"], _logout),
    ("camera", ["get_dev_info"], _dev_info),
    ("camera", ["get_channels"], _channels),
    ("camera", ["get_motion", "0"], _motion),
    ("camera", ["get_ai_state", "0"], _ai),
    ("camera", ["spotlight_on", "0"], _spotlight_on),
    ("camera", ["spotlight_off", "0"], _spotlight_off),
    ("camera", ["siren", "0"], _siren),
    ("camera", ["reboot"], _reboot),
    ("ptz", ["ptz", "0", "Left", "--speed", "10", "--duration", "200"], _ptz),
    ("ptz", ["ptz_preset", "0", "2"], _ptz_preset),
]


@pytest.mark.parametrize(("profile", "argv", "check"), CASES, ids=[c[1][0] for c in CASES])
def test_subcommand_prints_json_and_exits_0(profile: str, argv: List[str], check: Check) -> None:
    with emulator(profile) as emu:
        emu.reboot_down_seconds = 0.2
        if argv[0] == "spotlight_off":
            emu.device.channels[0].spotlight["state"] = 1
        emu.set_motion(0, True)
        emu.set_ai(0, "people", True)
        result = cli(*argv, port=emu.port)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        check(emu, json.loads(result.stdout))
        if argv[0] not in ("reboot", "logout"):
            assert emu.sessions == []  # the CLI logged out behind itself


def test_every_table_command_has_a_subcommand() -> None:
    tested = {argv[0] for _, argv, _ in CASES} | {"snapshot"}
    assert tested == {c["name"] for c in ReolinkDriver.command_table()}
    result = cli("--help")
    assert result.returncode == 0
    for name in [*tested, "watch", "demo", "emulate"]:
        assert name in result.stdout


def test_snapshot_to_file(camera: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "front.jpg"
    result = cli("snapshot", "0", "-o", str(path), port=camera.port)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "base64" not in out
    assert out["file"] == str(path) and out["contentType"] == "image/jpeg"
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert len(data) == out["length"]


def test_snapshot_to_stdout_has_base64(camera: Emulator) -> None:
    result = cli("snapshot", "0", port=camera.port)
    assert result.returncode == 0
    assert json.loads(result.stdout)["base64"].startswith("/9j/")  # FF D8 FF


# --- failures -----------------------------------------------------------------------------


def test_wrong_password_exits_1_with_the_login_hint(camera: Emulator) -> None:
    result = cli_process("get_dev_info", port=camera.port, password="not-the-password")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("reolink: login failed:")
    assert "Confirm the username and password in the Reolink mobile app." in lines[0]
    assert "lock the account for several minutes" in lines[0]


def test_unreachable_port_exits_1(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli_process("get_channels", port=port)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "cannot reach the device" in lines[0] and "connection refused" in lines[0]
    assert "--port" in lines[0]


@pytest.mark.parametrize(
    ("argv", "fault", "words"),
    [
        (["siren", "0"], Fault("rsp_code", cmd="AudioAlarmPlay", code=-4), "siren refused"),
        (["snapshot", "0"], Fault("html_index", cmd="Snap", count=None), "snapshot rejected"),
    ],
)
def test_device_failure_exits_1_with_the_row(
    camera: Emulator, argv: List[str], fault: Fault, words: str
) -> None:
    camera.add_fault(fault)
    result = cli(*argv, port=camera.port)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and words in lines[0], lines


def test_capability_missing_is_refused_before_sending(ptz: Emulator) -> None:
    # GetAbility says the PTZ camera has no spotlight: a bad argument (exit 2), nothing sent.
    result = cli("spotlight_on", "0", port=ptz.port)
    assert result.returncode == 2
    assert "no spotlight" in result.stderr
    assert "SetWhiteLed" not in sent(ptz)


@pytest.mark.parametrize(
    "argv",
    [
        ["ptz", "0", "Bad"],
        ["ptz", "0", "Left", "--speed", "99"],
        ["ptz", "0", "Left", "--duration", "-5"],
        ["ptz_preset", "0", "x"],
        ["get_motion", "x"],
        ["snapshot", "01"],
        ["get_dev_info", "--timeout", "0"],
        ["get_dev_info", "--protocol", "ftp"],
        ["ptz"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2_and_send_nothing(ptz: Emulator, argv: List[str]) -> None:
    result = cli(*argv, port=ptz.port)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip()
    assert ptz.requests == []


def test_bad_ip_exits_2_with_the_attribute_named(ptz: Emulator) -> None:
    result = cli_process("get_dev_info", "--ip", "1.2.3.4/x")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "'ip'" in result.stderr
    assert ptz.requests == []


def test_no_password_and_no_terminal_exits_2(camera: Emulator) -> None:
    result = cli("get_dev_info", port=camera.port, password=None)
    assert result.returncode == 2
    assert "REOLINK_PASSWORD" in result.stderr
    assert camera.requests == []


def test_password_env_names_another_variable(camera: Emulator) -> None:
    result = cli(
        "get_motion", "0", "--password-env", "CAM_PW", port=camera.port, password=None,
        env={"CAM_PW": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"channel": 0, "motion": False}


def test_password_flag_works_but_warns(camera: Emulator) -> None:
    result = cli("get_motion", "0", "--password", PASSWORD, port=camera.port, password=None)
    assert result.returncode == 0
    assert "warning" in result.stderr and "--password" in result.stderr
    assert PASSWORD not in result.stderr


# --- secrets at -v ------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["get_dev_info"], ["snapshot", "0"], ["login"]])
def test_verbose_logs_never_show_password_or_token(camera: Emulator, argv: List[str]) -> None:
    result = cli(*argv, "-v", port=camera.port)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "DEBUG" in result.stderr  # -v really logged
    assert "token=***" in result.stderr
    tokens = {r.token for r in camera.requests if r.token}
    assert tokens, "the emulator issued no token"
    output = result.stdout + result.stderr
    assert PASSWORD not in output
    for token in tokens:
        assert token not in output


def test_verbose_wrong_password_does_not_log_it(camera: Emulator) -> None:
    bad = "Wr0ng-Distinct!pw"
    result = cli("get_dev_info", "-v", port=camera.port, password=bad)
    assert result.returncode == 1
    assert "DEBUG" in result.stderr
    assert bad not in result.stdout + result.stderr
    assert result.stderr.splitlines()[-1].startswith("reolink: ")


def test_redacting_filter_covers_args_exceptions_and_later_tokens() -> None:
    import logging

    tokens = ["tok-first"]
    flt = RedactingFilter(lambda: ["pw-secret", tokens[-1]])
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "a %s b %s", ("pw-secret", 1), None)
    flt.filter(record)
    assert record.getMessage() == "a *** b 1"
    tokens.append("tok-second")
    try:
        raise ValueError("tok-first leaked; /api.cgi?cmd=Snap&token=opaque123")
    except ValueError:
        record = logging.LogRecord("x", 40, __file__, 1, "tok-second", None, sys.exc_info())
    flt.filter(record)
    text = logging.Formatter().format(record)
    assert "tok-" not in text and "opaque123" not in text and "token=***" in text


def test_offline_reasons_map_to_the_troubleshooting_rows() -> None:
    # The rows follow the error's type and fields (the driver keeps the error that made it go
    # offline); a bare reason text is never read for facts.
    bad = CredentialsError('rspCode -7 "login failed"', cmd="Login", rsp_code=-7)
    assert "lock the account" in explain_error(bad, "connect")
    locked = LockedOutError("rspCode -506 login locked", cmd="Login", rsp_code=-506)
    assert explain_error(locked, "connect").startswith("login refused")
    refused = ConnectError("10.0.0.9:80: connection refused", refused=True)
    assert "--port" in explain_error(refused, "connect")
    pin = TLSError("10.0.0.9:443: TLS fingerprint mismatch", failure="fingerprint")
    assert "--tls-fingerprint" in explain_error(pin, "connect")
    assert "--timeout" in explain_error(Timeout("10.0.0.9:80: no complete response"), "connect")
    # Without an error, the words decide nothing: the general next step.
    for reason in ("Login: rspCode -506 login locked", "10.0.0.9:443: TLS fingerprint mismatch"):
        assert explain_offline(reason) == f"device offline: {reason}. {REACH_HINT}"


# --- watch and demo -----------------------------------------------------------------------


def _reader(proc: subprocess.Popen[str]) -> queue.Queue[Optional[str]]:
    lines: queue.Queue[Optional[str]] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_line(lines: queue.Queue[Optional[str]], want: Dict[str, Any]) -> Dict[str, Any]:
    while True:
        line = lines.get(timeout=10)
        assert line is not None, "watch ended before the expected line"
        event = json.loads(line)
        if all(event.get(k) == v for k, v in want.items()):
            return event


def test_watch_json_emits_a_triggered_motion_event(camera: Emulator) -> None:
    proc = start_cli(
        # --seconds beyond CLI_TIMEOUT: only the Ctrl-C can end it within the test.
        "watch", "--json", "--seconds", "600", "--interval", "100", "--min-interval", "50",
        port=camera.port, password=PASSWORD,
    )
    with reaped(proc):
        lines = _reader(proc)
        _wait_line(lines, {"target": "zone", "address": "0", "name": "motion", "value": 0})
        camera.set_motion(0, True)
        event = _wait_line(lines, {"target": "zone", "name": "motion", "value": 1})
        assert event["address"] == "0"
        assert set(event) == {"time", "target", "address", "name", "value"}
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", event["time"])
        proc.send_signal(signal.SIGINT)  # Ctrl-C ends watch cleanly
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
    assert proc.returncode == 0, err
    assert re.search(r"watch: \d+ events seen \(1 motion", err)
    assert camera.sessions == []


def test_watch_without_zones_shows_each_device_value_once(camera: Emulator) -> None:
    # Without --zones a first driver learns the channels, then the watching driver takes over:
    # what the first one saw is not shown a second time.
    result = cli(
        "watch", "--json", "--seconds", "0.5", "--interval", "100", "--min-interval", "50",
        port=camera.port,
    )
    assert result.returncode == 0, result.stderr
    device = [json.loads(line) for line in result.stdout.splitlines()]
    device = [e for e in device if e["target"] == "device"]
    names = [e["name"] for e in device]
    assert names.count("error") == 1 and names.count("online") == 1, device


def test_watch_given_zones_uses_one_login(camera: Emulator) -> None:
    result = cli(
        "watch",
        "--zones",
        "0",
        "--seconds",
        "0.5",
        "--interval",
        "100",
        "--min-interval",
        "50",
        port=camera.port,
    )
    assert result.returncode == 0, result.stderr
    names = [json.loads(line)["name"] for line in result.stdout.splitlines()]
    assert "online" in names and "motion" in names
    assert camera.login_count == 1


def test_watch_bad_zones_exit_2(camera: Emulator) -> None:
    result = cli("watch", "--zones", "0,x", "--seconds", "1", port=camera.port)
    assert result.returncode == 2
    assert camera.requests == []


def _watch(emu: Emulator, *argv: str) -> subprocess.Popen[str]:
    return start_cli(
        # --seconds beyond CLI_TIMEOUT: only a signal can end it within the test.
        "watch", "--json", "--seconds", "600", "--min-interval", "50", *argv,
        port=emu.port, password=PASSWORD,
    )


def test_watch_uses_push_and_counts_the_wakes(camera: Emulator) -> None:
    # Polls every 30 s: the motion line can only come from a push wake.
    proc = _watch(camera, "--interval", "30000", "--zones", "0", "-v")
    with reaped(proc):
        lines = _reader(proc)
        _wait_line(lines, {"target": "zone", "address": "0", "name": "motion", "value": 0})
        _wait_line(lines, {"target": "device", "name": "event_source", "value": "push"})
        camera.set_motion(0, True)
        _wait_line(lines, {"target": "zone", "address": "0", "name": "motion", "value": 1})
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
    assert proc.returncode == 0, err
    match = re.search(r"watch: .*, (\d+) wake\(s\) by push", err)
    assert match and int(match.group(1)) >= 2, err  # the test call, then the motion
    assert "push verified" in err  # -v: debug logs on stderr, the secret path never in them
    assert re.search(r"/reolink/push/(?!\*\*\*)", err) is None
    assert all("/reolink/push/" not in s["hookUrl"] for s in camera.device.webhooks.slots[0])


def test_watch_no_push_polls_and_says_why(camera: Emulator) -> None:
    result = cli("watch", "--zones", "0", "--seconds", "0.5", "--interval", "100",
                 "--min-interval", "50", "--no-push", port=camera.port)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    sources = [(e["name"], e["value"]) for e in events if e["name"].startswith("event_source")]
    assert sources == [("event_source", "poll"), ("event_source_reason", "push attribute off")]
    assert not {"GetWebHook", "SetWebHook", "TestWebHook"} & set(sent(camera))
    assert "0 wake(s) by push" in result.stderr


@pytest.mark.parametrize(
    ("option", "value"), [("--push-port", "70000"), ("--push-host", "http://x/")]
)
def test_watch_bad_push_option_exits_2(camera: Emulator, option: str, value: str) -> None:
    result = cli("watch", "--zones", "0", "--seconds", "1", option, value, port=camera.port)
    assert result.returncode == 2
    assert option in result.stderr and "allowed" in result.stderr
    assert camera.requests == []


def test_demo_runs_and_summarizes() -> None:
    result = cli("demo", "--seconds", "2.5", "--interval", "200", password=None)
    assert result.returncode == 0, result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    pattern = (
        r"demo: (\d+) events seen \((\d+) motion.*, (\d+) requests sent, 1 login\(s\), "
        r"(\d+) wake\(s\) by push"
    )
    match = re.match(pattern, summary)
    assert match, summary
    assert int(match.group(1)) > 10 and int(match.group(2)) >= 1 and int(match.group(3)) > 3
    assert int(match.group(4)) >= 1  # at least the device's test call
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"target": "device", "name": "event_source", "value": "push"} in [
        {k: e[k] for k in ("target", "name", "value")} for e in events
    ]
    assert {"target": "zone", "address": "0", "name": "motion", "value": 1} in [
        {k: e[k] for k in ("target", "address", "name", "value")} for e in events
    ]


# --- README -------------------------------------------------------------------------------


def test_readme_command_table_matches_the_driver() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Commands", 1)[1].split("\n#", 1)[0]
    listed = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert listed == [c["name"] for c in ReolinkDriver.command_table()]


# --- HTTPS and the table view --------------------------------------------------------------


def test_https_pinned_fingerprint_accepted_and_mismatch_refused() -> None:
    import hashlib
    import ssl

    with emulator("camera", https=True) as emu:
        pem = ssl.get_server_certificate(("127.0.0.1", emu.port))
        pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        ok = cli("get_motion", "0", "--protocol", "https", "--tls-fingerprint", pin, port=emu.port)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout) == {"channel": 0, "motion": False}
        emu.clear_requests()
        wrong = "ab" * 32
        bad = cli(
            "get_motion", "0", "--protocol", "https", "--tls-fingerprint", wrong, port=emu.port
        )
        assert bad.returncode == 1
        assert bad.stderr.startswith("reolink: TLS failed:") and "--tls-fingerprint" in bad.stderr
        assert emu.requests == []  # refused at the handshake: not even Login was sent


def test_fingerprint_over_http_is_a_usage_error(camera: Emulator) -> None:
    result = cli("get_motion", "0", "--tls-fingerprint", "ab" * 32, port=camera.port)
    assert result.returncode == 2 and "https" in result.stderr
    assert camera.requests == []


def test_live_table_redraws_in_place() -> None:
    import io

    from reolink.cli.watch import LiveView
    from reolink.driver import AttributeEvent

    out = io.StringIO()
    view = LiveView(out, as_json=False, title="reolink watch cam:80")
    view.set_channels([{"id": 0, "name": "Front Yard"}, {"id": 1, "name": "Garage"}])
    view.add(AttributeEvent("device", None, "online", True), 0.0)
    view.add(AttributeEvent("zone", "0", "online", 1), 0.0)
    view.draw()
    first = out.getvalue()
    assert "\x1b[" not in first and "Front Yard" in first and "Garage" in first
    view.add(AttributeEvent("zone", "0", "motion", 1), 1.0)
    view.add(AttributeEvent("zone", "0", "ai_detected", "people"), 1.0)
    view.draw()
    second = out.getvalue()[len(first) :]
    assert second.startswith(f"\x1b[{first.count(chr(10))}F\x1b[J")  # back to the top, clear
    row = next(line for line in second.splitlines() if "Front Yard" in line)
    assert "MOTION" in row and "people" in row
    assert view.summary().startswith("4 events seen (1 motion, 1 AI detection")


def test_reolink_emulate_serves_https_until_sigterm() -> None:
    import json as _json
    import re
    import signal
    import ssl
    import urllib.request

    argv = ["emulate", "--profile", "nvr", "--https", "--channels", "4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "reolink", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"listening on (https://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        body = b'[{"cmd":"Login","param":{"User":{"userName":"admin","password":"admin123"}}}]'
        request = urllib.request.Request(
            match.group(1) + "/cgi-bin/api.cgi?cmd=Login&token=null", data=body
        )
        with urllib.request.urlopen(request, context=context, timeout=CLI_TIMEOUT) as reply:
            assert reply.headers["Content-Type"].startswith("text/html")
            assert _json.loads(reply.read())[0]["value"]["Token"]["leaseTime"] == 3600
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, _err = proc.communicate(timeout=CLI_TIMEOUT)  # also closes the pipes
    assert proc.returncode == 0, _err
