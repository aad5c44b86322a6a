"""Pieces shared by the transports: host names, request heads, idle checks.

Nothing here imports urllib3: the stdlib transport must work without it. The exchange itself
(send the request, read the whole reply under the deadline and the cap) is in
:mod:`transports._exchange`; both real transports run it on their own connections.
"""

from __future__ import annotations

import re
import select
import socket
from collections.abc import Mapping

from reolink._version import __version__
from reolink.transport import Request

__all__ = [
    "HeadBuilder",
    "authority",
    "closed_while_idle",
    "default_headers",
    "normalize_host",
]

USER_AGENT = f"reolink-python/{__version__}"

_DEFAULTS = {"user-agent": USER_AGENT, "accept": "*/*", "connection": "keep-alive"}
_DEFAULTS_WITH_BODY = {**_DEFAULTS, "content-type": "application/json"}

#: Methods whose request carries a body by definition: ``Content-Length: 0`` when there is none
#: (what ``http.client`` and urllib3 send too).
_METHODS_EXPECTING_BODY = frozenset({"PATCH", "POST", "PUT"})

# The checks http.client applies, so that a target or header cannot smuggle a second request.
_BAD_TARGET_CHAR = re.compile("[\x00-\x20\x7f]")
_BAD_METHOD_CHAR = re.compile("[\x00-\x20\x7f]")
_GOOD_HEADER_NAME = re.compile(r"[^:\s][^:\r\n]*")
_BAD_HEADER_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")

#: Prebuilt header blocks kept per transport (distinct header sets a driver sends: two or three).
_HEAD_CACHE_SIZE = 16
#: Whole heads kept per transport, by (method, target, body length): a poll sends the same
#: head every cycle until its token changes.
_WHOLE_HEADS = 16


def normalize_host(host: str) -> str:
    """``"[::1]"`` → ``"::1"``; names and IPv4 addresses unchanged."""
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def authority(host: str, port: int) -> str:
    """``host:port`` for messages and reprs, IPv6 literals bracketed (``[::1]:443``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_headers(headers: Mapping[str, str], has_body: bool) -> dict[str, str]:
    """The request's headers plus our defaults, names lower-case; the request's own values win."""
    merged = dict(_DEFAULTS_WITH_BODY if has_body else _DEFAULTS)
    for name, value in headers.items():
        merged[name.lower()] = value
    return merged


def _title_case(name: str) -> str:
    # Header names are case-insensitive, but embedded web servers are not always tolerant:
    # send the conventional spelling.
    return "-".join(part.capitalize() for part in name.split("-"))


class HeadBuilder:
    """Builds request heads for one device; the header block is built once per header set.

    Validation (method, target, header names and values) is what ``http.client`` does, so that
    a target or header cannot smuggle a second request; a failure is a ``ValueError`` (a bug in
    the caller, not a transport error) and nothing is sent.
    """

    def __init__(self, host: str, port: int, default_port: int) -> None:
        # The Host header as http.client writes it: IPv6 bracketed, the port only when it is
        # not the scheme's default.
        try:
            ascii_host = host.encode("ascii").decode("ascii")
        except UnicodeEncodeError:
            ascii_host = host.encode("idna").decode("ascii")
        if ":" in ascii_host:
            ascii_host = f"[{ascii_host}]"
        self._host = ascii_host if port == default_port else f"{ascii_host}:{port}"
        self._blocks: dict[tuple[str, bool, tuple[tuple[str, str], ...]], tuple[bytes, bool]] = {}
        self._heads: dict[tuple[str, str, int], tuple[Mapping[str, str], bytes]] = {}

    def head(self, request: Request) -> bytes:
        """The request line and headers, ending in the blank line, ready to send.

        A head is built once per (method, target, body length, headers) and then reused: the
        checks below ran on it when it was built, and it is the same bytes whoever asks.
        """
        body = request.body
        key = (request.method, request.target, -1 if body is None else len(body))
        cached = self._heads.get(key)
        if cached is not None and cached[0] == request.headers:
            return cached[1]
        head = self._build_head(request)
        if len(self._heads) >= _WHOLE_HEADS:
            self._heads.clear()
        self._heads[key] = (dict(request.headers), head)
        return head

    def _build_head(self, request: Request) -> bytes:
        method, target, body = request.method, request.target, request.body
        if _BAD_TARGET_CHAR.search(target):
            raise ValueError(
                "request target can't contain spaces or control characters "
                "(target not shown: it may hold a token)"
            )
        key = (method, body is not None, tuple(request.headers.items()))
        cached = self._blocks.get(key)
        if cached is None:
            cached = self._build(method, request.headers, body is not None)
            if len(self._blocks) >= _HEAD_CACHE_SIZE:
                self._blocks.clear()
            self._blocks[key] = cached
        block, add_length = cached
        line = f"{method} {target} HTTP/1.1\r\n".encode("ascii")
        if add_length:
            length = 0 if body is None else len(body)
            return b"%s%sContent-Length: %d\r\n\r\n" % (line, block, length)
        return line + block + b"\r\n"

    def _build(
        self, method: str, headers: Mapping[str, str], has_body: bool
    ) -> tuple[bytes, bool]:
        if not method or _BAD_METHOD_CHAR.search(method):
            raise ValueError(f"method can't contain control characters: {method!r}")
        merged: dict[str, str] = {"host": self._host, "accept-encoding": "identity"}
        merged.update(default_headers(headers, has_body))
        lines = []
        for name, value in merged.items():
            if not _GOOD_HEADER_NAME.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            if _BAD_HEADER_VALUE.search(value):
                raise ValueError(f"invalid header value for {name!r}")
            lines.append(f"{_title_case(name)}: {value}\r\n".encode("latin-1"))
        add_length = "content-length" not in merged and (
            has_body or method in _METHODS_EXPECTING_BODY
        )
        return b"".join(lines), add_length


def closed_while_idle(sock: socket.socket) -> bool:
    """True when an idle kept-alive socket is readable: the peer closed it (or sent junk)."""
    try:
        if hasattr(select, "poll"):
            # poll() has no FD_SETSIZE limit; hosts with many open files exceed 1024.
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)  # Windows
        return bool(readable)
    except (OSError, ValueError):
        return True
