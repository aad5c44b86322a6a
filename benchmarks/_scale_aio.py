"""reolink-aio's side of the scale benchmark (figure 4): one event loop, one Host per port.

Run as ``python _scale_aio.py PORTS_JSON INTERVAL_MS WARMUP_S SECONDS USER PASSWORD``
(the emulator's account); prints one JSON
object on stdout with the same fields as ``_scale_client.py`` (our driver's side), so the two
are measured against the same emulator fleet in the same run.

Each device is a ``reolink_aio.api.Host`` (JSON API only: the Baichuan probe is pointed at a
closed port, see /work/shared/reolink-aio-notes.md), set up with ``get_host_data()`` and then
polled the way Home Assistant's Reolink integration polls motion/AI state without push:
``get_motion_state_all_ch()`` on a start-to-start schedule (cycle k is due at
``first + k * interval``, re-anchored when a cycle is more than one interval late, as our
driver does). The devices' first cycles are spread evenly over one interval, as Home
Assistant's per-entry timers are spread by their set-up times. A cycle counts when
``get_motion_state_all_ch()`` returns True (a full reply, parsed).

Cycle-start lateness: the moment each cycle's ``get_motion_state_all_ch()`` is called,
against the same reconstruction of due times as ``_scale_client.py`` uses.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from typing import Any, Dict, List

from _scale_client import lateness_of, proc_status, report, usage, usage_fields

#: At most this many Hosts log in and read their host data at once.
SETUP_CONCURRENCY = 32


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


class _Device:
    """One Host, its poll task's counters and the cycle-start stamps inside the window."""

    def __init__(self, port: int, user: str, password: str) -> None:
        from reolink_aio.api import Host
        from reolink_aio.enums import ConnectionEnum

        self.host: Any = Host(
            "127.0.0.1",
            user,
            password,
            port=port,
            use_https=False,
            bc_port=_closed_port(),
            bc_connection=ConnectionEnum.tcp,
        )
        self.online = False
        self.cycles = 0
        self.failed = 0
        self.stamps: List[float] = []
        self.error = ""

    async def setup(self, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                await self.host.get_host_data()
                self.online = True
            except Exception as error:  # reported, not raised: one bad device is a figure
                self.error = f"{type(error).__name__}: {error}"[:200]

    async def poll(self, first: float, interval: float, window: List[float]) -> None:
        loop = asyncio.get_running_loop()
        due = first
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stamp = time.monotonic()
            if window[0] <= stamp <= window[1]:
                self.stamps.append(stamp)
            try:
                ok = await self.host.get_motion_state_all_ch()
            except Exception as error:  # Home Assistant logs and polls again next time
                ok = False
                self.error = f"{type(error).__name__}: {error}"[:200]
            if ok:
                self.cycles += 1
            else:
                self.failed += 1
            due += interval
            now = loop.time()
            if now - due >= interval:
                due = now

    async def close(self, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                await self.host.logout()
            except Exception:  # the benchmark is over; the emulator does not care
                pass


async def _run(
    ports: List[int], interval: float, warmup: float, seconds: float, user: str, password: str
) -> Dict[str, Any]:
    rss_before = proc_status("VmHWM")
    threads_before = threading.active_count()
    devices = [_Device(port, user, password) for port in ports]
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    await asyncio.gather(*(d.setup(gate) for d in devices))
    online = [d for d in devices if d.online]
    loop = asyncio.get_running_loop()
    start = loop.time()
    # Filled in once the warm-up is over; a poll stamps only inside [w0, w1].
    window = [float("inf"), float("-inf")]
    tasks = [
        asyncio.ensure_future(d.poll(start + i * interval / len(online), interval, window))
        for i, d in enumerate(online)
    ]
    await asyncio.sleep(warmup)
    w0, p0, u0 = time.monotonic(), time.process_time(), usage()
    window[0], window[1] = w0, w0 + seconds
    cycles0 = sum(d.cycles for d in devices)
    failed0 = sum(d.failed for d in devices)
    await asyncio.sleep(seconds)
    w1, p1, u1 = time.monotonic(), time.process_time(), usage()
    window[1] = w1
    cycles1 = sum(d.cycles for d in devices)
    failed1 = sum(d.failed for d in devices)
    threads = threading.active_count()
    threads_os = proc_status("Threads")
    rss = proc_status("VmHWM")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(d.close(gate) for d in devices))
    late: List[float] = []
    for d in devices:
        if len(d.stamps) > 1:
            late.extend(lateness_of(d.stamps, interval))
    errors = sorted({d.error for d in devices if d.error})
    result = report(
        "aio", len(ports), len(online), cycles1 - cycles0, interval, (w0, w1), (p0, p1), late,
        errors, memory=(rss_before, rss), threads=(threads_before, threads, threads_os),
    )
    result["failed_cycles"] = failed1 - failed0
    result.update(usage_fields(u0, u1, w1 - w0, cycles1 - cycles0))
    return result


def main() -> int:
    import logging

    logging.basicConfig(level=logging.CRITICAL)  # reolink-aio logs every failed poll
    ports = json.loads(sys.argv[1])
    interval_ms, warmup, seconds = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    user, password = sys.argv[5], sys.argv[6]
    result = asyncio.run(_run(ports, interval_ms / 1000, warmup, seconds, user, password))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
