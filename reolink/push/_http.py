"""The little HTTP/1.1 the push listener speaks: canned replies and a request-head parser."""

from __future__ import annotations

from typing import Optional, Tuple

__all__ = [
    "BAD_REQUEST",
    "CONTINUE",
    "HEAD_TOO_LARGE",
    "MAX_HEAD",
    "NOT_FOUND",
    "OK",
    "TOO_LARGE",
    "parse_head",
]

#: The most bytes a request head may take before it is refused (431).
MAX_HEAD = 8192
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _reply(status: int, reason: str) -> bytes:
    return f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


NOT_FOUND = _reply(404, "Not Found")
BAD_REQUEST = _reply(400, "Bad Request")
TOO_LARGE = _reply(413, "Content Too Large")
HEAD_TOO_LARGE = _reply(431, "Request Header Fields Too Large")


def parse_head(head: bytes) -> Optional[Tuple[str, int, bool]]:
    """(path without query, Content-Length, Expect: 100-continue) or None for garbage."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith("HTTP/1."):
        return None
    target = parts[1]
    if not target.startswith("/"):
        return None
    length, expect = 0, False
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            return None
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            if not value.isdigit() or len(value) > 12:
                return None
            length = int(value)
        elif name == "transfer-encoding":
            return None  # chunked bodies are not something a camera sends: refuse, simply
        elif name == "expect":
            expect = value.lower() == "100-continue"
    return target.split("?", 1)[0], length, expect
