"""reolink.protocol.setup: the detection-setup reads, replayed from the digest's shapes.

Every recorded reply (tests/data/setup/*.json, the shapes of detection-setup.md) is fed
whole (the conclusion it supports), changed into the "off" state a user can set (the finding),
and mangled - every key dropped, every leaf replaced by junk, error replies, truncated bodies -
where the rule is: no finding that the whole reply did not have, and no exception.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple

import pytest
from conftest import channel_of, examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reolink.errors import RemoteProtocolError
from reolink.protocol import decode_batch, parse_ability
from reolink.protocol.batch import MAX_BATCH, chunk
from reolink.protocol.commands import build_get_events
from reolink.protocol.results import Ability, CommandReply
from reolink.protocol.setup import (
    SetupContext,
    SetupJudge,
    SetupReport,
    build_get_ai_alarm,
    build_get_ai_cfg,
    build_get_alarm,
    build_get_md_alarm,
    build_get_pir_info,
    build_get_push_cfg,
    judge_setup,
    parse_push_schedule,
    plan_setup,
    setup_parts,
)
from reolink.protocol.webhook import build_get_push, build_get_push_v20

#: The digest's shapes, one file per command (apart from tests/data/replies, whose every file
#: has a parser in tests/test_protocol_parsers.py).
REPLIES = Path(__file__).parent / "data" / "setup"
Command = Dict[str, Any]

#: recorded reply -> the command that asked for it
RECORDED: Dict[str, Command] = {
    "setup_getalarm_1602.json": build_get_alarm(0),
    "setup_getmdalarm.json": build_get_md_alarm(0),
    "setup_getaialarm_people.json": build_get_ai_alarm(0, "people"),
    "setup_getaicfg.json": build_get_ai_cfg(0),
    "setup_getpirinfo.json": build_get_pir_info(0),
    "setup_getevents_doorbell.json": build_get_events(0),
    "setup_getpushv20_off.json": build_get_push_v20(0),
    "setup_getpushv20_new.json": build_get_push_v20(0),
    "setup_getpush_legacy.json": build_get_push(0),
    "setup_getpushcfg.json": build_get_push_cfg(),
}
#: what a healthy doorbell's GetEvents says it supports (the context of the AI checks)
EVENTS = "setup_getevents_doorbell.json"


def entries(name: str) -> List[Any]:
    result: List[Any] = json.loads((REPLIES / name).read_text())
    return result


def body(entry_list: List[Any]) -> bytes:
    return json.dumps(entry_list).encode()


def context(**kwargs: Any) -> SetupContext:
    defaults: Dict[str, Any] = {"channels": (0,), "ai_types": {0: None}, "status_interval": 2.0}
    defaults.update(kwargs)
    return SetupContext(**defaults)


def judge(
    pairs: Sequence[Tuple[Command, List[Any]]], ctx: Optional[SetupContext] = None
) -> SetupReport:
    """Judge (command, reply entries) pairs sent as one batch."""
    batch = [command for command, _ in pairs]
    replies = decode_batch(body([e for _, es in pairs for e in es]), batch)
    return judge_setup(ctx or context(), batch, replies)


def codes(report: SetupReport) -> List[str]:
    return sorted(f.code for f in report.findings)


def recorded(name: str) -> Tuple[Command, List[Any]]:
    return RECORDED[name], entries(name)


def with_events(name: str, change: Optional[Callable[[Dict[str, Any]], None]] = None,
                **kwargs: Any) -> SetupReport:
    """Judge a recorded reply next to the doorbell's GetEvents (what the channel supports)."""
    command, reply = recorded(name)
    if change is not None:
        change(reply[0]["value"])
    return judge([recorded(EVENTS), (command, reply)], context(**kwargs))


# --- builders ------------------------------------------------------------------------------


def test_builders_send_the_digest_shapes() -> None:
    assert build_get_alarm(2) == {
        "cmd": "GetAlarm", "action": 0, "param": {"Alarm": {"channel": 2, "type": "md"}}
    }
    assert build_get_md_alarm(1)["param"] == {"channel": 1}
    assert build_get_ai_alarm(0, "dog_cat")["param"] == {"channel": 0, "ai_type": "dog_cat"}
    assert build_get_pir_info(3)["cmd"] == "GetPirInfo"
    assert build_get_ai_cfg(0)["cmd"] == "GetAiCfg"
    assert build_get_push_cfg() == {"cmd": "GetPushCfg", "action": 0, "param": {}}


def _ability(channel_leaves: Dict[str, int], **features: int) -> Ability:
    leaf = {key: {"permit": 7, "ver": ver} for key, ver in channel_leaves.items()}
    glob = {key: {"permit": 7, "ver": ver} for key, ver in features.items()}
    return parse_ability(
        CommandReply(cmd="GetAbility", value={"Ability": {**glob, "abilityChn": [leaf]}})
    )


def test_plan_asks_both_generations_first_and_gates_pir_and_ai_areas_on_abilities() -> None:
    camera = _ability({"supportAi": 1, "supportAiPeople": 1, "supportAiVehicle": 1,
                       "supportAiSensitivity": 1})
    names = [c["cmd"] for c in plan_setup(context(ability=camera))]
    assert names == ["GetEvents", "GetMdAlarm", "GetAlarm", "GetAiCfg", "GetAiAlarm",
                     "GetAiAlarm", "GetPushV20", "GetPush", "GetPushCfg"]
    battery = _ability({"battery": 1, "mdWithPir": 1})
    assert "GetPirInfo" in [c["cmd"] for c in plan_setup(context(ability=battery))]
    # No supportAiSensitivity: no AI area read; the zone's ai_types limit the areas read.
    plain = _ability({"supportAi": 1, "supportAiPeople": 1})
    assert "GetAiAlarm" not in [c["cmd"] for c in plan_setup(context(ability=plain))]
    only = plan_setup(context(ability=camera, ai_types={0: frozenset({"vehicle"})}))
    assert [c["param"]["ai_type"] for c in only if c["cmd"] == "GetAiAlarm"] == ["vehicle"]


def test_probe_once_keep_what_answers() -> None:
    """GetMdAlarm answered: GetAlarm is left out next time; GetPushV20 -9: it is left out."""
    not_support = [{"cmd": "GetPushV20", "code": 1,
                    "error": {"detail": "not support", "rspCode": -9}}]
    report = judge([recorded("setup_getmdalarm.json"), (build_get_push_v20(0), not_support)])
    assert report.unsupported == {("GetAlarm", 0), ("GetPushV20", 0)}
    later = [c["cmd"] for c in plan_setup(context(skip=report.unsupported))]
    assert "GetAlarm" not in later and "GetPushV20" not in later and "GetPush" in later
    gone = [c["cmd"] for c in plan_setup(context(skip={("GetEvents", 0)}))]
    assert gone[0] == "GetMdState"  # state polling still checked without GetEvents


# --- whole replies: what they support -----------------------------------------------------------


def test_recorded_replies_of_a_healthy_device_give_no_finding() -> None:
    pairs = [recorded(n) for n in RECORDED if n != "setup_getpushv20_off.json"]
    report = judge(pairs, context(status_interval=2.0))
    assert codes(report) == []
    fine = {what for _, what in report.fine}
    assert {"motion detection area is set", "PIR sensor is on", "push is switched on",
            "people detection area is set", "AI detection switches are on"} <= fine


def test_legacy_getalarm_enable_is_never_read_as_a_switch() -> None:
    for enable in (1602, 0, 1, "off", None):
        command, reply = recorded("setup_getalarm_1602.json")
        reply[0]["value"]["Alarm"]["enable"] = enable
        assert codes(judge([(command, reply)])) == []


@pytest.mark.parametrize("name", ["setup_getalarm_1602.json", "setup_getmdalarm.json"])
def test_empty_motion_area_is_a_finding(name: str) -> None:
    command, reply = recorded(name)
    scope = next(iter(reply[0]["value"].values()))["scope"]
    scope["table"] = "0" * len(scope["table"])
    report = judge([(command, reply)])
    assert codes(report) == ["motion_area_empty"]
    assert report.zone_text(0) == (
        "motion area is empty: draw a detection area in the Reolink app "
        "(Detection > Motion > Zone)"
    )
    assert report.device_text() == ""


def test_pir_off_is_a_finding_and_a_vestigial_value_is_not() -> None:
    command, reply = recorded("setup_getpirinfo.json")
    reply[0]["value"]["pirInfo"]["enable"] = 0
    assert codes(judge([(command, reply)])) == ["pir_off"]
    reply[0]["value"]["pirInfo"]["enable"] = 1602
    report = judge([(command, reply)])
    assert codes(report) == [] and [u.what for u in report.unknowns] == ["PIR sensor switch"]


def test_ai_types_the_channel_cannot_detect_name_the_ones_it_can() -> None:
    report = judge([recorded(EVENTS)], context(ai_types={0: frozenset({"face", "people"})}))
    assert codes(report) == ["ai_type_unsupported"]
    assert report.zone_text(0).startswith(
        "ai_types asks for face, which this channel cannot detect (it can: people, vehicle, "
        "package)"
    )
    # From the abilities alone (no GetEvents): supportAiFace ver 0.
    ability = _ability({"supportAiPeople": 1, "supportAiFace": 0})
    alone = judge([], context(ability=ability, ai_types={0: frozenset({"face"})}))
    assert codes(alone) == ["ai_type_unsupported"]
    # An ability key that is absent proves nothing.
    silent = judge([], context(ability=_ability({}), ai_types={0: frozenset({"face"})}))
    assert codes(silent) == []


def test_ai_switch_off_counts_only_for_supported_types() -> None:
    def people_off(value: Dict[str, Any]) -> None:
        value["AiDetectType"]["people"] = 0

    assert codes(with_events("setup_getaicfg.json", people_off)) == ["ai_type_off"]
    # face is 0 in the recording, and not supported: nothing to say.
    assert codes(with_events("setup_getaicfg.json")) == []
    # people off, but the zone only wants vehicle: nothing to say.
    assert codes(with_events("setup_getaicfg.json", people_off,
                             ai_types={0: frozenset({"vehicle"})})) == []


def test_empty_ai_area_is_a_finding() -> None:
    def empty(value: Dict[str, Any]) -> None:
        value["AiAlarm"]["scope"]["area"] = "0" * 4800

    report = with_events("setup_getaialarm_people.json", empty)
    assert codes(report) == ["ai_area_empty_people"]
    assert "people detection area is empty" in report.zone_text(0)


def test_push_off_is_a_device_finding_that_does_not_block_events() -> None:
    report = judge([recorded("setup_getpushv20_off.json")])
    assert codes(report) == ["push_off"]
    (finding,) = report.findings
    assert finding.channel is None and not finding.blocks_events
    assert report.zone_text(0) == "" and report.device_text().startswith("push is switched off")


def test_push_schedule_switch_and_rows() -> None:
    command, reply = recorded("setup_getpushv20_new.json")
    reply[0]["value"]["Push"]["scheduleEnable"] = 0
    assert codes(judge([(command, reply)])) == ["push_schedule_off"]
    command, reply = recorded("setup_getpushv20_new.json")
    reply[0]["value"]["Push"]["schedule"]["table"]["MD"] = "0" * 168
    report = judge([(command, reply)])
    assert codes(report) == ["push_schedule_empty"] and "for MD" in report.zone_text(0)
    # AI_OTHER and TIMING are all zeros in the recording: rows nobody asked about.
    assert codes(judge([recorded("setup_getpushv20_new.json")])) == []


def test_legacy_push_one_table() -> None:
    command, reply = recorded("setup_getpush_legacy.json")
    reply[0]["value"]["Push"]["schedule"]["table"] = "0" * 168
    assert codes(judge([(command, reply)])) == ["push_schedule_empty"]
    reply[0]["value"]["Push"]["schedule"]["enable"] = 0
    assert codes(judge([(command, reply)])) == ["push_off", "push_schedule_empty"]
    schedule = parse_push_schedule(decode_batch(body(reply), [command])[0])
    assert schedule.enable is False and schedule.rows == {"": False}


def test_host_wide_push_switch() -> None:
    command, reply = recorded("setup_getpushcfg.json")
    reply[0]["value"]["PushCfg"]["enable"] = 0
    assert codes(judge([(command, reply)])) == ["push_off"]


def test_rules_the_api_cannot_read() -> None:
    report = judge([], context(ability=_ability({}, supportIfttt=1)))
    assert codes(report) == ["rules_unreadable"]
    assert "were not checked" in report.device_text()


def test_doorbell_presses_can_be_missed_with_slow_polling_without_push() -> None:
    slow = judge([recorded(EVENTS)], context(status_interval=5.0))
    assert codes(slow) == ["visitor_missable"] and slow.doorbells == {0}
    assert "5000 ms" in slow.zone_text(0)
    assert codes(judge([recorded(EVENTS)], context(status_interval=4.0))) == []
    assert codes(judge([recorded(EVENTS)], context(status_interval=5.0, push_active=True))) == []


def test_doorbell_without_getevents_cannot_be_polled() -> None:
    unknown = [{"cmd": "Unknown", "code": 1, "error": {"detail": "not support", "rspCode": -9}}]
    report = judge([(build_get_events(0), unknown)], context(model="Reolink Video Doorbell PoE"))
    assert codes(report) == ["visitor_not_pollable"]
    bell = judge([(build_get_events(0), unknown)], context(model="D340P", device_type="BELL"))
    assert codes(bell) == ["visitor_not_pollable"]  # GetDevInfo type BELL (v3.0.0.2555)
    # Not a doorbell by model: a camera without GetEvents is fine (GetMdState polls it).
    assert codes(judge([(build_get_events(0), unknown)], context(model="RLC-811A"))) == []
    # A VISITOR push row says doorbell too.
    rows = recorded("setup_getpushv20_new.json")
    assert codes(judge([(build_get_events(0), unknown), rows])) == ["visitor_not_pollable"]


def test_state_polling_check_err_is_a_finding() -> None:
    check_err = [{"cmd": "GetEvents", "code": 1, "error": {"detail": "check err", "rspCode": -3}}]
    report = judge([(build_get_events(0), check_err)])
    assert codes(report) == ["state_unreadable"]
    assert "cannot report motion for channel 0" in report.zone_text(0)


# --- mangled: unknown shape -> no finding -------------------------------------------------------

_JUNK: Tuple[Any, ...] = (None, "on", [], {}, 1602, "", 2.5, True, -1, "x" * 5000)


def _paths(node: Any, path: Tuple[Any, ...] = ()) -> Iterator[Tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield (*path, key)
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield (*path, index)
            yield from _paths(child, (*path, index))


def _mutations(value: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    """The value with each key dropped, and each node replaced by each junk value."""
    for path in _paths(value):
        parent_path, last = path[:-1], path[-1]
        dropped = copy.deepcopy(value)
        parent: Any = dropped
        for step in parent_path:
            parent = parent[step]
        if isinstance(parent, dict):
            del parent[last]
            yield dropped
        for junk in _JUNK:
            changed = copy.deepcopy(value)
            parent = changed
            for step in parent_path:
                parent = parent[step]
            parent[last] = junk
            yield changed
    for junk in _JUNK:
        yield {"junk": junk}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_mangled_replies_never_conclude_more_than_the_whole_one(name: str) -> None:
    command, reply = recorded(name)
    whole = set(codes(judge([recorded(EVENTS), (command, reply)])))
    tried = 0
    for value in _mutations(reply[0]["value"]):
        mangled = [{"cmd": reply[0]["cmd"], "code": 0, "value": value}]
        report = judge([recorded(EVENTS), (command, mangled)])
        assert set(codes(report)) <= whole, (name, value)
        tried += 1
    assert tried > 20


@pytest.mark.parametrize("name", sorted(RECORDED))
@pytest.mark.parametrize(
    "error",
    [
        {"detail": "not support", "rspCode": -9},
        {"detail": "not support", "rspcode": -9},
        {"detail": "rcv failed", "rspCode": -17},
        {"detail": "get config failed", "rspCode": -12},
        {"detail": "not exist", "rspCode": -1},
    ],
)
def test_error_replies_give_no_finding(name: str, error: Dict[str, Any]) -> None:
    command, _ = recorded(name)
    report = judge([(command, [{"cmd": command["cmd"], "code": 1, "error": error}])])
    assert codes(report) == []


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_truncated_bodies_never_decode_into_a_reply(name: str) -> None:
    raw = (REPLIES / name).read_bytes()
    command = RECORDED[name]
    for cut in range(1, len(raw) - 3, max(1, len(raw) // 40)):
        with pytest.raises(RemoteProtocolError):
            decode_batch(raw[:cut], [command])


def test_a_shorter_batch_answer_concludes_about_what_was_answered_only() -> None:
    batch = [build_get_md_alarm(0), build_get_pir_info(0)]
    replies = decode_batch(body(entries("setup_getmdalarm.json")), batch[:1])
    report = judge_setup(context(), batch, replies)  # zip: the PIR read had no answer
    assert codes(report) == [] and report.fine == ((0, "motion detection area is set"),)


# --- one request per channel, judged as it comes ------------------------------------------


def _nvr_read(
    skip: Sequence[Tuple[str, Optional[int]]] = (),
) -> Tuple[SetupContext, List[Command], List[CommandReply]]:
    """An 8-channel NVR (the emulator, in-process) with a finding on most channels, its
    setup plan and the replies to the whole plan in one batch."""
    from reolink.emulator import Emulator

    emu = Emulator(profile="nvr", channels=8)
    emu.set_motion_area(1, False)
    emu.set_ai_area(2, "people", False)
    emu.set_ai_detection(3, "vehicle", False)
    emu.set_push(False, channel=5)
    emu.set_push(False)
    login = [{"cmd": "Login", "action": 0,
              "param": {"User": {"userName": "admin", "password": "admin123"}}}]
    _s, _h, raw = emu.app("POST", "/cgi-bin/api.cgi?cmd=Login&token=null", {}, body(login))
    token = json.loads(raw)[0]["value"]["Token"]["name"]
    target = f"/cgi-bin/api.cgi?token={token}"

    def post(batch: List[Command]) -> List[CommandReply]:
        replies: List[CommandReply] = []
        for part in chunk(batch):  # the device refuses more than MAX_BATCH at once
            _st, _hd, answer = emu.app("POST", target, {}, body(part))
            replies += decode_batch(answer, part)
        return replies

    ability_command = {"cmd": "GetAbility", "action": 0, "param": {"User": {"userName": ""}}}
    ability = parse_ability(post([ability_command])[0])
    channels = tuple(range(8))
    # A zone asking for a type its channel cannot detect is a finding with no reply at all.
    ai_types: Dict[int, Optional[FrozenSet[str]]] = {c: None for c in channels}
    ai_types[4] = frozenset({"people", "face"})
    ctx = context(channels=channels, ai_types=ai_types, ability=ability, model="RLN8-410",
                  skip=frozenset(skip))
    batch = plan_setup(ctx)
    return ctx, batch, post(batch)


def test_setup_parts_hold_one_channel_each_and_the_device_wide_reads_with_the_last() -> None:
    ctx, batch, _ = _nvr_read()
    parts = setup_parts(batch)
    assert [c for part in parts for c in part] == batch  # nothing lost, nothing reordered
    channels = [{channel_of(c) for c in part} - {None} for part in parts]
    assert channels == [{c} for c in ctx.channels]
    device_wide = [i for i, part in enumerate(parts) for c in part if channel_of(c) is None]
    assert device_wide and set(device_wide) == {len(parts) - 1}
    assert all(len(part) <= MAX_BATCH for part in parts)
    assert setup_parts([]) == []


@pytest.mark.parametrize("skip", [(), (("GetEvents", 4), ("GetMdAlarm", 4), ("GetAlarm", 4),
                                        ("GetAiCfg", 4), ("GetAiAlarm", 4), ("GetPushV20", 4),
                                        ("GetPush", 4), ("GetMdState", 4))])
def test_judging_part_by_part_concludes_exactly_what_judging_at_once_does(
    skip: Sequence[Tuple[str, Optional[int]]],
) -> None:
    # With skip, channel 4 is asked nothing at all: it is still judged, in its place.
    ctx, batch, replies = _nvr_read(skip)
    at_once = judge_setup(ctx, batch, replies)
    assert {(f.code, f.channel) for f in at_once.findings} >= {
        ("motion_area_empty", 1), ("ai_area_empty_people", 2), ("ai_type_off", 3),
        ("ai_type_unsupported", 4), ("push_off", None),
    }
    judge = SetupJudge(ctx)
    start = 0
    for part in setup_parts(batch):
        judge.add(part, replies[start:start + len(part)])
        start += len(part)
    assert judge.report() == at_once


def test_a_channel_judged_already_is_refused_in_a_later_part() -> None:
    ctx, batch, replies = _nvr_read()
    parts = setup_parts(batch)
    judge = SetupJudge(ctx)
    judge.add(parts[1], replies[len(parts[0]):len(parts[0]) + len(parts[1])])
    with pytest.raises(ValueError, match="channel 0 after that channel was judged"):
        judge.add(parts[0], replies[: len(parts[0])])


# --- fuzz: never raises, whatever the device sends -----------------------------------------

_FUZZ_KEYS = st.sampled_from([
    "Alarm", "MdAlarm", "scope", "table", "cols", "rows", "enable", "pirInfo", "AiDetectType",
    "people", "face", "AiAlarm", "ai_type", "area", "ai", "md", "visitor", "support", "Push",
    "scheduleEnable", "schedule", "MD", "VISITOR", "PushCfg", "channel",
]) | st.text(max_size=5)
_FUZZ_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 1700) | st.text(alphabet="01x", max_size=12)
    | st.sampled_from(["0", "1", "1" * 168, "0" * 168, "0" * 4800]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_FUZZ_KEYS, children,
                                                                      max_size=4),
    max_leaves=20,
)


@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_FUZZ_VALUES)
def test_judge_never_raises_on_any_reply_value(value: Any) -> None:
    batch = [command for command in RECORDED.values()]
    replies = [CommandReply(cmd=str(c["cmd"]), value=value if isinstance(value, dict) else None)
               for c in batch]
    ability = _ability({"supportAiPeople": 0, "mdWithPir": 1, "supportIfttt": 1})
    report = judge_setup(context(ability=ability, ai_types={0: frozenset({"people"})}), batch,
                         replies)
    assert all(f.code for f in report.findings)
