"""An :class:`~reolink.protocol.setup.Unknown` names the command it could not read as a field
(``cmd``), so readers such as ``reolink doctor`` never match the words of ``what``."""

from __future__ import annotations

import json
from typing import Any, List

import pytest

from reolink.protocol import decode_batch
from reolink.protocol.commands import build_get_events
from reolink.protocol.setup import SetupContext, judge_setup


def _judge_events(entry: Any) -> List[Any]:
    batch = [build_get_events(0)]
    reply = [{"cmd": "GetEvents", **entry}]
    replies = decode_batch(json.dumps(reply).encode(), batch)
    context = SetupContext(channels=(0,), ai_types={0: None}, status_interval=2.0)
    return list(judge_setup(context, batch, replies).unknowns)


@pytest.mark.parametrize(
    "rsp", [(-12, "rcv failed"), (-17, "rcv failed"), (-4, "param error")]
)
def test_an_unreadable_getevents_is_an_unknown_naming_its_command(rsp: Any) -> None:
    code, detail = rsp
    unknowns = _judge_events({"code": 1, "error": {"rspCode": code, "detail": detail}})
    assert [(u.cmd, u.channel) for u in unknowns] == [("GetEvents", 0)]


def test_a_readable_getevents_is_no_unknown() -> None:
    assert _judge_events({"code": 0, "value": {"md": {"support": 1, "alarm_state": 0}}}) == []
