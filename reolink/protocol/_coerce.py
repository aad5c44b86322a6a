"""Coercion helpers the reply parsers share (:mod:`reolink.protocol.parsers`,
:mod:`reolink.protocol.webhook`): each returns a checked value or raises RemoteProtocolError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional, Union

from reolink.errors import RemoteProtocolError
from reolink.protocol.codes import printable
from reolink.protocol.envelope import decode_reply
from reolink.protocol.results import CommandReply

__all__ = ["MAX_DIGITS", "Obj", "Reply", "channel_echo", "int_or_none", "reply_value"]

Reply = Union[CommandReply, bytes]
Obj = Mapping[str, object]

#: Longest digit string accepted as a number (a device never sends more; int() of a huge
#: string is slow).
MAX_DIGITS = 18


def reply_value(reply: Reply, cmd: str) -> Obj:
    """The success value of ``reply``; raises the reply's ApiError for an error reply."""
    if type(reply) is CommandReply and reply.error is None and type(reply.value) is dict:
        return reply.value  # the common case, without the checks below
    if isinstance(reply, (bytes, bytearray, memoryview)):
        reply = decode_reply(bytes(reply), cmd)
    if not isinstance(reply, CommandReply):
        raise RemoteProtocolError(f"{cmd}: expected a reply, got {type(reply).__name__}")
    if reply.error is not None:
        raise reply.error
    value = reply.value
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RemoteProtocolError(f"{cmd}: reply value is not an object")
    return value


def int_or_none(value: object, what: str) -> Optional[int]:
    """An int from an int, an integral float or a numeric string; None for null / ``""``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS:
            return int(text)
    shown = printable(repr(value), 30) if isinstance(value, (str, float)) else type(value).__name__
    raise RemoteProtocolError(f"{what} is not a number: {shown}")


def channel_echo(value: Obj, channel: int, cmd: str) -> None:
    """The reply's ``channel`` (when it has one) must be the channel asked for."""
    echoed = int_or_none(value.get("channel"), f"{cmd} channel")
    if echoed is not None and echoed != channel:
        raise RemoteProtocolError(f"{cmd}: asked for channel {channel}, reply is for {echoed}")
