"""The plain-reply path of transports/_exchange.py against http.client, read by read.

tests/test_transports_plain_head.py writes each reply whole before it is read, so the first
read holds all of it. Here a scripted socket hands the reply out in the pieces a test chooses,
one per read: the head cut at every byte, the body arriving after the head, a byte at a time,
or cut short by the close; and every framing of tests/test_transports_differential.py one TCP
segment per read. Each is read by ``exchange()`` with the plain path and with it switched off
(``HTTPResponse.begin()`` then reads all of it); both must give the same reply or the same
error, and where the plain path took the reply, bare http.client on the same bytes must give
the same status, headers and body. Also here: what the plain path costs in system calls
(``settimeout`` only when the value changes) and the request-head cache of ``HeadBuilder``.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pytest
from test_transports_differential import FRAMINGS
from test_transports_plain_head import NEAR_MISSES, PLAIN, _bare

import transports._exchange as ex
from reolink.errors import ResponseTooLarge
from reolink.transport import Request
from transports._errors import NoReply, NothingSent
from transports._wire import HeadBuilder

BODY = b'[{"cmd":"GetMdState","code":0,"value":{"state":1}}]'
REPLY = (
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Wed, 02 Dec 2026 03:00:00 GMT\r\n"
    b"Content-Type: text/html\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n"
    % len(BODY)
) + BODY
HEAD_END = REPLY.index(b"\r\n\r\n") + 4


class ScriptedSocket:
    """A connected socket whose every read returns the next piece of the script (or the part
    of it that fits); then b"" (the peer closed). Records what was sent and each settimeout."""

    def __init__(self, pieces: Sequence[bytes], timeout: Optional[float] = None) -> None:
        self.pieces = [p for p in pieces if p]
        self.timeout = timeout
        self.timeouts: List[Optional[float]] = []
        self.reads = 0
        self.sent = b""

    def gettimeout(self) -> Optional[float]:
        return self.timeout

    def settimeout(self, value: Optional[float]) -> None:
        self.timeouts.append(value)
        self.timeout = value

    def send(self, data: Any) -> int:
        self.sent += bytes(data)
        return len(data)

    def sendall(self, data: Any) -> None:
        self.sent += bytes(data)

    def recv(self, size: int) -> bytes:
        self.reads += 1
        if not self.pieces:
            return b""
        piece = self.pieces.pop(0)
        if len(piece) > size:
            self.pieces.insert(0, piece[size:])
        return piece[:size]

    def recv_into(self, buffer: Any) -> int:
        data = self.recv(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


Outcome = Union[Tuple[int, Dict[str, str], bytes, bool], Tuple[str, str]]


def _exchange(pieces: Sequence[bytes], method: str = "GET") -> Tuple[Outcome, bool]:
    """exchange() on the scripted reply: (its outcome, whether the plain path took the head)."""
    taken = []
    real = ex._plain_head

    def spy(data: bytes, end: int) -> Optional[ex.PlainHead]:
        out = real(data, end)
        taken.append(out is not None)
        return out

    request = Request(method, "/", connect_timeout=1.0, read_timeout=1.0)
    ex._plain_head = spy  # type: ignore[assignment]
    try:
        sock: Any = ScriptedSocket(pieces)
        outcome: Outcome = ex.exchange(sock, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    except Exception as err:  # compared by type and message
        outcome = (type(err).__name__, str(err))
    finally:
        ex._plain_head = real  # type: ignore[assignment]
    return outcome, any(taken)


def _slow(pieces: Sequence[bytes], method: str = "GET") -> Outcome:
    real = ex._plain_head
    ex._plain_head = lambda data, end: None  # type: ignore[assignment]
    try:
        return _exchange(pieces, method)[0]
    finally:
        ex._plain_head = real  # type: ignore[assignment]


def _check(name: str, pieces: Sequence[bytes]) -> bool:
    """Both paths agree on ``pieces``, and a reply the plain path took is http.client's."""
    fast, taken = _exchange(pieces)
    assert fast == _slow(pieces), name
    if taken and len(fast) == 4:
        status, headers, body, _keep = fast  # type: ignore[misc]
        assert (status, headers, body) == _bare(b"".join(pieces)), name
    return taken


def _cuts(data: bytes, at: Sequence[int]) -> List[bytes]:
    bounds = [0, *at, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def test_the_head_cut_at_every_byte() -> None:
    # Head not whole in the first read: http.client reads it; the same reply either way.
    for cut in range(1, HEAD_END):
        assert not _check(f"head cut at {cut}", _cuts(REPLY, [cut]))
    assert _check("head whole", _cuts(REPLY, [HEAD_END]))


def test_the_body_after_the_head_in_every_split() -> None:
    for cut in range(HEAD_END, len(REPLY)):
        assert _check(f"body cut at {cut}", _cuts(REPLY, [cut]))
    assert _check("body a byte at a time", [REPLY[:HEAD_END]] + [bytes([b]) for b in BODY])


def test_a_body_cut_short_by_the_close_is_an_incomplete_read() -> None:
    for cut in range(HEAD_END, len(REPLY)):
        fast, taken = _exchange(_cuts(REPLY[:cut], [HEAD_END]))
        assert taken
        assert fast == ("IncompleteRead", f"IncompleteRead({cut - HEAD_END} bytes read, "
                                          f"{len(REPLY) - cut} more expected)")
        assert fast == _slow(_cuts(REPLY[:cut], [HEAD_END]))


def test_bytes_after_the_body_end_keep_alive_in_any_read() -> None:
    extra = REPLY + b"HTTP/1.1 200 OK\r\n"
    for cut in (HEAD_END, HEAD_END + 10, len(REPLY), len(REPLY) + 3):
        fast, taken = _exchange(_cuts(extra, [cut]))
        assert taken and fast == _slow(_cuts(extra, [cut]))
        if cut < len(REPLY):  # the extra bytes came with the head or with the body
            assert fast[3] is False  # type: ignore[misc]


@pytest.mark.parametrize("index", range(len(FRAMINGS)), ids=[f.name for f in FRAMINGS])
def test_every_framing_one_segment_per_read(index: int) -> None:
    framing = FRAMINGS[index]
    _check(framing.name, framing.segments)


@pytest.mark.parametrize("name,data", PLAIN + NEAR_MISSES, ids=[n for n, _ in PLAIN + NEAR_MISSES])
def test_plain_heads_and_near_misses_with_the_body_read_on(name: str, data: bytes) -> None:
    end = data.find(b"\r\n\r\n") + 4
    _check(name, _cuts(data, [end]) if end > 3 else [data])
    _check(name + " bytewise body", [data[:end]] + [data[i:i + 1] for i in range(end, len(data))])


def test_a_head_longer_than_http_clients_first_read_goes_to_http_client() -> None:
    # 16 KiB is what http.client's buffered reader holds after one read: a plain head that
    # ends beyond it is read by http.client (which would have read it in several).
    long = b"HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        b"a" * 17000, len(BODY), BODY)
    assert not _check("long head", [long])
    short = b"HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        b"a" * 16000, len(BODY), BODY)
    assert _check("head within 16 KiB", [short])


def test_a_declared_length_over_the_cap_fails_before_the_body_is_read() -> None:
    sock: Any = ScriptedSocket([REPLY[:HEAD_END], BODY])
    request = Request("GET", "/", connect_timeout=1.0, read_timeout=1.0, max_body=len(BODY) - 1)
    message = f"dev: response declares {len(BODY)} bytes, more than the {len(BODY) - 1}-byte cap"
    with pytest.raises(ResponseTooLarge, match=message):
        ex.exchange(sock, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    assert sock.reads == 1


def test_a_reply_at_once_costs_no_settimeout_when_the_timeout_is_already_set() -> None:
    request = Request("GET", "/", connect_timeout=2.0, read_timeout=2.0)
    sock: Any = ScriptedSocket([REPLY], timeout=2.0)
    assert ex.exchange(sock, b"GET / HTTP/1.1\r\n\r\n", request, "dev")[2] == BODY
    assert sock.timeouts == [] and sock.reads == 1
    # Another value is set once (sending and reading share it: the driver's equal timeouts).
    sock = ScriptedSocket([REPLY], timeout=5.0)
    ex.exchange(sock, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    assert sock.timeouts == [2.0]
    # Different timeouts: the one for sending, then the read budget.
    request = Request("GET", "/", connect_timeout=5.0, read_timeout=2.0)
    sock = ScriptedSocket([REPLY], timeout=5.0)
    ex.exchange(sock, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    assert sock.timeouts == [2.0]


def test_a_nothing_sent_and_a_reset_before_any_reply_keep_their_meaning() -> None:
    class Dead(ScriptedSocket):
        def send(self, data: Any) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    class Reset(ScriptedSocket):
        def recv(self, size: int) -> bytes:
            raise ConnectionResetError(104, "Connection reset by peer")

    request = Request("GET", "/", connect_timeout=1.0, read_timeout=1.0)
    dead: Any = Dead([REPLY])
    with pytest.raises(NothingSent):
        ex.exchange(dead, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    reset: Any = Reset([REPLY])
    with pytest.raises(NoReply) as info:
        ex.exchange(reset, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    assert info.value.args == ("reset",)
    closed: Any = ScriptedSocket([])
    with pytest.raises(NoReply) as info:
        ex.exchange(closed, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    assert info.value.args == ("closed",)


def test_a_tls_error_while_reading_is_the_connection_breaking() -> None:
    # On the first read (no byte of a reply yet): NoReply, the request may have run; on a
    # later one: the connection broke inside the reply. Both name the TLS error.
    class TLSBreaks(ScriptedSocket):
        def recv(self, size: int) -> bytes:
            if not self.pieces:
                raise ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record")
            return super().recv(size)

    request = Request("GET", "/", connect_timeout=1.0, read_timeout=1.0)
    first: Any = TLSBreaks([])
    with pytest.raises(NoReply) as info:
        ex.exchange(first, b"GET / HTTP/1.1\r\n\r\n", request, "dev")
    assert info.value.args == ("reset",)
    cause = info.value.__cause__
    assert isinstance(cause, ConnectionAbortedError)
    assert "TLS error while reading the reply" in str(cause)
    assert isinstance(cause.__cause__, ssl.SSLError)
    later: Any = TLSBreaks([REPLY[: HEAD_END + 3]])  # the head, then part of the body
    with pytest.raises(ConnectionAbortedError, match="TLS error while reading the reply"):
        ex.exchange(later, b"GET / HTTP/1.1\r\n\r\n", request, "dev")


# --- the request-head cache ---------------------------------------------------------------------


def _requests() -> List[Request]:
    json = {"Content-Type": "application/json"}
    return [
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=a", b"[1]", headers=json),
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=a", b"[1]", headers=json),
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=a", b"[22]", headers=json),
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=a", b"[1]",
                headers={"Content-Type": "text/plain"}),
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=a", b"[1]"),
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=b", b"[1]", headers=json),
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=a", b""),
        Request("POST", "/cgi-bin/api.cgi?cmd=GetMdState&token=a"),
        Request("GET", "/cgi-bin/api.cgi?cmd=Snap&token=a"),
        Request("GET", "/cgi-bin/api.cgi?cmd=Snap&token=a", headers={"X-A": "1"}),
        Request("GET", "/cgi-bin/api.cgi?cmd=Snap&token=a"),
    ]


def test_a_cached_head_is_the_head_a_fresh_builder_makes() -> None:
    cached = HeadBuilder("cam.local", 80, 80)
    for round_ in range(3):
        for request in _requests() * 2:
            assert cached.head(request) == HeadBuilder("cam.local", 80, 80).head(request), round_
    heads = {HeadBuilder("cam.local", 80, 80).head(r) for r in _requests()}
    assert len(heads) == 8  # 11 requests: two repeats, and #5 is #1 (JSON is the default type)


def test_the_head_cache_is_bounded_and_still_refuses_a_bad_target() -> None:
    builder = HeadBuilder("cam.local", 80, 80)
    for n in range(100):
        builder.head(Request("GET", f"/{n}"))
    assert len(builder._heads) <= 16
    good = Request("GET", "/cgi-bin/api.cgi?cmd=Snap")
    builder.head(good)
    with pytest.raises(ValueError):
        builder.head(Request("GET", "/cgi-bin/api.cgi?cmd=Snap HTTP/1.1\r\nX-Injected: 1"))
    with pytest.raises(ValueError):
        builder.head(Request("GET", "/cgi-bin/api.cgi?cmd=Snap", headers={"X-A": "b\r\nX: 1"}))


def test_the_plain_path_over_a_real_socket_pair() -> None:
    # The scripted socket stands in for a socket: check the same on a real one.
    ours, theirs = socket.socketpair()
    try:
        request = Request("POST", "/", b"[]", connect_timeout=1.0, read_timeout=1.0)
        for _ in range(3):
            theirs.sendall(REPLY)
            status, headers, body, keep = ex.exchange(ours, b"POST / HTTP/1.1\r\n\r\n", request,
                                                      "dev")
            assert (status, body, keep) == (200, BODY, True)
            assert headers["content-length"] == str(len(BODY))
            assert theirs.recv(100) == b"POST / HTTP/1.1\r\n\r\n[]"
    finally:
        ours.close()
        theirs.close()
