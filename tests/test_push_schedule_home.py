"""The push schedule is read in one home, :func:`reolink.protocol.pushschedule.read_push`.

The push code's ``parse_push_schedule`` and the detection-setup findings' ``parse_push_schedule``
(``reolink.protocol.setup``) are two views of one reading; nothing else reads a schedule table.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Dict, List

import pytest

import reolink.protocol._setup_read as setup_read
from reolink.protocol import pushschedule, setup
from reolink.protocol.results import CommandReply

ROOT = Path(__file__).resolve().parent.parent
DAY_8_TO_9 = ("0" * 8 + "11" + "0" * 14) * 7


def _reply(cmd: str, push: Dict[str, Any]) -> CommandReply:
    return CommandReply(cmd=cmd, value={"Push": push})


REPLIES = [
    _reply("GetPushV20", {"enable": 1, "scheduleEnable": 0, "schedule": {"table": {
        "MD": DAY_8_TO_9, "AI_PEOPLE": "0" * 168, "VISITOR": "1" * 168, "BAD": "2" * 168}}}),
    _reply("GetPushV20", {"enable": "1", "scheduleEnable": 1602, "schedule": {"table": {}}}),
    _reply("GetPushV20", {"enable": True, "schedule": "none"}),
    _reply("GetPush", {"schedule": {"enable": 0, "table": "0" * 168}}),
    _reply("GetPush", {"schedule": {"enable": 1, "table": DAY_8_TO_9}}),
    _reply("GetPush", {"schedule": {"table": "01"}}),
    CommandReply(cmd="GetPushV20", value=None),
]


@pytest.mark.parametrize("reply", REPLIES)
def test_both_views_come_from_one_reading(
    reply: CommandReply, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: List[str] = []
    real = pushschedule.read_push

    def spy(r: Any, cmd: str = "GetPushV20") -> pushschedule.PushSettings:
        read.append(cmd)
        return real(r, cmd)

    monkeypatch.setattr(pushschedule, "read_push", spy)
    monkeypatch.setattr(setup_read, "read_push", spy)
    hours = pushschedule.parse_push_schedule(reply, reply.cmd)
    found = setup.parse_push_schedule(reply)
    assert read == [reply.cmd, reply.cmd]
    settings = real(reply, reply.cmd)
    assert hours == settings.schedule
    assert (found.enable, found.schedule_enable) == (settings.enable, settings.schedule_enable)
    assert found.rows == settings.rows_on


def test_what_the_reading_says() -> None:
    first = pushschedule.read_push(REPLIES[0])
    assert (first.enable, first.schedule_enable) == (True, False)
    assert set(first.tables) == {"MD", "AI_PEOPLE", "VISITOR"}  # "BAD" is not 0/1
    assert first.schedule.hours == frozenset({8, 9})
    assert pushschedule.read_push(REPLIES[1]).schedule_enable is None  # 1602 is no switch
    legacy = pushschedule.read_push(REPLIES[3], "GetPush")
    assert legacy.enable is False and legacy.rows_on == {"": False} and legacy.schedule.off


@pytest.mark.parametrize(
    "path", ["reolink/protocol/_setup_read.py", "reolink/protocol/setup.py"]
)
def test_no_other_module_reads_a_schedule_table(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    keys = {
        node.value
        for node in ast.walk(tree)
        # ("table" is also a motion area's key: the Push object's own keys say it.)
        if isinstance(node, ast.Constant) and node.value in ("Push", "scheduleEnable")
    }
    assert keys == set()
