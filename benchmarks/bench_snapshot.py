"""Figures 5 and 6: snapshot cost and memory; start-up (connect to ready) cost.

Snapshot: a ``camera`` emulator padding Snap JPEGs to 200 KB. Ours is
``driver.command("snapshot", ...)``, which returns the image base64-encoded in plain JSON
data; the floor is a bare urllib3 GET of the same Snap URL + ``base64.b64encode``. CPU is the
client's process CPU per snapshot; peak memory is tracemalloc's peak (all threads) above the
level before the call, while the result is still held, in separate runs from the CPU ones.

Start-up: a 16-channel ``nvr``; ours = ``ReolinkDriver(...).connect()`` (returns after login,
identification and the first poll); reolink-aio = ``Host(...)`` + ``get_host_data()``.
"""

from __future__ import annotations

import base64
import secrets
import time
import tracemalloc
from typing import Any, Callable, Dict, List, Tuple

from _common import Aio, Fleet, Floor, make_driver, summary
from _report import against, fmt, ratio, spread, table, verdict

SNAP_SIZE = 200_000


def _cpu_per_call(fn: Callable[[], Any], n: int) -> float:
    p0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - p0) / n


def _peak_per_call(fn: Callable[[], Any], n: int) -> float:
    peaks = []
    tracemalloc.start()
    try:
        for _ in range(n):
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            result = fn()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            del result
    finally:
        tracemalloc.stop()
    return float(max(peaks))


def snapshot(rounds: int, per_round: int, with_aio: bool) -> Dict[str, Any]:
    samples: Dict[str, List[float]] = {"ours": [], "floor": [], "aio": []}
    peaks: Dict[str, float] = {}
    with Fleet([{"profile": "camera", "snapshot_size": SNAP_SIZE}]) as fleet:
        port = fleet.ports[0]
        driver = make_driver(port, 1, interval_ms=600_000)
        floor = Floor(port)
        aio = Aio(port) if with_aio else None
        try:
            driver.connect()
            if aio is not None:
                aio.connect()

            def ours() -> Any:
                return driver.command("snapshot", {"address": "0"})

            def bare() -> str:
                target = f"/cgi-bin/api.cgi?cmd=Snap&channel=0&rs={secrets.token_hex(8)}"
                return base64.b64encode(floor.get(target)).decode("ascii")

            def aio_snap() -> Any:
                assert aio is not None
                return aio.run(aio.host.get_snapshot(0))

            size = len(base64.b64decode(ours()["base64"]))
            assert abs(len(bare()) - len(ours()["base64"])) < 8
            clients = {"ours": ours, "floor": bare}
            if aio is not None:
                clients["aio"] = aio_snap
            for fn in clients.values():
                _cpu_per_call(fn, 3)
            for _ in range(rounds):
                for name, fn in clients.items():
                    samples[name].append(_cpu_per_call(fn, per_round))
            for name, fn in clients.items():
                peaks[name] = _peak_per_call(fn, 5)
        finally:
            driver.disconnect()
            floor.close()
            if aio is not None:
                aio.close()
    return {
        "image_bytes": size,
        "samples": samples,
        "summary": {k: summary(v) for k, v in samples.items()},
        "peak_bytes": peaks,
    }


def report_snapshot(r: Dict[str, Any]) -> Tuple[str, List[str]]:
    s = r["summary"]
    size = r["image_bytes"]
    cpu_ratio = ratio(s["ours"]["median"], s["floor"]["median"])
    mem = r["peak_bytes"]["ours"] / size
    misses = []
    if verdict(cpu_ratio, 1.2) == "MISS":
        misses.append(f"snapshot CPU ours/floor {against(cpu_ratio, 1.2, 2)} > 1.2")
    if verdict(mem, 3.0) == "MISS":
        misses.append(f"snapshot peak memory {against(mem, 3.0, 2)} x image > 3")
    rows = []
    for name in ("ours", "floor", "aio"):
        if not s[name]["n"]:
            continue
        peak = r["peak_bytes"].get(name, float("nan"))
        rows.append(
            [
                name,
                spread(s[name], 0, 1e6),
                fmt(peak / 1024, 0),
                fmt(peak / size, 2),
            ]
        )
    text = table(
        f"5. Snapshot, {size} B JPEG (ours: command('snapshot') -> base64 in JSON data; floor: "
        "urllib3 GET + base64; aio: get_snapshot(), bytes, no base64)",
        ["client", "CPU us/snapshot", "peak KB", "peak/image"],
        rows,
    )
    text += (
        f"\n   ours/floor CPU {against(cpu_ratio, 1.2, 2)} (<= 1.2: {verdict(cpu_ratio, 1.2)}); "
        f"ours peak {against(mem, 3.0, 2)} x image (<= 3: {verdict(mem, 3.0)})"
    )
    return text, misses


def startup(rounds: int, with_aio: bool) -> Dict[str, Any]:
    out: Dict[str, Dict[str, List[float]]] = {
        "ours": {"cpu": [], "wall": [], "requests": [], "commands": []},
        "aio": {"cpu": [], "wall": [], "requests": [], "commands": []},
    }
    with Fleet([{"profile": "nvr", "channels": 16, "max_sessions": 32}]) as fleet:
        port = fleet.ports[0]

        def ours() -> Callable[[], None]:
            driver = make_driver(port, 16, interval_ms=600_000)
            driver.connect()
            return driver.disconnect

        def theirs() -> Callable[[], None]:
            aio = Aio(port)
            aio.connect()
            return aio.close

        clients: Dict[str, Callable[[], Callable[[], None]]] = {"ours": ours}
        if with_aio:
            clients["aio"] = theirs
        for fn in clients.values():  # warm-up: imports, first connections
            fn()()
        for _ in range(rounds):
            for name, fn in clients.items():
                fleet.call("clear_requests")
                w0, p0 = time.monotonic(), time.process_time()
                close = fn()
                p1, w1 = time.process_time(), time.monotonic()
                recs = fleet.requests(0)
                close()
                out[name]["cpu"].append(p1 - p0)
                out[name]["wall"].append(w1 - w0)
                out[name]["requests"].append(len(recs))
                out[name]["commands"].append(sum(len(r[3]) for r in recs))
    return {k: {m: summary(v) for m, v in d.items()} | {"raw": d} for k, d in out.items()}


def report_startup(r: Dict[str, Any]) -> str:
    rows = []
    for name in ("ours", "aio"):
        d = r[name]
        if not d["cpu"]["n"]:
            continue
        rows.append(
            [
                name,
                spread(d["requests"], 0),
                spread(d["commands"], 0),
                spread(d["cpu"], 1, 1e3),
                spread(d["wall"], 1, 1e3),
            ]
        )
    cpu_ratio = ratio(r["ours"]["cpu"]["median"], r["aio"]["cpu"]["median"])
    text = table(
        "6. Start-up, 16-channel NVR: ours connect() (login, identify, first poll) vs "
        "reolink-aio Host() + get_host_data()",
        ["client", "requests", "commands", "client CPU ms", "wall ms"],
        rows,
    )
    return text + f"\n   ours/aio CPU {fmt(cpu_ratio, 2)}"
