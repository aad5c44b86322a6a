"""Decoding reply bodies: bytes -> JSON -> :class:`~reolink.protocol.results.CommandReply`.

Everything here either returns a value of the expected shape or raises
:class:`~reolink.errors.RemoteProtocolError` (never ``UnicodeDecodeError``, ``ValueError`` or
``RecursionError``). Error messages say what came instead (an HTML page, truncated JSON...) with
at most a short, printable-escaped excerpt of the body: a reply never carries our password, but
it may be long and binary.

Entry rules (digest §5): an entry is an error whenever it has ``"error"`` or ``code != 0``;
a success entry's ``value`` is an object (missing means ``{}``). ``cmd`` is echoed, or
``"Unknown"`` when the device could not parse the command; replies are matched to commands by
position, never by this name.
"""

from __future__ import annotations

import json
import math
from typing import Callable, Tuple

from reolink.errors import BatchShapeError, RemoteProtocolError
from reolink.protocol.codes import error_from_entry, printable
from reolink.protocol.results import CommandReply, positional_maker

__all__ = [
    "check_status",
    "decode_entry",
    "decode_reply",
    "describe_body",
    "expect_array",
    "load_json",
]

_BOM = b"\xef\xbb\xbf"
_PLAIN_TO_HTTPS = b"plain http request was sent to https port"
_EXCERPT = 60

# Reason phrases for the statuses a camera (or the proxy in front of it) actually sends;
# the http module is off limits in this layer.
_REASONS = {
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _excerpt(raw: bytes) -> str:
    text = raw[: _EXCERPT * 4].decode("utf-8", "replace").strip()
    return printable(text, _EXCERPT)


def _looks_like_html(raw: bytes) -> bool:
    head = raw.lstrip(b" \t\r\n" + _BOM)[:512].lower()
    return head.startswith(b"<") or b"<html" in head or b"<!doctype" in head


def describe_body(raw: bytes) -> str:
    """A short description of a body for error messages: ``an HTML page (<html>...)``."""
    if not raw:
        return "an empty body"
    if not raw.strip():
        return f"{len(raw)} bytes of whitespace"
    if _looks_like_html(raw):
        return f"an HTML page ({_excerpt(raw)})"
    if raw[:2] == b"\xff\xd8":
        return f"a JPEG image ({len(raw)} bytes)"
    return f"{len(raw)} bytes ({_excerpt(raw)})"


def _reject_constant(name: str) -> object:
    # NaN/Infinity are not JSON and would poison every int conversion downstream.
    raise ValueError(f"non-JSON number {name}")


def _finite_float(text: str) -> float:
    # "1e999" parses to inf without passing through parse_constant.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range {text[:20]}")
    return value


#: One decoder for every reply (json.loads with hooks would build a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def load_json(raw: bytes) -> object:
    """Decode a UTF-8 JSON body (BOM, tabs and ``" : "`` pretty printing are fine)."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise RemoteProtocolError(f"expected a JSON body, got {type(raw).__name__}")
    data = raw if type(raw) is bytes else bytes(raw)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # No "<" at all cannot be an HTML page; a body that starts with "[" or "{" is not blank.
    # Both are checked without copying the body (what a reply almost always is).
    if b"<" in data and _looks_like_html(data):
        raise RemoteProtocolError(f"expected a JSON array, got {describe_body(data)}")
    first = data[:1]
    if first != b"[" and first != b"{" and not data.strip():
        raise RemoteProtocolError(f"expected a JSON array, got {describe_body(data)}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RemoteProtocolError(
            f"expected a JSON array, got bytes that are not UTF-8 ({_excerpt(data)})"
        ) from err
    try:
        return _DECODER.decode(text)
    except RecursionError as err:
        # The C scanner gives up quickly on absurd nesting; it is an attack or garbage.
        raise RemoteProtocolError("expected a JSON array, got JSON nested too deeply") from err
    except ValueError as err:  # JSONDecodeError, and int strings over the digit limit
        ends_early = isinstance(err, json.JSONDecodeError) and err.pos >= len(text.rstrip())
        kind = "truncated JSON" if ends_early else "invalid JSON"
        reason = printable(str(err), 80)
        raise RemoteProtocolError(
            f"expected a JSON array, got {kind} ({reason}): {_excerpt(data)}"
        ) from err


def load_entry_text(piece: bytes) -> object:
    """One JSON value decoded as :func:`load_json` decodes a body's, or :data:`NOT_JSON`.

    For a piece cut out of a body that :func:`load_json` would take (see
    ``batch.decode_batch_reusing``): no error is raised, the caller decodes the whole body.
    """
    # What _DECODER.decode(text) does (the same scanner, the same whitespace around the
    # value), without its two regular expression matches and wrapper calls.
    try:
        text = piece.decode("utf-8")
        value, end = _SCAN(text, len(text) - len(text.lstrip(_JSON_SPACE)))
    except (UnicodeDecodeError, ValueError, RecursionError, StopIteration):
        return NOT_JSON
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        return NOT_JSON
    return value


#: The decoder's scanner: (text, index) -> (value, end); JSONDecodeError or StopIteration.
_SCAN: Callable[[str, int], Tuple[object, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
#: JSON's whitespace (str.strip() without arguments would also take other characters).
_JSON_SPACE = " \t\n\r"


#: What :func:`load_entry_text` returns for a piece that is not one whole JSON value.
NOT_JSON: object = object()


def check_status(status: int, content_type: str, body: bytes) -> None:
    """Raise RemoteProtocolError unless ``status`` is 200 (API errors still come as 200)."""
    if status == 200:
        return
    reason = _REASONS.get(status, "")
    label = f"HTTP {status} {reason}".rstrip()
    hint = ""
    if 300 <= status < 400:
        hint = " (a redirect: the device may want HTTPS instead of HTTP)"
    elif status == 400 and _PLAIN_TO_HTTPS in body[:2048].lower():
        # nginx's page for plain HTTP on its HTTPS port, as camera web servers send it.
        hint = " (the port expects HTTPS: use protocol https)"
    kind = f" ({content_type})" if content_type else ""
    raise RemoteProtocolError(
        f"the device answered {label}{hint}{kind}: {describe_body(body)}", http_status=status
    )


def _shape_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


#: CommandReply(cmd, value, error, raw), made without attrs' __init__ (see positional_maker):
#: the common success entry of every poll takes it
_reply = positional_maker(CommandReply)


def decode_entry(entry: object, cmd: str, *, channel: int | None = None) -> CommandReply:
    """One reply entry -> a CommandReply (error or value).

    ``cmd`` is what we sent; ``""`` means "use the name the device echoed".
    """
    if cmd and type(entry) is dict and "error" not in entry:
        # Fast path for the common success entry: code 0 and an object value.
        code = entry.get("code")
        value = entry.get("value", {})
        if type(code) is int and code == 0 and type(value) is dict:
            return _reply(cmd, value, None, entry)
    if not cmd:
        echoed = entry.get("cmd") if isinstance(entry, dict) else None
        cmd = printable(echoed, 40) if isinstance(echoed, str) and echoed else "Unknown"
    if not isinstance(entry, dict):
        raise RemoteProtocolError(
            f"{cmd}: expected a reply entry (object), got {_shape_name(entry)}"
        )
    code = entry.get("code")
    has_error = "error" in entry
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise RemoteProtocolError(f"{cmd}: reply code is {_shape_name(code)}, not an integer")
    if has_error or (code is not None and code != 0):
        error = entry.get("error")
        if has_error and not isinstance(error, dict):
            raise RemoteProtocolError(f"{cmd}: reply error is {_shape_name(error)}, not an object")
        return CommandReply(
            cmd=cmd, error=error_from_entry(entry, channel=channel, cmd=cmd), raw=entry
        )
    if code is None:
        raise RemoteProtocolError(f"{cmd}: reply entry has neither code nor error")
    value = entry.get("value", {})
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise RemoteProtocolError(f"{cmd}: reply value is {_shape_name(value)}, not an object")
    return CommandReply(cmd=cmd, value=value, raw=entry)


def expect_array(data: object, cmd: str) -> list[object]:
    """``data`` if it is a JSON array, else RemoteProtocolError."""
    if not isinstance(data, list):
        raise RemoteProtocolError(f"{cmd}: expected a JSON array, got {_shape_name(data)}")
    return data


def decode_reply(raw: bytes, cmd: str, *, channel: int | None = None) -> CommandReply:
    """Decode a single-command response body (a JSON array of exactly one entry).

    ``cmd`` is the command sent (``""``: take the echoed name).
    """
    entries = expect_array(load_json(raw), cmd or "reply")
    if len(entries) != 1:
        raise BatchShapeError(
            f"{cmd or 'reply'}: expected 1 reply entry, got {len(entries)}",
            expected=1,
            got=len(entries),
        )
    return decode_entry(entries[0], cmd, channel=channel)
