"""Profile one poll cycle of the driver alone: no thread, no socket, no emulator cost.

    python benchmarks/profile_cycle.py [--channels 1] [--mode same|changes] [--cycles 20000]
                                       [--profile] [--transport memory|urllib3|stdlib]
                                       [--threaded [--seconds 1] [--wakes]]
                                       [--pause 0,1,10] [--turns]

The driver core is fed by hand on a fake clock (as tests/test_driver_core.py does). Its
requests go to an in-memory transport whose app replays the emulator's recorded answers (the
emulator runs in this process only while recording): ``same`` replays one answer per request
body, ``changes`` alternates between two recorded answers taken with every channel's motion
and AI toggled in between, so every reply differs from the previous one. Prints microseconds
of process CPU per cycle; ``--profile`` prints the cProfile top functions instead. The figure
is the core's cost plus the in-memory transport's (the ``memory`` column of ``run.py`` adds
the device thread's wake-ups and the host callback).

``--threaded`` measures what that column measures, in this process and without the emulator
child: a whole driver (device thread, host callback) over the in-memory transport replaying
the same recorded answers, polling every 1 ms; process CPU per cycle, least and median of 10
blocks. Next to it, the floor of any thread that wakes every 1 ms: the same thread body
doing nothing but wait (a lock acquired with a timeout, as the device loop waits). On a
shared machine most of the gap between ``--threaded`` and the thread-free figure is that
wake-up and the caches gone cold while the thread slept, not Python code of the loop.

``--threaded --wakes`` counts instead what the device thread does per poll cycle: turns of
the core (by event), waits (timed out, or ended by a signal), non-blocking looks at the
wake-up signal, and snapshot publications under the loop's lock.

``--turns`` times the two turns of the core apart (wall clock, thread-free): the Tick that
starts a poll and the Replied that applies its answer, median and tenth percentile of
``--cycles`` cycles, with the in-memory transport's send between them for comparison.

``--pause 0,1,10`` measures the same thread-free cycle after the thread slept that many
milliseconds before each cycle: the cycle's own thread CPU (the sleep not counted), median and
tenth percentile of ``--cycles`` cycles (default 2000 here). The same code on the same data,
so what grows with the pause is what the machine lost while the thread slept (caches, branch
history, a descheduled virtual CPU), not work of the driver's.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_TIMING,
    PASSWORD,
    USER,
    WakingThreads,
    cycles_of,
    is_poll_body,
    percentile,
    wait_cycles,
    zones_for,
)
from _emuproc import _ChurnEmulator

import transports
from reolink.driver import ReolinkDriver
from reolink.driver.config import parse_device
from reolink.driver.core import DriverCore
from reolink.driver.messages import Emit, Replied, Send, SendFailed, Tick, WaitUntil
from reolink.errors import TransportError

Answer = Tuple[int, Mapping[str, str], bytes]


class Replay:
    """Answers from the emulator while recording, then from the recording, in turn."""

    def __init__(self, emu: _ChurnEmulator) -> None:
        self.emu = emu
        self.recorded: Dict[bytes, List[Answer]] = {}
        self.turn: Dict[bytes, int] = {}
        self.replay = False

    def __call__(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if self.replay and body in self.recorded:
            answers = self.recorded[body]
            turn = self.turn[body] = (self.turn.get(body, -1) + 1) % len(answers)
            return answers[turn]
        answer = self.emu.app(method, target, headers, body)
        if b'"Login"' not in body and b'"Logout"' not in body:
            self.recorded[body] = [*self.recorded.get(body, []), answer][-2:]
        return answer


class Harness:
    def __init__(self, channels: int, mode: str, kind: str = "memory") -> None:
        self.emu = _ChurnEmulator(profile="nvr" if channels > 1 else "camera", channels=channels)
        self.emu.churn = mode == "changes"
        self.app = Replay(self.emu)
        self.transport: Any = transports.MemoryTransport(self.app)
        if kind != "memory":
            # A real transport to the emulator's HTTP server (its threads cost CPU here too;
            # use with --profile, which sees this thread only).
            self.emu.start()
            self.transport = transports.open_transport(
                scheme="http", host="127.0.0.1", port=self.emu.port, kind=kind
            )
        attributes = {
            "ip": "127.0.0.1",
            "username": USER,
            "password": PASSWORD,
            "status_interval": "1000",
            "push": "off",
        }
        least = BENCH_TIMING.min_status_interval_ms
        config = parse_device(attributes, zones_for(channels), min_status_interval_ms=least)
        self.core = DriverCore(config, BENCH_TIMING)
        self.now = 0.0
        self.send: Any = None
        self.until = 0.0
        self.changes = 0

    def feed(self, event: Any) -> None:
        self.obey(self.core.handle(self.now, event))

    def obey(self, actions: List[Any]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.send = action
            elif isinstance(action, WaitUntil):
                self.until = action.when
            elif isinstance(action, Emit):
                self.changes += len(action.events)

    def cycle(self) -> None:
        """Run until the core waits for the next poll, then move the clock there."""
        while self.send is not None:
            send, self.send = self.send, None
            try:
                event: Any = Replied(self.transport.send(send.request))
            except TransportError as error:
                event = SendFailed(error)
            self.feed(event)
        self.now = max(self.now, self.until)
        self.feed(Tick())


def _blocks(run: Any, cycles: Any, seconds: float) -> List[float]:
    """Process CPU (us) per cycle of ``run`` over 10 blocks of ``seconds`` each, sorted."""
    pers = []
    for _ in range(10):
        c0, p0 = cycles(), time.process_time()
        run(seconds)
        c1, p1 = cycles(), time.process_time()
        pers.append((p1 - p0) / max(1, c1 - c0) * 1e6)
    return sorted(pers)


def _wait_floor(seconds: float) -> List[float]:
    """A thread that only waits 1 ms at a time (the device loop's wait): CPU per wake-up."""
    with WakingThreads(1, 0.001) as waking:
        return _blocks(time.sleep, lambda: waking.wakes, seconds)


class _CountingLock:
    """A lock that counts how it is used (``--wakes``): the loop's wake-up signal and its
    publication lock are swapped for one of these before the thread starts."""

    def __init__(self, lock: Any, counts: Dict[str, int], name: str) -> None:
        self._lock, self._counts, self._name = lock, counts, name

    def _count(self, what: str) -> None:
        self._counts[what] = self._counts.get(what, 0) + 1

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got = bool(self._lock.acquire(blocking, timeout))
        if not blocking:
            self._count(f"{self._name}: non-blocking look")
        else:
            self._count(f"{self._name}: wait ended by a signal" if got else
                        f"{self._name}: wait timed out")
        return got

    def release(self) -> None:
        self._count(f"{self._name}: release")
        self._lock.release()

    def __enter__(self) -> bool:
        self._count(f"{self._name}: taken")
        return bool(self._lock.__enter__())

    def __exit__(self, *exc: Any) -> None:
        self._lock.__exit__(*exc)


def _replaying_driver(channels: int, mode: str, callback: Any) -> Tuple[ReolinkDriver, Replay]:
    """A whole driver (not connected) over the in-memory transport, polling every 1 ms, and
    the app that replays the emulator's recorded answers to it (``--threaded``)."""
    emu = _ChurnEmulator(profile="nvr" if channels > 1 else "camera", channels=channels)
    emu.churn = mode == "changes"
    app = Replay(emu)
    attributes = {"ip": "127.0.0.1", "username": USER, "password": PASSWORD,
                  "status_interval": "1", "push": "off"}
    driver = ReolinkDriver(attributes, zones_for(channels), callback, timing=BENCH_TIMING,
                           transport_factory=lambda config: transports.MemoryTransport(app))
    return driver, app


def _warm_up(driver: ReolinkDriver, app: Replay) -> None:
    """50 cycles against the emulator (recording both states), then 20 replayed."""
    wait_cycles(driver, 50, 30)
    app.replay = True
    wait_cycles(driver, cycles_of(driver) + 20, 30)


def wakes(channels: int, mode: str, seconds: float) -> int:
    """Per poll cycle of the device thread: turns of the core, waits, lock round trips."""
    counts: Dict[str, int] = {}
    handle = DriverCore.handle

    def counted(core: DriverCore, now: float, event: Any) -> Any:
        name = f"core turn: {type(event).__name__}"
        counts[name] = counts.get(name, 0) + 1
        return handle(core, now, event)

    driver, app = _replaying_driver(channels, mode, lambda event: None)
    loop = driver._loop  # the harness only: swap in counting locks before the thread starts
    loop._wake = _CountingLock(loop._wake, counts, "wake-up signal")  # type: ignore[assignment]
    loop._lock = _CountingLock(loop._lock, counts, "publication lock")  # type: ignore[assignment]
    DriverCore.handle = counted  # type: ignore[method-assign,assignment]
    try:
        driver.connect()
        _warm_up(driver, app)
        before, c0 = dict(counts), cycles_of(driver)
        time.sleep(seconds)
        after, c1 = dict(counts), cycles_of(driver)
    finally:
        driver.disconnect()
        DriverCore.handle = handle  # type: ignore[method-assign]
    cycles = max(1, c1 - c0)
    print(f"{channels} ch {mode}, threaded, per poll cycle ({cycles} cycles):")
    for name in sorted(after):
        if after[name] != before.get(name, 0):
            print(f"  {name:45} {(after[name] - before.get(name, 0)) / cycles:.3f}")
    return 0


def threaded(channels: int, mode: str, seconds: float) -> int:
    """The ``memory`` column of run.py, in-process (see the module docstring)."""
    changes = [0]

    def callback(event: Any) -> None:
        changes[0] += 1

    driver, app = _replaying_driver(channels, mode, callback)
    driver.connect()
    try:
        _warm_up(driver, app)
        c0, e0 = cycles_of(driver), changes[0]
        pers = _blocks(time.sleep, lambda: cycles_of(driver), seconds)
        per_change = (changes[0] - e0) / max(1, cycles_of(driver) - c0)
    finally:
        driver.disconnect()
    floor = _wait_floor(seconds)
    print(
        f"{channels} ch {mode}, threaded: {pers[0]:.1f} us/cycle (min of 10 blocks; median "
        f"{pers[5]:.1f}), {per_change:.1f} changes/cycle; a thread that only waits 1 ms: "
        f"{floor[0]:.1f} us/wake-up (median {floor[5]:.1f})"
    )
    return 0


def _after_pause(h: Harness, pause: float, count: int) -> Tuple[float, float]:
    """Thread CPU (us) of one cycle after sleeping ``pause`` s: median, 10th percentile."""
    clock = time.thread_time
    costs = []
    for _ in range(count):
        if pause:
            time.sleep(pause)
        t0 = clock()
        h.cycle()
        costs.append(clock() - t0)
    return percentile(costs, 0.5) * 1e6, percentile(costs, 0.1) * 1e6


def _turns(h: Harness, count: int) -> Dict[str, List[float]]:
    """Wall time (us) of each turn of the core in ``count`` poll cycles, by what it does:
    the Tick that starts a poll, the Replied that applies its answer (and the in-memory
    transport's send between them, for comparison). Turns of anything else (a
    renewal, the setup read) run but are not counted."""
    clock = time.perf_counter
    times: Dict[str, List[float]] = {"Tick (a poll starts)": [], "Replied (its answer)": [],
                                     "in-memory transport send": []}
    tick, replied, sent = times.values()
    while len(replied) < count:
        send, h.send = h.send, None
        if send is None:
            h.now = max(h.now, h.until)
            t0 = clock()
            actions = h.core.handle(h.now, Tick())
            elapsed = clock() - t0
            h.obey(actions)
            if h.send is not None and is_poll_body(h.send.request.body):
                tick.append(elapsed * 1e6)
            continue
        t0 = clock()
        response = h.transport.send(send.request)
        t1 = clock()
        actions = h.core.handle(h.now, Replied(response))
        t2 = clock()
        h.obey(actions)
        # The poll's answer, and its cycle ended (no further request of the same flow):
        if is_poll_body(send.request.body) and h.send is None:
            sent.append((t1 - t0) * 1e6)
            replied.append((t2 - t1) * 1e6)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--mode", choices=("same", "changes"), default="same")
    parser.add_argument("--cycles", type=int, default=20000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--transport", choices=("memory", "urllib3", "stdlib"), default="memory",
        help="memory (default), urllib3, stdlib",
    )
    parser.add_argument("--threaded", action="store_true", help="the whole driver, its thread")
    parser.add_argument("--seconds", type=float, default=1.0, help="per block, with --threaded")
    parser.add_argument("--wakes", action="store_true",
                        help="with --threaded: count turns, waits and lock use per cycle")
    parser.add_argument("--pause", help="ms slept before each cycle, e.g. 0,1,10 (thread CPU "
                        "of the cycle alone)")
    parser.add_argument("--turns", action="store_true",
                        help="time each turn of the core (the Tick, the Replied) apart")
    args = parser.parse_args()
    if args.threaded and args.wakes:
        return wakes(args.channels, args.mode, args.seconds)
    if args.threaded:
        return threaded(args.channels, args.mode, args.seconds)
    from reolink.driver.messages import Start

    h = Harness(args.channels, args.mode, args.transport)
    h.feed(Start())
    for _ in range(50):  # connect, identify, probe modes, record both states
        h.cycle()
    h.app.replay = True
    for _ in range(20):
        h.cycle()
    c0 = h.changes
    if args.pause:
        count = args.cycles if args.cycles != parser.get_default("cycles") else 2000
        for pause in (float(ms) / 1000 for ms in args.pause.split(",")):
            median, tenth = _after_pause(h, pause, count)
            print(
                f"{args.channels} ch {args.mode}, {pause * 1000:g} ms slept before each cycle: "
                f"cycle thread CPU median {median:.1f} us (10th percentile {tenth:.1f})"
            )
        return 0
    if args.turns:
        for name, values in _turns(h, args.cycles).items():
            print(
                f"{args.channels} ch {args.mode}, {name}: median {percentile(values, 0.5):.2f} "
                f"us (10th percentile {percentile(values, 0.1):.2f}), {len(values)} cycles"
            )
        return 0
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.cycles):
            h.cycle()
        prof.disable()
        stats = pstats.Stats(prof)
        stats.sort_stats("tottime").print_stats(args.top)
        return 0
    # The least of 10 blocks: the machine is shared, and noise only ever adds time.
    block = max(1, args.cycles // 10)
    pers = []
    for _ in range(10):
        p0 = time.process_time()
        for _ in range(block):
            h.cycle()
        pers.append((time.process_time() - p0) / block * 1e6)
    pers.sort()
    print(
        f"{args.channels} ch {args.mode}: {pers[0]:.1f} us/cycle (min of 10 blocks; "
        f"median {pers[5]:.1f}), {(h.changes - c0) / (block * 10):.1f} changes/cycle"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
