"""Push you can trust (issue 16): every detection its own edge, slots never erased, push
re-earned after every outage. Pure core on a fake clock (the harnesses of test_driver_core and
test_driver_push); the emulator-over-loopback cases are in test_push_trust_emulator.py.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List, Optional, Tuple

import pytest
from test_driver_push import OTHER, URL, PushDevice, PushHarness, _push

from reolink.driver.messages import Disconnect, PushWake

# --- every detection is its own edge -----------------------------------------------------------


def _active(device: PushDevice, interval_ms: int = 10000, **kwargs: Any) -> PushHarness:
    attributes = {"status_interval": str(interval_ms), **kwargs.pop("attributes", {})}
    h = _push(device, attributes=attributes, **kwargs)
    h.feed(PushWake())  # the test call
    h.run(0.5)
    assert h.value("event_source") == "push"
    return h


def _play(
    h: PushHarness,
    device: PushDevice,
    events: List[Tuple[float, float]],
    *,
    lag: float = 0.0,
    calls: bool = True,
    step: float = 0.01,
) -> Tuple[List[float], List[float]]:
    """Play detections (start offset, duration) from now on; the device calls at each start,
    its state shows the event ``lag`` later. Returns (host rises, host falls) times."""
    t0 = h.now
    timeline: List[Tuple[float, str]] = []
    for start, duration in events:
        if calls:
            timeline.append((t0 + start, "call"))
        timeline.append((t0 + start + lag, "on"))
        timeline.append((t0 + start + duration, "off"))
    timeline.sort()
    first_event = len(h.events)
    end = max(t for t, _ in timeline) + 15.0
    while h.now < end:
        due = [what for t, what in timeline if h.now - 1e-9 <= t < h.now + step - 1e-9]
        for what in due:
            if what == "on":
                device.motion[0] = True
            elif what == "off":
                device.motion[0] = False
        if "call" in due:
            h.feed(PushWake())
        h.run(step)
    changes = [(t, e.value) for t, e in h.events[first_event:]
               if (e.target, e.address, e.name) == ("zone", "0", "motion")]
    return [t for t, v in changes if v == 1], [t for t, v in changes if v == 0]


def test_twelve_short_motions_ten_seconds_apart_reach_the_host_as_twelve() -> None:
    device = PushDevice()
    h = _active(device)
    rises, falls = _play(h, device, [(10.0 * k + 1.3, 3.0) for k in range(12)])
    assert len(rises) == 12 and len(falls) == 12


@pytest.mark.parametrize("interval_ms", [2000, 5000, 10000, 30000])
def test_random_detections_with_gaps_over_2_5_s_never_merge(interval_ms: int) -> None:
    rng = random.Random(interval_ms)
    events, t = [], 1.0
    for _ in range(30):
        duration = rng.uniform(1.0, 8.0)
        events.append((t, duration))
        t += duration + rng.uniform(2.5, 15.0)
    device = PushDevice()
    h = _active(device, interval_ms)
    t0 = h.now
    rises, falls = _play(h, device, events)
    assert len(rises) == len(events) and len(falls) == len(events)
    ends = [t0 + start + duration for start, duration in events]
    latency = sorted(fall - end for fall, end in zip(falls, ends))
    assert latency[-1] <= 2.5  # the end of every detection reaches the host within 2.5 s


def test_a_push_wake_never_moves_the_regular_poll_grid() -> None:
    device = PushDevice()
    h = _active(device)
    grid = h.sent("GetEvents")[0]
    h.run(3.0)
    h.feed(PushWake())  # nothing shows: confirmed by follow-ups, then back to the grid
    h.run(30.0)
    polls = h.sent("GetEvents")
    for k in (1, 2, 3):
        assert any(abs(p - (grid + 10.0 * k)) < 1e-6 for p in polls), (k, polls)


def test_a_call_that_precedes_the_state_still_counts() -> None:
    device = PushDevice()
    h = _active(device)
    rises, _ = _play(h, device, [(3.0 * k + 1.0, 1.0) for k in range(10)], lag=0.05)
    assert len(rises) == 10


def test_a_wake_that_finds_nothing_costs_at_most_two_follow_up_polls() -> None:
    device = PushDevice()
    h = _active(device)
    h.run(1.0)
    before = len(h.sent("GetEvents"))
    start = h.now
    h.feed(PushWake())
    h.run(5.0)
    polls = [p - start for p in h.sent("GetEvents")[before:]]
    assert len(polls) == 3 and polls[0] == 0.0 and polls[-1] <= 1.0 + 1e-9
