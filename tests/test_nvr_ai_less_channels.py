"""An NVR channel whose camera has no AI, answered the RLN8-410 way (issue 11 item 1).

RLN8-410 / RLN16-410 class NVRs answer GetAiState for such a channel with exactly
``{"cmd":"Unknown","code":1,"error":{"detail":"not support","rspcode":-9}}`` (digest §1). The
emulator's nvr profile does so for channels 5, 6, 7 (and 9, 10, 11...); the driver must poll
that channel's motion like any other, keep the zone online without an error, and stop asking
for its AI state after the first answer.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from simdevice import SimHarness

from reolink.emulator import Emulator

#: The exact entry the issue and the digest quote.
RLN8_410_ENTRY = {"cmd": "Unknown", "code": 1, "error": {"detail": "not support", "rspcode": -9}}
AI_LESS = 6  # an online channel of the nvr profile whose camera predates GetAiState


def raw_call(emu: Emulator, token: str, commands: List[Dict[str, Any]]) -> List[Any]:
    _status, _headers, raw = emu.app(
        "POST", f"/cgi-bin/api.cgi?token={token}", {}, json.dumps(commands).encode()
    )
    result: List[Any] = json.loads(raw)
    return result


def login(emu: Emulator) -> str:
    body = [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": "admin123"}}}]
    _s, _h, raw = emu.app(
        "POST", "/cgi-bin/api.cgi?cmd=Login&token=null", {}, json.dumps(body).encode()
    )
    return str(json.loads(raw)[0]["value"]["Token"]["name"])


def poll_batches(emu: Emulator) -> List[List[str]]:
    return [list(r.cmds) for r in emu.requests if "GetMdState" in r.cmds]


def test_emulated_nvr_answers_the_rln8_410_shape() -> None:
    with Emulator(profile="nvr", channels=12) as emu:
        token = login(emu)
        ask = [{"cmd": "GetAiState", "action": 0, "param": {"channel": c}} for c in (0, 4, 6, 10)]
        ai0, ai4, ai6, ai10 = raw_call(emu, token, ask)
        md6 = raw_call(emu, token, [{"cmd": "GetMdState", "param": {"channel": AI_LESS}}])[0]
    assert ai0["code"] == 0 and ai0["value"]["people"]["support"] == 1
    assert ai4["code"] == 0 and ai4["value"]["people"]["support"] == 0  # knows it, no AI
    assert ai6 == RLN8_410_ENTRY and ai10 == RLN8_410_ENTRY
    assert md6 == {"cmd": "GetMdState", "code": 0, "value": {"state": 0}}  # motion still works


def run_cycles(h: SimHarness, n: int) -> bool:
    start = h.cycles()
    return h.run_until(lambda: h.cycles() >= start + n, 600)


def nvr_harness(zones: Dict[str, Dict[str, str]]) -> SimHarness:
    """The driver's core against the nvr profile on simulated time (``simdevice``): what is
    asked per poll and what reaches the host need no socket and no thread."""
    return SimHarness(zones, emulator={"profile": "nvr", "channels": 8})


def test_ai_less_channel_polls_motion_stays_online_and_is_asked_for_ai_once() -> None:
    zone = str(AI_LESS)
    h = nvr_harness({zone: {}})
    assert h.run_until(lambda: h.value("motion", zone) == 0, 60)
    h.emu.set_motion(AI_LESS, True)
    assert h.run_until(lambda: h.value("motion", zone) == 1, 60)
    assert h.value("state", zone) == "motion"
    h.emu.set_motion(AI_LESS, False)
    assert h.run_until(lambda: h.value("motion", zone) == 0, 60)
    assert run_cycles(h, 5)
    batches = poll_batches(h.emu)
    assert not h.finished
    assert h.history("motion", zone) == [0, 1, 0]
    assert h.history("online", zone) == [1]  # never offline
    assert set(h.history("error", zone)) <= {""}  # never an error
    assert h.value("ai_detected", zone) == ""
    # GetAiState went out once (its answer says "not support"); every later poll is motion only.
    asked = [b for b in batches if "GetAiState" in b]
    assert len(asked) == 1, batches
    assert batches[-1] == ["GetMdState"] and len(batches) >= 5


def test_ai_and_ai_less_channels_side_by_side() -> None:
    h = nvr_harness({"0": {}, str(AI_LESS): {}})
    assert h.run_until(lambda: h.value("motion", str(AI_LESS)) == 0, 60)
    h.emu.set_ai(0, "people", True)
    h.emu.set_motion(AI_LESS, True)
    assert h.run_until(lambda: h.value("ai_detected", "0") == "people", 60)
    assert h.run_until(lambda: h.value("motion", str(AI_LESS)) == 1, 60)
    h.emu.clear_requests()
    assert run_cycles(h, 3)
    batches = poll_batches(h.emu)
    # Per cycle: channel 0 asks motion and AI, channel 6 motion only.
    assert batches and all(b.count("GetAiState") == 1 for b in batches), batches
    assert all(b.count("GetMdState") == 2 for b in batches), batches
    assert h.history("online", str(AI_LESS)) == [1]
    assert set(h.history("error", str(AI_LESS))) <= {""}
