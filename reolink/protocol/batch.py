"""Batches: several commands in one POST body, one reply entry per command, in order.

The device answers a batch with an array holding one entry per command, in the same order;
a command it does not know keeps its slot as ``{"cmd": "Unknown", "code": 1, "error": {...
-9}}``. Busy firmware may instead collapse the whole batch into one error entry (-8 timeout,
-10 protocol) or return fewer entries; :func:`decode_batch` reports both as
:class:`~reolink.errors.BatchShapeError` so the caller can retry the commands one at a time.
Large batches fail with -16 "send failed", hence :data:`MAX_BATCH` (reolink_aio's limit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TypeVar

from reolink.errors import ApiError, ArgumentError, BatchShapeError, RemoteProtocolError
from reolink.protocol.envelope import decode_entry, expect_array, load_json
from reolink.protocol.results import CommandReply

__all__ = [
    "MAX_BATCH",
    "chunk",
    "command_channel",
    "decode_batch",
    "encode_body",
    "encode_parts",
    "is_read_only",
]


#: Most commands sent in one body.
MAX_BATCH = 35

T = TypeVar("T")


def encode_body(commands: Sequence[Mapping[str, object]]) -> bytes:
    """The POST body: a compact JSON array of the commands.

    Non-ASCII text is sent as ``\\uXXXX`` escapes (``ensure_ascii``), as the JSON encoders of
    the clients that work against real firmware (reolink_aio, reolinkapipy) do.
    """
    try:
        text = json.dumps(list(commands), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        # The message names the problem type only: a command may hold the password.
        raise ArgumentError(
            f"commands cannot be encoded as JSON: {type(err).__name__}", argument="commands"
        ) from None
    return text.encode("utf-8")


def chunk(items: Sequence[T], size: int = MAX_BATCH) -> list[list[T]]:
    """``items`` split into consecutive lists of at most ``size``."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ArgumentError(f"size must be an integer >= 1, got {size!r}", argument="size")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def encode_parts(
    commands: Sequence[Mapping[str, object]],
) -> list[tuple[list[Mapping[str, object]], bytes]]:
    """``commands`` in requests of at most :data:`MAX_BATCH`, each with its encoded body."""
    return [(part, encode_body(part)) for part in chunk(commands)]


def is_read_only(commands: Sequence[Mapping[str, object]]) -> bool:
    """True when every command only reads (``Get*``): safe to send again."""
    return all(str(c.get("cmd", "")).startswith("Get") for c in commands)


def command_channel(command: Mapping[str, object]) -> int | None:
    """The ``param.channel`` of a command, when it has an integer one."""
    param = command.get("param")
    if type(param) is dict or isinstance(param, Mapping):
        channel = param.get("channel")
        if isinstance(channel, int) and not isinstance(channel, bool):
            return channel
    return None


def _cmd_name(command: Mapping[str, object]) -> str:
    name = command.get("cmd")
    return name if isinstance(name, str) and name else "Unknown"


def decode_batch(raw: bytes, commands: Sequence[Mapping[str, object]]) -> list[CommandReply]:
    """Match a batch reply to ``commands`` by position.

    Each slot becomes a CommandReply (value or ApiError carrying the command's channel).
    A reply of the wrong length raises BatchShapeError; when it is one error entry for a
    batch of several, that entry's ApiError is in ``BatchShapeError.error``.
    """
    expected = len(commands)
    first = _cmd_name(commands[0]) if commands else "batch"
    entries = expect_array(load_json(raw), first)
    got = len(entries)
    if got != expected:
        error: ApiError | None = None
        if got == 1 and expected > 1:
            only = decode_entry(entries[0], first)
            if isinstance(only.error, ApiError):
                error = only.error
        detail = f": {error}" if error is not None else ""
        raise BatchShapeError(
            f"batch of {expected} commands got {got} reply entries{detail}",
            expected=expected,
            got=got,
            error=error,
        )
    replies: list[CommandReply] = []
    append = replies.append
    for command, entry in zip(commands, entries):
        if type(command) is not dict and not isinstance(command, Mapping):
            raise RemoteProtocolError("batch command is not a mapping")
        name = _cmd_name(command)
        if type(entry) is dict and "error" not in entry and entry.get("code") == 0:
            append(decode_entry(entry, name))  # a success needs no channel: errors carry one
        else:
            append(decode_entry(entry, name, channel=command_channel(command)))
    return replies
