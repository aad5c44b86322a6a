"""Batches: several commands in one POST body, one reply entry per command, in order.

The device answers a batch with an array holding one entry per command, in the same order;
a command it does not know keeps its slot as ``{"cmd": "Unknown", "code": 1, "error": {...
-9}}``. Busy firmware may instead collapse the whole batch into one error entry (-8 timeout,
-10 protocol) or return fewer entries; :func:`decode_batch` reports both as
:class:`~reolink.errors.BatchShapeError` so the caller can retry the commands one at a time.
Large batches fail with -16 "send failed", hence :data:`MAX_BATCH` (reolink_aio's limit).

A poll's answer is decoded by :func:`decode_batch_reusing`: entry by entry where the body
cuts cleanly at firmware's pretty-printed separators, an entry whose text came in one of the
last answers not decoded again (the caller keeps those answers' maps), and the same replies
or the same error as :func:`decode_batch` in every case (tests/test_entry_reuse.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Dict, List, Optional, Tuple, TypeVar, cast

from reolink.errors import ApiError, ArgumentError, BatchShapeError, RemoteProtocolError
from reolink.protocol.envelope import (
    NOT_JSON,
    decode_entry,
    expect_array,
    load_entry_text,
    load_json,
)
from reolink.protocol.results import CommandReply

__all__ = [
    "MAX_BATCH",
    "SESSION_COMMANDS",
    "changes_state",
    "chunk",
    "command_channel",
    "decode_batch",
    "decode_batch_reusing",
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
    """True when every command only reads (``Get*``): safe to send again (a request of them
    is ``repeatable``, see :mod:`reolink.transport`)."""
    return all(str(c.get("cmd", "")).startswith("Get") for c in commands)


#: Session commands: running one twice does no harm, and an unreadable answer to Login is the
#: classic sign of a device without the JSON API (the message must keep saying so).
SESSION_COMMANDS = frozenset({"Login", "Logout"})


def changes_state(commands: Sequence[Mapping[str, object]]) -> bool:
    """Whether running ``commands`` may change something on the device (not reads, not the
    session commands Login/Logout): only then is a lost reply "may have executed" (a
    request of them is ``changes_state``, see :mod:`reolink.transport`)."""
    return not (
        is_read_only(commands) or all(c.get("cmd") in SESSION_COMMANDS for c in commands)
    )


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
    return _replies(commands, entries)


def _replies(
    commands: Sequence[Mapping[str, object]], entries: Sequence[object]
) -> list[CommandReply]:
    """One CommandReply per command, from the decoded entries (as many as commands)."""
    return [_reply_to(command, entry) for command, entry in zip(commands, entries)]


def _reply_to(command: Mapping[str, object], entry: object) -> CommandReply:
    if type(command) is not dict and not isinstance(command, Mapping):
        raise RemoteProtocolError("batch command is not a mapping")
    name = _cmd_name(command)
    if type(entry) is dict and "error" not in entry and entry.get("code") == 0:
        return decode_entry(entry, name)  # a success needs no channel: errors carry one
    return decode_entry(entry, name, channel=command_channel(command))


#: Success replies of earlier answers, by their entry's text in the body (see
#: decode_batch_reusing).
Known = Dict[bytes, CommandReply]

#: Between two entries of a reply as firmware prints it: ``}``, then this, then the next
#: entry's ``{`` (pretty printing, one tab per level). A raw newline is invalid inside a JSON
#: string, so this is always whitespace between two values; one level deeper than the
#: array's it would cut an object in two, and such a piece is not a whole JSON value.
_ENTRY_CUT = b",\n\t{"
_ENTRY_START = b"{"


def _entry_texts(raw: bytes, expected: int) -> Optional[List[bytes]]:
    """The texts of ``expected`` entries of a pretty-printed reply array, or None.

    None when the body is not in that shape: another layout, a byte order mark, anything
    :func:`~reolink.protocol.envelope.load_json` looks at for an HTML page (any ``<``).
    """
    if raw[:3] != b"[\n\t" or b"<" in raw:
        return None
    end = len(raw.rstrip(b" \t\r\n"))
    if raw[end - 1 : end] != b"]" or raw.count(_ENTRY_CUT, 1, end - 1) != expected - 1:
        return None  # (counted first: a hostile body of separators makes no list of pieces)
    texts = raw[1 : end - 1].split(_ENTRY_CUT)
    for index in range(1, expected):
        texts[index] = _ENTRY_START + texts[index]
    return texts


def decode_batch_reusing(
    raw: bytes, commands: Sequence[Mapping[str, object]], *earlier: Known
) -> Tuple[list[CommandReply], Known]:
    """:func:`decode_batch`, without decoding again an entry whose text is in ``earlier``
    (maps returned for earlier answers); also returns this answer's map.

    The same replies as :func:`decode_batch`, or the same error. A device prints a reply
    entry the same way for the same state: a poll's answer that changed in one channel
    differs from the last one in that channel's entries only, and a motion edge brings back
    the text of two answers before. The body is decoded whole (:func:`decode_batch`) unless
    it cuts cleanly into one piece per command: each piece must decode on its own as one
    whole JSON value, so the pieces are the array's elements (the text between them is the
    array's ``,``); a piece that does not (a cut inside an object) sends the whole body
    there. A success reply is reused for the same text and command name (what
    :func:`~reolink.protocol.envelope.decode_entry` reads of a success); an error reply also
    carries the command's channel, and is made anew. The one difference from decoding the
    body whole is nesting within one level of the interpreter's recursion limit (a piece is
    one level less deep than the array).
    """
    texts = _entry_texts(raw, len(commands)) if commands else None
    if texts is None:
        return decode_batch(raw, commands), {}
    replies: List[Optional[CommandReply]] = []
    append = replies.append
    fresh: List[Tuple[int, object]] = []
    for index, text in enumerate(texts):
        reply = None
        for known in earlier:
            reply = known.get(text)
            if reply is not None:
                command = commands[index]
                if type(command) is not dict or reply.cmd != _cmd_name(command):
                    reply = None
                break
        if reply is None:
            entry = load_entry_text(text)
            if entry is NOT_JSON:
                return decode_batch(raw, commands), {}
            fresh.append((index, entry))
        append(reply)
    # Made once every piece decoded, in order (decode_batch's order of errors).
    for index, entry in fresh:
        replies[index] = _reply_to(commands[index], entry)
    done = cast(List[CommandReply], replies)
    return done, {text: reply for text, reply in zip(texts, done) if reply.error is None}
