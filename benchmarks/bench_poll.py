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
    MemoryFloor,
    ReplayApp,
    Tap,
    WakingThreads,
    aio_available,
    cycles_of,
    make_driver,
    steady_bodies,
    summary,
    wait_cycles,
)
from _report import against, fmt, ratio, spread, table, verdict

from reolink.driver import ReolinkDriver

MAX_BATCH = 35


def expected_commands(profile: Dict[str, Any]) -> Tuple[int, bool]:
    """(motion/AI commands per cycle, whether GetChannelstatus rides along every cycle)."""
    chans = profile["channels"]
    cmds = sum(2 if c["ai"] else 1 for c in chans if c["online"])
    return cmds, any(not c["online"] for c in chans)


def _edge(driver: ReolinkDriver, timeout: float = 10.0) -> int:
    """Wait for the next cycle to end; return the cycle count right after it."""
    start = cycles_of(driver)
    wait_cycles(driver, start + 1, timeout, step=0.0005)
    return cycles_of(driver)


def _window(fleet: Fleet, dev: int, driver: ReolinkDriver, cycles: int) -> Dict[str, Any]:
    """Requests the emulator logged during ``cycles`` whole poll cycles (100 ms apart)."""
    _edge(driver)
    fleet.call("clear_requests")
    c0 = cycles_of(driver)
    wait_cycles(driver, c0 + cycles, 30, step=0.0005)
    recs = fleet.requests(dev)
    c1 = cycles_of(driver)
    cmds = [c for r in recs for c in r[3]]
    return {
        "cycles": c1 - c0,
        "requests": len(recs),
        "per_cycle": len(recs) / max(1, c1 - c0),
        "logins": cmds.count("Login"),
        "commands_per_cycle": len(cmds) / max(1, c1 - c0),
        "channelstatus_per_cycle": cmds.count("GetChannelstatus") / max(1, c1 - c0),
    }


def _aio_commands(fleet: Fleet, dev: int, port: int, cycles: int) -> Dict[str, Any]:
    """What reolink-aio really sends per poll cycle, from the emulator's request log (a fresh
    Host, so it sees the channels online now; it polls only the channels it found online)."""
    aio = Aio(port)
    try:
        aio.connect()
        aio.poll(2)
        fleet.call("clear_requests")
        aio.poll(cycles)
        recs = fleet.requests(dev)
    finally:
        aio.close()
    cmds = [c for r in recs for c in r[3]]
    return {
        "per_cycle": len(recs) / cycles,
        "commands_per_cycle": len(cmds) / cycles,
        "logins": cmds.count("Login"),
        "channels": len(aio.host.channels) if aio.host is not None else 0,
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
            if with_aio:
                row["default"]["aio"] = _aio_commands(fleet, dev, port, cycles)
            driver = make_driver(port, n, interval_ms=100)
            try:
                driver.connect()
                wait_cycles(driver, 3, 10)
                row["default"]["ours"] = _window(fleet, dev, driver, cycles)
                for ch, spec in enumerate(prof["channels"]):
                    if not spec["online"]:
                        fleet.call("set_online", dev=dev, channel=ch, on=True)
                wait_cycles(driver, cycles_of(driver) + 3, 10)
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
                row["all_online"]["aio"] = _aio_commands(fleet, dev, port, cycles)
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
                _aio_cell(d.get("aio")),
                _aio_cell(a.get("aio")),
                "ok" if ok_d and ok_a else "MISS",
            ]
        )
    text = table(
        f"1. Requests per poll cycle (nvr profile, emulator request log, {cycles} cycles each)\n"
        "   commands = 2 per online AI channel + 1 per online AI-less channel "
        "(+1 GetChannelstatus while a channel is offline);\n"
        "   expected = ceil(commands/35). 'all online': channels 5 and 7 switched on "
        "(GetChannelstatus then only every 60 s).\n"
        "   aio = reolink-aio's requests/commands per cycle from the emulator's log (a fresh Host "
        "in each state;\n"
        "   it sends GetMdState for every channel it found online, GetAiState unless the firmware "
        "said 'not support').",
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
            "aio req/cmds",
            "all-on aio",
            "target",
        ],
        rows,
    )
    return text, misses


def _aio_cell(aio: Any) -> str:
    if not aio:
        return "-"
    return f"{fmt(aio['per_cycle'], 2)}/{fmt(aio['commands_per_cycle'], 0)}"


# --- figure 2 -------------------------------------------------------------------------------


class _Changes:
    """The host callback: counts attribute changes (what a host is handed per cycle)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: Any) -> None:
        self.count += 1


def _measure_driver(
    driver: ReolinkDriver, changes: _Changes, seconds: float, warmup: int, app: Any = None
) -> Tuple[float, int, int]:
    """Process CPU per cycle (s) of a driver polling back to back; cycles; attribute changes."""
    driver.connect()
    wait_cycles(driver, warmup, 30)
    if app is not None:
        app.replay = True
        wait_cycles(driver, cycles_of(driver) + 5, 30)
    c0 = _edge(driver)
    e0 = changes.count
    p0 = time.process_time()
    time.sleep(seconds)
    c1 = _edge(driver)
    p1 = time.process_time()
    return (p1 - p0) / (c1 - c0), c1 - c0, changes.count - e0


def _memory_floor(app: ReplayApp, bodies: List[bytes], seconds: float, mode: str) -> float:
    """Process CPU per wake of a thread doing :class:`MemoryFloor`'s work every 1 ms: the
    ``memory`` column's floor (the same replaying app, the same bodies, the same wake-ups)."""
    changes = _Changes()
    misses = app.misses
    with WakingThreads(1, 0.001, work=MemoryFloor(app, bodies, changes)) as waking:
        time.sleep(0.05)  # the first wakes (the first replies parsed) are not measured
        w0, e0, p0 = waking.wakes, changes.count, time.process_time()
        time.sleep(seconds)
        w1, e1, p1 = waking.wakes, changes.count, time.process_time()
    if app.misses != misses:
        raise AssertionError(f"memory floor: {app.misses - misses} bodies not in the recording")
    if mode == "changes" and e1 - e0 < w1 - w0:
        raise AssertionError(f"memory floor: {e1 - e0} changes in {w1 - w0} cycles")
    return (p1 - p0) / max(1, w1 - w0)


def _calibrated(run: Any, seconds: float) -> Tuple[float, int]:
    """Process CPU per call of ``run(n)`` over about ``seconds`` of wall time."""
    w0 = time.monotonic()
    run(10)
    per = (time.monotonic() - w0) / 10
    n = max(20, int(seconds / max(per, 1e-6)))
    p0 = time.process_time()
    run(n)
    return (time.process_time() - p0) / n, n


MODES = ("same", "changes")
#: Issue 19's targets for the driver alone (the memory column), us per cycle:
#: (channels, replies) -> target
_ALONE = {(1, "same"): 40, (1, "changes"): 40, (8, "changes"): 100}
KINDS = ("ours", "stdlib", "memory", "memfloor", "aio", "floor")


def _check_churn(
    mode: str, what: str, cycles: int, toggled: int, changes: int, online: int
) -> None:
    """The benchmark is void unless, with churn on, every cycle met a changed device state
    (and a driver handed the host at least one change per online channel per cycle)."""
    if mode != "changes":
        return
    if toggled < cycles:
        raise AssertionError(f"{what}: device state toggled {toggled} times in {cycles} cycles")
    if what in ("ours", "stdlib", "memory") and changes < online * cycles:
        raise AssertionError(
            f"{what}: {changes} attribute changes in {cycles} cycles, < {online} per cycle"
        )


def _probe(fleet: Fleet, port: int, n: int, info: Dict[str, Any]) -> List[bytes]:
    """The bodies our driver sends in its steady state (the floor posts exactly these), and
    the commands reolink-aio really sends per cycle (emulator request log)."""
    taps: List[Tap] = []
    probe = make_driver(port, n, interval_ms=1, taps=taps)
    probe.connect()
    wait_cycles(probe, 20, 30)
    last = cycles_of(probe) - 1
    probe.disconnect()
    bodies = steady_bodies(taps[0].sent, last)
    info["floor_bodies"] = len(bodies)
    info["commands"] = sum(b.count(b'"cmd"') for b in bodies)
    prof = fleet.call("profile", dev=0)
    info["online"] = sum(bool(c["online"]) for c in prof["channels"])
    return bodies


def _round(
    fleet: Fleet,
    port: int,
    n: int,
    mode: str,
    seconds: float,
    aio: Any,
    floor: Floor,
    bodies: List[bytes],
    info: Dict[str, Any],
    samples: Dict[str, List[float]],
) -> None:
    online = info["online"]
    per_cycle = info.setdefault("changes_per_cycle", {}).setdefault(mode, {})
    for kind in ("ours", "stdlib", "memory"):
        app = ReplayApp(port) if kind == "memory" else None
        transport = "urllib3" if kind == "ours" else kind
        changes = _Changes()
        try:
            driver = make_driver(
                port, n, interval_ms=1, kind=transport, app=app, callback=changes
            )
            try:
                t0 = fleet.churn()
                per, cycles, seen = _measure_driver(driver, changes, seconds, 20, app)
                toggled = cycles if kind == "memory" else fleet.churn() - t0
            finally:
                driver.disconnect()
            if app is not None:
                # Its floor, on the recording the driver just made and replayed.
                samples["memfloor"].append(_memory_floor(app, bodies, seconds, mode))
        finally:
            if app is not None:
                info["replay_misses"] = app.misses
                app.close()
        _check_churn(mode, kind, cycles, toggled, seen, online)
        per_cycle.setdefault(kind, []).append(seen / cycles)
        samples[kind].append(per)

    def floor_run(k: int) -> None:
        for _ in range(k):
            for body in bodies:
                floor.post(body)

    others = [("floor", floor_run)] + ([("aio", aio.poll)] if aio is not None else [])
    for kind, run in others:
        t0 = fleet.churn()
        per, calls = _calibrated(run, seconds)
        _check_churn(mode, kind, calls, fleet.churn() - t0, 0, online)
        samples[kind].append(per)


def cpu_per_cycle(
    sizes: Sequence[int], rounds: int, seconds: float, with_aio: bool
) -> List[Dict[str, Any]]:
    """Figure 2, in two modes: ``same`` (replies repeat, as a quiet camera's do) and
    ``changes`` (the emulator toggles every channel's motion/AI state once per cycle)."""
    results = []
    for n in sizes:
        info: Dict[str, Any] = {"channels": n, "modes": {}}
        with Fleet([{"profile": "nvr", "channels": n, "max_sessions": 32}]) as fleet:
            port = fleet.ports[0]
            floor = None
            aio = None
            try:
                bodies = _probe(fleet, port, n, info)
                if with_aio:
                    info["aio_commands"] = _aio_commands(fleet, 0, port, 3)["commands_per_cycle"]
                floor = Floor(port)
                if with_aio:
                    aio = Aio(port)
                    aio.connect()
                for mode in MODES:
                    fleet.churn(on=mode == "changes")
                    samples: Dict[str, List[float]] = {k: [] for k in KINDS}
                    for _ in range(rounds):
                        _round(fleet, port, n, mode, seconds, aio, floor, bodies, info, samples)
                    info["modes"][mode] = {
                        "samples": samples,
                        "summary": {k: summary(v) for k, v in samples.items()},
                    }
                fleet.churn(on=False)
            finally:
                if floor is not None:
                    floor.close()
                if aio is not None:
                    aio.close()
        results.append(info)
    return results


def report_cpu(results: List[Dict[str, Any]]) -> Tuple[str, List[str]]:
    misses = []
    rows = []
    for r in results:
        for mode in MODES:
            s = r["modes"][mode]["summary"]
            vs_aio = ratio(s["ours"]["median"], s["aio"]["median"])
            vs_floor = ratio(s["ours"]["median"], s["floor"]["median"])
            floor_aio = ratio(s["floor"]["median"], s["aio"]["median"])
            where = f"at {r['channels']} channels, replies {mode}"
            if verdict(vs_aio, 0.8) == "MISS":
                misses.append(f"CPU ours/aio {against(vs_aio, 0.8, 2)} > 0.8 {where}")
            if verdict(vs_floor, 1.25) == "MISS":
                misses.append(f"CPU ours/floor {against(vs_floor, 1.25, 2)} > 1.25 {where}")
            alone = _ALONE.get((r["channels"], mode))
            driver_alone = s["memory"]["median"] * 1e6
            if alone is not None and driver_alone > alone:
                misses.append(
                    f"driver alone {against(driver_alone, alone, 0)} us > {alone} us {where} "
                    f"(the memory column's floor: {s['memfloor']['median'] * 1e6:.0f} us)"
                )
            seen = r.get("changes_per_cycle", {}).get(mode, {}).get("ours", [])
            rows.append(
                [
                    r["channels"] if mode == MODES[0] else "",
                    mode,
                    f"{r.get('commands', '-')}/{fmt(r.get('aio_commands'), 0)}",
                    spread(s["ours"], 0, 1e6),
                    spread(s["stdlib"], 0, 1e6),
                    spread(s["memory"], 0, 1e6),
                    spread(s["memfloor"], 0, 1e6),
                    spread(s["aio"], 0, 1e6),
                    spread(s["floor"], 0, 1e6),
                    f"{against(vs_aio, 0.8, 2)} {verdict(vs_aio, 0.8)}",
                    f"{against(vs_floor, 1.25, 2)} {verdict(vs_floor, 1.25)}",
                    fmt(floor_aio, 2),
                    fmt(min(seen), 0) if seen else "-",
                ]
            )
    text = table(
        "2. Client CPU per poll cycle, us (process CPU of the client; emulator in another "
        "process; median [min-max])\n"
        "   replies: same = the device state does not change (a quiet camera; a reply equal to "
        "the last one is not parsed again);\n"
        "   changes = the emulator toggles motion and every AI type on every channel once per "
        "cycle, so every reply differs.\n"
        "   ours = driver over urllib3, stdlib = over http.client, memory = in-memory transport "
        "replaying recorded replies\n"
        "   (driver overhead alone); mem floor = the least any driver costs in memory's harness "
        "(a thread waking every 1 ms,\n"
        "   our bodies to the same replaying app, a reply that differs parsed and compared entry "
        "by entry, one callback per change);\n"
        "   aio = reolink-aio get_motion_state_all_ch(); floor = "
        "urllib3 POST of our batch body + json.loads.\n"
        "   cmds = ours/aio commands per cycle (aio's from the emulator log); chg/cyc = attribute "
        "changes the driver handed the host per cycle (min).\n"
        "   floor/aio > 0.8 means the 0.8 x aio target is out of reach of any urllib3 client.",
        [
            "ch",
            "replies",
            "cmds",
            "ours",
            "stdlib",
            "memory",
            "mem floor",
            "aio",
            "floor",
            "ours/aio<=0.8",
            "ours/floor<=1.25",
            "floor/aio",
            "chg/cyc",
        ],
        rows,
    )
    return text, misses


def available() -> bool:
    return aio_available()
