"""Hypothesis: every parser returns or raises RemoteProtocolError / ApiError, nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reolink.errors import ApiError, RemoteProtocolError
from reolink.protocol import (
    CommandReply,
    build_get_md_state,
    decode_batch,
    decode_reply,
    load_json,
    parse_ability,
    parse_ai_state,
    parse_channel_status,
    parse_dev_info,
    parse_events,
    parse_login,
    parse_md_state,
    parse_ok,
    parse_ptz_presets,
    parse_snap,
    parse_white_led,
)

REPLIES = Path(__file__).parent / "data" / "replies"
BATCH = [build_get_md_state(0), build_get_md_state(1)]

PARSERS: list[Callable[[bytes], object]] = [
    parse_login,
    parse_ok,
    parse_dev_info,
    parse_channel_status,
    parse_ability,
    lambda b: parse_md_state(b, 0),
    lambda b: parse_ai_state(b, 0),
    lambda b: parse_events(b, 0),
    lambda b: parse_ptz_presets(b, 0),
    lambda b: parse_white_led(b, 0),
    lambda b: decode_batch(b, BATCH),
    lambda b: decode_reply(b, "GetX"),
    lambda b: parse_snap(200, "text/html", b, channel=0),
    lambda b: parse_snap(200, "image/jpeg", b, channel=0),
]

ALLOWED = (RemoteProtocolError, ApiError)
FUZZ = settings(
    deadline=None, max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow]
)


def run_all(raw: bytes) -> None:
    for parser in PARSERS:
        try:
            parser(raw)
        except ALLOWED:
            pass


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["0", "1", "", " 7 ", "-9", "1.5"])
)
KEYS = st.sampled_from([
    "cmd", "code", "value", "error", "rspCode", "detail", "Token", "name", "leaseTime", "DevInfo",
    "channelNum", "status", "channel", "online", "Ability", "abilityChn", "ver", "state",
    "people", "dog_cat", "people_state", "alarm_state", "support", "ai", "md", "visitor",
    "PtzPreset", "enable", "id", "range", "WhiteLed", "bright", "mode", "auth_warning_info",
    "remain_times", "unlock_time", "count", "ptzType", "supportAiPeople",
]) | st.text(max_size=6)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)
entries = st.fixed_dictionaries(
    {"cmd": st.sampled_from(["Login", "GetMdState", "Unknown"]), "code": st.sampled_from([0, 1])},
    optional={"value": json_values, "error": json_values, "range": json_values},
)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    run_all(raw)


@FUZZ
@given(json_values)
def test_arbitrary_json(value: object) -> None:
    run_all(json.dumps(value).encode())


@FUZZ
@given(st.lists(entries, min_size=1, max_size=3))
def test_envelope_shaped_json(value: list[object]) -> None:
    run_all(json.dumps(value, indent="\t", separators=(",", " : ")).encode())


@FUZZ
@given(json_values)
def test_arbitrary_values_in_a_reply(value: object) -> None:
    wrapped = {"Token": value, "DevInfo": value, "Ability": value, "state": value,
               "WhiteLed": value, "PtzPreset": value, "status": value, "ai": value, "md": value}
    for reply in (CommandReply(cmd="GetX", value=wrapped), CommandReply(cmd="GetX", value=value)):  # type: ignore[arg-type]
        for parser in PARSERS[:10]:
            try:
                parser(reply)  # type: ignore[arg-type]
            except ALLOWED:
                pass


@FUZZ
@given(st.data())
def test_recorded_replies_mangled(data: st.DataObject) -> None:
    files = sorted(p for p in REPLIES.iterdir() if p.is_file())
    path = data.draw(st.sampled_from(files))
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    run_all(bytes(raw))


def test_deep_nesting_is_rejected() -> None:
    """No RecursionError and no acceptance (pytest's timeout guards against a hang)."""
    for raw in (b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000):
        for parser in PARSERS:
            try:
                parser(raw)
            except ALLOWED:
                pass
        try:
            load_json(raw)
        except RemoteProtocolError:
            pass
        else:
            raise AssertionError("deep nesting accepted")


def test_huge_numbers_are_protocol_errors() -> None:
    for raw in (b"[" + b"9" * 5000 + b"]", b'[{"cmd":"X","code":0,"value":{"state":1e999}}]'):
        for parser in PARSERS:
            try:
                parser(raw)
            except ALLOWED:
                pass
