"""The ``/cgi-bin/api.cgi`` endpoint: one HTTP request in, one :class:`~.device.Reply` out.

It sits above the device state (:mod:`.device`) and the command handlers (:mod:`.handlers`) so
that neither imports the other's caller: device holds sessions and channels, handlers answer
commands against it, and this module routes a request's batch to them the way firmware does
(/work/shared/reolink-api.md §1, §2, §5; the rules are listed in :mod:`.device`).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from . import handlers
from .device import (
    INDEX_HTML,
    MAX_BATCH,
    NOT_FOUND_HTML,
    CmdError,
    Device,
    Reply,
    error_entry,
    json_reply,
    parse_body,
)

__all__ = ["handle", "run_command"]


def handle(dev: Device, method: str, path: str, query: Dict[str, str], body: bytes) -> Reply:
    """Answer one request (see the :mod:`.device` docstring)."""
    with dev.lock:
        if path not in ("/cgi-bin/api.cgi", "/api.cgi"):
            if path in ("/", "/index.html"):
                return Reply(200, "text/html", INDEX_HTML)
            return Reply(404, "text/html", NOT_FOUND_HTML)
        if query.get("cmd", "") == "Snap":
            return handlers.snap(dev, query)
        commands = parse_body(body, query)
        if commands is None:
            return json_reply([error_entry("Unknown", -4)])
        if len(commands) > MAX_BATCH:
            first = commands[0].get("cmd") if isinstance(commands[0], dict) else None
            return json_reply([error_entry(first if isinstance(first, str) else "Unknown", -16)])
        return _run_batch(dev, commands, query)


def _run_batch(dev: Device, commands: List[Any], query: Dict[str, str]) -> Reply:
    token, auth_err = (None, None)
    if any(not _is_login(c) for c in commands):
        token, auth_err = dev.authenticate(query)
    after: Optional[str] = None
    entries = []
    for command in commands:
        entry = run_command(dev, command, token, auth_err)
        if entry.get("cmd") == "Reboot" and entry.get("code") == 0:
            after = "reboot"
        entries.append(entry)
    reply = json_reply(entries)
    reply.after = after
    return reply


def run_command(
    dev: Device, command: Any, token: Optional[str], auth_err: Optional[CmdError]
) -> Dict[str, Any]:
    """One element of a batch: Login/Logout here, everything else through the handlers."""
    if not isinstance(command, dict) or not isinstance(command.get("cmd"), str):
        return error_entry("Unknown", -4)
    name = command["cmd"]
    if name == "Getchannelstatus":  # the V8 URL spelling; replies use GetChannelstatus
        name = "GetChannelstatus"
    if name not in dev.profile.known_cmds or name in dev.dropped_cmds:
        return error_entry("Unknown", -9)
    param = command.get("param", {})
    if param is None:
        param = {}
    action = command.get("action", 0)
    try:
        if not isinstance(param, dict) or action not in (0, 1, None):
            raise CmdError(-4)
        if name == "Login":
            return {"cmd": name, "code": 0, "value": dev.login(param)}
        if name == "Logout":
            return {"cmd": name, "code": 0, "value": dev.logout(token)}
        if auth_err is not None:
            raise auth_err
        return handlers.dispatch(dev, name, param, action == 1)
    except CmdError as err:
        if err.entry is not None:
            return copy.deepcopy(err.entry)  # faults may edit entries; keep the template
        return error_entry(name, err.code, err.detail)


def _is_login(command: Any) -> bool:
    return isinstance(command, dict) and command.get("cmd") == "Login"
