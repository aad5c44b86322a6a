"""protocol.webhook: builders, parsers (table-driven and fuzzed), ability flag, slot choice."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reolink.errors import ApiError, ArgumentError, CommandError, RemoteProtocolError
from reolink.protocol import (
    CommandReply,
    WebhookSlot,
    WebhookTable,
    build_free_webhook,
    build_get_push,
    build_get_push_v20,
    build_get_webhook,
    build_set_webhook,
    build_test_webhook,
    choose_slot,
    parse_ability,
    parse_push,
    parse_push_v20,
    parse_webhooks,
    supports_webhook,
)

URL = "http://192.168.1.10:8123/reolink/push/c2VjcmV0LXBhdGgtdGhhdC1pcy1sb25n"
SECRET = "c2VjcmV0LXBhdGgtdGhhdC1pcy1sb25n"


def body(cmd: str, value: Any) -> bytes:
    return json.dumps([{"cmd": cmd, "code": 0, "value": value}]).encode()


def slots(*entries: tuple[int, str]) -> list[dict[str, Any]]:
    return [
        {"index": i, "indexEnable": state, "hookUrl": url, "bCustom": 0, "hookBody": ""}
        for i, (state, url) in enumerate(entries)
    ]


# --- builders -----------------------------------------------------------------------------------


def test_builders_shapes() -> None:
    assert build_get_webhook(2) == {"cmd": "GetWebHook", "action": 0, "param": {"channel": 2}}
    assert build_set_webhook(1, 3, URL)["param"] == {
        "WebHook": {"channel": 1, "index": 3, "indexEnable": 1, "hookUrl": URL, "bCustom": 0,
                    "hookBody": ""}
    }
    assert build_free_webhook(0, 4)["param"] == {
        "WebHook": {"channel": 0, "index": 4, "indexEnable": -1, "hookUrl": "", "bCustom": 0,
                    "hookBody": ""}
    }
    test = build_test_webhook(5, URL)
    assert test["cmd"] == "TestWebHook"
    assert test["param"] == {
        "WebHook": {"alarmChannel": 5, "type": 3, "source": "hook", "hookUrl": URL,
                    "bCustom": 0, "hookBody": ""}
    }
    assert build_get_push_v20(0) == {"cmd": "GetPushV20", "action": 0, "param": {"channel": 0}}
    assert build_get_push(7)["cmd"] == "GetPush"


BAD_URLS = [
    ("https://host/x", "http://"),
    ("ftp://host/x", "http://"),
    ("http://?", "no host"),
    ("http:///path/", "no host"),
    ("http://host/" + "a" * 300 + "/", "at most 255"),
    ("http://host/a b", "printable ASCII"),
    ("http://host/\u00e9", "printable ASCII"),
    ("http://host/a\r\nX: y", "printable ASCII"),
]


@pytest.mark.parametrize(("url", "expected"), BAD_URLS)
@pytest.mark.parametrize(
    "builder", [lambda u: build_set_webhook(0, 0, u), lambda u: build_test_webhook(0, u)]
)
def test_bad_urls_are_refused_without_showing_them(
    builder: Callable[[str], object], url: str, expected: str
) -> None:
    with pytest.raises(ArgumentError, match=expected) as info:
        builder(url + SECRET)
    assert info.value.argument == "url"
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: build_set_webhook(-1, 0, URL), "channel"),
        (lambda: build_set_webhook(0, 64, URL), "index"),
        (lambda: build_free_webhook(0, True), "index"),
        (lambda: build_get_webhook("0"), "channel"),
        (lambda: build_set_webhook(0, 0, None), "url"),
        (lambda: build_get_push_v20(256), "channel"),
    ],
)
def test_bad_arguments_name_the_argument(call: Callable[[], object], argument: str) -> None:
    with pytest.raises(ArgumentError) as info:
        call()
    assert info.value.argument == argument


# --- GetWebHook ---------------------------------------------------------------------------------


def test_parse_webhooks_table() -> None:
    raw = body("GetWebHook", {"WebHook": slots((1, URL), (-1, ""), (0, "http://other/x"))})
    table = parse_webhooks(raw, 0)
    assert [s.index for s in table.slots] == [0, 1, 2]
    assert table.slots[0].enabled and not table.slots[0].free
    assert table.slots[1].free and not table.slots[1].enabled
    assert not table.slots[2].enabled and not table.slots[2].free
    assert table.holding(URL) == table.slots[0]
    assert table.holding("http://nobody/") is None
    assert SECRET not in repr(table)


@pytest.mark.parametrize(
    ("value", "check"),
    [
        # numbers as strings, missing index = position, missing indexEnable = unused
        ({"WebHook": [{"index": "1", "indexEnable": "1", "hookUrl": URL}, {"index": 0}]},
         lambda t: [(s.index, s.state) for s in t.slots] == [(0, -1), (1, 1)]),
        ({"WebHook": [{"indexEnable": 1, "hookUrl": URL}, {}]},
         lambda t: [(s.index, s.state) for s in t.slots] == [(0, 1), (1, -1)]),
        # one object instead of a list
        ({"WebHook": {"index": 2, "indexEnable": 1, "hookUrl": URL}},
         lambda t: t.slots[0].index == 2 and t.slots[0].enabled),
        # sorted by index
        ({"WebHook": [{"index": 3, "indexEnable": -1}, {"index": 0, "indexEnable": -1}]},
         lambda t: [s.index for s in t.slots] == [0, 3]),
        # bCustom kept, null url empty
        ({"WebHook": [{"index": 0, "indexEnable": 0, "hookUrl": None, "bCustom": 1}]},
         lambda t: t.slots[0].custom_body and t.slots[0].free),
        ({"WebHook": []}, lambda t: t.slots == ()),
    ],
)
def test_parse_webhooks_variants(value: Any, check: Callable[[WebhookTable], bool]) -> None:
    assert check(parse_webhooks(body("GetWebHook", value), 0))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "WebHook is missing"),
        ({"WebHook": "x"}, "not an array"),
        ({"WebHook": [1]}, "not an object"),
        ({"WebHook": slots((2, URL))}, "indexEnable 2"),
        ({"WebHook": [{"index": 64}]}, "out of range"),
        ({"WebHook": [{"index": 0}, {"index": 0}]}, "same index"),
        ({"WebHook": [{"index": i} for i in range(65)]}, "more than 64"),
        ({"WebHook": [{"index": 0, "hookUrl": 5}]}, "not a string"),
        ({"WebHook": [], "channel": 3}, "reply is for 3"),
    ],
)
def test_parse_webhooks_rejects(value: Any, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        parse_webhooks(body("GetWebHook", value), 0)


def test_parse_webhooks_error_reply_raises_its_api_error() -> None:
    raw = json.dumps([{"cmd": "GetWebHook", "code": 1,
                       "error": {"rspCode": -9, "detail": "not support"}}]).encode()
    with pytest.raises(CommandError) as info:
        parse_webhooks(raw, 0)
    assert info.value.rsp_code == -9


# --- GetPushV20 / GetPush -----------------------------------------------------------------------

TABLE = {"MD": "1" * 168, "AI_PEOPLE": "1" * 168}


@pytest.mark.parametrize(
    ("parser", "cmd", "push", "enabled", "schedule", "active"),
    [
        (parse_push_v20, "GetPushV20", {"enable": 1, "scheduleEnable": 1}, True, True, True),
        (parse_push_v20, "GetPushV20", {"enable": 0, "scheduleEnable": 1}, False, True, False),
        (parse_push_v20, "GetPushV20", {"enable": "1", "scheduleEnable": 0}, True, False, False),
        (parse_push_v20, "GetPushV20", {"enable": 1}, True, None, True),
        (parse_push_v20, "GetPushV20",
         {"enable": 1, "schedule": {"channel": 0, "enable": 0, "table": TABLE}},
         True, False, False),
        (parse_push, "GetPush", {"schedule": {"channel": 0, "enable": 1, "table": TABLE}},
         True, True, True),
        (parse_push, "GetPush", {"schedule": {"channel": 0, "enable": 0, "table": TABLE}},
         False, False, False),
        (parse_push, "GetPush", {"enable": 0, "schedule": {"enable": 1}}, False, True, False),
        (parse_push, "GetPush", {"enable": 1}, True, None, True),
    ],
)
def test_parse_push(
    parser: Callable[[bytes, int], Any], cmd: str, push: Any, enabled: bool,
    schedule: bool | None, active: bool,
) -> None:
    state = parser(body(cmd, {"Push": push}), 0)
    assert (state.enabled, state.schedule_enabled, state.active, state.cmd) == (
        enabled, schedule, active, cmd)


@pytest.mark.parametrize(
    ("parser", "cmd", "value", "message"),
    [
        (parse_push_v20, "GetPushV20", {}, "Push is missing"),
        (parse_push_v20, "GetPushV20", {"Push": []}, "not an object"),
        (parse_push_v20, "GetPushV20", {"Push": {"scheduleEnable": 1}}, "enable is missing"),
        (parse_push_v20, "GetPushV20", {"Push": {"enable": "yes"}}, "not a number"),
        (parse_push, "GetPush", {"Push": {"schedule": {}}}, "neither"),
        (parse_push, "GetPush", {"Push": {"schedule": 1}}, "schedule is not an object"),
        (parse_push, "GetPush", {"Push": {"schedule": {"channel": 2, "enable": 1}}}, "is for 2"),
    ],
)
def test_parse_push_rejects(
    parser: Callable[[bytes, int], Any], cmd: str, value: Any, message: str
) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        parser(body(cmd, value), 0)


# --- ability ------------------------------------------------------------------------------------

ABILITY = {"Ability": {"abilityChn": [
    {"supportWebhook": {"permit": 7, "ver": 1}},
    {"supportWebhook": {"permit": 0, "ver": 0}},
    {},
]}}


@pytest.mark.parametrize(("channel", "expected"), [(0, True), (1, False), (2, False), (3, False)])
def test_supports_webhook_from_parsed_and_raw_ability(channel: int, expected: bool) -> None:
    parsed = parse_ability(body("GetAbility", ABILITY))
    assert supports_webhook(parsed, channel) is expected
    assert supports_webhook(ABILITY["Ability"], channel) is expected


@pytest.mark.parametrize("raw", [{}, {"abilityChn": 3}, {"abilityChn": [5]},
                                 {"abilityChn": [{"supportWebhook": {"ver": "x"}}]}])
def test_supports_webhook_malformed_raw_is_false(raw: Any) -> None:
    assert supports_webhook(raw, 0) is False


# --- slot choice --------------------------------------------------------------------------------

OURS = "http://10.0.0.2:9000/reolink/push/NEW"
PREFIX = "http://10.0.0.2:9000/reolink/push/"
STALE = PREFIX + "OLD"
LIVE = PREFIX + "OTHERDRIVER"
THEIRS = "http://nas.local/hook"


def table(*entries: tuple[int, str]) -> WebhookTable:
    return WebhookTable(0, tuple(WebhookSlot(i, s, u) for i, (s, u) in enumerate(entries)))


@pytest.mark.parametrize(
    ("entries", "prefix", "expected"),
    [
        ([(1, THEIRS), (-1, ""), (1, OURS)], "", 2),  # reuse our slot, not the first free
        ([(0, OURS), (-1, "")], "", 0),  # ours even when disabled
        ([(1, THEIRS), (-1, ""), (-1, "")], "", 1),  # first free
        ([(1, THEIRS), (0, "")], "", 1),  # configured but empty counts as free
        ([(1, THEIRS), (0, "http://x/")], "", None),  # never another system's URL
        ([], "", None),
        ([(1, THEIRS), (-1, ""), (1, STALE)], PREFIX, 2),  # reclaim our previous run's slot
        ([(1, THEIRS), (-1, ""), (1, STALE)], "", 1),  # no prefix: nothing reclaimed
        ([(1, LIVE), (-1, "")], PREFIX, 1),  # a live registration is never reclaimed
        ([(1, LIVE)], PREFIX, None),
        ([(-1, STALE), (1, THEIRS)], PREFIX, 0),  # a freed slot is just free
    ],
)
def test_choose_slot(entries: list[tuple[int, str]], prefix: str, expected: int | None) -> None:
    chosen = choose_slot(table(*entries), OURS, reclaim_prefix=prefix, live_urls={LIVE})
    assert (None if chosen is None else chosen.index) == expected


# --- fuzz: parse or RemoteProtocolError/ApiError, nothing else ----------------------------------

PARSERS: list[Callable[[Any], object]] = [
    lambda r: parse_webhooks(r, 0),
    lambda r: parse_push_v20(r, 0),
    lambda r: parse_push(r, 0),
]
FUZZ = settings(
    deadline=None, max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow]
)
leaves = (
    st.none() | st.booleans() | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    | st.sampled_from(["0", "1", "-1", "", " 2 ", "1.5"])
)
keys = st.sampled_from([
    "WebHook", "index", "indexEnable", "hookUrl", "bCustom", "hookBody", "channel", "Push",
    "enable", "scheduleEnable", "schedule", "table",
]) | st.text(max_size=5)
values = st.recursive(
    leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=5),
    max_leaves=25,
)


def run_all(reply: Any) -> None:
    for parser in PARSERS:
        try:
            parser(reply)
        except (RemoteProtocolError, ApiError):
            pass


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_bytes(raw: bytes) -> None:
    run_all(raw)


@FUZZ
@given(values)
def test_fuzz_values(value: Any) -> None:
    for wrapped in (value, {"WebHook": value}, {"Push": value}, {"Push": {"schedule": value}}):
        run_all(body("GetX", wrapped))
        run_all(CommandReply(cmd="GetX", value=wrapped))


@FUZZ
@given(values)
def test_fuzz_ability(value: Any) -> None:
    for raw in (value, {"abilityChn": value}, {"abilityChn": [value]},
                {"abilityChn": [{"supportWebhook": value}]}):
        assert supports_webhook(raw, 0) in (True, False)
