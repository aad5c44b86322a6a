"""Figures 1 and 2: requests per poll cycle, and client CPU per poll cycle.

Emulated NVRs (``nvr`` profile, N channels) run in a child process. The nvr profile has
channels 0-3 with AI (GetMdState + GetAiState: 2 commands), channels >= 4 without AI
(GetMdState: 1 command) and channels 5 and 7 offline (not polled). While a channel is offline
the driver adds GetChannelstatus to every batch (to see it come back); otherwise only every
60 s. Figure 1 is measured twice: as the profile comes, and with every channel set online.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Sequence, Tuple

from _common import (
    Aio,
    Fleet,
    Floor,
    ReplayApp,
    Tap,
    aio_available,
    make_driver,
    summary,
    wait_cycles,
)
from _report import fmt, ratio, spread, table, verdict

from reolink.driver import ReolinkDriver

MAX_BATCH = 35


def expected_commands(profile: Dict[str, Any]) -> Tuple[int, bool]:
    """(motion/AI commands per cycle, whether GetChannelstatus rides along every cycle)."""
    chans = profile["channels"]
    cmds = sum(2 if c["ai"] else 1 for c in chans if c["online"])
    return cmds, any(not c["online"] for c in chans)


def _edge(driver: ReolinkDriver, timeout: float = 10.0) -> int:
    """Wait for the next cycle to end; return the cycle count right after it."""
    start = driver.stats().cycles
    wait_cycles(driver, start + 1, timeout, step=0.0005)
    return driver.stats().cycles


def _window(fleet: Fleet, dev: int, driver: ReolinkDriver, cycles: int) -> Dict[str, Any]:
    """Requests the emulator logged during ``cycles`` whole poll cycles (100 ms apart)."""
    _edge(driver)
    fleet.call("clear_requests")
    c0 = driver.stats().cycles
    wait_cycles(driver, c0 + cycles, 30, step=0.0005)
    recs = fleet.requests(dev)
    c1 = driver.stats().cycles
    cmds = [c for r in recs for c in r[3]]
    return {
        "cycles": c1 - c0,
        "requests": len(recs),
        "per_cycle": len(recs) / max(1, c1 - c0),
        "logins": cmds.count("Login"),
        "commands_per_cycle": len(cmds) / max(1, c1 - c0),
        "channelstatus_per_cycle": cmds.count("GetChannelstatus") / max(1, c1 - c0),
    }


def requests_per_cycle(sizes: Sequence[int], cycles: int, with_aio: bool) -> List[Dict[str, Any]]:
    results = []
    with Fleet([{"profile": "nvr", "channels": n} for n in sizes]) as fleet:
        for dev, n in enumerate(sizes):
            port = fleet.ports[dev]
            row: Dict[str, Any] = {"channels": n}
            prof = fleet.call("profile", dev=dev)
            cmds, status = expected_commands(prof)
            row["default"] = {
                "online": sum(c["online"] for c in prof["channels"]),
                "ai": sum(bool(c["ai"]) and c["online"] for c in prof["channels"]),
                "commands": cmds,
                "channelstatus": status,
                "expected": math.ceil((cmds + status) / MAX_BATCH),
            }
            driver = make_driver(port, n, interval_ms=100)
            try:
                driver.connect()
                wait_cycles(driver, 3, 10)
                row["default"]["ours"] = _window(fleet, dev, driver, cycles)
                for ch, spec in enumerate(prof["channels"]):
                    if not spec["online"]:
                        fleet.call("set_online", dev=dev, channel=ch, on=True)
                wait_cycles(driver, driver.stats().cycles + 3, 10)
                prof = fleet.call("profile", dev=dev)
                cmds, status = expected_commands(prof)
                row["all_online"] = {
                    "commands": cmds,
                    "expected": math.ceil(cmds / MAX_BATCH),
                    "ours": _window(fleet, dev, driver, cycles),
                }
            finally:
                driver.disconnect()
            if with_aio:
                aio = Aio(port)
                try:
                    aio.connect()
                    aio.poll(2)
                    fleet.call("clear_requests")
                    aio.poll(cycles)
                    recs = fleet.requests(dev)
                    row["aio_per_cycle"] = len(recs) / cycles
                    row["aio_commands_per_cycle"] = sum(len(r[3]) for r in recs) / cycles
                finally:
                    aio.close()
            results.append(row)
    return results


def report_requests(results: List[Dict[str, Any]], cycles: int) -> Tuple[str, List[str]]:
    misses = []
    rows = []
    for r in results:
        d, a = r["default"], r["all_online"]
        ok_d = d["ours"]["per_cycle"] == d["expected"] and d["ours"]["logins"] == 0
        ok_a = a["ours"]["per_cycle"] == a["expected"] and a["ours"]["logins"] == 0
        if not (ok_d and ok_a):
            misses.append(f"requests/cycle at {r['channels']} channels")
        rows.append(
            [
                r["channels"],
                f"{d['online']}/{d['ai']}",
                f"{d['commands']}+{int(d['channelstatus'])}",
                d["expected"],
                fmt(d["ours"]["per_cycle"], 2),
                d["ours"]["logins"],
                a["commands"],
                a["expected"],
                fmt(a["ours"]["per_cycle"], 2),
                a["ours"]["logins"],
                fmt(r.get("aio_per_cycle"), 2),
                fmt(r.get("aio_commands_per_cycle"), 0),
                "ok" if ok_d and ok_a else "MISS",
            ]
        )
    text = table(
        f"1. Requests per poll cycle (nvr profile, emulator request log, {cycles} cycles each)\n"
        "   commands = 2 per online AI channel + 1 per online AI-less channel "
        "(+1 GetChannelstatus while a channel is offline);\n"
        "   expected = ceil(commands/35). 'all online': channels 5 and 7 switched on "
        "(GetChannelstatus then only every 60 s).",
        [
            "ch",
            "online/AI",
            "cmds",
            "expect",
            "ours",
            "login",
            "all-on cmds",
            "expect",
            "ours",
            "login",
            "aio req",
            "aio cmds",
            "target",
        ],
        rows,
    )
    return text, misses


# --- figure 2 -------------------------------------------------------------------------------


def _measure_driver(
    driver: ReolinkDriver, seconds: float, warmup: int, app: Any = None
) -> Tuple[float, int]:
    """Process CPU per cycle (s) of a driver polling back to back."""
    driver.connect()
    wait_cycles(driver, warmup, 30)
    if app is not None:
        app.replay = True
        wait_cycles(driver, driver.stats().cycles + 5, 30)
    c0 = _edge(driver)
    p0 = time.process_time()
    time.sleep(seconds)
    c1 = _edge(driver)
    p1 = time.process_time()
    return (p1 - p0) / (c1 - c0), c1 - c0


def _calibrated(run: Any, seconds: float) -> Tuple[float, int]:
    """Process CPU per call of ``run(n)`` over about ``seconds`` of wall time."""
    w0 = time.monotonic()
    run(10)
    per = (time.monotonic() - w0) / 10
    n = max(20, int(seconds / max(per, 1e-6)))
    p0 = time.process_time()
    run(n)
    return (time.process_time() - p0) / n, n


def cpu_per_cycle(
    sizes: Sequence[int], rounds: int, seconds: float, with_aio: bool
) -> List[Dict[str, Any]]:
    results = []
    for n in sizes:
        samples: Dict[str, List[float]] = {
            k: [] for k in ("ours", "stdlib", "memory", "aio", "floor")
        }
        info: Dict[str, Any] = {"channels": n}
        with Fleet([{"profile": "nvr", "channels": n, "max_sessions": 32}]) as fleet:
            port = fleet.ports[0]
            floor = None
            aio = None
            try:
                # The floor posts exactly the bodies our driver sends in its steady state.
                taps: List[Tap] = []
                probe = make_driver(port, n, interval_ms=1, taps=taps)
                probe.connect()
                wait_cycles(probe, 20, 30)
                last = probe.stats().cycles - 1
                probe.disconnect()
                bodies = [b for c, _, t, b in taps[0].sent if c == last and b]
                info["floor_bodies"] = len(bodies)
                info["commands"] = sum(b.count(b'"cmd"') for b in bodies)
                floor = Floor(port)
                if with_aio:
                    aio = Aio(port)
                    aio.connect()

                def floor_run(k: int, fl: Floor = floor, bodies: List[bytes] = bodies) -> None:
                    for _ in range(k):
                        for body in bodies:
                            fl.post(body)

                for _ in range(rounds):
                    for kind in ("ours", "stdlib", "memory"):
                        app = ReplayApp(port) if kind == "memory" else None
                        transport = "urllib3" if kind == "ours" else kind
                        driver = make_driver(port, n, interval_ms=1, kind=transport, app=app)
                        try:
                            per, _ = _measure_driver(driver, seconds, 20, app)
                        finally:
                            driver.disconnect()
                            if app is not None:
                                info["replay_misses"] = app.misses
                                app.close()
                        samples[kind].append(per)
                    if aio is not None:
                        samples["aio"].append(_calibrated(aio.poll, seconds)[0])
                    samples["floor"].append(_calibrated(floor_run, seconds)[0])
            finally:
                if floor is not None:
                    floor.close()
                if aio is not None:
                    aio.close()
        info["samples"] = samples
        info["summary"] = {k: summary(v) for k, v in samples.items()}
        results.append(info)
    return results


def report_cpu(results: List[Dict[str, Any]]) -> Tuple[str, List[str]]:
    misses = []
    rows = []
    for r in results:
        s = r["summary"]
        vs_aio = ratio(s["ours"]["median"], s["aio"]["median"])
        vs_floor = ratio(s["ours"]["median"], s["floor"]["median"])
        floor_aio = ratio(s["floor"]["median"], s["aio"]["median"])
        if verdict(vs_aio, 0.8) == "MISS":
            misses.append(f"CPU ours/aio {vs_aio:.2f} > 0.8 at {r['channels']} channels")
        if verdict(vs_floor, 1.25) == "MISS":
            misses.append(f"CPU ours/floor {vs_floor:.2f} > 1.25 at {r['channels']} channels")
        rows.append(
            [
                r["channels"],
                r.get("commands", "-"),
                spread(s["ours"], 0, 1e6),
                spread(s["stdlib"], 0, 1e6),
                spread(s["memory"], 0, 1e6),
                spread(s["aio"], 0, 1e6),
                spread(s["floor"], 0, 1e6),
                f"{fmt(vs_aio, 2)} {verdict(vs_aio, 0.8)}",
                f"{fmt(vs_floor, 2)} {verdict(vs_floor, 1.25)}",
                fmt(floor_aio, 2),
            ]
        )
    text = table(
        "2. Client CPU per poll cycle, us (process CPU of the client; emulator in another "
        "process; median [min-max])\n"
        "   ours = driver over urllib3, stdlib = over http.client, memory = in-memory transport "
        "replaying recorded replies\n"
        "   (driver overhead alone); aio = reolink-aio get_motion_state_all_ch(); floor = "
        "urllib3 POST of our batch body + json.loads.\n"
        "   floor/aio > 0.8 means the 0.8 x aio target is out of reach of any urllib3 client.",
        [
            "ch",
            "cmds",
            "ours",
            "stdlib",
            "memory",
            "aio",
            "floor",
            "ours/aio<=0.8",
            "ours/floor<=1.25",
            "floor/aio",
        ],
        rows,
    )
    return text, misses


def available() -> bool:
    return aio_available()
