"""Figure 4: many devices x 8 channels in one driver process.

The emulated NVRs (``nvr`` profile, 8 channels: 10 commands + GetChannelstatus per cycle,
one request) are served by the child's asyncio edge (one event loop for all ports, replies
through ``Emulator.app``), sharded over processes of at most ``PER_SHARD`` devices. The driver
process is a fresh ``_scale_client.py`` per size. The emulators' own CPU is reported, to show
whether they kept up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict, List, Sequence, Tuple

from _common import HERE, Fleet
from _report import fmt, ratio, table, verdict

PER_SHARD = 250


def scale(
    sizes: Sequence[int], interval_ms: int, warmup: float, seconds: float
) -> List[Dict[str, Any]]:
    results = []
    for n in sizes:
        shards = -(-n // PER_SHARD)
        fleets: List[Fleet] = []
        try:
            ports: List[int] = []
            for s in range(shards):
                count = min(PER_SHARD, n - s * PER_SHARD)
                fleet = Fleet([{"profile": "nvr", "channels": 8}] * count, front="asyncio")
                fleets.append(fleet)
                ports += fleet.ports
            before = [f.cpu() for f in fleets]
            proc = subprocess.run(
                [
                    sys.executable,
                    str(HERE / "_scale_client.py"),
                    json.dumps(ports),
                    str(interval_ms),
                    str(warmup),
                    str(seconds),
                ],
                capture_output=True,
                text=True,
                timeout=warmup + seconds + 240,
                check=False,
            )
            after = [f.cpu() for f in fleets]
            if proc.returncode != 0:
                raise RuntimeError(f"scale client failed: {proc.stderr[-2000:]}")
            result: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
            result["emulator_cpu_pct"] = [
                100 * (a[0] - b[0]) / (a[1] - b[1]) for a, b in zip(after, before)
            ]
            result["shards"] = shards
            results.append(result)
        finally:
            for fleet in fleets:
                fleet.close()
    return results


def report(
    results: List[Dict[str, Any]], interval_ms: int, seconds: float
) -> Tuple[str, List[str]]:
    misses = []
    rows = []
    for r in results:
        row = [
            r["devices"],
            f"{r['online']}",
            f"{fmt(r['cycles'])}/{fmt(r['expected_cycles'])}",
            fmt(r["late_p50_ms"], 1),
            fmt(r["late_p99_ms"], 1),
            fmt(r["late_max_ms"], 1),
            fmt(r["cpu_pct"], 1),
            fmt(r["rss_mb"], 1),
            f"{r['threads']} ({r['threads_os']})",
            "/".join(fmt(c, 0) for c in r["emulator_cpu_pct"]),
        ]
        rows.append(row)
        if r["devices"] >= 500:
            for name, value, limit in (
                ("lateness p99 ms", r["late_p99_ms"], 100),
                ("CPU %", r["cpu_pct"], 25),
                ("peak RSS MB", r["rss_mb"], 150),
            ):
                if verdict(value, limit) == "MISS":
                    misses.append(f"scale {r['devices']}: {name} {value:.1f} > {limit}")
        if r["online"] < r["devices"]:
            misses.append(f"scale {r['devices']}: only {r['online']} devices online")
    text = table(
        f"4. Scale: N devices x 8 channels, status_interval {interval_ms} ms, one driver "
        f"process, {seconds:.0f} s window\n"
        "   late = cycle-start lateness (first request of a cycle vs its due time); CPU = "
        "driver process CPU as % of one core;\n"
        "   RSS = peak resident set of the driver process; threads = Python threads (OS "
        "threads); emu CPU = each emulator shard, % of a core.\n"
        "   Targets at 500: late p99 <= 100 ms, CPU <= 25 %, RSS <= 150 MB, threads = "
        "devices + a small constant.",
        [
            "devices",
            "online",
            "cycles/expected",
            "late p50",
            "late p99",
            "late max",
            "CPU %",
            "RSS MB",
            "threads",
            "emu CPU %",
        ],
        rows,
    )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        k = b["devices"] / a["devices"]
        text += (
            f"\n   growth {a['devices']} -> {b['devices']} devices (x{k:.0f}): CPU "
            f"x{fmt(ratio(b['cpu_pct'], a['cpu_pct']), 1)}, RSS "
            f"+{fmt(b['rss_mb'] - a['rss_mb'], 1)} MB "
            f"({fmt((b['rss_mb'] - a['rss_mb']) * 1024 / (b['devices'] - a['devices']), 0)} "
            f"KB/device), threads +{b['threads'] - a['threads']}, late p99 "
            f"{fmt(a['late_p99_ms'], 1)} -> {fmt(b['late_p99_ms'], 1)} ms"
        )
    return text, misses
