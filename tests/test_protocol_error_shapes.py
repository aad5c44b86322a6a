"""Error entries as real firmware writes them (issue 11 item 1, digest §1 and §5).

* the code key in any case: ``rspCode`` (V8), ``rspcode`` (RLN8-410 / RLN16-410 class NVRs
  answering GetAiState for a channel whose camera has no AI), ``RspCode``;
* ``"not support"`` without a code is -9;
* ``"cmd": "Unknown"`` in a batch slot: the reply is matched to the command by position, and
  the error carries the command we sent and its channel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from reolink.errors import AuthError, CommandError, CredentialsError
from reolink.protocol import (
    build_get_ai_state,
    build_get_md_state,
    decode_batch,
    decode_reply,
    parse_ai_state,
    parse_md_state,
)
from reolink.protocol.codes import error_field, error_from_entry, is_not_supported

REPLIES = Path(__file__).parent / "data" / "replies"
#: The exact entry the issue quotes from an RLN8-410 (digest §1).
RLN8_410_ENTRY: Dict[str, Any] = {
    "cmd": "Unknown",
    "code": 1,
    "error": {"detail": "not support", "rspcode": -9},
}
NVR_BATCH4 = [
    build_get_md_state(0),
    build_get_ai_state(0),
    build_get_md_state(6),
    build_get_ai_state(6),
]


def test_recorded_nvr_batch_with_a_lower_case_rspcode() -> None:
    raw = (REPLIES / "batch_nvr_aistate_unknown_rspcode_-9.json").read_bytes()
    assert b'"rspcode" : -9' in raw and b'"cmd" : "Unknown"' in raw  # the recorded shape
    replies = decode_batch(raw, NVR_BATCH4)
    assert [r.ok for r in replies] == [True, True, True, False]
    assert parse_ai_state(replies[1], 0).detected == frozenset({"people"})
    assert parse_md_state(replies[2], 6).motion is True
    error = replies[3].error
    assert isinstance(error, CommandError)
    # Matched by position: the error names what we sent there, not the echoed "Unknown".
    assert (error.cmd, error.channel, error.rsp_code) == ("GetAiState", 6, -9)
    assert is_not_supported(error)
    assert "no rspCode" not in str(error)
    assert str(error) == 'GetAiState on channel 6 failed: rspCode -9 "not support" (Not supported)'


@pytest.mark.parametrize("key", ["rspCode", "rspcode", "RspCode", "RSPCODE"])
def test_code_key_in_any_case(key: str) -> None:
    error = error_from_entry(
        {"cmd": "Unknown", "code": 1, "error": {"detail": "not support", key: -9}},
        cmd="GetAiState",
        channel=3,
    )
    assert error.rsp_code == -9 and error.cmd == "GetAiState" and error.channel == 3
    assert is_not_supported(error)


@pytest.mark.parametrize("detail", ["not support", "Not Support", " not support "])
def test_not_support_without_a_code_is_minus_9(detail: str) -> None:
    error = error_from_entry({"cmd": "GetAiState", "code": 1, "error": {"detail": detail}})
    assert error.rsp_code == -9
    assert is_not_supported(error)


@pytest.mark.parametrize(
    "error_obj",
    [{"detail": "rcv failed"}, {}, {"detail": "not supported yet, try later"}, {"detail": 9}],
)
def test_other_details_without_a_code_stay_unknown(error_obj: Dict[str, Any]) -> None:
    error = error_from_entry({"cmd": "GetAiState", "code": 1, "error": error_obj})
    assert error.rsp_code is None
    assert not is_not_supported(error)
    assert "no rspCode (code 1)" in str(error)


def test_key_case_also_decides_the_session_action() -> None:
    # A lower-case -6 is still "log in again", a lower-case -7 on Login still bad credentials.
    relogin = error_from_entry(
        {"cmd": "GetMdState", "code": 1, "error": {"detail": "please login first", "rspcode": -6}}
    )
    assert type(relogin) is AuthError and relogin.rsp_code == -6
    login = error_from_entry(
        {"cmd": "Login", "code": 1, "error": {"detail": "login failed", "RspCode": -7}}
    )
    assert isinstance(login, CredentialsError)


def test_exact_key_wins_over_another_case() -> None:
    assert error_field({"rspCode": -9, "rspcode": -4}, "rspCode") == -9
    assert error_field({"RSPCODE": "-17"}, "rspCode") == "-17"
    assert error_field({"detail": "x"}, "rspCode") is None
    error = error_from_entry({"cmd": "X", "code": 1, "error": {"RSPCODE": "-17"}})
    assert error.rsp_code == -17  # a numeric string, as some firmware sends


def test_single_reply_with_the_nvr_shape() -> None:
    reply = decode_reply(json.dumps([RLN8_410_ENTRY]).encode(), "GetAiState", channel=5)
    assert isinstance(reply.error, CommandError)
    assert (reply.error.cmd, reply.error.channel, reply.error.rsp_code) == ("GetAiState", 5, -9)


def test_unknown_slot_with_another_code_keeps_that_code() -> None:
    # "Unknown" only says the device echoed no name; the code decides what it means.
    batch = [build_get_md_state(1), build_get_ai_state(1)]
    raw = json.dumps(
        [
            {"cmd": "GetMdState", "code": 0, "value": {"state": 0}},
            {"cmd": "Unknown", "code": 1, "error": {"detail": "please login first", "rspcode": -6}},
        ]
    ).encode()
    replies = decode_batch(raw, batch)
    assert replies[0].ok
    assert type(replies[1].error) is AuthError
    assert replies[1].error.cmd == "GetAiState" and not is_not_supported(replies[1].error)
