"""Figure 4: many devices x 8 channels, our driver and reolink-aio against the same fleet.

The emulated NVRs (``nvr`` profile, 8 channels: 10 commands + GetChannelstatus per cycle,
one request) are served by the child's asyncio edge (one event loop for all ports, replies
through ``Emulator.app``), sharded over processes of at most ``PER_SHARD`` devices. Each size
starts its fleet once; then the clients take turns against it, each in a fresh process:
our driver (``_scale_client.py``: one driver, so one thread, per device) and reolink-aio
(``_scale_aio.py``: one event loop, one ``Host`` per device, polled with
``get_motion_state_all_ch()`` as Home Assistant polls), and again for every round, so each
ours/aio CPU ratio comes from two runs minutes apart at most. Which client goes first swaps
from round to round (ours first in the first round). The emulators' own CPU is
reported, to show whether they kept up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict, List, Sequence, Tuple

from _common import HERE, PASSWORD, USER, Fleet, percentile, summary
from _report import against, fmt, ratio, spread, table, verdict

PER_SHARD = 250
#: Target: our driver's CPU at 500 devices <= this x reolink-aio's, in the same run.
AIO_RATIO_TARGET = 0.35
CLIENTS = {"ours": "_scale_client.py", "aio": "_scale_aio.py"}


def _client_run(
    client: str,
    fleets: List[Fleet],
    ports: List[int],
    interval_ms: int,
    warmup: float,
    seconds: float,
) -> Dict[str, Any]:
    """One client process against the fleet; its JSON report, lateness summarized."""
    argv = [sys.executable, str(HERE / CLIENTS[client]), json.dumps(ports), str(interval_ms)]
    argv += [str(warmup), str(seconds)]
    if client == "aio":
        argv += [USER, PASSWORD]
    before = [f.cpu() for f in fleets]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=warmup + seconds + 240, check=False
    )
    after = [f.cpu() for f in fleets]
    if proc.returncode != 0:
        raise RuntimeError(f"scale client {client} failed: {proc.stderr[-2000:]}")
    result: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    late = result.pop("late_ms")
    result["late_p50_ms"] = percentile(late, 0.5)
    result["late_p99_ms"] = percentile(late, 0.99)
    result["late_max_ms"] = max(late) if late else float("nan")
    result["late_n"] = len(late)
    result["emulator_cpu_pct"] = [
        100 * (a[0] - b[0]) / (a[1] - b[1]) for a, b in zip(after, before)
    ]
    return result


def scale(
    sizes: Sequence[int],
    interval_ms: int,
    warmup: float,
    seconds: float,
    rounds: int = 1,
    with_aio: bool = False,
) -> List[Dict[str, Any]]:
    """Per size: ``{"devices", "shards", "ours": [run...], "aio": [run...]}``, the clients
    alternated ``rounds`` times against one fleet, the one going first swapped each round
    (ours, aio; aio, ours; ...): a drift of the machine's speed during the run then falls on
    each client's side of the ratio as often as on the other's."""
    clients = ["ours", "aio"] if with_aio else ["ours"]
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
            result: Dict[str, Any] = {"devices": n, "shards": shards, "ours": [], "aio": []}
            for index in range(rounds):
                for client in clients if index % 2 == 0 else clients[::-1]:
                    run = _client_run(client, fleets, ports, interval_ms, warmup, seconds)
                    run["round"] = index
                    result[client].append(run)
            results.append(result)
        finally:
            for fleet in fleets:
                fleet.close()
    return results


def _per_cycle(run: Dict[str, Any]) -> float:
    """CPU us per completed cycle (a run that fell behind did less work: CPU % would flatter it)."""
    return float(run["cpu_us_per_cycle"])


def _cpu_ratios(result: Dict[str, Any]) -> List[float]:
    """ours/aio CPU per cycle of each round (each pair measured back to back)."""
    return [ratio(_per_cycle(o), _per_cycle(a)) for o, a in zip(result["ours"], result["aio"])]


def _row(devices: Any, client: str, runs: List[Dict[str, Any]], vs_aio: str) -> List[Any]:
    """One table row: a client's runs at one size (CPU median [min-max] over the rounds)."""
    cpu = summary([r["cpu_pct"] for r in runs])
    emu = [summary(list(c)) for c in zip(*(r["emulator_cpu_pct"] for r in runs))]
    return [
        devices,
        client,
        f"{min(r['online'] for r in runs)}",
        f"{fmt(sum(r['cycles'] for r in runs))}/{fmt(sum(r['expected_cycles'] for r in runs))}",
        fmt(max(r["late_p50_ms"] for r in runs), 1),
        fmt(max(r["late_p99_ms"] for r in runs), 1),
        fmt(max(r["late_max_ms"] for r in runs), 1),
        spread(cpu, 1) if len(runs) > 1 else fmt(cpu["median"], 1),
        fmt(summary([_per_cycle(r) for r in runs])["median"], 0),
        fmt(max(r["rss_mb"] for r in runs), 1),
        f"{runs[-1]['threads']} ({runs[-1]['threads_os']})",
        "/".join(fmt(e["median"], 0) for e in emu),
        vs_aio,
    ]


def _misses(r: Dict[str, Any]) -> List[str]:
    misses = []
    n = r["devices"]
    ours = r["ours"]
    if n >= 500:
        for name, value, limit in (
            ("lateness p99 ms", max(o["late_p99_ms"] for o in ours), 100),
            ("CPU %", summary([o["cpu_pct"] for o in ours])["median"], 25),
            ("peak RSS MB", max(o["rss_mb"] for o in ours), 150),
        ):
            if verdict(value, limit) == "MISS":
                misses.append(f"scale {n}: {name} {against(value, limit, 1)} > {limit}")
        ratios = _cpu_ratios(r)
        if ratios:
            median = summary(ratios)["median"]
            if verdict(median, AIO_RATIO_TARGET) == "MISS":
                misses.append(
                    f"scale {n}: CPU ours/reolink-aio {against(median, AIO_RATIO_TARGET, 2)} > "
                    f"{AIO_RATIO_TARGET} "
                    f"(rounds: {', '.join(fmt(x, 2) for x in ratios)})"
                )
    for client in ("ours", "aio"):
        for run in r[client]:
            if run["online"] < n:
                misses.append(f"scale {n} {client}: only {run['online']} devices online")
            if run["cycles"] < 0.95 * run["expected_cycles"]:
                misses.append(
                    f"scale {n} {client}: {run['cycles']} of {run['expected_cycles']:.0f} "
                    "cycles (the client did not keep up)"
                )
    return misses


def report(
    results: List[Dict[str, Any]], interval_ms: int, seconds: float
) -> Tuple[str, List[str]]:
    misses: List[str] = []
    rows = []
    rounds = max(len(r["ours"]) for r in results) if results else 0
    for r in results:
        ratios = _cpu_ratios(r)
        vs_aio = "-"
        if ratios:
            stats = summary(ratios)
            vs_aio = (
                spread(stats, 2, limit=AIO_RATIO_TARGET)
                if len(ratios) > 1
                else against(ratios[0], AIO_RATIO_TARGET, 2)
            )
            if r["devices"] >= 500:
                vs_aio += " " + verdict(stats["median"], AIO_RATIO_TARGET)
        rows.append(_row(r["devices"], "ours", r["ours"], vs_aio))
        if r["aio"]:
            rows.append(_row("", "aio", r["aio"], ""))
        misses += _misses(r)
    text = table(
        f"4. Scale: N devices x 8 channels, status_interval {interval_ms} ms, {seconds:.0f} s "
        f"window, ours and reolink-aio alternated against one fleet ({rounds} round(s))\n"
        "   ours = one driver process (a thread per device); aio = one reolink-aio process "
        "(one event loop, a Host per device,\n"
        "   get_motion_state_all_ch() every interval, start to start, as Home Assistant "
        "polls). Each in a fresh process per round.\n"
        "   late = cycle-start lateness (first request of a cycle vs its due time; worst "
        "round); CPU = client process CPU as % of one core\n"
        "   (median [min-max] over rounds); RSS = peak resident set (worst round); threads "
        "= Python threads (OS threads);\n"
        "   us/cycle = client CPU per completed cycle (median); emu CPU = each emulator "
        "shard, % of a core;\n"
        "   ours/aio = ratio of CPU per cycle in each round's back-to-back pair (per cycle: a "
        "client that fell behind did less work).\n"
        "   Targets at 500: late p99 <= 100 ms, CPU <= 25 %, RSS <= 150 MB, threads = "
        f"devices + a small constant, ours/aio <= {AIO_RATIO_TARGET}.",
        [
            "devices",
            "client",
            "online",
            "cycles/expected",
            "late p50",
            "late p99",
            "late max",
            "CPU %",
            "us/cycle",
            "RSS MB",
            "threads",
            "emu CPU %",
            "ours/aio",
        ],
        rows,
    )
    for r in results:
        parts = []
        for client in ("ours", "aio"):
            runs = r[client]
            if runs and "cpu_user_pct" in runs[0]:
                med = {
                    k: summary([run[k] for run in runs])["median"]
                    for k in ("cpu_user_pct", "cpu_sys_pct", "csw_vol_per_cycle")
                }
                parts.append(
                    f"{client} {fmt(med['cpu_user_pct'], 1)} + {fmt(med['cpu_sys_pct'], 1)} %, "
                    f"{fmt(med['csw_vol_per_cycle'], 1)}"
                )
        if parts:
            text += (
                f"\n   {r['devices']} devices: CPU user + system, voluntary context switches "
                f"per cycle (medians): {'; '.join(parts)}"
            )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        cpu_a = summary([o["cpu_pct"] for o in a["ours"]])["median"]
        cpu_b = summary([o["cpu_pct"] for o in b["ours"]])["median"]
        rss_a = max(o["rss_mb"] for o in a["ours"])
        rss_b = max(o["rss_mb"] for o in b["ours"])
        k = b["devices"] / a["devices"]
        text += (
            f"\n   ours, growth {a['devices']} -> {b['devices']} devices (x{k:.0f}): CPU "
            f"x{fmt(ratio(cpu_b, cpu_a), 1)}, RSS +{fmt(rss_b - rss_a, 1)} MB "
            f"({fmt((rss_b - rss_a) * 1024 / (b['devices'] - a['devices']), 0)} KB/device), "
            f"threads +{b['ours'][-1]['threads'] - a['ours'][-1]['threads']}, late p99 "
            f"{fmt(max(o['late_p99_ms'] for o in a['ours']), 1)} -> "
            f"{fmt(max(o['late_p99_ms'] for o in b['ours']), 1)} ms"
        )
    return text, misses
