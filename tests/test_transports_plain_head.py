"""The plain-head fast path of transports/_exchange.py against http.client, byte for byte.

Each reply is written into one end of a socket pair and read by ``exchange()`` twice: with the
fast path (:func:`_plain_head`) and with it switched off (``HTTPResponse.begin()``, i.e. the
standard library's parser); both must give the same status, headers, body and keep-alive
decision, or fail with the same error. Where the fast path took the reply, bare
``http.client.HTTPResponse`` on the same bytes must give the same status, headers and body.
The replies: every framing of tests/test_transports_differential.py (250+, most not plain:
they prove the fallback) and plain heads with their near misses.
"""

from __future__ import annotations

import http.client
import io
import socket
from typing import Dict, List, Optional, Tuple, Union

import pytest
from test_transports_differential import FRAMINGS

import transports._exchange as ex
from reolink.transport import Request

BODY = b'[{"cmd":"GetMdState","code":0,"value":{"state":1}}]'
N = len(BODY)


def _reply(*fields: bytes, status: bytes = b"HTTP/1.1 200 OK", body: bytes = BODY) -> bytes:
    return b"\r\n".join([status, *fields]) + b"\r\n\r\n" + body


LENGTH = b"Content-Length: %d" % N
PLAIN: List[Tuple[str, bytes]] = [
    ("emulator-like", _reply(b"Content-Type: application/json", LENGTH, b"Server: nginx")),
    ("connection-close", _reply(LENGTH, b"Connection: close")),
    ("connection-keep-alive", _reply(LENGTH, b"Connection: keep-alive")),
    ("connection-closed-word", _reply(LENGTH, b"Connection: Closed")),
    ("upper-names", _reply(b"CONTENT-LENGTH: %d" % N, b"CONTENT-TYPE: text/html")),
    ("no-space-after-colon", _reply(b"Content-Length:%d" % N)),
    ("many-spaces", _reply(b"Content-Length:     %d" % N)),
    ("leading-zeros", _reply(b"Content-Length: 000%d" % N)),
    ("status-201", _reply(LENGTH, status=b"HTTP/1.1 201 Created")),
    ("status-299-no-reason", _reply(LENGTH, status=b"HTTP/1.1 299 ")),
    ("reason-spaces", _reply(LENGTH, status=b"HTTP/1.1 200   All  fine  ")),
    ("inner-spaces", _reply(LENGTH, b"X-Thing: a  b   c")),
    ("value-with-colons", _reply(LENGTH, b"Date: Mon, 01 Jan 2024 00:00:00 GMT")),
    ("99-fields", _reply(LENGTH, *[b"X-F%d: %d" % (i, i) for i in range(98)])),
    ("zero-length", _reply(b"Content-Length: 0", body=b"")),
    ("length-short", _reply(b"Content-Length: %d" % (N - 5))),
    ("gzip-coding", _reply(LENGTH, b"Content-Encoding: gzip")),
    ("extra-after-body", _reply(LENGTH) + b"HTTP/1.1 200 OK\r\n"),
]
#: Near misses: these must go through http.client, with the same outcome.
NEAR_MISSES: List[Tuple[str, bytes]] = [
    ("100-fields", _reply(LENGTH, *[b"X-F%d: %d" % (i, i) for i in range(99)])),
    ("trailing-space", _reply(b"Content-Length: %d " % N)),
    ("tab-before-value", _reply(b"Content-Length:\t%d" % N)),
    ("empty-value", _reply(LENGTH, b"X-Empty:")),
    ("space-before-colon", _reply(b"Content-Length : %d" % N)),
    ("duplicate-names", _reply(LENGTH, b"X-A: 1", b"x-a: 2")),
    ("duplicate-lengths", _reply(LENGTH, LENGTH)),
    ("lengths-comma", _reply(b"Content-Length: %d, %d" % (N, N))),
    ("length-sign", _reply(b"Content-Length: +%d" % N)),
    ("length-missing", _reply(b"Content-Type: text/html")),
    ("chunked", _reply(b"Transfer-Encoding: chunked", body=b"%x\r\n%s\r\n0\r\n\r\n" % (N, BODY))),
    ("204", _reply(b"Content-Length: 0", status=b"HTTP/1.1 204 No Content", body=b"")),
    ("404", _reply(LENGTH, status=b"HTTP/1.1 404 Not Found")),
    ("http-1.0", _reply(LENGTH, status=b"HTTP/1.0 200 OK")),
    ("latin1-value", _reply(LENGTH, b"X-Name: S\xfcd")),
    ("folded-line", _reply(LENGTH, b"X-Long: one", b" two")),
    ("lf-only", b"HTTP/1.1 200 OK\nContent-Length: %d\n\n" % N + BODY),
    ("from-line", _reply(LENGTH, b"From nobody")),
    ("100-continue-first", b"HTTP/1.1 100 Continue\r\n\r\n" + _reply(LENGTH)),
]

Outcome = Union[Tuple[int, Dict[str, str], bytes, bool], Tuple[str, str]]


def _run(data: bytes, method: str = "GET") -> Tuple[Outcome, bool]:
    """exchange() on ``data``: (its outcome, whether the fast path took the head)."""
    ours, theirs = socket.socketpair()
    taken = []
    real = ex._plain_head

    def spy(response: http.client.HTTPResponse, reader: ex._Reader) -> Optional[Dict[str, str]]:
        out = real(response, reader)
        taken.append(out is not None)
        return out

    try:
        theirs.sendall(data)
        theirs.shutdown(socket.SHUT_WR)
        request = Request(method, "/", connect_timeout=1.0, read_timeout=1.0)
        ex._plain_head = spy  # type: ignore[assignment]
        try:
            outcome: Outcome = ex.exchange(ours, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
        except Exception as err:  # compared by type and message
            outcome = (type(err).__name__, str(err))
        finally:
            ex._plain_head = real  # type: ignore[assignment]
    finally:
        ours.close()
        theirs.close()
    return outcome, any(taken)


def _slow(data: bytes, method: str = "GET") -> Outcome:
    real = ex._plain_head
    ex._plain_head = lambda response, reader: None  # type: ignore[assignment]
    try:
        return _run(data, method)[0]
    finally:
        ex._plain_head = real  # type: ignore[assignment]


class _File:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))  # type: ignore[arg-type]


def _bare(data: bytes) -> Tuple[int, Dict[str, str], bytes]:
    """Bare http.client on the same bytes (the reference)."""
    response = http.client.HTTPResponse(_File(data))  # type: ignore[arg-type]
    response.begin()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return response.status, headers, response.read()


CASES = PLAIN + NEAR_MISSES + [
    (f.name, b"".join(f.segments)) for f in FRAMINGS
]


def test_plain_heads_take_the_fast_path_and_near_misses_do_not() -> None:
    assert all(_run(data)[1] for _, data in PLAIN)
    assert not any(_run(data)[1] for _, data in NEAR_MISSES)
    # A HEAD request never takes it (http.client reads no body then).
    assert not _run(PLAIN[0][1], "HEAD")[1]


@pytest.mark.parametrize("name,data", CASES, ids=[name for name, _ in CASES])
def test_fast_path_gives_what_http_client_gives(name: str, data: bytes) -> None:
    fast, taken = _run(data)
    assert fast == _slow(data), name
    if taken and len(fast) == 4:  # a reply (errors are ours, compared above)
        status, headers, body, _keep = fast  # type: ignore[misc]
        assert (status, headers, body) == _bare(data), name
