"""The one home of the lock-out text match (reolink.protocol.codes.is_lockout_detail) and the
number parsing of error objects: the digest's exact shapes, then hostile variants."""

from __future__ import annotations

import ast
import json
import pathlib
from typing import Any, List, Optional

import pytest

from reolink.errors import CommandError, CredentialsError, LockedOutError
from reolink.protocol import codes
from reolink.protocol.codes import AuthAction, classify, error_from_entry, is_lockout_detail


def _login_reply(raw: str) -> Any:
    """The error entry of a Login reply, as the device's bytes decode."""
    (entry,) = json.loads(raw)
    return entry


# --- the digest's exact shapes (reolink-api.md §2 Login, §4 the error table, emulator) -------

DIGEST_LOCKOUTS = [
    # -7 means a wrong password, except with these words: only the text tells (§2, §4 notes)
    '[{"cmd":"Login","code":1,"error":{"detail":"Login has been locked","rspCode":-7}}]',
    '[{"cmd":"Login","code":1,"error":{"detail":"Frequent logins, please try again later!",'
    '"rspCode":-105}}]',
    '[{"cmd":"Login","code":1,"error":{"detail":"Login locked","rspCode":-506}}]',
    # the same words without a code, and with the lower-case key of some NVR firmware (§1)
    '[{"cmd":"Login","code":1,"error":{"detail":"Login has been locked"}}]',
    '[{"cmd":"Login","code":1,"error":{"detail":"Login has been locked","rspcode":-7}}]',
]


@pytest.mark.parametrize("raw", DIGEST_LOCKOUTS)
def test_the_digests_lockouts_are_lockouts(raw: str) -> None:
    entry = _login_reply(raw)
    assert is_lockout_detail(entry["error"]["detail"])
    assert type(error_from_entry(entry)) is LockedOutError


@pytest.mark.parametrize(
    "raw",
    [
        '[{"cmd":"Login","code":1,"error":{"detail":"login failed","rspCode":-7}}]',
        '[{"cmd":"Login","code":1,"error":{"detail":"invalid user","rspCode":-27}}]',
        '[{"cmd":"Login","code":1,"error":{"detail":"password wrong"}}]',
        '[{"cmd":"Login","code":1,"error":{"detail":"Password err","rspCode":-502}}]',
    ],
)
def test_the_digests_bad_passwords_are_not_lockouts(raw: str) -> None:
    entry = _login_reply(raw)
    assert not is_lockout_detail(entry["error"]["detail"])
    assert type(error_from_entry(entry)) is CredentialsError


# --- hostile and odd variants ------------------------------------------------------------------


@pytest.mark.parametrize(
    "detail",
    [
        "LOGIN HAS BEEN LOCKED",
        "  login   has\\tbeen\\nlocked  ".replace("\\t", "\t").replace("\\n", "\n"),
        "Locked.",
        "account locked (try later)",
        "frequent login",
        "Frequent Logins",
    ],
)
def test_lockout_words_in_any_case_and_spacing(detail: str) -> None:
    assert is_lockout_detail(detail)
    assert classify("Login", -7, detail) is AuthAction.LOCKED_OUT


@pytest.mark.parametrize(
    "detail",
    [
        "account unlocked",  # a word of its own: "unlocked" is not "locked"
        "Login has not been locked",  # denied
        "not locked",
        "interlocked",
        "blocked",
        "infrequent loginx",
        "",
        "locked " + "x" * 300,  # no firmware phrase is this long
    ],
)
def test_what_is_not_a_lockout(detail: str) -> None:
    assert not is_lockout_detail(detail)
    assert classify("Login", -7, detail) is AuthAction.BAD_CREDENTIALS


@pytest.mark.parametrize("detail", [None, 5, ["locked"], {"locked": 1}, b"locked"])
def test_a_detail_that_is_no_text_is_no_lockout(detail: object) -> None:
    assert not is_lockout_detail(detail)


def test_the_words_count_on_a_login_reply_only() -> None:
    # Another command's "locked" is that command's refusal: no login is held back for it.
    entry = {"cmd": "SetPtzPreset", "code": 1, "error": {"rspCode": -4, "detail": "locked"}}
    error = error_from_entry(entry, channel=0)
    assert type(error) is CommandError and error.detail == "locked"
    assert classify("SetPtzPreset", -4, "Login has been locked") is None
    # the codes themselves say lock-out on any command (V8: they are about logins)
    assert classify("GetMdState", -506, "Login locked") is AuthAction.LOCKED_OUT


def _matches_of_words(tree: ast.AST) -> List[str]:
    """The string constants a module *matches* text against (``"x" in text``, ``==``,
    ``startswith``/``endswith``, regexes) that speak of a lock-out."""
    found = []
    for node in ast.walk(tree):
        pieces: List[ast.expr] = []
        if isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.In, ast.NotIn, ast.Eq, ast.NotEq)) for op in node.ops
        ):
            pieces = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
            node.func.attr in ("startswith", "endswith", "compile", "search", "match",
                               "fullmatch", "findall")
        ):
            pieces = list(node.args)
        for piece in pieces:
            for const in ast.walk(piece):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    words = const.value.lower()
                    if "locked" in words or "frequent login" in words:
                        found.append(const.value)
    return found


def test_the_text_is_matched_in_one_place() -> None:
    """No module of the driver but codes.py matches lock-out words: the verdict travels as a
    class (LockedOutError) and fields from there."""
    root = pathlib.Path(codes.__file__).resolve().parents[1]
    found = {}
    for path in sorted(root.rglob("*.py")):
        if "emulator" in path.parts:
            continue  # the fake device writes these words; it matches none
        words = _matches_of_words(ast.parse(path.read_text(encoding="utf-8")))
        if words:
            found[path.relative_to(root).as_posix()] = words
    assert found == {"protocol/codes.py": [codes._LOCKOUT_WORDS.pattern, codes._NOT_LOCKED.pattern]}


# --- numbers in error objects --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (-506, -506),
        ("-506", -506),  # some firmware quotes numbers
        (" -7 ", -7),
        ("+5", 5),
        (-9.0, -9),  # a JSON number with a fraction of zero
        (0, 0),
        # hostile: no number of ours
        (True, None),
        (False, None),
        (-5.5, None),
        (float("nan"), None),
        (float("inf"), None),
        ("", None),
        ("  ", None),
        ("--7", None),
        ("-", None),
        ("0x10", None),
        ("1e3", None),
        ("1_000", None),
        ("²", None),  # isdigit() says yes; not an ASCII digit
        ("٣", None),
        ("7 7", None),
        ("9" * 30, None),
        (10**30, None),
        (None, None),
        ([-7], None),
        ({"rspCode": -7}, None),
    ],
)
def test_small_int(value: object, number: Optional[int]) -> None:
    assert codes._small_int(value) == number


@pytest.mark.parametrize(
    ("raw_code", "expected"),
    [("-506", LockedOutError), (-506.0, LockedOutError), ("-5o6", CredentialsError),
     (True, CredentialsError), (10**30, CredentialsError)],
)
def test_a_codes_shape_decides_only_when_it_is_a_number(raw_code: object, expected: type) -> None:
    entry = {"cmd": "Login", "code": 1, "error": {"rspCode": raw_code, "detail": "login failed"}}
    error = error_from_entry(entry)
    assert type(error) is expected
    assert error.rsp_code in (-506, None)


@pytest.mark.parametrize(
    ("info", "remaining", "unlock", "locked"),
    [
        ({"remain_times": 9, "unlock_time": 0}, 9, 0, False),  # the shape seen in the field
        ({"remain_times": 0, "unlock_time": 0}, 0, 0, True),
        ({"remain_times": "2", "unlock_time": "120"}, 2, 120, True),
        ({"remain_times": -1, "unlock_time": -30}, None, None, None),  # no count is negative
        ({"remain_times": 3, "unlock_time": 10**9}, 3, codes.MAX_UNLOCK_SECONDS, True),
        ({"remain_times": True, "unlock_time": "soon"}, None, None, None),
        ({"remain_times": 1.5}, None, None, None),
    ],
)
def test_auth_warning_numbers(
    info: dict, remaining: Optional[int], unlock: Optional[int], locked: Optional[bool]  # type: ignore[type-arg]
) -> None:
    warning = codes.login_warning({"auth_warning_info": info})
    if locked is None:
        assert warning is None
        return
    assert warning is not None
    assert (warning.remaining_attempts, warning.unlock_seconds, warning.locked) == (
        remaining, unlock, locked,
    )


def test_a_hostile_unlock_time_does_not_stop_logins_for_good() -> None:
    entry = {"cmd": "Login", "code": 1, "error": {
        "rspCode": -7, "detail": "login failed",
        "auth_warning_info": {"remain_times": 0, "unlock_time": "999999999"}}}
    error = error_from_entry(entry)
    assert isinstance(error, LockedOutError)
    assert error.unlock_seconds == codes.MAX_UNLOCK_SECONDS
