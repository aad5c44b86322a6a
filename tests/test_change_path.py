"""The per-change path's fast readers (issue 19) against the readers they replaced.

``_old_*`` below are the parsers as they were before the poller stopped building result
objects (GetEvents, the AI types loop), kept here verbatim as the reference: the fast readers
must give the same findings - or raise the same error type with the same message - for
firmware's replies and for varied, hostile ones (a few thousand random shapes per run, from a
fixed seed, so a failure is repeatable).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Tuple

import pytest

from reolink.errors import ApiError, RemoteProtocolError
from reolink.protocol import parsers
from reolink.protocol._coerce import channel_echo, int_or_none
from reolink.protocol.codes import printable
from reolink.protocol.results import CommandReply

# --- the reference: the readers as they were ---------------------------------------------------


def _old_flag(value: object, what: str, default: bool = False) -> bool:
    if type(value) is int:
        return value != 0
    number = int_or_none(value, what)
    return default if number is None else number != 0


def _old_obj(parent: Any, key: str, cmd: str, *, required: bool = True) -> Any:
    value = parent.get(key)
    if type(value) is dict or isinstance(value, Mapping):
        return value
    if value is None and not required:
        return {}
    what = "missing" if value is None else f"a {type(value).__name__}, not an object"
    raise RemoteProtocolError(f"{cmd}: {key} is {what}")


def _old_what(cmd: str, key: str, field: str) -> str:
    return f"{cmd} {printable(key, 40)}{field}"


def _old_ai_types(value: Any, cmd: str) -> Tuple[frozenset, frozenset]:  # type: ignore[type-arg]
    detected: set = set()  # type: ignore[type-arg]
    supported: set = set()  # type: ignore[type-arg]
    for key, entry in value.items():
        if not isinstance(key, str) or key == "channel" or not key.strip():
            continue
        if type(entry) is dict or isinstance(entry, Mapping):
            name = parsers.normalize_ai_type(key)
            support = entry.get("support")
            if support is None or (
                support != 0
                if type(support) is int
                else _old_flag(support, _old_what(cmd, key, ".support"))
            ):
                supported.add(name)
                alarm = entry.get("alarm_state")
                if (
                    alarm != 0
                    if type(alarm) is int
                    else _old_flag(alarm, _old_what(cmd, key, ".alarm_state"))
                ):
                    detected.add(name)
        elif key.endswith("_state") and len(key) > len("_state"):
            name = parsers.normalize_ai_type(key[: -len("_state")])
            supported.add(name)
            if entry != 0 if type(entry) is int else _old_flag(entry, _old_what(cmd, key, "")):
                detected.add(name)
    return frozenset(detected), frozenset(supported)


def _old_parse_events(reply: Any, channel: int) -> Tuple[Any, ...]:
    """The old parse_events, returning its EventsState's fields as a tuple."""
    if isinstance(reply, CommandReply) and reply.error is not None:
        raise reply.error
    value = reply.value if isinstance(reply, CommandReply) else reply
    value = {} if value is None else value
    channel_echo(value, channel, "GetEvents")
    detected, supported = _old_ai_types(
        _old_obj(value, "ai", "GetEvents", required=False), "GetEvents ai"
    )
    md = _old_obj(value, "md", "GetEvents", required=False)
    visitor = _old_obj(value, "visitor", "GetEvents", required=False)
    md_supported = _old_flag(md.get("support"), "GetEvents md.support", default=bool(md))
    visitor_supported = _old_flag(visitor.get("support"), "GetEvents visitor.support")
    motion = md_supported and _old_flag(md.get("alarm_state"), "GetEvents md.alarm_state")
    ringing = _old_flag(visitor.get("alarm_state"), "GetEvents visitor.alarm_state") and _old_flag(
        visitor.get("support"), "GetEvents visitor.support", default=True
    )
    return (channel, motion, md_supported, detected, supported, ringing, visitor_supported)


# --- random replies, most of them broken somewhere --------------------------------------------

_SCALARS: List[Any] = [0, 1, 2, -1, "0", "1", " 1 ", "", "on", "1e3", True, False, None, 1.0,
                       1.5, float("inf"), [], [1], {}, "9" * 30]
_TYPE_KEYS = ["people", "vehicle", "dog_cat", "dogCat", "face", "package", "other", "Person",
              "car", "pet", " ", "", "channel", "people_state", "vehicle_state", "_state",
              "x" * 60, "bad\x00key", "ai"]


def _flag_value(rng: random.Random) -> Any:
    return rng.choice([0, 1, 0, 1, 0, 1, *_SCALARS]) if rng.random() < 0.9 else rng.choice(
        _SCALARS
    )


def _ai_value(rng: random.Random) -> Any:
    out: Dict[Any, Any] = {}
    for key in rng.sample(_TYPE_KEYS, rng.randint(0, 6)):
        shape = rng.random()
        if shape < 0.6:
            entry = {}
            if rng.random() < 0.9:
                entry["alarm_state"] = _flag_value(rng)
            if rng.random() < 0.85:
                entry["support"] = _flag_value(rng)
            out[key] = entry
        elif shape < 0.8:
            out[key] = _flag_value(rng)
        else:
            out[key] = rng.choice([[{"alarm_state": 1}], "x", None, 3])
    if rng.random() < 0.5:
        out["channel"] = rng.choice([0, 0, 0, 1, "0", "1", None, "x", True, 0.0])
    if rng.random() < 0.05:
        out[5] = {"alarm_state": 1, "support": 1}
    return out


def _events_value(rng: random.Random) -> Any:
    value: Dict[str, Any] = {}
    if rng.random() < 0.8:
        value["channel"] = rng.choice([0, 0, 0, 1, "0", " 0", "x", None, True, False, 0.0, 2.5])
    for name in ("ai", "md", "visitor"):
        roll = rng.random()
        if roll < 0.75:
            if name == "ai":
                value[name] = _ai_value(rng)
            else:
                block = {}
                for field in ("alarm_state", "support"):
                    if rng.random() < 0.85:
                        block[field] = _flag_value(rng)
                value[name] = block
        elif roll < 0.85:
            value[name] = rng.choice(_SCALARS)
    return value


def _outcome(read: Callable[..., Any], *args: Any) -> Any:
    try:
        return ("ok", read(*args))
    except (RemoteProtocolError, ApiError) as error:
        return (type(error).__name__, str(error))


def _reply(value: Any) -> CommandReply:
    return CommandReply(cmd="GetEvents", value=value)


def test_random_replies_cover_both_outcomes() -> None:
    """The generator below is worth running: it makes accepted and rejected replies."""
    rng = random.Random(19)
    kinds = {_outcome(_old_parse_events, _reply(_events_value(rng)), 0)[0] for _ in range(500)}
    assert {"ok", "RemoteProtocolError"} <= kinds


@pytest.mark.parametrize("seed", range(4))
def test_events_findings_is_the_old_parse_events(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(1500):
        value = _events_value(rng)
        channel = rng.choice([0, 0, 1])
        old = _outcome(_old_parse_events, _reply(value), channel)
        new = _outcome(parsers.parse_events, _reply(value), channel)
        fast = _outcome(parsers.events_findings, _reply(value), channel)
        if old[0] != "ok":
            assert new == old, value
            assert fast == old, value
            continue
        _, motion, _, detected, _, ringing, visitor_supported = old[1]
        events = new[1]
        assert (events.channel, events.motion, events.motion_supported, events.ai.detected,
                events.ai.supported, events.visitor, events.visitor_supported) == old[1], value
        assert fast[1] == (motion, detected, ringing if visitor_supported else None), value


@pytest.mark.parametrize("seed", range(4))
def test_ai_state_types_is_the_old_loop(seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(1500):
        value = _ai_value(rng)
        old = _outcome(_old_ai_types, value, "GetAiState")
        assert _outcome(parsers.ai_state_types, _reply(value)) == old, value
        parsed = _outcome(parsers.parse_ai_state, _reply(value), 0)
        if old[0] == "ok":
            assert (parsed[1].detected, parsed[1].supported) == old[1]
        else:
            assert parsed == old


def test_events_findings_raises_the_reply_error() -> None:
    error = ApiError("GetEvents: not support", cmd="GetEvents", rsp_code=-9)
    with pytest.raises(ApiError) as caught:
        parsers.events_findings(CommandReply(cmd="GetEvents", error=error), 0)
    assert caught.value is error


def test_ai_type_names_seen_stay_bounded() -> None:
    """A device naming a new type key in every reply cannot grow the names memo forever."""
    for index in range(600):
        parsers.ai_state_types(_reply({f"kind{index}": {"alarm_state": 1, "support": 1}}))
    assert len(parsers._AI_NAMES) <= 256
    detected, _ = parsers.ai_state_types(_reply({"kind599": {"alarm_state": 1}}))
    assert detected == frozenset({"kind599"})



# --- the store's shortcuts ---------------------------------------------------------------------


def test_update_after_a_change_still_records_every_value() -> None:
    """update() stops looking up latest values once one changed: the later ones are still
    written, reported when they differ, and in first-write order."""
    from reolink.driver.store import AttributeStore

    store = AttributeStore("dev")
    store.update("zone", "0", [("online", True), ("motion", 0), ("state", "clear")])
    store.commit()
    store.update("zone", "0", [("motion", 1), ("online", True), ("state", "motion")])
    store.set("zone", "0", "online", False)
    assert store.get("zone", "0", "state") == "motion"
    events = [(e.name, e.value, e.previous) for e in store.commit()]
    assert events == [("motion", 1, 0), ("online", False, True), ("state", "motion", "clear")]


def test_derived_each_is_derived_for_each() -> None:
    from reolink.driver.store import AttributeStore

    store = AttributeStore("dev")
    store.set("zone", "0", "motion", 1)
    store.set("zone", "1", "motion", 1)
    one, both = [("zone", "0")], [("zone", "0"), ("zone", "1")]
    store.derived_each([("a", {"v": 1}, one), ("b", {"v": 2}, both)])
    assert store.unchanged("a", {"v": 1}, one) and store.unchanged("b", {"v": 2}, both)
    assert not store.unchanged("a", {"v": 2}, one)
    store.set("zone", "1", "motion", 0)  # another writer changes a scope "b" covered
    assert store.unchanged("a", {"v": 1}, one)
    assert not store.unchanged("b", {"v": 2}, both)
