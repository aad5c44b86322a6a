"""The emulated device: session table, login rules and per-channel state.

Everything here is plain data plus a lock; no sockets. :func:`.api.handle` turns one HTTP
request (method, path, query, body) into a :class:`Reply` the way firmware does
(/work/shared/reolink-api.md §1, §2, §5):

* JSON is served as ``text/html`` and pretty-printed with ``"key" : value`` (§1 "Content types");
  API errors are HTTP 200 with ``{"cmd", "code": 1, "error": {"detail", "rspCode"}}`` (§5).
* The body is dispatched, not the URL ``cmd`` (§1). Unknown commands keep their slot as
  ``{"cmd": "Unknown", ... -9}``; an unparsable body gets one ``"Unknown"`` -4 entry; more than
  35 commands get ONE ``-16 "send failed"`` entry named after the first command (§1 "Batching").
* Login rules (§2): wrong password -> -7 ``"login failed"``; unknown user -> -27
  ``"invalid user"`` (both are strings reolink_aio's send_chunk matches as bad credentials). After
  ``lockout_attempts`` failures within ``lockout_window`` every Login, even a correct one, gets
  -7 with detail ``"Login has been locked"`` for ``lockout_duration``: that detail is the string
  seen in the field (digest §4 notes, reolink_aio api.py send_chunk's credential check); the V8
  table's -506 ``"Login locked"`` is not what deployed firmware is reported to send. More than
  N logins within the throttle window -> -105; a full session table -> -5 ``"max session"``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Set, Tuple

from .profiles import Profile, abilities
from .webhook import Webhooks

__all__ = ["DETAILS", "MAX_BATCH", "ChannelState", "CmdError", "Device", "Reply", "render"]

log = logging.getLogger(__name__)

MAX_BATCH = 35  # reolink_aio's MAX_CHUNK_ITEMS; beyond it firmware answers -16 (digest §1)

# V8 §4.1 detail strings (exact, typos kept) for the codes the emulator sends.
DETAILS = {
    -1: "not exist",
    -4: "param error",
    -5: "max session",
    -6: "please login first",
    -7: "login failed",
    -8: "timeout",
    -9: "not support",
    -10: "protocol",
    -12: "get config failed",
    -13: "set config failed",
    -16: "send failed",
    -17: "rcv failed",
    -26: "ability error",
    -27: "invalid user",
    -49: "Channel invalid",
    -105: "Frequent logins, please try again later!",
    -502: "Password err",
    -503: "Login deny",
    -506: "Login locked",
    -507: "Login reach max",
}
LOCKED_DETAIL = "Login has been locked"
JSON_TYPE = "text/html"


class CmdError(Exception):
    """A command answered with an error element.

    ``entry`` replaces the usual element when firmware writes this error its own way (the
    RLN8-410's ``"cmd": "Unknown"`` with a lower-case ``rspcode``).
    """

    def __init__(
        self, code: int, detail: Optional[str] = None, entry: Optional[Dict[str, Any]] = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail if detail is not None else DETAILS.get(code, "error")
        self.entry = entry


@dataclass
class Reply:
    """What the HTTP layer sends: status, content type, body, extra headers, follow-up action."""

    status: int
    content_type: str
    body: bytes
    headers: Dict[str, str] = field(default_factory=dict)
    after: Optional[str] = None  # "reboot": take the device down once the reply is out


def render(entries: Any) -> bytes:
    """Pretty-print like the firmware: tab indent, ``"key" : value``."""
    return json.dumps(entries, indent="\t", separators=(",", " : ")).encode("utf-8")


def error_entry(cmd: str, code: int, detail: Optional[str] = None) -> Dict[str, Any]:
    return {
        "cmd": cmd,
        "code": 1,
        "error": {
            "detail": detail if detail is not None else DETAILS.get(code, "error"),
            "rspCode": code,
        },
    }


@dataclass
class PtzState:
    pan: float = 1800.0
    tilt: float = 450.0
    zoom: float = 0.0
    focus: float = 100.0
    op: Optional[str] = None
    speed: int = 32
    since: float = 0.0
    patrol: Optional[int] = None


@dataclass
class ChannelState:
    """Mutable state of one channel."""

    online: bool
    sleeping: bool
    name: str
    motion: bool = False
    ai: Dict[str, bool] = field(default_factory=dict)
    visitor: bool = False
    spotlight: Dict[str, Any] = field(default_factory=dict)
    siren_plays: int = 0
    siren_on: bool = False
    ir: str = "Auto"
    ptz: PtzState = field(default_factory=PtzState)
    presets: Dict[int, Tuple[str, Tuple[float, float, float]]] = field(default_factory=dict)
    # Detection setup (reolink.emulator.setup_cmds): what the owner set in the Reolink app.
    motion_area: bool = True  # a motion detection area is drawn (else scope.table all "0")
    pir: bool = True  # the PIR sensor switch of a battery camera
    ai_switch: Dict[str, bool] = field(default_factory=dict)  # GetAiCfg AiDetectType
    ai_area: Dict[str, bool] = field(default_factory=dict)  # GetAiAlarm scope.area drawn
    doorbell: bool = False  # GetEvents visitor.support 1


@dataclass
class Session:
    user: str
    expires: float


class Device:
    """State and request handling of the emulated device (thread-safe)."""

    def __init__(
        self,
        profile: Profile,
        username: str,
        password: str,
        lease: int,
        clock: Callable[[], float],
        lockout_attempts: int,
        lockout_window: float,
        lockout_duration: float,
        max_sessions: int,
        login_throttle: Tuple[int, float],
        snapshot_size: int = 0,
    ) -> None:
        self.profile = profile
        self.username = username
        self._password = password
        self.lease = lease
        self.clock = clock
        self.lockout_attempts = lockout_attempts
        self.lockout_window = lockout_window
        self.lockout_duration = lockout_duration
        self.max_sessions = max_sessions
        self.login_throttle = login_throttle
        self.snapshot_size = snapshot_size
        self.lock = threading.RLock()
        self.sessions: Dict[str, Session] = {}
        self.login_count = 0
        self._failures: Deque[float] = deque()
        self._logins: Deque[float] = deque()
        self._locked_until = float("-inf")
        self._snap_cache: Dict[int, bytes] = {}
        self.ability = abilities(profile)
        self.webhooks = Webhooks(profile)  # slot tables, push settings, the POST sender
        #: commands this firmware lacks beyond the profile's (answered like unknown ones, -9)
        self.dropped_cmds: Set[str] = set()
        self.channels: List[ChannelState] = []
        for i, spec in enumerate(profile.channels):
            state = ChannelState(online=spec.online, sleeping=spec.sleeping, name=spec.name)
            state.ai = {t: False for t in spec.ai_types}
            state.ai_switch = {t: True for t in spec.ai_types}
            state.ai_area = {t: True for t in spec.ai_types}
            state.doorbell = spec.doorbell
            state.spotlight = {
                "channel": i,
                "state": 0,
                "mode": 1,
                "bright": 85,
                "LightingSchedule": {"StartHour": 18, "StartMin": 0, "EndHour": 6, "EndMin": 0},
                "wlAiDetectType": {"dog_cat": 1, "face": 0, "people": 1, "vehicle": 0},
            }
            if spec.ptz:
                for pid, pname in profile.presets:
                    state.presets[pid] = (pname, (300.0 * pid, 200.0 + 50 * pid, 5.0 * pid))
            self.channels.append(state)

    # ------------------------------------------------------------------ sessions and login
    def reset_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def active_tokens(self) -> List[str]:
        now = self.clock()
        with self.lock:
            return [t for t, s in self.sessions.items() if s.expires > now]

    def _prune_sessions(self, now: float) -> None:
        for token in [t for t, s in self.sessions.items() if s.expires <= now]:
            del self.sessions[token]

    def _check_credentials(self, user: str, password: str, now: float) -> Optional[CmdError]:
        """None when the pair is right; else the error to answer (lockout-aware)."""
        if now < self._locked_until:
            return CmdError(-7, LOCKED_DETAIL)
        if user == self.username and secrets.compare_digest(password, self._password):
            self._failures.clear()
            return None
        self._failures.append(now)
        while self._failures and self._failures[0] <= now - self.lockout_window:
            self._failures.popleft()
        if len(self._failures) >= self.lockout_attempts:
            self._locked_until = now + self.lockout_duration
            self._failures.clear()
            log.debug("emulator: account locked for %s s", self.lockout_duration)
        return CmdError(-7) if user == self.username else CmdError(-27)

    def login(self, param: Any) -> Dict[str, Any]:
        now = self.clock()
        user_obj = param.get("User") if isinstance(param, dict) else None
        if not isinstance(user_obj, dict):
            raise CmdError(-4)
        user = user_obj.get("userName")
        password = user_obj.get("password")
        if not isinstance(user, str) or not isinstance(password, str) or not user:
            raise CmdError(-4)
        limit, window = self.login_throttle
        while self._logins and self._logins[0] <= now - window:
            self._logins.popleft()
        if len(self._logins) >= limit:
            raise CmdError(-105)
        self._logins.append(now)
        err = self._check_credentials(user, password, now)
        if err is not None:
            raise err
        self._prune_sessions(now)
        if len(self.sessions) >= self.max_sessions:
            raise CmdError(-5)
        token = secrets.token_hex(8)[:15]
        self.sessions[token] = Session(user, now + self.lease)
        self.login_count += 1
        return {"Token": {"leaseTime": self.lease, "name": token}}

    def logout(self, token: Optional[str]) -> Dict[str, Any]:
        if token is None or token not in self.sessions:
            raise CmdError(-6)
        del self.sessions[token]
        return {"rspCode": 200}

    def authenticate(self, query: Dict[str, str]) -> Tuple[Optional[str], Optional[CmdError]]:
        """(token, None) or (None, None) for short-session creds, or (None, error)."""
        now = self.clock()
        token = query.get("token")
        if token and token != "null":  # noqa: S105 - clients send the literal "null"
            session = self.sessions.get(token)
            if session is None or session.expires <= now:
                self.sessions.pop(token, None)
                return None, CmdError(-6)
            return token, None
        if "user" in query and "password" in query:
            # Short session (V8 §2.6.2): credentials in the query, checked like a Login.
            return None, self._check_credentials(query["user"], query["password"], now)
        return None, CmdError(-6)


def json_reply(entries: Any) -> Reply:
    return Reply(200, JSON_TYPE, render(entries))


def parse_body(body: bytes, query: Dict[str, str]) -> Optional[List[Any]]:
    """The command list of a request, or None when the body is garbage.

    A body-less request (V8's ``GET ?cmd=GetMdState&channel=0``, ioBroker's getters) becomes a
    single command built from the query.
    """
    if not body.strip():
        qcmd = query.get("cmd")
        if not qcmd:
            return None
        param: Dict[str, Any] = {}
        if "channel" in query:
            try:
                param["channel"] = int(query["channel"])
            except ValueError:
                return None
        return [{"cmd": qcmd, "action": 0, "param": param}]
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        return None
    return data


def body_cmds(body: bytes, query: Dict[str, str]) -> List[str]:
    """Command names of a request, for records and fault filters."""
    if query.get("cmd") == "Snap":
        return ["Snap"]
    commands = parse_body(body, query) or []
    return [c["cmd"] for c in commands if isinstance(c, dict) and isinstance(c.get("cmd"), str)]


INDEX_HTML = (
    b'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title></title>\n'
    b'<link rel="stylesheet" href="css/main.css">\n</head>\n<body>\n'
    b'<div id="app"></div>\n<script src="js/app.js"></script>\n</body>\n</html>\n'
)
NOT_FOUND_HTML = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
    b"</html>\r\n"
)
