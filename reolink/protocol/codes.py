"""The device's rspCodes: the V8 error table, and what each one means for the session.

:func:`classify` decides whether an error entry is an authentication problem (log in again,
stop because the credentials are wrong, wait because logins are locked out, wait because the
session table is full) or just a command the device refused. :func:`error_from_entry` turns an
error entry into the matching :class:`~reolink.errors.ApiError` subclass.

Match on ``rspCode``; ``detail`` is for display (its case and wording vary between firmware).
Error objects are read the way firmware writes them: the code key in any case (``rspCode``,
``rspcode``), as a number or a numeric string (:func:`_small_int`: anything else is no code),
and ``"not support"`` without a code is -9.

Why a few ``detail`` texts are matched anyway, and only here: they are the *device's* words in
its reply, and for these facts the firmware gives no other signal. A locked account answers a
Login with -7 (which otherwise means a wrong password) and ``"Login has been locked"`` - read by
:func:`is_lockout_detail`, the one home of that match; some firmware says "password wrong" or
"invalid user" without a credential code (``_CREDENTIAL_DETAILS``, whole strings only). The
verdict then travels as a class and fields (:class:`~reolink.errors.LockedOutError`,
``unlock_seconds``), so nobody downstream reads words again. Text the *driver* wrote - an error
message of ours - is never matched anywhere: a fact we know is a field when we learn it.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping

from reolink.errors import (
    ApiError,
    AuthError,
    CommandError,
    CredentialsError,
    LockedOutError,
    SessionLimitError,
)

__all__ = [
    "RSP_CODES",
    "AuthAction",
    "LoginWarning",
    "classify",
    "describe",
    "error_field",
    "error_from_entry",
    "is_lockout_detail",
    "is_not_supported",
    "login_warning",
    "printable",
]

#: V8 §4.1: rspCode -> (the ``detail`` string the device returns, what it means).
RSP_CODES: Mapping[int, tuple[str, str]] = {
    -1: ("not exist", "Missing parameters"),
    -2: ("out of mem", "Used up memory"),
    -3: ("check err", "Check error"),
    -4: ("param error", "Parameters error"),
    -5: ("max session", "Reached the max session number."),
    -6: ("please login first", "Login required"),
    -7: ("login failed", "Login error"),
    -8: ("timeout", "Operation timeout"),
    -9: ("not support", "Not supported"),
    -10: ("protocol", "Protocol error"),
    -11: ("fcgi read failed", "Failed to read operation"),
    -12: ("get config failed", "Failed to get configuration."),
    -13: ("set config failed", "Failed to set configuration."),
    -14: ("malloc failed", "Failed to apply for memory"),
    -15: ("create socket failed", "Failed to created socket"),
    -16: ("send failed", "Failed to send data"),
    -17: ("rcv failed", "Failed to receiver data"),
    -18: ("open file failed", "Failed to open file"),
    -19: ("read file failed", "Failed to read file"),
    -20: ("write file failed", "Failed to write file"),
    -21: ("error token", "Token error"),
    -22: (
        "The length of the string exceeds the limit",
        "The length of the string exceeds the limitmation",
    ),
    -23: ("missing param", "Missing parameters"),
    -24: ("error command", "Command error"),
    -25: ("internal error", "Internal error"),
    -26: ("ability error", "Ability error"),
    -27: ("invalid user", "Invalid user"),
    -28: ("user already exist", "User already exist"),
    -29: ("maximum number of users", "Reached the maximum number of users"),
    -30: ("same version", "The version is identical to the current one."),
    -31: ("busy", "Ensure only one user can upgrade"),
    -32: ("ip conflict", "Modify IP conflicted with used IP"),
    -34: ("need bing email", "Cloud login need bind email first"),
    -35: ("unbind", "Cloud login unbind camera"),
    -36: ("network timeout", "Cloud login get login information out of time"),
    -37: ("password err", "Cloud login password error"),
    -38: ("uid err", "Cloud bind camera uid error"),
    -39: ("user not exist", "Cloud login user doesn't exist"),
    -40: ("unbind failed", "Cloud unbind camera failed"),
    -41: ("cloud not support", "The device doesn't support cloud"),
    -42: ("login cloud server failed", "Cloud login server failed"),
    -43: ("bind failed", "Cloud bind camera failed"),
    -44: ("cloud unknown err", "Cloud unknown error"),
    -45: ("need verify code", "Cloud bind camera need verify code"),
    -46: (
        "Digest authentication failed",
        "An error occurred while using the digest authentication process",
    ),
    -47: (
        "Digest authentication Nonce expires",
        "An expired nonce is used in the authentication process",
    ),
    -48: ("Fetching a picture failed", "Snap a picture failed"),
    -49: ("Channel invalid", "Channel is invalid"),
    -99: ("Device offline", "Device offline"),
    -100: ("test failed", "Test Email、Ftp、Wifi failed"),
    -101: ("check firmware failed", "Upgrade checking firmware failed"),
    -102: ("download online failed", "Upgrade download online failed"),
    -103: ("get upgrade status failed", "Upgrade get upgrade status failed"),
    -105: ("Frequent logins, please try again later!", "Frequent logins"),
    -220: ("Error downloading video file", "Error downloading video file"),
    -221: ("Busy video recording task", "Busy video recording task"),
    -222: ("The video file does not exist", "The video file does not exist"),
    -301: ("Digest Authentication nonce error", "Digest Authentication nonce error"),
    -310: ("Aes decryption failure", "Aes decryption failure"),
    -451: ("ftp login failed", "ftp test login failed"),
    -452: ("ftp create dir failed", "Creat ftp dir failed"),
    -453: ("ftp upload failed", "Upload ftp file failed"),
    -454: ("ftp connect failed", "Cannot connect ftp server"),
    -480: ("email undefined failed", "Some undifined errors"),
    -481: ("email connect failed", "Cannot connect email server"),
    -482: ("email auth failed", "Auth user failed"),
    -483: ("email network err", "Email network err"),
    -484: ("email server err", "Something wrong with email server"),
    -485: ("email memory err", "Something wrong with memory"),
    -500: (
        "The number of IP addresses reaches the upper limit",
        "The number of IP addresses reaches the upper limit",
    ),
    -501: ("The user does not exist", "The user does not exist"),
    -502: ("Password err", "Password err"),
    -503: ("Login deny", "Login deny"),
    -505: ("Login not init", "Login not init"),
    -506: ("Login locked", "Login locked"),
    -507: ("Login reach max", "The number of logins reached the upper limit"),
}


class AuthAction(enum.Enum):
    """What the session must do about an authentication-related error."""

    #: The token is missing, expired or was invalidated: log in again and retry once.
    RELOGIN = "relogin"
    #: The username or password is wrong: stop logging in automatically.
    BAD_CREDENTIALS = "bad_credentials"
    #: Logins are refused for now (throttled, locked account): back off, then try again.
    LOCKED_OUT = "locked_out"
    #: The device's session table is full: wait for old leases to end.
    SESSION_LIMIT = "session_limit"


LOGIN_CMD = "Login"

# Codes that mean "your token is no good" whatever the command was.
_RELOGIN_CODES = frozenset({-6, -21})
# Codes a Login answers when the credentials are wrong. -7 on any *other* command means the
# token was dropped (the driver page's troubleshooting row "-6 / -7"), so it is a relogin there.
_CREDENTIAL_CODES = frozenset({-7, -27, -501, -502, -503})
_CREDENTIAL_DETAILS = ("password wrong", "invalid user", "login failed")
# Throttling and lockouts: -105 "Frequent logins", -500 too many IPs, -505 "Login not init"
# (the login service is not ready yet), -506 "Login locked".
_LOCKOUT_CODES = frozenset({-105, -500, -505, -506})
_SESSION_CODES = frozenset({-5, -507})
# A lock-out in the device's words (see is_lockout_detail): "locked" as a word of its own
# ("Login has been locked", -506's "Login locked"; never "unlocked"), or -105's "Frequent
# logins, please try again later!"...
_LOCKOUT_WORDS = re.compile(r"\blocked\b|\bfrequent logins?\b")
# ...unless the words deny it ("not locked", "has not been locked").
_NOT_LOCKED = re.compile(r"\bnot (?:been )?locked\b")
#: Details longer than this are not a firmware's short phrase: never read as a lock-out.
_DETAIL_READ = 200
#: The longest lock a device's unlock_time is taken at its word for (a day): a hostile or
#: broken value must not stop automatic logins for good.
MAX_UNLOCK_SECONDS = 86400


def is_lockout_detail(detail: object) -> bool:
    """Whether a Login reply's ``detail`` says logins are locked out (or throttled).

    The device's own words, the only signal some firmware gives (digest §2 and §4: -7 with
    ``"Login has been locked"``; ``"Login locked"``; ``"Frequent logins, please try again
    later!"``). Matched here and nowhere else, in any case and spacing; a word of its own
    (``"unlocked"`` is not ``"locked"``) and not denied (``"not locked"``).
    """
    if not isinstance(detail, str) or not detail or len(detail) > _DETAIL_READ:
        return False
    text = " ".join(detail.lower().split())
    return _LOCKOUT_WORDS.search(text) is not None and _NOT_LOCKED.search(text) is None


class LoginWarning:
    """The ``auth_warning_info`` newer firmware adds to a failed Login's ``error`` object.

    Seen as ``{"auth_warning_info": {"remain_times": 9, "unlock_time": 0}, "detail": "login
    failed", "rspCode": -7}`` (also with -502 "password wrong"): ``remain_times`` is how many
    wrong passwords are left before the account locks, ``unlock_time`` the seconds until a locked
    account opens again (0 when not locked).
    """

    __slots__ = ("remaining_attempts", "unlock_seconds")

    def __init__(self, remaining_attempts: int | None, unlock_seconds: int | None) -> None:
        self.remaining_attempts = remaining_attempts
        self.unlock_seconds = unlock_seconds

    @property
    def locked(self) -> bool:
        """True when the device says the account is locked now."""
        return (self.unlock_seconds or 0) > 0 or self.remaining_attempts == 0

    def describe(self) -> str:
        if (self.unlock_seconds or 0) > 0:
            return f"the account is locked for {self.unlock_seconds} more seconds"
        if self.remaining_attempts == 0:
            return "the account is locked"
        if self.remaining_attempts is not None:
            return f"{self.remaining_attempts} login attempts left before the account locks"
        return ""

    def __repr__(self) -> str:
        return (
            f"LoginWarning(remaining_attempts={self.remaining_attempts!r}, "
            f"unlock_seconds={self.unlock_seconds!r})"
        )


#: The largest magnitude read as a number from a device (rspCodes are 3 digits, counts and
#: seconds a few more): a longer run of digits is garbage, not a code.
_SMALL = 10**9


def _small_int(value: object) -> int | None:
    """An int from an int, an integral float or a short numeric string (ASCII digits, an
    optional sign, spaces around); None for anything else, and beyond +-10**9."""
    if isinstance(value, bool):  # JSON true is not 1 here
        return None
    if isinstance(value, float):
        # -506.0 is -506; nan, inf and -5.5 are no number of ours.
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return value if -_SMALL <= value <= _SMALL else None
    if isinstance(value, str) and 0 < len(value.strip()) <= 11:
        text = value.strip()
        body = text[1:] if text[:1] in "+-" else text
        # isdigit() alone takes "²" and "٣"; int() alone takes "1_0" and " 1 ".
        if body.isascii() and body.isdigit():
            return int(text)
    return None


def _count(value: object) -> int | None:
    """A count or a number of seconds the device sent: a non-negative small int, else None."""
    number = _small_int(value)
    return number if number is not None and number >= 0 else None


def login_warning(error: object) -> LoginWarning | None:
    """The :class:`LoginWarning` of an entry's ``error`` object, or None when it has none."""
    if not isinstance(error, Mapping):
        return None
    info = error.get("auth_warning_info")
    if not isinstance(info, Mapping):
        return None
    remaining = _count(info.get("remain_times"))
    unlock = _count(info.get("unlock_time"))
    if remaining is None and unlock is None:
        return None
    if unlock is not None:
        unlock = min(unlock, MAX_UNLOCK_SECONDS)
    return LoginWarning(remaining, unlock)


def classify(
    cmd: str,
    rsp_code: int | None,
    detail: str,
    *,
    warning: LoginWarning | None = None,
) -> AuthAction | None:
    """The :class:`AuthAction` an error calls for, or None for an ordinary command error.

    ``warning`` is the failed Login's ``auth_warning_info`` (see :func:`login_warning`): when it
    says the account is locked, the answer is LOCKED_OUT whatever the code.
    """
    text = detail.strip().lower() if isinstance(detail, str) else ""
    is_login = cmd == LOGIN_CMD
    # Lockout first: "Login has been locked" must not read as a plain bad password, because
    # trying again (even with the right password) only extends the lock. The words count on a
    # Login's reply only: "locked" from another command (a locked preset?) is that command's
    # refusal, and must not hold every login back.
    if rsp_code in _LOCKOUT_CODES or (is_login and is_lockout_detail(detail)):
        return AuthAction.LOCKED_OUT
    if warning is not None and warning.locked:
        return AuthAction.LOCKED_OUT
    if rsp_code in _SESSION_CODES:
        return AuthAction.SESSION_LIMIT
    if rsp_code in _RELOGIN_CODES:
        return AuthAction.RELOGIN
    if is_login:
        # Whole-string match: "ftp login failed" (-451) is not a bad password.
        if rsp_code in _CREDENTIAL_CODES or text in _CREDENTIAL_DETAILS:
            return AuthAction.BAD_CREDENTIALS
        return None
    if rsp_code == -7:
        return AuthAction.RELOGIN
    return None


_ERROR_CLASS: dict[AuthAction | None, type[ApiError]] = {
    None: CommandError,
    AuthAction.RELOGIN: AuthError,
    AuthAction.BAD_CREDENTIALS: CredentialsError,
    AuthAction.LOCKED_OUT: LockedOutError,
    AuthAction.SESSION_LIMIT: SessionLimitError,
}


_ACTION_OF_CLASS: dict[type[ApiError], AuthAction | None] = {
    klass: action for action, klass in _ERROR_CLASS.items()
}


def action_of(error: ApiError) -> AuthAction | None:
    """The :class:`AuthAction` an error built here stands for (its class says it: the verdict
    :func:`classify` gave when the error was made, ``auth_warning_info`` included), so no
    caller has to classify the device's code and words a second time."""
    for klass in type(error).__mro__:
        if klass in _ACTION_OF_CLASS:
            return _ACTION_OF_CLASS[klass]
    return None


#: V8 §4.1: -9 "not support".
NOT_SUPPORTED = -9
NOT_SUPPORTED_DETAIL = "not support"


def error_field(error: Mapping[str, object], name: str) -> object:
    """``error[name]`` with the key matched case-insensitively (None when absent).

    Firmware spells the code key ``rspCode`` (V8), and some NVR firmware (RLN8-410 / RLN16-410
    class, GetAiState on a channel whose camera has no AI) writes ``rspcode`` (digest §1).
    """
    if name in error:
        return error[name]
    wanted = name.lower()
    for key, value in error.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    return None


def is_not_supported(error: object) -> bool:
    """The device does not know or support the command: -9, or the command echoed as "Unknown"."""
    return isinstance(error, ApiError) and (error.rsp_code == -9 or error.cmd == "Unknown")


def describe(rsp_code: int) -> str:
    """The V8 meaning of an rspCode, or ``"unknown rspCode"``."""
    entry = RSP_CODES.get(rsp_code)
    return entry[1] if entry is not None else "unknown rspCode"


def printable(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, with control characters escaped (for messages)."""
    if len(text) <= limit and text.isprintable():
        return text  # the common case, on the hot path of every parsed reply
    cut = text[:limit]
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return out + ("..." if len(text) > limit else "")


def _name(value: object) -> str:
    return printable(value, 40) if isinstance(value, str) and value else "Unknown"


def error_from_entry(
    entry: Mapping[str, object],
    *,
    channel: int | None = None,
    cmd: str | None = None,
) -> ApiError:
    """The ApiError subclass for an error entry ``{"cmd", "code": 1, "error": {...}}``.

    ``cmd`` overrides the echoed name (devices echo ``"Unknown"`` for commands they could not
    parse; the caller knows what it sent). Tolerates a missing or malformed ``error`` object:
    the rspCode is then None and the detail empty.
    """
    name = cmd if cmd else _name(entry.get("cmd") if isinstance(entry, Mapping) else None)
    error = entry.get("error") if isinstance(entry, Mapping) else None
    rsp_code: int | None = None
    detail = ""
    if isinstance(error, Mapping):
        rsp_code = _small_int(error_field(error, "rspCode"))
        raw_detail = error_field(error, "detail")
        detail = raw_detail if isinstance(raw_detail, str) else ""
        if rsp_code is None and detail.strip().lower() == NOT_SUPPORTED_DETAIL:
            # The detail is the V8 table's -9 string: the code is implied (digest §1).
            rsp_code = NOT_SUPPORTED
    warning = login_warning(error)
    action = classify(name, rsp_code, detail, warning=warning)
    where = f"{name} on channel {channel}" if channel is not None else name
    if rsp_code is None:
        code = isinstance(entry, Mapping) and entry.get("code")
        reason = f"no rspCode (code {code!r})" if isinstance(code, int) else "no rspCode"
        if detail:
            reason += f' "{printable(detail)}"'
    else:
        reason = f'rspCode {rsp_code} "{printable(detail)}" ({describe(rsp_code)})'
    message = f"{where} failed: {reason}"
    if warning is not None and warning.describe():
        message += f"; {warning.describe()}"
    result = _ERROR_CLASS[action](
        message, cmd=name, rsp_code=rsp_code, detail=detail, channel=channel
    )
    if isinstance(result, LockedOutError) and warning is not None:
        if warning.unlock_seconds is not None and warning.unlock_seconds > 0:
            result.unlock_seconds = warning.unlock_seconds
    return result
