"""``reolink doctor`` in text and JSON, on a healthy emulated device and on each fault.

The command line runs in-process (``reolink.cli.main``) against an emulator on loopback, so a
run costs milliseconds. Every run must stay read-only: one Login at most, then only Get*
commands, TestWebHook with --test-push, and Logout.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from reolink.cli import main
from reolink.emulator import Emulator
from reolink.emulator.faults import HtmlIndex, RspCode

PASSWORD = "admin123"
READ_ONLY = {"Login", "Logout", "TestWebHook"}


def doctor(
    emu: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
    password: str = PASSWORD,
    protocol: Optional[str] = None,
) -> Tuple[int, str, str]:
    monkeypatch.setenv("REOLINK_PASSWORD", password)
    argv = ["doctor", "--ip", "127.0.0.1", "--port", str(emu.port),
            "--protocol", protocol or emu.scheme, *extra]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def sent(emu: Emulator) -> List[str]:
    return [cmd for record in emu.requests for cmd in record.cmds]


def assert_read_only(emu: Emulator) -> None:
    cmds = sent(emu)
    assert cmds.count("Login") <= 1
    assert all(c.startswith("Get") or c in READ_ONLY for c in cmds), cmds


def checks(out: str) -> List[Dict[str, Any]]:
    result: List[Dict[str, Any]] = json.loads(out)["checks"]
    return result


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_healthy_camera_passes(
    as_json: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        status, out, err = doctor(emu, capsys, monkeypatch, *(["--json"] if as_json else []))
        assert_read_only(emu)
        assert sent(emu).count("Login") == 1 and "Logout" in sent(emu)
    assert status == 0 and err == ""
    if as_json:
        result = json.loads(out)
        assert result["blocking"] == 0 and result["exit"] == 0
        assert result["device"]["model"] == "RLC-811A"
        assert {c["status"] for c in result["checks"]} == {"ok", "unknown"}
        assert any(c["detail"] == "motion detection area is set" for c in result["checks"])
    else:
        lines = out.splitlines()
        assert lines[0].startswith("✓ reachable: 127.0.0.1:")
        assert "✓ credentials: accepted for admin (one Login)" in lines
        assert "✓ channel 0: motion detection area is set" in lines
        assert "? per-phone push switch" in out
        assert not any(line.startswith("✗") for line in lines)
        assert lines[-1] == "nothing found that stops events from reaching the host"
    assert PASSWORD not in out


Arrange = Callable[[Emulator], None]


def _doorbell_without_events(emu: Emulator) -> None:
    emu.make_doorbell(0)
    emu.drop_command("GetEvents")


#: (profile, emulator change, extra args, expected exit, the ✗ line's subject, its text)
FAULTS = [
    pytest.param("camera", lambda e: e.set_motion_area(0, False), (), 1, "channel 0",
                 "motion area is empty", id="motion-area-empty"),
    pytest.param("legacy", lambda e: e.set_motion_area(0, False), (), 1, "channel 0",
                 "motion area is empty", id="motion-area-empty-legacy"),
    pytest.param("hub", lambda e: e.set_pir(2, False), ("--zones", "2"), 1, "channel 2",
                 "PIR sensor is off", id="pir-off"),
    pytest.param("camera", lambda e: e.set_ai_detection(0, "vehicle", False), (), 1,
                 "channel 0", "AI detection of vehicle appears switched off", id="ai-off"),
    pytest.param("camera", lambda e: e.set_push(False), (), 0, "device",
                 "push is switched off on the device", id="push-off-does-not-block"),
    pytest.param("camera", _doorbell_without_events, (), 1, "channel 0",
                 "doorbell presses cannot be polled", id="doorbell-without-getevents"),
    pytest.param("camera", lambda e: e.make_doorbell(0), (), 0, "channel 0",
                 "a doorbell press lasts a few seconds", id="doorbell-slow-poll"),
    pytest.param("camera", lambda e: e.make_doorbell(0), ("--status-interval", "6000"), 0,
                 "channel 0", "a doorbell press lasts a few seconds and status_interval is "
                 "6000 ms", id="doorbell-slow-poll-given"),
    pytest.param("ptz", None, ("--ai-types", "people,face"), 1, "channel 0",
                 "ai_types asks for face, which this channel cannot detect (it can: people, "
                 "vehicle)", id="ai-type-unsupported"),
    pytest.param("nvr", None, ("--zones", "0,5"), 1, "channel 5", "offline",
                 id="nvr-channel-offline"),
    pytest.param("camera", lambda e: e.add_fault(RspCode(code=-6, cmd="GetDevInfo")), (), 1,
                 "other clients", "another client is racing on Login", id="login-race"),
    pytest.param("camera", lambda e: e.add_fault(HtmlIndex(cmd="Login")), (), 1, "JSON API",
                 "the answer to Login is not the JSON API", id="web-page-not-api"),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("profile", "arrange", "extra", "code", "subject", "text"), FAULTS)
def test_each_fault_is_one_line_with_its_fix(
    profile: str,
    arrange: Optional[Arrange],
    extra: Tuple[str, ...],
    code: int,
    subject: str,
    text: str,
    as_json: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Emulator(profile=profile) as emu:
        if arrange is not None:
            arrange(emu)
        args = [*extra, *(["--json"] if as_json else [])]
        status, out, _ = doctor(emu, capsys, monkeypatch, *args)
        assert_read_only(emu)
    assert status == code
    if as_json:
        found = [c for c in checks(out) if c["status"] == "fail" and c["subject"] == subject
                 and c["detail"].startswith(text)]
        assert len(found) == 1 and found[0]["blocks"] is (code == 1)
        assert json.loads(out)["exit"] == code
    else:
        lines = out.splitlines()
        index = next(i for i, line in enumerate(lines) if line.startswith(f"✗ {subject}: {text}"))
        if subject != "channel 5":  # an offline channel's fix is the next line too
            assert lines[index + 1].startswith("    fix: ")


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_wrong_password_is_tried_once(
    as_json: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        status, out, _ = doctor(emu, capsys, monkeypatch, *(["--json"] if as_json else []),
                                password="wrong-one")
        assert sent(emu) == ["Login"]
    assert status == 1 and "wrong-one" not in out
    detail = [c for c in checks(out) if c["status"] == "fail"] if as_json else None
    if detail is not None:
        assert detail[0]["code"] == "credentials"
    else:
        assert "✗ credentials: refused" in out


def test_locked_account_is_said_and_not_tried_again(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera", lockout_attempts=1) as emu:
        doctor(emu, capsys, monkeypatch, password="wrong-one")  # locks the account
        emu.clear_requests()
        status, out, _ = doctor(emu, capsys, monkeypatch)
        assert sent(emu) == ["Login"]
    assert status == 1 and "✗ account: locked" in out


def test_https_says_the_tls_version_and_cipher(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera", https=True) as emu:
        status, out, _ = doctor(emu, capsys, monkeypatch, "--json")
    result = json.loads(out)
    assert status == 0 and result["device"]["tls"]["version"].startswith("TLSv1")
    assert result["device"]["tls"]["cipher"]
    assert result["checks"][0]["detail"].endswith(
        f"TLS {result['device']['tls']['version']}, cipher {result['device']['tls']['cipher']}"
    )


def test_https_to_a_plain_http_port_fails_the_handshake(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        status, out, _ = doctor(emu, capsys, monkeypatch, protocol="https")
        assert emu.requests == []
    assert status == 1 and out.startswith("✗ reachable:") and "--protocol http" in out


def test_unreachable_device(capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    emu = Emulator(profile="camera").start()
    emu.stop()  # the port is closed now
    status, out, _ = doctor(emu, capsys, monkeypatch, "--json")
    assert status == 1 and checks(out)[0]["code"] == "unreachable"


def test_test_push_makes_the_device_call_this_host_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        status, out, _ = doctor(emu, capsys, monkeypatch, "--test-push")
        assert sent(emu).count("TestWebHook") == 1
        assert emu.device.webhooks.sender.wait_deliveries(1, 5.0)
    assert status == 0 and "✓ device -> this host: the device called 127.0.0.1:" in out


@pytest.mark.parametrize(
    "argv",
    [("--zones", "x"), ("--zones", "0,999"), ("--port", "0"), ("--ai-types", "people,cats")],
)
def test_bad_usage_exits_2_and_sends_nothing(
    argv: Tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        monkeypatch.setenv("REOLINK_PASSWORD", PASSWORD)
        status = main(["doctor", "--ip", "127.0.0.1", "--port", str(emu.port), *argv])
        assert emu.requests == []
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and err.startswith("reolink: doctor:")


def test_a_fast_enough_status_interval_catches_doorbell_presses(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        emu.make_doorbell(0)
        status, out, _ = doctor(emu, capsys, monkeypatch, "--status-interval", "2000")
    assert status == 0 and "✗" not in out


def test_non_blocking_problems_are_counted_apart(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        emu.set_push(False)
        emu.set_motion_area(0, False)
        status, out, _ = doctor(emu, capsys, monkeypatch)
    assert status == 1
    assert out.splitlines()[-1] == (
        "1 problem(s) stop events from reaching the host; 1 more make(s) them slower or limited"
    )


def test_a_password_the_api_cannot_take_is_bad_usage(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera") as emu:
        status, out, err = doctor(emu, capsys, monkeypatch, password="x" * 40)
        assert emu.requests == []
    assert status == 2 and out == "" and "password" in err and "x" * 40 not in err


def test_no_password_is_bad_usage(capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REOLINK_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", None)
    assert main(["doctor", "--ip", "127.0.0.1"]) == 2
    assert "no password" in capsys.readouterr().err


def test_the_readme_transcript_is_what_doctor_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Diagnosing a device", 1)[1]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    with Emulator(profile="hub") as emu:
        emu.set_pir(2, False)
        emu.set_motion_area(1, False)
        status, out, _ = doctor(emu, capsys, monkeypatch, "--zones", "1,2")
        out = out.replace(f"127.0.0.1:{emu.port}", "127.0.0.1:8080")
    assert status == 1 and out == shown


def test_plain_http_to_an_https_port_says_to_use_https(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(profile="camera", https=True) as emu:
        status, out, _ = doctor(emu, capsys, monkeypatch, protocol="http")
    assert status == 1
    assert "✗ JSON API: no answer to Login" in out
    assert "fix: the port expects HTTPS: use --protocol https" in out


def test_doctor_runs_over_any_transport() -> None:
    """The checks as a library: Doctor(config, zones, transport=...) over the memory transport."""
    from reolink.cli.doctor import Doctor
    from reolink.driver.config import parse_device
    from transports import MemoryTransport

    emu = Emulator(profile="ptz")
    config = parse_device({"ip": "127.0.0.1", "username": "admin", "password": PASSWORD},
                          {"0": {}})
    checks = Doctor(config, [0], transport=MemoryTransport(emu.app)).run()
    assert [c.subject for c in checks][:2] == ["JSON API", "credentials"]
    assert not [c for c in checks if c.status == "fail" and c.blocks]
    assert emu.login_count == 1 and emu.sessions == []  # logged out


def test_every_request_carries_the_rule_s_facts_of_its_batch(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a batch of reads is repeatable (TestWebHook and Logout are not: a lost reply to
    TestWebHook must not make the device call twice); only a batch that is neither reads nor
    Login/Logout changes state. The facts the transport's request-safety decision reads."""
    import transports
    from reolink.transport import Request, Response

    seen: List[Tuple[List[str], bool, bool]] = []
    real_open = transports.open_transport

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def send(self, request: Request) -> Response:
            cmds = [c["cmd"] for c in json.loads(request.body or b"[]")]
            seen.append((cmds, request.repeatable, request.changes_state))
            response: Response = self.inner.send(request)
            return response

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(transports, "open_transport", lambda **kw: Spy(real_open(**kw)))
    with Emulator(profile="camera") as emu:
        status, _, _ = doctor(emu, capsys, monkeypatch, "--test-push")
    assert status == 0
    names = {cmd for cmds, _, _ in seen for cmd in cmds}
    assert {"Login", "GetDevInfo", "TestWebHook", "Logout"} <= names, names
    for cmds, repeatable, changes in seen:
        reads = all(c.startswith("Get") for c in cmds)
        assert repeatable == reads, cmds
        assert changes == (not reads and not set(cmds) <= {"Login", "Logout"}), cmds
