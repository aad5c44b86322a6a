"""Batch encoding, chunking and position matching."""

from __future__ import annotations

import json

import pytest

from reolink.errors import ArgumentError, BatchShapeError, CommandError, RemoteProtocolError
from reolink.protocol import (
    MAX_BATCH,
    build_get_ai_state,
    build_get_dev_info,
    build_get_md_state,
    build_login,
    chunk,
    decode_batch,
    encode_body,
    parse_md_state,
)


def test_chunk() -> None:
    assert MAX_BATCH == 35
    items = list(range(80))
    parts = chunk(items)
    assert [len(p) for p in parts] == [35, 35, 10]
    assert [x for p in parts for x in p] == items
    assert chunk([], 5) == []
    assert chunk([1, 2, 3], 1) == [[1], [2], [3]]


@pytest.mark.parametrize("size", [0, -1, True, 2.0, "3"])
def test_chunk_size_validated(size: object) -> None:
    with pytest.raises(ArgumentError) as info:
        chunk([1], size)  # type: ignore[arg-type]
    assert info.value.argument == "size"


def test_encode_body_roundtrip_and_errors() -> None:
    cmds = [build_get_md_state(0), build_get_ai_state(1)]
    assert json.loads(encode_body(cmds)) == cmds
    assert b" " not in encode_body(cmds)
    with pytest.raises(ArgumentError) as info:
        encode_body([{"cmd": "Login", "param": {"x": object(), "password": "hunter2"}}])
    assert "hunter2" not in str(info.value)
    with pytest.raises(ArgumentError):
        encode_body([{"cmd": "X", "param": {"n": float("nan")}}])


def test_encode_non_ascii_is_escaped() -> None:
    raw = encode_body([build_login("admin", "pässwörd")])
    assert raw.isascii()
    assert json.loads(raw)[0]["param"]["User"]["password"] == "pässwörd"


def reply(*entries: object) -> bytes:
    return json.dumps(list(entries)).encode()


OK_MD = {"cmd": "GetMdState", "code": 0, "value": {"state": 1}}


def test_positional_matching_with_channels() -> None:
    cmds = [build_get_md_state(4), build_get_ai_state(5), build_get_dev_info()]
    raw = reply(OK_MD, {"cmd": "Unknown", "code": 1, "error": {"detail": "not support",
                                                                "rspCode": -9}}, OK_MD)
    out = decode_batch(raw, cmds)
    assert [r.cmd for r in out] == ["GetMdState", "GetAiState", "GetDevInfo"]
    assert parse_md_state(out[0], 4).motion
    assert isinstance(out[1].error, CommandError)
    assert out[1].error.channel == 5 and out[1].error.cmd == "GetAiState"
    assert "channel 5" in str(out[1].error)


def test_too_few_and_too_many() -> None:
    cmds = [build_get_md_state(0), build_get_md_state(1), build_get_md_state(2)]
    with pytest.raises(BatchShapeError) as info:
        decode_batch(reply(OK_MD, OK_MD), cmds)
    assert (info.value.expected, info.value.got, info.value.error) == (3, 2, None)
    with pytest.raises(BatchShapeError) as info:
        decode_batch(reply(OK_MD, OK_MD), cmds[:1])
    assert (info.value.expected, info.value.got) == (1, 2)


def test_single_success_entry_for_a_batch_has_no_error() -> None:
    with pytest.raises(BatchShapeError) as info:
        decode_batch(reply(OK_MD), [build_get_md_state(0), build_get_md_state(1)])
    assert info.value.error is None


def test_single_error_for_a_batch() -> None:
    raw = reply({"cmd": "GetMdState", "code": 1, "error": {"detail": "protocol", "rspCode": -10}})
    with pytest.raises(BatchShapeError) as info:
        decode_batch(raw, [build_get_md_state(0), build_get_md_state(1)])
    assert isinstance(info.value.error, CommandError)
    assert info.value.error.rsp_code == -10
    assert "-10" in str(info.value)


@pytest.mark.parametrize("raw", [b"null", b"{}", b"[1, 2]", b'"x"', b"", b"<html></html>"])
def test_bad_shapes(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_batch(raw, [build_get_md_state(0), build_get_md_state(1)])


def test_empty_batch() -> None:
    assert decode_batch(b"[]", []) == []
