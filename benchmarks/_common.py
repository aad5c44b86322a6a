"""Shared pieces of the benchmarks: the emulator child, clients (ours, reolink-aio, the floor)."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import urllib3

from reolink.driver import AttributeEvent, ReolinkDriver, Timing
from reolink.transport import Request, Response, Transport

HERE = Path(__file__).resolve().parent
USER, PASSWORD = "admin", "admin123"
#: No lower bound on status_interval: benchmarks poll back to back.
BENCH_TIMING = Timing(min_status_interval_ms=1)


# --- the emulator child -----------------------------------------------------------------


class Fleet:
    """Emulated devices in one child process (see _emuproc.py)."""

    def __init__(self, devices: Sequence[Mapping[str, Any]], front: str = "native") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_emuproc.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self.ports: List[int] = self.call("start", devices=list(devices), front=front)["ports"]

    def call(self, op: str, **args: Any) -> Dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write(json.dumps(dict(args, op=op)) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"emulator process died (op {op})")
        reply: Dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"emulator process: {reply['error']}")
        return reply

    def requests(self, dev: int = 0) -> List[Tuple[float, str, str, List[str], Any]]:
        return [tuple(r) for r in self.call("requests", dev=dev)["requests"]]

    def churn(self, dev: int = 0, on: Optional[bool] = None) -> int:
        """Switch reply churn on/off (see _emuproc.py); poll cycles toggled so far."""
        args: Dict[str, Any] = {"dev": dev} if on is None else {"dev": dev, "on": on}
        return int(self.call("churn", **args)["churned"])

    def cpu(self) -> Tuple[float, float]:
        reply = self.call("cpu")
        return float(reply["cpu"]), float(reply["wall"])

    def close(self) -> None:
        try:
            self.call("stop")
        except (RuntimeError, OSError, ValueError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port() -> int:
    """A loopback port nothing listens on (reolink-aio's Baichuan probe fails at once)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


# --- statistics ---------------------------------------------------------------------------


def summary(values: Sequence[float]) -> Dict[str, float]:
    """median/min/max (and count) of ``values``."""
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


# --- our driver ---------------------------------------------------------------------------


def is_poll_body(body: Optional[bytes]) -> bool:
    """Whether a request body is a poll's (it holds GetMdState or GetEvents)."""
    return body is not None and (b"GetMdState" in body or b"GetEvents" in body)


def steady_bodies(sent: Sequence[Tuple[int, float, str, Any]], last: int) -> List[bytes]:
    """The request bodies of one poll cycle in the steady state, from a :class:`Tap`'s
    ``sent``: those of the latest cycle up to ``last`` whose every body was also sent in each
    of the two cycles before it.

    A poll sends the same bodies every cycle. What falls into one cycle only is no poll's
    steady state: a part of the detection-setup read (one channel per request, its GetEvents
    or GetMdState too, so :func:`is_poll_body` cannot tell them apart), or a poll body with
    GetChannelstatus added when that is due only every 60 s. Taking "the bodies of the last
    cycle" took a setup part along when the read was still going (16 channels polled every
    1 ms: 25 commands in place of 19).
    """
    by_cycle: Dict[int, List[bytes]] = {}
    for cycle, _, _, body in sent:
        if body:
            by_cycle.setdefault(cycle, []).append(body)
    for cycle in range(last, 1, -1):
        bodies = by_cycle.get(cycle)
        if bodies and all(
            body in by_cycle.get(cycle - back, ()) for body in bodies for back in (1, 2)
        ):
            return bodies
    raise RuntimeError(f"no cycle up to {last} sent the same bodies as the two before it")


class Tap:
    """A transport wrapper recording (cycles-at-send, time, target, body) of every request.

    With ``keep_body=False`` the body is replaced by whether it is a poll (holds GetMdState
    or GetEvents), so a long run does not keep every body alive. Numbering the cycle reads
    the driver's ``stats()`` on every request (its published snapshot, copied under a lock):
    where CPU is measured, use :class:`PollStamps`.
    """

    def __init__(self, inner: Transport, keep_body: bool = True) -> None:
        self.inner = inner
        self.keep_body = keep_body
        self.driver: Optional[ReolinkDriver] = None
        self.sent: List[Tuple[int, float, str, Any]] = []

    def send(self, request: Request) -> Response:
        cycles = cycles_of(self.driver) if self.driver is not None else -1
        body: Any = request.body
        if not self.keep_body:
            body = is_poll_body(body)
        self.sent.append((cycles, time.monotonic(), request.target, body))
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


class PollStamps:
    """A transport wrapper that stamps (``time.monotonic()``) each poll request (a body with
    GetMdState or GetEvents), and nothing else: the scale benchmark's cycle-start clock,
    as cheap as reolink-aio's side (one clock reading per cycle), so that what is measured
    is the driver. :func:`cycle_starts` turns the stamps into cycle starts."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.stamps: List[float] = []

    def send(self, request: Request) -> Response:
        if is_poll_body(request.body):
            self.stamps.append(time.monotonic())
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


def cycle_starts(stamps: Sequence[float], interval: float) -> List[float]:
    """The first stamp of each poll cycle: a cycle's requests go out back to back, so a
    stamp within half an interval of the one before belongs to the same cycle."""
    starts: List[float] = []
    last = -math.inf
    for stamp in stamps:
        if stamp - last >= interval / 2:
            starts.append(stamp)
        last = stamp
    return starts


class WakingThreads:
    """``n`` threads that only wait: each wakes every ``interval`` s on a lock's timed
    acquire, as a device thread waits between polls (spread over the interval), and counts
    the wake (``touch``: after reading a dict of 200 entries; ``work``: after calling
    ``work(index)``, a floor's poll). A context manager: the threads run inside the ``with``
    block; ``wakes`` is the count so far."""

    def __init__(
        self,
        n: int,
        interval: float,
        touch: bool = False,
        work: Optional[Callable[[int], None]] = None,
    ) -> None:
        self.n, self.interval, self.touch, self.work = n, interval, touch, work
        self._stop = threading.Event()
        self._wakes = [0]
        self._threads = [
            threading.Thread(target=self._body, args=(i,), daemon=True) for i in range(n)
        ]

    @property
    def wakes(self) -> int:
        return self._wakes[0]

    def _body(self, index: int) -> None:
        lock = threading.Lock()
        lock.acquire()
        table = {k: k for k in range(200)}
        interval, wakes, work = self.interval, self._wakes, self.work
        due = time.monotonic() + interval * index / self.n
        while not self._stop.is_set():
            due += interval
            delay = due - time.monotonic()
            if delay > 0:
                lock.acquire(True, delay)
            if self.touch:
                sum(table.values())
            if work is not None:
                work(index)
            wakes[0] += 1

    def __enter__(self) -> WakingThreads:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.interval + 5)


def zones_for(channels: int) -> Dict[str, Dict[str, str]]:
    """A host configures one zone per channel, with no AI type filter."""
    return {str(ch): {} for ch in range(channels)}


def make_driver(
    port: int,
    channels: int,
    *,
    interval_ms: int,
    kind: str = "urllib3",
    callback: Optional[Callable[[AttributeEvent], None]] = None,
    app: Any = None,
    taps: Optional[List[Tap]] = None,
    keep_body: bool = True,
    stamps: Optional[List[PollStamps]] = None,
) -> ReolinkDriver:
    """Our driver for the emulated device on ``port`` over ``kind`` (urllib3|stdlib|memory).

    With ``taps``, the transport is wrapped in a :class:`Tap` that is appended to the list;
    with ``stamps``, in a :class:`PollStamps`.
    """
    import transports

    def factory(config: Any) -> Transport:
        inner: Transport
        if kind == "memory":
            inner = transports.MemoryTransport(app)
        else:
            inner = transports.open_transport(scheme="http", host="127.0.0.1", port=port, kind=kind)
        if taps is not None:
            wrapped = Tap(inner, keep_body)  # its driver is set once the driver exists
            taps.append(wrapped)
            return wrapped
        if stamps is not None:
            stamped = PollStamps(inner)
            stamps.append(stamped)
            return stamped
        return inner

    attributes = {
        "ip": "127.0.0.1",
        "port": str(port),
        "protocol": "http",
        "username": USER,
        "password": PASSWORD,
        "status_interval": str(interval_ms),
        "request_timeout": "8000",
    }
    if _has_push_attribute():
        # These benchmarks measure polling (requests per cycle, CPU per cycle, poll latency,
        # scale); push has its own (bench_push_latency.py). Trees before push have no attribute.
        attributes["push"] = "off"
    driver = ReolinkDriver(
        attributes,
        zones_for(channels),
        callback,
        transport_factory=factory,
        timing=BENCH_TIMING,
    )
    if taps:
        taps[-1].driver = driver
    return driver


def _has_push_attribute() -> bool:
    names = [a["name"] for a in ReolinkDriver.metadata()["attributes"]]
    return "push" in names


def cycles_of(driver: ReolinkDriver) -> int:
    """Poll cycles completed (``stats().cycles``; a bare ``cycles`` attribute before the core
    rewrite, so the same harness can measure the previous tree with PYTHONPATH)."""
    stats = getattr(driver, "stats", None)
    if stats is None:
        return int(driver.cycles)  # type: ignore[attr-defined]
    return int(stats().cycles)


def wait_cycles(driver: ReolinkDriver, target: int, timeout: float, step: float = 0.002) -> bool:
    """Wait (sleeping, so this thread costs ~nothing) until ``cycles_of(driver) >= target``."""
    deadline = time.monotonic() + timeout
    while cycles_of(driver) < target:
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


class ReplayApp:
    """An in-memory "device" for MemoryTransport: forwards to the emulator over HTTP while
    recording, then answers repeated POST bodies from the recording (no emulator cost).

    The last two replies to each body are kept and replayed in turn, so with reply churn on
    (two states, toggled every cycle) every replayed reply still differs from the previous one.
    """

    def __init__(self, port: int) -> None:
        self.pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False)
        self.cache: Dict[Tuple[str, bytes], List[Tuple[int, Dict[str, str], bytes]]] = {}
        self.turn: Dict[Tuple[str, bytes], int] = {}
        self.replay = False
        self.misses = 0

    def __call__(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Tuple[int, Dict[str, str], bytes]:
        key = (method, body)
        if self.replay and method == "POST" and key in self.cache:
            answers = self.cache[key]
            turn = self.turn[key] = (self.turn.get(key, -1) + 1) % len(answers)
            return answers[turn]
        if self.replay:
            self.misses += 1
        resp = self.pool.request(method, target, body=body or None, headers=dict(headers))
        answer = (resp.status, dict(resp.headers), resp.data)
        if method == "POST" and b'"Login"' not in body and b'"Logout"' not in body:
            self.cache[key] = [*self.cache.get(key, []), answer][-2:]
        return answer

    def close(self) -> None:
        self.pool.close()


# --- the floor: bare urllib3 + json.loads -------------------------------------------------


class Floor:
    """The least any client must do: POST the same bodies, parse the JSON."""

    def __init__(self, port: int) -> None:
        self.pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False)
        login = [{"cmd": "Login", "param": {"User": {"userName": USER, "password": PASSWORD}}}]
        resp = self.pool.request(
            "POST",
            "/cgi-bin/api.cgi?cmd=Login",
            body=json.dumps(login).encode(),
            headers={"Content-Type": "application/json"},
        )
        self.token = json.loads(resp.data)[0]["value"]["Token"]["name"]

    def post(self, body: bytes) -> Any:
        resp = self.pool.request(
            "POST",
            f"/cgi-bin/api.cgi?token={self.token}",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        return json.loads(resp.data)

    def get(self, target: str) -> bytes:
        sep = "&" if "?" in target else "?"
        return bytes(self.pool.request("GET", f"{target}{sep}token={self.token}").data)

    def close(self) -> None:
        try:
            self.post(json.dumps([{"cmd": "Logout", "param": {}}]).encode())
        finally:
            self.pool.close()


class MemoryFloor:
    """The least any thread-per-device driver does per poll in the ``memory`` column's own
    harness: the work of one :class:`WakingThreads` thread, which wakes every 1 ms as the
    driver's does (``MemoryFloor(app, bodies, callback)`` is the ``work``).

    Each body is posted through a :class:`~transports.MemoryTransport` to the same replaying
    app the driver talks to, and the reply is compared with the last one. A reply that differs
    is parsed (``json.loads``) and each entry's value compared with the last; a changed entry
    makes one event tuple and one call of ``callback``. No session, plan, store or host
    attributes: a lower bound for that column, not a driver.
    """

    def __init__(
        self, app: Callable[..., Any], bodies: Sequence[bytes], callback: Callable[[Any], None]
    ) -> None:
        from transports import MemoryTransport

        self.transport = MemoryTransport(app)
        self.requests = [
            Request(method="POST", target="/cgi-bin/api.cgi?token=floor", body=body,
                    headers={"Content-Type": "application/json"})
            for body in bodies
        ]
        self.callback = callback
        self._last: Dict[int, bytes] = {}
        self._values: Dict[Tuple[int, int], Any] = {}

    def __call__(self, index: int) -> None:
        send, last, values, callback = self.transport.send, self._last, self._values, self.callback
        for n, request in enumerate(self.requests):
            body = send(request).body
            if last.get(n) == body:
                continue
            last[n] = body
            for i, entry in enumerate(json.loads(body)):
                value = entry.get("value")
                if values.get((n, i)) != value:
                    values[(n, i)] = value
                    callback((n, i, value))


# --- reolink-aio ----------------------------------------------------------------------------


def aio_available() -> bool:
    try:
        import reolink_aio.api  # noqa: F401
    except ImportError:
        return False
    return True


class Aio:
    """reolink-aio's Host on a private event loop, driven the way Home Assistant polls."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = port
        self.host: Any = None

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def connect(self) -> None:
        from reolink_aio.api import Host
        from reolink_aio.enums import ConnectionEnum

        async def make() -> Any:
            return Host(
                "127.0.0.1",
                USER,
                PASSWORD,
                port=self.port,
                use_https=False,
                bc_port=closed_port(),
                bc_connection=ConnectionEnum.tcp,
            )

        self.host = self.run(make())
        self.run(self.host.get_host_data())

    def poll(self, n: int) -> None:
        async def loop() -> None:
            for _ in range(n):
                await self.host.get_motion_state_all_ch()

        self.run(loop())

    def close(self) -> None:
        if self.host is not None:
            self.run(self.host.logout())
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()
