"""Figure 3: detection latency, emulator motion/AI start -> host callback.

Single-channel cameras (``camera`` profile, GetEvents) run in the child process; a thread
there flips motion or "people" on at scripted ``time.monotonic()`` instants and reports the
moment each flip took effect (CLOCK_MONOTONIC is system-wide, so both processes share it).
Each device gets its own random phase; every detection stays on, then off, for 1.3-1.7 status
intervals so the driver sees every edge. Latency = callback time - flip time; AI events are
matched on ``ai_detected`` containing "people", motion events on ``motion`` = 1.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Dict, List, Tuple

from _common import Fleet, make_driver, percentile, summary
from _report import against, fmt, table, verdict

from reolink.driver import AttributeEvent, ReolinkDriver


def latency(events: int, interval_ms: int, devices: int, seed: int = 5) -> Dict[str, Any]:
    interval = interval_ms / 1000
    per_device = -(-events // devices)
    rng = random.Random(seed)
    seen: List[Tuple[str, str, Any, float]] = []
    lock = threading.Lock()

    def callback(event: AttributeEvent) -> None:
        now = time.monotonic()
        if event.name in ("motion", "ai_detected"):
            with lock:
                seen.append((event.device, event.name, event.value, now))

    with Fleet([{"profile": "camera"} for _ in range(devices)]) as fleet:
        drivers: List[ReolinkDriver] = []
        try:
            for port in fleet.ports:
                drivers.append(make_driver(port, 1, interval_ms=interval_ms, callback=callback))
            for driver in drivers:
                driver.connect()
            start = time.monotonic() + 0.5
            script: List[List[Any]] = []
            count = 0
            for dev in range(devices):
                t = start + rng.uniform(0, interval)
                for k in range(per_device):
                    if count >= events:
                        break
                    kind = "motion" if k % 2 == 0 else "people"
                    off = t + interval * rng.uniform(1.3, 1.7)
                    script.append([dev, 0, kind, True, t])
                    script.append([dev, 0, kind, False, off])
                    t = off + interval * rng.uniform(1.3, 1.7)
                    count += 1
            end = max(item[4] for item in script)
            fleet.call("script", script=script)
            time.sleep(max(0.0, end - time.monotonic()) + interval * 2)
            flips = fleet.call("flips", timeout=5)["flips"]
        finally:
            for driver in drivers:
                driver.disconnect()
    labels = [d.label for d in drivers]
    lat: List[float] = []
    missed = 0
    for dev, _ch, kind, on, _at, actual in flips:
        if not on:
            continue
        label = labels[dev]
        name = "motion" if kind == "motion" else "ai_detected"
        hits = [
            t
            for lbl, nm, value, t in seen
            if lbl == label
            and nm == name
            and t >= actual
            and (value == 1 if name == "motion" else "people" in str(value))
        ]
        if hits:
            lat.append(min(hits) - actual)
        else:
            missed += 1
    return {
        "events": len(lat),
        "missed": missed,
        "interval_ms": interval_ms,
        "devices": devices,
        "latencies": lat,
        "p50": percentile(lat, 0.5),
        "p99": percentile(lat, 0.99),
        "max": max(lat) if lat else float("nan"),
        "summary": summary(lat),
    }


def report(result: Dict[str, Any]) -> Tuple[str, List[str]]:
    interval = result["interval_ms"]
    limit = interval + 25
    p99 = result["p99"] * 1000
    misses = []
    if verdict(p99, limit) == "MISS":
        misses.append(f"latency p99 {against(p99, limit, 0)} ms > {limit} ms")
    if result["missed"]:
        misses.append(f"{result['missed']} detections never reached the host")
    text = table(
        f"3. Detection latency, emulator flip -> host callback ({result['events']} events on "
        f"{result['devices']} cameras, status_interval {interval} ms, urllib3, loopback)",
        ["events", "missed", "p50 ms", "p99 ms", "max ms", f"p99 <= {limit} ms"],
        [
            [
                result["events"],
                result["missed"],
                fmt(result["p50"] * 1000, 1),
                against(p99, limit, 1),
                fmt(result["max"] * 1000, 1),
                verdict(p99, limit),
            ]
        ],
    )
    return text, misses
