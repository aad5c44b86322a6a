"""The rspCode table, classify() and error_from_entry()."""

from __future__ import annotations

import pytest

from reolink.errors import (
    ApiError,
    AuthError,
    CommandError,
    CredentialsError,
    LockedOutError,
    SessionLimitError,
)
from reolink.protocol import RSP_CODES, AuthAction, classify, describe, error_from_entry
from reolink.protocol.codes import login_warning

#: The digest's §4 codes, all of them.
DIGEST_CODES = [
    *range(-1, -33, -1), *range(-34, -50, -1), -99, -100, -101, -102, -103, -105,
    -220, -221, -222, -301, -310, -451, -452, -453, -454,
    -480, -481, -482, -483, -484, -485, -500, -501, -502, -503, -505, -506, -507,
]

RELOGIN = {-6, -21}
LOGIN_CREDENTIALS = {-7, -27, -501, -502, -503}
LOCKOUT = {-105, -500, -505, -506}
SESSION = {-5, -507}


def entry(cmd: str, code: int, detail: str | None = None) -> dict[str, object]:
    if detail is None:
        detail = RSP_CODES[code][0]
    return {"cmd": cmd, "code": 1, "error": {"detail": detail, "rspCode": code}}


def test_table_is_the_full_digest_table() -> None:
    assert sorted(RSP_CODES) == sorted(DIGEST_CODES)
    assert RSP_CODES[-6] == ("please login first", "Login required")
    assert RSP_CODES[-105][0] == "Frequent logins, please try again later!"
    assert RSP_CODES[-507] == ("Login reach max", "The number of logins reached the upper limit")
    assert describe(-9) == "Not supported"
    assert describe(-33) == "unknown rspCode"


def expected_login(code: int) -> type:
    if code in LOCKOUT:
        return LockedOutError
    if code in SESSION:
        return SessionLimitError
    if code in RELOGIN:
        return AuthError
    if code in LOGIN_CREDENTIALS:
        return CredentialsError
    return CommandError


def expected_other(code: int) -> type:
    if code in LOCKOUT:
        return LockedOutError
    if code in SESSION:
        return SessionLimitError
    if code in RELOGIN or code == -7:
        return AuthError
    return CommandError


@pytest.mark.parametrize("code", DIGEST_CODES)
def test_every_code_on_login_and_on_a_command(code: int) -> None:
    on_login = error_from_entry(entry("Login", code))
    assert type(on_login) is expected_login(code), code
    on_cmd = error_from_entry(entry("GetMdState", code), channel=1)
    assert type(on_cmd) is expected_other(code), code
    assert on_cmd.rsp_code == code
    assert on_cmd.channel == 1
    assert on_cmd.detail == RSP_CODES[code][0]
    assert f"rspCode {code}" in str(on_cmd)


def test_classify_actions() -> None:
    assert classify("GetMdState", -6, "please login first") is AuthAction.RELOGIN
    assert classify("GetMdState", -21, "") is AuthAction.RELOGIN
    assert classify("GetMdState", -7, "login failed") is AuthAction.RELOGIN
    assert classify("Login", -7, "login failed") is AuthAction.BAD_CREDENTIALS
    assert classify("Login", -27, "invalid user") is AuthAction.BAD_CREDENTIALS
    assert classify("Login", None, "Password Wrong") is AuthAction.BAD_CREDENTIALS
    assert classify("Login", -1, "LOGIN FAILED") is AuthAction.BAD_CREDENTIALS
    assert classify("Login", -7, "Login has been locked") is AuthAction.LOCKED_OUT
    assert classify("Login", -502, "locked") is AuthAction.LOCKED_OUT
    assert classify("Login", -105, "") is AuthAction.LOCKED_OUT
    assert classify("Login", -5, "max session") is AuthAction.SESSION_LIMIT
    assert classify("GetAiState", -9, "not support") is None
    assert classify("GetAiState", None, "") is None


def test_auth_warning_info_remaining_attempts() -> None:
    raw = entry("Login", -7)
    raw["error"]["auth_warning_info"] = {"remain_times": 2, "unlock_time": 0}  # type: ignore[index]
    err = error_from_entry(raw)
    assert type(err) is CredentialsError
    assert "2 login attempts left" in str(err)


@pytest.mark.parametrize(
    "info", [{"remain_times": 0, "unlock_time": 0}, {"remain_times": 5, "unlock_time": "120"}]
)
def test_auth_warning_info_locked(info: dict[str, object]) -> None:
    raw = entry("Login", -502, "password wrong")
    raw["error"]["auth_warning_info"] = info  # type: ignore[index]
    assert type(error_from_entry(raw)) is LockedOutError


def test_login_warning_ignores_junk() -> None:
    assert login_warning({"auth_warning_info": "x"}) is None
    assert login_warning({"auth_warning_info": {"remain_times": [1]}}) is None
    assert login_warning(None) is None


def test_message_shape() -> None:
    err = error_from_entry(entry("GetAiState", -9), channel=2)
    assert str(err) == 'GetAiState on channel 2 failed: rspCode -9 "not support" (Not supported)'
    assert err.cmd == "GetAiState"


def test_cmd_override_and_malformed_entries() -> None:
    err = error_from_entry(
        {"cmd": "Unknown", "code": 1, "error": {"rspCode": "-9", "detail": 5}}, cmd="GetEvents"
    )
    assert err.cmd == "GetEvents" and err.rsp_code == -9 and err.detail == ""
    bare = error_from_entry({"code": 1})
    assert isinstance(bare, ApiError) and bare.rsp_code is None and bare.cmd == "Unknown"
    weird = error_from_entry({"cmd": "X\n" * 50, "code": 1, "error": {"detail": "a\x00b"}})
    assert "\n" not in str(weird) and "\x00" not in str(weird)


def test_is_not_supported() -> None:
    from reolink.errors import CommandError
    from reolink.protocol.codes import is_not_supported

    assert is_not_supported(CommandError("x", cmd="GetEvents", rsp_code=-9))
    assert is_not_supported(CommandError("x", cmd="Unknown", rsp_code=-4))
    assert not is_not_supported(CommandError("x", cmd="GetEvents", rsp_code=-17))
    assert not is_not_supported(None)
    assert not is_not_supported(ValueError("-9"))
