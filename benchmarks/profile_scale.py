"""Where our driver's CPU goes at scale: N devices x 8 channels in this process, profiled.

    python benchmarks/profile_scale.py [--devices 100] [--seconds 20] [--transport urllib3]
                                       [--cprofile] [--segments] [--floor] [--perf FILE]

The same set-up as figure 4 (``bench_scale.py``): emulated NVRs in child processes (asyncio
edge), one driver per device in this process, status_interval 2000 ms, no host callback work
(the callback is None, replies do not change, as in the scale run). After a warm-up it
measures one window and prints, per poll cycle of one device: process CPU (user and system),
context switches (voluntary = a thread blocked: a wait, a socket read, the GIL), and:

* ``--transport memory``: the driver over the in-memory transport replaying the device's
  recorded replies (``ReplayApp``), threads and all but no sockets: the difference to
  ``urllib3`` is what the transport and the kernel's loopback cost;
* ``--cprofile``: each device thread profiled during the window with a per-thread CPU clock
  (``time.thread_time``: a wait costs only what the thread spent on the CPU), the time of
  each function put in a bucket (driver core, device loop, transport, socket calls, lock and
  event waits, logging, ...); cProfile slows the calls down, so the buckets are shares, scaled
  to the unprofiled CPU per cycle of the same run;
* ``--perf FILE``: ``perf record`` of this process during the window (C level: the eval loop,
  the GIL, the kernel's futex, TCP and scheduler), summarized by shared object and symbol;
* ``--wake-floor``: no driver and no device: N threads, each waking every 2 s on a lock's
  timed acquire as a device thread does between polls (spread over the interval), and doing
  nothing else, or reading a dict of 200 entries once per wake (``touch``: a first use of
  memory gone cold since the last wake). The CPU per wake is what a thread per device costs
  before any work: a poll cycle waits twice (the timer, then the reply).
* ``--segments``: the device threads' CPU (``time.thread_time``) per poll cycle, split by
  step, during the window: the core's turns (by event), the transport's send (the reply's
  wait included: a wait costs the CPU of the wake), the rest of the loop's waits (the timer),
  the snapshot publication and the actions' dispatch. The wrappers cost a little each;
* ``--floor``: before the driver, on the same fleet: the least a thread per device can do
  per poll, N threads each waking every 2 s as above and posting our driver's own poll body
  (taken from a tapped driver) to its device. ``raw``: a kept-alive socket, the request's
  bytes made once, the reply read up to its Content-Length and compared with the last one
  (no JSON decoding: a repeated answer needs none). ``urllib3 + json``: urllib3's
  ``request()`` and ``json.loads`` of every reply (what a plain client does). Then the driver
  is measured as without ``--floor``: the figures are side by side in one run.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Fleet,
    Floor,
    ReplayApp,
    Tap,
    WakingThreads,
    cycles_of,
    make_driver,
    steady_bodies,
    wait_cycles,
)

from reolink.driver import ReolinkDriver
from reolink.driver import loop as loop_module

PER_SHARD = 250
INTERVAL_MS = 2000

# --- per-thread cProfile during the window only -----------------------------------------

_window = threading.Event()
_profiles: List[cProfile.Profile] = []
_local = threading.local()
_profiles_lock = threading.Lock()
_done: List[cProfile.Profile] = []


def _profiled_next_event(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap DeviceLoop._next_event: a device thread starts its profiler at its first turn
    inside the window and stops it at its first turn after (harness only, not the driver)."""

    def wrapper(self: Any) -> Any:
        prof: Optional[cProfile.Profile] = getattr(_local, "prof", None)
        if _window.is_set() and prof is None:
            prof = cProfile.Profile(time.thread_time)
            _local.prof = prof
            with _profiles_lock:
                _profiles.append(prof)
            prof.enable()
        elif not _window.is_set() and prof is not None and getattr(_local, "on", True):
            # Stopped and summed up on its own thread: a profile stopped from another
            # thread would close the frames still open with that thread's CPU clock.
            prof.disable()
            prof.create_stats()
            _local.on = False
            with _profiles_lock:
                _done.append(prof)
        return original(self)

    return wrapper


class _Segments:
    """Thread CPU of the device threads per step, inside the window (see ``--segments``)."""

    def __init__(self) -> None:
        self.cpu: Dict[str, float] = {}
        self.lock = threading.Lock()

    def add(self, name: str, cpu: float) -> None:
        with self.lock:
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def wrap(self, cls: Any, method: str, name: Callable[[Tuple[Any, ...]], str]) -> None:
        original = getattr(cls, method)

        def timed(this: Any, *args: Any) -> Any:
            if not _window.is_set():
                return original(this, *args)
            start = time.thread_time()
            try:
                return original(this, *args)
            finally:
                self.add(name(args), time.thread_time() - start)

        setattr(cls, method, timed)

    def install(self) -> None:
        from reolink.driver.core import DriverCore

        self.wrap(DriverCore, "handle", lambda args: f"core turn: {type(args[1]).__name__}")
        self.wrap(loop_module.DeviceLoop, "_send", lambda args: "transport send + reply wait")
        self.wrap(loop_module.DeviceLoop, "_next_event", lambda args: "next event")
        self.wrap(loop_module.DeviceLoop, "_publish", lambda args: "snapshot publication")
        self.wrap(loop_module.DeviceLoop, "_obey", lambda args: "actions dispatched")

    def report(self, cycles: int) -> None:
        with self.lock:
            cpu = dict(self.cpu)
        # _next_event wraps _send: what is left of it is the timer's wait (and its checks).
        cpu["timer wait (next event, less the send)"] = cpu.pop("next event", 0.0) - cpu.get(
            "transport send + reply wait", 0.0
        )
        per = 1e6 / max(cycles, 1)
        print(f"\ndevice threads' CPU per cycle by step (thread CPU clock, {cycles} cycles):")
        for name, value in sorted(cpu.items(), key=lambda kv: -kv[1]):
            print(f"  {name:42} {value * per:7.1f} us")
        print(f"  {'sum':42} {sum(cpu.values()) * per:7.1f} us")


def _bucket_of_file(filename: str) -> str:
    name = filename.replace("\\", "/")
    if "/reolink/driver/loop.py" in name:
        return "device loop (loop.py)"
    if "/reolink/" in name:
        return "driver core + protocol"
    if "/transports/" in name:
        return "transport (ours)"
    if "/http/client.py" in name or "/email/" in name or "/urllib3/" in name:
        return "transport (stdlib/urllib3)"
    if name.endswith("/socket.py") or name.endswith("/selectors.py"):
        return "transport (stdlib/urllib3)"
    if name.endswith("/threading.py") or name.endswith("/queue.py"):
        return "threading (Event/Condition)"
    if "/json/" in name:
        return "json"
    if "/logging/" in name:
        return "logging"
    if "/concurrent/" in name:
        return "threading (Event/Condition)"
    if "/attr/" in name or "/attrs/" in name:
        return "attrs"
    return "other python"


def _bucket_of_builtin(label: str) -> Optional[str]:
    if "_socket.socket" in label or "select" in label or "poll" in label:
        return "socket calls (send/recv/poll)"
    if "lock" in label.lower() and ("acquire" in label or "release" in label or "exit" in label):
        return "lock acquire/release (waits)"
    if "SimpleQueue" in label:
        return "threading (Event/Condition)"
    return None


def _buckets(stats: pstats.Stats) -> Tuple[Dict[str, float], List[Tuple[float, str]]]:
    """Own time per bucket; a builtin's time goes to its callers' buckets unless it is a
    socket call or a lock (their own buckets)."""
    raw: Dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    buckets: Dict[str, float] = {}
    top: List[Tuple[float, str]] = []
    for func, (_cc, _nc, tt, _ct, callers) in raw.items():
        filename, line, label = func
        top.append((tt, f"{Path(filename).name}:{line}({label})" if filename != "~" else label))
        if filename != "~":
            bucket = _bucket_of_file(filename)
            buckets[bucket] = buckets.get(bucket, 0.0) + tt
            continue
        special = _bucket_of_builtin(label)
        if special is not None:
            buckets[special] = buckets.get(special, 0.0) + tt
            continue
        total = sum(edge[2] for edge in callers.values()) or 1.0
        for caller, edge in callers.items():
            share = tt * edge[2] / total
            bucket = _bucket_of_file(caller[0]) if caller[0] != "~" else "other builtins"
            buckets[bucket] = buckets.get(bucket, 0.0) + share
    top.sort(reverse=True)
    return buckets, top[:30]


# --- the run ---------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=6.0)
    parser.add_argument("--transport", choices=("urllib3", "stdlib", "memory"), default="urllib3")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--pstats", metavar="FILE", help="with --cprofile: save the merged stats")
    parser.add_argument("--perf", metavar="FILE")
    parser.add_argument("--wake-floor", action="store_true")
    parser.add_argument("--floor", action="store_true")
    parser.add_argument("--segments", action="store_true")
    args = parser.parse_args(argv)
    if args.wake_floor:
        for touch in (False, True):
            per, user = wake_floor(args.devices, INTERVAL_MS / 1000, args.seconds, touch)
            print(
                f"{args.devices} threads waking every {INTERVAL_MS} ms"
                f"{', reading 200 entries' if touch else ''}: CPU {per:.0f} us per wake "
                f"(user {user:.0f})"
            )
        return 0
    if args.cprofile:
        loop_module.DeviceLoop._next_event = _profiled_next_event(  # type: ignore[method-assign]
            loop_module.DeviceLoop._next_event
        )
    segments = _Segments() if args.segments else None
    if segments is not None:
        segments.install()
    n = args.devices
    fleets: List[Fleet] = []
    apps: List[ReplayApp] = []
    drivers: List[ReolinkDriver] = []
    try:
        ports: List[int] = []
        for s in range(-(-n // PER_SHARD)):
            count = min(PER_SHARD, n - s * PER_SHARD)
            fleets.append(Fleet([{"profile": "nvr", "channels": 8}] * count, front="asyncio"))
            ports += fleets[-1].ports
        if args.floor:
            for name, per, user, vcs in poll_floors(ports, args.seconds):
                print(
                    f"floor, {name}: {n} threads x 8 channels, CPU {per:.0f} us per poll "
                    f"(user {user:.0f}), {vcs:.2f} voluntary context switches"
                )
        for port in ports:
            app = None
            if args.transport == "memory":
                app = ReplayApp(port)
                apps.append(app)
            drivers.append(
                make_driver(port, 8, interval_ms=INTERVAL_MS, kind=args.transport, app=app)
            )
        for driver in drivers:
            driver.connect(timeout=0)
        deadline = time.monotonic() + 60
        while not all(d.online for d in drivers) and time.monotonic() < deadline:
            time.sleep(0.05)
        online = sum(d.online for d in drivers)
        time.sleep(args.warmup / 2)
        for app in apps:
            app.replay = True  # every poll body was seen at least once by now
        time.sleep(args.warmup / 2)
        perf = None
        if args.perf:
            perf = subprocess.Popen(
                [
                    "perf",
                    "record",
                    "-q",
                    "-F",
                    "997",
                    "-g",
                    "-p",
                    str(os.getpid()),
                    "-o",
                    args.perf,
                    "--",
                    "sleep",
                    str(args.seconds),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        emu0 = [f.cpu() for f in fleets]
        _window.set()
        t0, r0, c0 = os.times(), resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        cycles0 = sum(cycles_of(d) for d in drivers)
        time.sleep(args.seconds)
        t1, r1, c1 = os.times(), resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        cycles1 = sum(cycles_of(d) for d in drivers)
        _window.clear()
        emu1 = [f.cpu() for f in fleets]
        if perf is not None:
            perf.wait(args.seconds + 30)
        cycles = cycles1 - cycles0
        user, system = t1.user - t0.user, t1.system - t0.system
        vcs, ivcs = r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw
        misses = sum(app.misses for app in apps)
        print(
            f"{n} devices ({online} online) x 8 channels, {args.transport}, "
            f"{args.seconds:.0f} s window: {cycles} cycles "
            f"(expected {n * (c1 - c0) * 1000 / INTERVAL_MS:.0f}); replay misses {misses}"
        )
        wall = c1 - c0
        print(
            f"process CPU {100 * (user + system) / wall:.1f} % of a core "
            f"(user {100 * user / wall:.1f}, system {100 * system / wall:.1f}); "
            f"emulators {', '.join(_pct(a, b) for a, b in zip(emu0, emu1))} % of a core"
        )
        per = 1e6 / max(cycles, 1)
        print(
            f"per cycle of one device: CPU {(user + system) * per:.0f} us "
            f"(user {user * per:.0f}, system {system * per:.0f}); context switches "
            f"{vcs / max(cycles, 1):.2f} voluntary, {ivcs / max(cycles, 1):.2f} involuntary"
        )
        if args.cprofile:
            _report_profile(user + system, cycles, args.pstats)
        if segments is not None:
            segments.report(cycles)
    finally:
        for driver in drivers:
            driver.disconnect()
        for app in apps:
            app.close()
        for fleet in fleets:
            fleet.close()
    return 0


def wake_floor(n: int, interval: float, seconds: float, touch: bool) -> Tuple[float, float]:
    """Process CPU and user CPU (us) per wake of ``n`` threads that only wait ``interval``
    at a time (see ``--wake-floor``)."""
    cpu, user, _ = _per_wake(WakingThreads(n, interval, touch), seconds)
    return cpu, user


def _per_wake(threads: WakingThreads, seconds: float) -> Tuple[float, float, float]:
    """Run ``threads`` and measure a window of ``seconds`` once each has woken: process CPU
    and user CPU (us) and voluntary context switches, per wake."""
    with threads as waking:
        time.sleep(waking.interval + 1)
        t0, r0, w0 = os.times(), resource.getrusage(resource.RUSAGE_SELF), waking.wakes
        time.sleep(seconds)
        t1, r1, w1 = os.times(), resource.getrusage(resource.RUSAGE_SELF), waking.wakes
    count = max(w1 - w0, 1)
    user = (t1.user - t0.user) / count * 1e6
    system = (t1.system - t0.system) / count * 1e6
    return user + system, user, (r1.ru_nvcsw - r0.ru_nvcsw) / count


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *([0-9]+)", re.IGNORECASE)


class RawPoll:
    """The raw floor's poll of one device (see ``--floor``): the request's bytes made once,
    a kept-alive socket, the reply read up to its Content-Length and compared with the last.
    ``changed`` counts replies that differed from the one before."""

    def __init__(self, port: int, token: str, body: bytes) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (
            f"POST /cgi-bin/api.cgi?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.request = head.encode("ascii") + body
        self.last = b""
        self.changed = 0

    def _more(self, data: bytes) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the device closed the connection")
        return data + chunk

    def __call__(self) -> None:
        self.sock.sendall(self.request)
        data = self._more(b"")
        end = data.find(b"\r\n\r\n")
        while end < 0:
            data = self._more(data)
            end = data.find(b"\r\n\r\n")
        match = _CONTENT_LENGTH.search(data, 0, end + 2)
        if match is None:
            raise ConnectionError("a reply without Content-Length")
        stop = end + 4 + int(match.group(1))
        while len(data) < stop:
            data = self._more(data)
        body = data[end + 4 : stop]
        if body != self.last:
            self.changed += 1
            self.last = body

    def close(self) -> None:
        self.sock.close()


def _poll_body(port: int) -> bytes:
    """The poll body our driver sends to the device on ``port`` in its steady state."""
    taps: List[Tap] = []
    driver = make_driver(port, 8, interval_ms=50, taps=taps)
    try:
        driver.connect()
        wait_cycles(driver, 10, 30)
        last = cycles_of(driver) - 1
    finally:
        driver.disconnect()
    body: bytes = steady_bodies(taps[0].sent, last)[0]
    return body


def poll_floors(ports: List[int], seconds: float) -> List[Tuple[str, float, float, float]]:
    """(floor, CPU us per poll, user CPU us per poll, voluntary context switches per poll)
    of the two floors of ``--floor``, each measured over ``seconds``."""
    body = _poll_body(ports[0])
    results = []
    for name in ("raw", "urllib3 + json"):
        floors = [Floor(port) for port in ports]
        raws: List[RawPoll] = []
        try:
            if name == "raw":
                raws = [RawPoll(port, f.token, body) for port, f in zip(ports, floors)]
                polls: List[Callable[[], Any]] = list(raws)
            else:
                polls = [functools.partial(f.post, body) for f in floors]
            results.append((name, *_floor_window(polls, seconds)))
        finally:
            for raw in raws:
                raw.close()
            for f in floors:
                f.close()
    return results


def _floor_window(polls: List[Callable[[], Any]], seconds: float) -> Tuple[float, float, float]:
    """CPU, user CPU (us) and voluntary context switches per poll of a thread per poll."""
    errors: List[str] = []

    def work(index: int) -> None:
        try:
            polls[index]()
        except Exception as err:  # counted: a floor that failed measures nothing
            errors.append(f"{type(err).__name__}: {err}")

    per_poll = _per_wake(WakingThreads(len(polls), INTERVAL_MS / 1000, work=work), seconds)
    if errors:
        raise RuntimeError(f"{len(errors)} failed polls, the first: {errors[0]}")
    return per_poll


def _pct(before: Tuple[float, float], after: Tuple[float, float]) -> str:
    return f"{100 * (after[0] - before[0]) / (after[1] - before[1]):.0f}"


def _report_profile(cpu: float, cycles: int, save: Optional[str]) -> None:
    deadline = time.monotonic() + INTERVAL_MS / 1000 + 3
    while time.monotonic() < deadline:  # each thread stops its profiler at its next turn
        with _profiles_lock:
            if len(_done) == len(_profiles):
                break
        time.sleep(0.05)
    with _profiles_lock:
        profiles = list(_done)
    stats: Optional[pstats.Stats] = None
    for prof in profiles:
        if stats is None:
            stats = pstats.Stats(prof)
        else:
            stats.add(prof)
    if stats is None:
        print("no profile (no device thread turned inside the window)")
        return
    if save:
        stats.dump_stats(save)
    buckets, top = _buckets(stats)
    total = sum(buckets.values())
    per = 1e6 / max(cycles, 1)
    print(
        f"\ncProfile (thread CPU clock), {len(profiles)} device threads: device-thread CPU "
        f"{total * per:.0f} us per cycle, profiled (process, profiled: {cpu * per:.0f}); "
        "shares, and us per cycle (profiled: scale by an unprofiled run's CPU per cycle):"
    )
    for name, value in sorted(buckets.items(), key=lambda kv: -kv[1]):
        share = value / total if total else 0.0
        print(f"  {name:34} {100 * share:5.1f} %  {value * per:6.0f} us")
    print("\ntop functions by own thread CPU (us per cycle, profiled):")
    for tt, label in top:
        print(f"  {tt * per:7.1f}  {label}")


if __name__ == "__main__":
    sys.exit(main())
