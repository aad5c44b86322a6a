"""Recorded replies (tests/data/replies) fed whole, truncated at every byte and byte-mangled."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from reolink.errors import (
    ApiError,
    AuthError,
    BatchShapeError,
    CommandError,
    CredentialsError,
    LockedOutError,
    RemoteProtocolError,
    SessionLimitError,
)
from reolink.protocol import (
    Ability,
    AiState,
    ChannelList,
    CommandReply,
    DeviceInfo,
    EventsState,
    LoginToken,
    MotionState,
    PtzPresets,
    WhiteLedState,
    build_get_ai_state,
    build_get_md_state,
    decode_batch,
    decode_reply,
    normalize_ai_type,
    parse_ability,
    parse_ai_state,
    parse_channel_status,
    parse_dev_info,
    parse_events,
    parse_login,
    parse_md_state,
    parse_ok,
    parse_ptz_presets,
    parse_white_led,
)

REPLIES = Path(__file__).parent / "data" / "replies"
BATCH3 = [build_get_md_state(0), {"cmd": "GetFoo", "action": 0, "param": {"channel": 1}},
          build_get_md_state(2)]

#: An NVR poll of an AI channel (0) and an AI-less one (6), as the recorded batch answers it.
NVR_BATCH4 = [build_get_md_state(0), build_get_ai_state(0), build_get_md_state(6),
              build_get_ai_state(6)]


def body(name: str) -> bytes:
    return (REPLIES / name).read_bytes()


# file -> (parser, type of a successful result)
PARSERS: dict[str, tuple[Callable[[bytes], object], type]] = {
    "login_ok.json": (parse_login, LoginToken),
    "login_failed_-7.json": (parse_login, LoginToken),
    "login_password_wrong_-502_locked.json": (parse_login, LoginToken),
    "login_invalid_user_-27.json": (parse_login, LoginToken),
    "login_frequent_-105.json": (parse_login, LoginToken),
    "login_max_session_-5.json": (parse_login, LoginToken),
    "logout_ok.json": (parse_ok, type(None)),
    "set_ok.json": (parse_ok, type(None)),
    "devinfo_nvr_rln16_410.json": (parse_dev_info, DeviceInfo),
    "devinfo_ipc_old.json": (parse_dev_info, DeviceInfo),
    "channelstatus_full.json": (parse_channel_status, ChannelList),
    "channelstatus_bare.json": (parse_channel_status, ChannelList),
    "channelstatus_sleep_uid.json": (parse_channel_status, ChannelList),
    "ability_camera_ai.json": (parse_ability, Ability),
    "ability_nvr.json": (parse_ability, Ability),
    "mdstate.json": (lambda b: parse_md_state(b, 0), MotionState),
    "aistate_current.json": (lambda b: parse_ai_state(b, 0), AiState),
    "aistate_package.json": (lambda b: parse_ai_state(b, 0), AiState),
    "aistate_no_dogcat.json": (lambda b: parse_ai_state(b, 0), AiState),
    "aistate_flat.json": (lambda b: parse_ai_state(b, 0), AiState),
    "aistate_not_support_-9.json": (lambda b: parse_ai_state(b, 0), AiState),
    "events.json": (lambda b: parse_events(b, 0), EventsState),
    "ptzpreset.json": (lambda b: parse_ptz_presets(b, 0), PtzPresets),
    "whiteled.json": (lambda b: parse_white_led(b, 0), WhiteLedState),
    "batch_unknown_-9.json": (lambda b: decode_batch(b, BATCH3), list),
    "batch_single_timeout_-8.json": (lambda b: decode_batch(b, BATCH3), list),
    "batch_nvr_aistate_unknown_rspcode_-9.json": (lambda b: decode_batch(b, NVR_BATCH4), list),
}


def test_every_recorded_json_reply_has_a_parser() -> None:
    json_files = {p.name for p in REPLIES.glob("*.json")} - {
        "snap_please_login_-6.json", "snap_rcv_failed_-17.json"}
    assert json_files == set(PARSERS)


def test_recorded_replies_are_pretty_printed_like_firmware() -> None:
    text = body("devinfo_nvr_rln16_410.json").decode()
    assert '\t"cmd" : "GetDevInfo"' in text


# --- whole replies -----------------------------------------------------------------------------


def test_login_ok() -> None:
    token = parse_login(body("login_ok.json"))
    assert token.name == "42da7586d7b82a6"
    assert token.lease_time == 3600
    assert "42da7586d7b82a6" not in repr(token)


@pytest.mark.parametrize(
    ("name", "cls", "code", "text"),
    [
        ("login_failed_-7.json", CredentialsError, -7, "9 login attempts left"),
        ("login_password_wrong_-502_locked.json", LockedOutError, -502, "locked for 300"),
        ("login_invalid_user_-27.json", CredentialsError, -27, "Invalid user"),
        ("login_frequent_-105.json", LockedOutError, -105, "Frequent logins"),
        ("login_max_session_-5.json", SessionLimitError, -5, "max session"),
    ],
)
def test_login_errors(name: str, cls: type, code: int, text: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_login(body(name))
    assert type(info.value) is cls
    assert info.value.rsp_code == code
    assert info.value.cmd == "Login"
    assert text in str(info.value)


def test_logout_and_set_ok() -> None:
    parse_ok(body("logout_ok.json"))  # returns None; raises on an error reply
    parse_ok(body("set_ok.json"))
    with pytest.raises(CommandError, match=r"^GetAiState failed"):
        parse_ok(body("aistate_not_support_-9.json"))
    with pytest.raises(CommandError, match=r"^SetWhiteLed failed: rspCode -13"):
        parse_ok(b'[{"cmd":"SetWhiteLed","code":0,"value":{"rspCode":-13}}]')


def test_set_with_a_non_200_rspcode_is_an_error() -> None:
    reply = CommandReply(cmd="SetWhiteLed", value={"rspCode": -13})
    with pytest.raises(CommandError, match="rspCode -13"):
        parse_ok(reply)


def test_dev_info_new_nvr() -> None:
    info = parse_dev_info(body("devinfo_nvr_rln16_410.json"))
    assert info.model == "RLN16-410"
    assert info.firmware == "v3.0.0.59_20080734"
    assert info.channel_count == 16
    assert info.exact_type == "NVR"
    assert info.framework_version == "1"
    assert info.build_day == "build 20080734"
    assert info.wifi is False
    assert info.is_multichannel


def test_dev_info_old_ipc() -> None:
    info = parse_dev_info(body("devinfo_ipc_old.json"))
    assert info.model == "RLC-410-5MP"
    assert info.firmware == "2.0.0.354_19061408"
    assert info.channel_count == 1  # sent as the string "1"
    assert info.exact_type is None
    assert info.framework_version is None
    assert info.type == "IPC"
    assert not info.is_multichannel


def test_channel_status_full() -> None:
    result = parse_channel_status(body("channelstatus_full.json"))
    assert result.count == 4
    assert [c.online for c in result.channels] == [True, True, False, False]
    assert result.channels[1].name == "Garage"
    assert result.channels[1].type_info == "RLC-810A"


def test_channel_status_bare_entries_get_their_index() -> None:
    result = parse_channel_status(body("channelstatus_bare.json"))
    assert [c.channel for c in result.channels] == [0, 1, 2]
    assert result.channels[2].online
    assert result.channels[0].name == ""


def test_channel_status_sleep_and_uid() -> None:
    result = parse_channel_status(body("channelstatus_sleep_uid.json"))
    assert result.channels[0].sleeping is True
    assert result.channels[1].sleeping is False
    assert result.channels[0].uid == "95270000ABCDEFGH"


def test_ability_camera_with_ai_spotlight_siren() -> None:
    ability = parse_ability(body("ability_camera_ai.json"))
    assert ability.supports("reboot")
    assert ability.features["scheduleVersion"] == 1
    assert ability.features["upgrade"] == 2
    chn = ability.channel(0)
    assert chn is not None
    assert chn.spotlight and chn.siren and chn.ai and chn.motion and chn.snap
    assert chn.ai_types == frozenset({"people", "vehicle", "dog_cat"})
    assert not chn.ptz_control and chn.ptz_type == 0
    assert ability.channel(1) is None


def test_ability_nvr_channels() -> None:
    ability = parse_ability(body("ability_nvr.json"))
    assert len(ability.channels) == 3
    ptz, old, cam = ability.channels
    assert ptz.ptz_type == 2 and ptz.ptz_control and ptz.ptz_presets and ptz.ptz_patrol
    assert not ptz.ai and not ptz.siren
    assert old.motion is True  # no alarmMd/supportMd: assumed
    assert not old.spotlight and not old.ai
    assert cam.channel == 2 and cam.spotlight
    assert not ability.supports("upgrade")


def test_md_state() -> None:
    assert parse_md_state(body("mdstate.json"), 3) == MotionState(channel=3, motion=True)


def test_ai_state_current() -> None:
    state = parse_ai_state(body("aistate_current.json"), 0)
    assert state.detected == {"people"}
    assert state.supported == {"people", "vehicle", "dog_cat"}  # face support 0


def test_ai_state_with_package() -> None:
    state = parse_ai_state(body("aistate_package.json"), 0)
    assert state.detected_list == ("dog_cat", "package")
    assert "package" in state.supported


def test_ai_state_without_dog_cat() -> None:
    state = parse_ai_state(body("aistate_no_dogcat.json"), 0)
    assert state.supported_list == ("people", "vehicle")
    assert state.detected == {"vehicle"}


def test_ai_state_legacy_flat() -> None:
    state = parse_ai_state(body("aistate_flat.json"), 0)
    assert state.supported == {"people", "vehicle"}
    assert state.detected == {"people"}


def test_ai_state_not_supported() -> None:
    with pytest.raises(CommandError) as info:
        parse_ai_state(body("aistate_not_support_-9.json"), 0)
    assert info.value.rsp_code == -9
    assert "not support" in str(info.value)


def test_ai_state_names_lists_and_channel_key() -> None:
    reply = CommandReply(cmd="GetAiState", value={
        "channel": 1, "dogCat": {"alarm_state": "1", "support": "1"},
        "person": {"alarm_state": 0, "support": 1}, "car": {"alarm_state": 1, "support": 1},
        "zones": [{"alarm_state": 1}], "pet_state": "",
    })
    state = parse_ai_state(reply, 1)
    assert state.supported == {"dog_cat", "people", "vehicle"}
    assert state.detected == {"dog_cat", "vehicle"}
    assert "channel" not in state.supported


def test_normalize_ai_type() -> None:
    assert normalize_ai_type("dogCat") == "dog_cat"
    assert normalize_ai_type("dog_cat") == "dog_cat"
    assert normalize_ai_type("pet") == "dog_cat"
    assert normalize_ai_type("person") == "people"
    assert normalize_ai_type("Vehicle") == "vehicle"
    assert normalize_ai_type("package") == "package"


def test_events() -> None:
    events = parse_events(body("events.json"), 0)
    assert events.motion and events.motion_supported
    assert events.ai.detected == {"people", "other"}
    assert "face" not in events.ai.supported
    assert events.visitor is False


def test_events_for_another_channel_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError, match="channel 1"):
        parse_events(body("events.json"), 1)


def test_ptz_presets_only_enabled_with_range() -> None:
    presets = parse_ptz_presets(body("ptzpreset.json"), 0)
    assert presets.ids == {1, 2, 5}
    assert [p.name for p in presets.presets] == ["Gate", "Drive", "Porch"]
    assert (presets.id_min, presets.id_max) == (1, 64)


def test_white_led_with_initial_and_range() -> None:
    led = parse_white_led(body("whiteled.json"), 0)
    assert led == WhiteLedState(channel=0, on=True, mode=1, bright=79)


def test_batch_with_unknown_slot() -> None:
    replies = decode_batch(body("batch_unknown_-9.json"), BATCH3)
    assert [r.ok for r in replies] == [True, False, True]
    assert parse_md_state(replies[2], 2).motion
    err = replies[1].error
    assert isinstance(err, CommandError)
    assert err.rsp_code == -9 and err.channel == 1 and err.cmd == "GetFoo"


def test_batch_collapsed_into_one_error() -> None:
    with pytest.raises(BatchShapeError) as info:
        decode_batch(body("batch_single_timeout_-8.json"), BATCH3)
    assert (info.value.expected, info.value.got) == (3, 1)
    assert isinstance(info.value.error, CommandError)
    assert info.value.error.rsp_code == -8


def test_relogin_error_from_any_command() -> None:
    raw = b'[{"cmd":"GetMdState","code":1,"error":{"detail":"please login first","rspCode":-6}}]'
    with pytest.raises(AuthError) as info:
        parse_md_state(raw, 0)
    assert type(info.value) is AuthError


def test_numeric_strings_and_empty_fields() -> None:
    reply = CommandReply(cmd="GetWhiteLed", value={
        "WhiteLed": {"state": "0", "mode": "", "bright": " 40 ", "channel": "0"}})
    assert parse_white_led(reply, 0) == WhiteLedState(channel=0, on=False, mode=None, bright=40)


@pytest.mark.parametrize(
    "raw",
    [
        b"null",
        b"{}",
        b"[]",
        b"[1]",
        b'[{"cmd":"GetMdState","code":"0","value":{"state":1}}]',
        b'[{"cmd":"GetMdState","code":0,"value":[1]}]',
        b'[{"cmd":"GetMdState","code":0,"value":{"state":[1]}}]',
        b'[{"cmd":"GetMdState","code":0,"value":{"state":1.5}}]',
        b'[{"cmd":"GetMdState","code":0,"value":{}}]',
        b'[{"cmd":"GetMdState","code":1,"error":"bad"}]',
        b'[{"cmd":"GetMdState","value":{"state":1}}]',
    ],
)
def test_malformed_single_replies(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_md_state(raw, 0)


def test_decode_reply_keeps_raw_entry() -> None:
    reply = decode_reply(body("whiteled.json"), "GetWhiteLed")
    assert reply.raw is not None and "range" in reply.raw


# --- every byte offset, byte mangling ----------------------------------------------------------

_ALLOWED = (RemoteProtocolError, ApiError)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_truncated_at_every_offset(name: str) -> None:
    parser, result_type = PARSERS[name]
    whole = body(name)
    for end in range(len(whole)):
        part = whole[:end]
        try:
            result = parser(part)
        except RemoteProtocolError:
            continue
        except ApiError:
            # Only possible when all that was cut is trailing whitespace.
            assert part.strip() == whole.strip(), (name, end)
            continue
        assert isinstance(result, result_type), (name, end)
        assert part.strip() == whole.strip(), (name, end)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_byte_mangled(name: str) -> None:
    parser, result_type = PARSERS[name]
    whole = body(name)
    step = max(1, len(whole) // 150)
    for offset in range(0, len(whole), step):
        for replacement in (b"\x00", b"\xff", b"[", b"}", b'"', b"9", b"-", b"\\", b"e"):
            mangled = whole[:offset] + replacement + whole[offset + 1 :]
            try:
                result = parser(mangled)
            except _ALLOWED:
                continue
            assert isinstance(result, result_type), (name, offset, replacement)
