"""The driver process of the scale benchmark (figure 4): one driver per port, one JSON report.

Run as ``python _scale_client.py PORTS_JSON INTERVAL_MS WARMUP_S SECONDS``; prints one JSON
object on stdout. A fresh process per size and round, so peak RSS and the thread count are
this size's. The lateness of every cycle goes back raw (``late_ms``): the parent summarizes
it, for this side and reolink-aio's (``_scale_aio.py``, which imports the helpers here; so
this module imports nothing of ours at its top, or reolink-aio's process would carry it).

Cycle-start lateness: the driver schedules cycles start to start (cycle k is due at
``first + k * interval``, re-anchored when a cycle is more than one interval late). A tapped
transport stamps each poll request (``_common.PollStamps``: one clock reading, as reolink-aio's
side takes one per cycle); the first of each cycle is its start; lateness = start - due time.
"""

from __future__ import annotations

import concurrent.futures
import json
import resource
import sys
import threading
import time
from typing import Any, Dict, List, Tuple


def lateness_of(stamps: List[float], interval: float) -> List[float]:
    late = []
    due = stamps[0]
    for stamp in stamps[1:]:
        due += interval
        delay = stamp - due
        late.append(delay)
        if delay >= interval:
            due = stamp
    return late


def usage() -> Tuple[float, float, int, int]:
    """This process's user and system CPU seconds and voluntary/involuntary context switches."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime, ru.ru_nvcsw, ru.ru_nivcsw


def usage_fields(
    before: Tuple[float, float, int, int],
    after: Tuple[float, float, int, int],
    wall: float,
    cycles: int,
) -> Dict[str, float]:
    """CPU split into user and system (% of a core), CPU and context switches per cycle."""
    user, system, vol, invol = (b - a for a, b in zip(before, after))
    return {
        "cpu_us_per_cycle": 1e6 * (user + system) / cycles if cycles else float("nan"),
        "cpu_user_pct": 100 * user / wall,
        "cpu_sys_pct": 100 * system / wall,
        "csw_vol_per_cycle": vol / max(cycles, 1),
        "csw_invol_per_cycle": invol / max(cycles, 1),
    }


def proc_status(field: str) -> int:
    """A number from /proc/self/status (VmHWM/VmRSS in kB, Threads).

    Peak RSS comes from VmHWM, not getrusage: ru_maxrss survives execve, so a child would
    report its parent's peak if that was higher.
    """
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def report(
    client: str,
    devices: int,
    online: int,
    cycles: int,
    interval: float,
    wall: Tuple[float, float],
    cpu: Tuple[float, float],
    late: List[float],
    errors: List[str],
    *,
    memory: Tuple[int, int],
    threads: Tuple[int, int, int],
) -> Dict[str, Any]:
    """The fields both scale clients report (ours here, reolink-aio's in _scale_aio.py).

    ``wall`` and ``cpu`` are the window's (start, end) clocks, ``memory`` the peak RSS in kB
    (before, after), ``threads`` (before, after, OS threads after).
    """
    (w0, w1), (p0, p1) = wall, cpu
    return {
        "client": client,
        "devices": devices,
        "online": online,
        "cycles": cycles,
        "expected_cycles": devices * (w1 - w0) / interval,
        "cpu_pct": 100 * (p1 - p0) / (w1 - w0),
        "late_ms": [round(value * 1000, 3) for value in late],
        "rss_mb": memory[1] / 1024,
        "rss_before_mb": memory[0] / 1024,
        "threads": threads[1],
        "threads_os": threads[2],
        "threads_before": threads[0],
        "errors": errors[:5],
    }


def main() -> int:
    from _common import PollStamps, cycle_starts, cycles_of, make_driver

    ports = json.loads(sys.argv[1])
    interval_ms, warmup, seconds = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    interval = interval_ms / 1000
    rss_before = proc_status("VmHWM")
    threads_before = threading.active_count()
    stamped: List[PollStamps] = []
    drivers = [make_driver(port, 8, interval_ms=interval_ms, stamps=stamped) for port in ports]
    for driver in drivers:
        driver.connect(timeout=0)  # start every device thread; they log in in parallel
    deadline = time.monotonic() + 60
    while not all(d.online for d in drivers) and time.monotonic() < deadline:
        time.sleep(0.05)
    online = sum(d.online for d in drivers)
    time.sleep(warmup)
    w0, p0, u0 = time.monotonic(), time.process_time(), usage()
    cycles0 = sum(cycles_of(d) for d in drivers)
    time.sleep(seconds)
    w1, p1, u1 = time.monotonic(), time.process_time(), usage()
    cycles1 = sum(cycles_of(d) for d in drivers)
    threads = threading.active_count()
    threads_os = proc_status("Threads")
    late: List[float] = []
    for each in stamped:
        # The first request of each cycle inside the measured window.
        starts = [t for t in cycle_starts(each.stamps, interval) if w0 <= t <= w1]
        if len(starts) > 1:
            late.extend(lateness_of(starts, interval))
    rss = proc_status("VmHWM")
    errors = sorted({d.last_error for d in drivers if d.last_error})
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda d: d.disconnect(), drivers))
    result = report(
        "ours", len(ports), online, cycles1 - cycles0, interval, (w0, w1), (p0, p1), late,
        errors, memory=(rss_before, rss), threads=(threads_before, threads, threads_os),
    )
    result.update(usage_fields(u0, u1, w1 - w0, result["cycles"]))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
