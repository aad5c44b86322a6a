"""Timed work on the emulator's clock: scripted/random detections, coming back after a reboot.

The :class:`Scheduler` thread waits on a condition (so ``stop()`` ends it at once) and runs
callbacks whose due time on ``clock`` has passed. With the real monotonic clock it sleeps until
the next due time; with an injected fake clock it polls every ``poll`` seconds, and tests call
:meth:`Scheduler.run_due` (``Emulator.tick()``) after advancing the fake clock, for determinism.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Tuple, Union

__all__ = ["EventSpec", "Scheduler", "load_events"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventSpec:
    """One scripted detection: ``kind`` ("motion", "visitor" or an AI type) on ``channel``
    from ``start`` seconds after the emulator starts, for ``duration`` seconds."""

    channel: int
    kind: str
    start: float
    duration: float


def load_events(events: Union[str, Iterable[Any]]) -> List[EventSpec]:
    """Parse a list of dicts (or a path to a JSON file holding one) into EventSpecs."""
    if isinstance(events, str):
        with open(events, encoding="utf-8") as fh:
            events = json.load(fh)
    specs = []
    for item in events:
        if isinstance(item, EventSpec):
            specs.append(item)
            continue
        if not isinstance(item, dict):
            raise ValueError(f"event must be an object, got {item!r}")
        spec = EventSpec(
            int(item.get("channel", 0)),
            str(item.get("kind", "motion")),
            float(item.get("start", 0.0)),
            float(item.get("duration", 1.0)),
        )
        if spec.start < 0 or spec.duration <= 0:
            raise ValueError(f"event needs start >= 0 and duration > 0: {item!r}")
        specs.append(spec)
    return specs


class Scheduler:
    """Runs callbacks at clock times on one thread; stops with the emulator."""

    def __init__(self, clock: Callable[[], float], poll: float = 0.05) -> None:
        self.clock = clock
        self._real_clock = clock is time.monotonic
        self.poll = poll
        self._cond = threading.Condition()
        self._heap: List[Tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None

    def call_at(self, due: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), fn))
            self._cond.notify_all()

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.call_at(self.clock() + delay, fn)

    def run_due(self) -> int:
        """Run every callback that is due now (in due order); return how many ran."""
        ran = 0
        while True:
            with self._cond:
                if not self._heap or self._heap[0][0] > self.clock():
                    return ran
                _due, _seq, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # a callback must never kill the scheduler
                log.exception("emulator scheduler callback failed")
            ran += 1

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._loop, name="reolink-emulator-scheduler", daemon=True
            )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """End the thread; whether it ended within ``timeout`` (True when called from it)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def _loop(self) -> None:
        while True:
            self.run_due()
            with self._cond:
                if self._stopping:
                    return
                wait: Optional[float] = self.poll
                if self._heap and self._real_clock:
                    wait = max(0.0, self._heap[0][0] - self.clock())
                elif not self._heap and self._real_clock:
                    wait = None
                self._cond.wait(wait)


def schedule_script(
    scheduler: Scheduler,
    specs: Iterable[EventSpec],
    t0: float,
    apply: Callable[[int, str, bool], None],
) -> None:
    """Queue on/off callbacks for each scripted event relative to ``t0``."""
    for spec in specs:
        scheduler.call_at(t0 + spec.start, _bind(apply, spec.channel, spec.kind, True))
        scheduler.call_at(
            t0 + spec.start + spec.duration, _bind(apply, spec.channel, spec.kind, False)
        )


def _bind(
    apply: Callable[[int, str, bool], None], ch: int, kind: str, on: bool
) -> Callable[[], None]:
    return lambda: apply(ch, kind, on)


class RandomEvents:
    """Demo mode: a detection every 2-8 s on a random online channel, lasting 1-5 s."""

    def __init__(
        self,
        scheduler: Scheduler,
        choices: Callable[[], List[Tuple[int, str]]],
        apply: Callable[[int, str, bool], None],
        seed: Optional[int] = None,
    ) -> None:
        self.scheduler = scheduler
        self.choices = choices
        self.apply = apply
        self.rng = random.Random(seed)

    def start(self) -> None:
        self.scheduler.call_later(self.rng.uniform(2.0, 8.0), self._fire)

    def _fire(self) -> None:
        options = self.choices()
        if options:
            ch, kind = self.rng.choice(options)
            self.apply(ch, kind, True)
            self.scheduler.call_later(
                self.rng.uniform(1.0, 5.0), _bind(self.apply, ch, kind, False)
            )
        self.start()
