"""What a device's driver keeps between poll cycles.

The client memoizes the poll (the same request every cycle, answered with the same bytes in
the steady state) to skip building and decoding it again. Nothing else is kept: a one-off
answer held in a memo stays until the next reconnect. Identification's GetAbility is 22 KB of
reply (about 100 KB decoded) at 8 channels, and a Login's request body holds the password.
The object graph of the core is walked (as a heap profiler would) on simulated time, after
identification, the detection-setup read, a command and polls.
"""

from __future__ import annotations

import gc
import types
from typing import Any, Iterator, List

from simdevice import SimHarness

PASSWORD = "admin123"  # SimHarness's


def _reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` (modules, classes and functions not followed)."""
    seen = {id(root)}
    todo: List[object] = [root]
    while todo:
        obj = todo.pop()
        yield obj
        for ref in gc.get_referents(obj):
            if id(ref) in seen or isinstance(ref, (types.ModuleType, type, types.FunctionType)):
                continue
            seen.add(id(ref))
            todo.append(ref)


def _settled_nvr() -> SimHarness:
    h = SimHarness(
        {str(ch): {} for ch in range(8)}, emulator={"profile": "nvr", "channels": 8}
    )
    assert h.run_until(lambda: h.core.setup.reads >= 1, 120)
    h.command("ptz", {"address": "0", "op": "Left", "speed": "5"})
    start = h.cycles()
    assert h.run_until(lambda: h.cycles() >= start + 3, 120)
    return h


def test_no_request_body_holding_the_password_is_kept() -> None:
    h = _settled_nvr()
    assert h.logins()
    holders = [
        type(obj).__name__
        for obj in _reachable(h.core)
        if isinstance(obj, bytes) and PASSWORD.encode() in obj
    ]
    assert holders == []


def test_one_off_answers_are_not_kept() -> None:
    """The largest string the core keeps is a poll's (3.1 KB pretty-printed at 8 channels),
    not identification's 22 KB reply nor the setup read's 105 KB."""
    h = _settled_nvr()
    polls = [r for r in h.emu.requests if {"GetMdState", "GetEvents"} & set(r.cmds)]
    assert polls
    kept: List[Any] = [
        obj for obj in _reachable(h.core) if isinstance(obj, (bytes, str)) and len(obj) > 8192
    ]
    assert [len(obj) for obj in kept] == []
    decoded = [
        obj for obj in _reachable(h.core) if isinstance(obj, dict) and "Ability" in obj
    ]
    assert decoded == []  # GetAbility's decoded value (its facts are kept, parsed)
