"""Detection latency, push vs poll: emulator event start -> the host's callback.

    python benchmarks/bench_push_latency.py [--events 200] [--devices 25]
        [--interval-ms 5000] [--json FILE] [--listener-only] [--fidelity [--call-lead-ms 50]]
        [--flood]

End to end (the issue 13 figure): ``--devices`` emulated cameras (``camera`` profile, in a child
process, see _emuproc.py), one :class:`~reolink.driver.ReolinkDriver` each in this process at
``status_interval`` ``--interval-ms``, run twice: ``push`` auto (every driver registers on the
shared push listener and waits until ``event_source`` is push) and ``push`` off (polling
only). A thread in the child starts motion at scripted ``time.monotonic()`` instants (the clock
is system-wide) and records when each start took effect; each event, and the quiet after it,
lasts longer than the interval so that polling sees both its start and its end. Latency = the
time the host callback got ``motion`` 1 - the start's time. Requests per event = requests the
drivers sent during the script / events.

``--listener-only`` also measures the listener alone (event start -> listener wake, no driver),
the floor under the end-to-end figure.

``--flood``: 1000 real calls (with the secret) while 4 threads hold 2000 connections without it
open from 127.0.0.2 (idle, then each holding half a request head): how many calls fail.

``--fidelity`` (issue 16) measures what the host is told, not only how fast: ``--devices``
cameras each play random detections (1-8 s long, 1-15 s apart; ``--events`` in all) at
``status_interval`` ``--interval-ms`` (10 s by default here), push ``auto`` then ``off``. Each
detection is *seen* (the host got its own ``motion`` 1 between its start and the next one's),
*merged* (no edge of its own: the host still showed the previous one) or *lost* (the host showed
nothing). End latency = the host's ``motion`` 0 - the detection's end, for the ends the host saw
before the next detection began (``ends seen``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_TIMING, PASSWORD, USER, Fleet, percentile
from _report import fmt, table

from reolink.driver import AttributeEvent, ReolinkDriver
from reolink.protocol import (
    build_get_webhook,
    build_login,
    build_set_webhook,
    choose_slot,
    decode_batch,
    encode_body,
    parse_login,
    parse_ok,
    parse_webhooks,
)
from reolink.push import PushListener


def _call(port: int, token: str, cmds: List[Dict[str, object]]) -> List[Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        query = f"token={token}" if token else "cmd=Login&token=null"
        conn.request("POST", f"/cgi-bin/api.cgi?{query}", body=encode_body(cmds))
        return decode_batch(conn.getresponse().read(), cmds)
    finally:
        conn.close()


def _register(port: int, url: str) -> None:
    """Login, GetWebHook, choose a slot, SetWebHook: the registration phase 2 will run."""
    login = [build_login(USER, PASSWORD)]
    token = parse_login(_call(port, "", login)[0]).name
    get = [build_get_webhook(0)]
    slot = choose_slot(parse_webhooks(_call(port, token, get)[0], 0), url)
    if slot is None:
        raise RuntimeError("no free webhook slot on the emulated camera")
    parse_ok(_call(port, token, [build_set_webhook(0, slot.index, url)])[0])


def push_latency(events: int = 200, devices: int = 25, seed: int = 13) -> Dict[str, Any]:
    rng = random.Random(seed)
    wakes: List[Tuple[int, float]] = []
    lock = threading.Lock()

    def waker(dev: int) -> Any:
        def wake() -> None:  # on the listener thread: cheap, as the contract asks
            now = time.monotonic()
            with lock:
                wakes.append((dev, now))

        return wake

    with Fleet([{"profile": "camera"} for _ in range(devices)]) as fleet, \
            PushListener("127.0.0.1", 0) as listener:
        for dev, port in enumerate(fleet.ports):
            _register(port, listener.register(waker(dev)).url("127.0.0.1"))
        per_device = -(-events // devices)
        start = time.monotonic() + 0.5
        script: List[List[Any]] = []
        for dev in range(devices):
            t = start + rng.uniform(0, 0.5)
            for k in range(per_device):
                if len(script) >= 2 * events:
                    break
                kind = "motion" if k % 2 == 0 else "people"
                script.append([dev, 0, kind, True, t])
                script.append([dev, 0, kind, False, t + 0.2])
                t += rng.uniform(0.4, 0.6)
        end = max(item[4] for item in script)
        fleet.call("script", script=script)
        time.sleep(max(0.0, end - time.monotonic()) + 1.0)
        flips = fleet.call("flips", timeout=5)["flips"]
        stats = listener.stats()
    starts: Dict[int, List[float]] = {}
    for dev, _ch, _kind, on, _at, actual in flips:
        if on:
            starts.setdefault(dev, []).append(actual)
    by_dev: Dict[int, List[float]] = {}
    for dev, t in sorted(wakes, key=lambda w: w[1]):
        by_dev.setdefault(dev, []).append(t)
    # One start, one POST: the k-th start of a device is answered by its k-th wake.
    lat = [w - s for dev, ss in starts.items() for s, w in zip(sorted(ss), by_dev.get(dev, []))]
    total = sum(len(ss) for ss in starts.values())
    return {
        "events": total,
        "woken": len(lat),
        "missed": total - len(lat),
        "devices": devices,
        "wakes": stats.wakes,
        "not_found": stats.not_found,
        "p50": percentile(lat, 0.5),
        "p99": percentile(lat, 0.99),
        "max": max(lat) if lat else float("nan"),
        "latencies": lat,
    }


def _script(
    devices: int, events: int, interval: float, rng: random.Random
) -> Tuple[List[List[Any]], float]:
    """Motion starts spread over the devices; each lasts interval + 0.5 s (polling sees it),
    then stays off as long."""
    per_device = -(-events // devices)
    start = time.monotonic() + 1.0
    script: List[List[Any]] = []
    count = 0
    for dev in range(devices):
        t = start + rng.uniform(0, interval)
        for _ in range(per_device):
            if count >= events:
                break
            script.append([dev, 0, "motion", True, t])
            script.append([dev, 0, "motion", False, t + interval + 0.5])
            # Off for longer than the interval too: polling must see the end before the next
            # start, or two events merge into one (push only announces starts).
            t += 2 * (interval + 0.5) + rng.uniform(0.0, 0.5)
            count += 1
    return script, max(item[4] for item in script)


def _drivers(
    fleet: Fleet, push: str, interval_ms: int, seen: List[Tuple[int, float, str, Any]]
) -> List[ReolinkDriver]:
    lock = threading.Lock()

    def callback(dev: int) -> Any:
        def record(event: AttributeEvent) -> None:
            now = time.monotonic()
            with lock:
                seen.append((dev, now, event.name, event.value))

        return record

    drivers = []
    for dev, port in enumerate(fleet.ports):
        attributes = {
            "ip": "127.0.0.1", "port": str(port), "username": USER, "password": PASSWORD,
            "status_interval": str(interval_ms), "push": push,
        }
        drivers.append(
            ReolinkDriver(attributes, {"0": {}}, callback(dev), timing=BENCH_TIMING)
        )
    return drivers


def _wait_sources(drivers: List[ReolinkDriver], want: str, timeout: float) -> List[str]:
    """Wait until every driver's event_source is ``want``; returns the sources seen."""
    deadline = time.monotonic() + timeout
    while True:
        sources = [str(d.values()["device"].get("event_source")) for d in drivers]
        if all(s == want for s in sources) or time.monotonic() > deadline:
            return sources
        time.sleep(0.05)


def end_to_end(
    push: str, events: int = 200, devices: int = 25, interval_ms: int = 5000, seed: int = 13
) -> Dict[str, Any]:
    """Event start -> host callback (motion 1), with push ``auto`` or ``off``."""
    rng = random.Random(seed)
    seen: List[Tuple[int, float, str, Any]] = []
    with Fleet([{"profile": "camera"} for _ in range(devices)]) as fleet:
        drivers = _drivers(fleet, push, interval_ms, seen)
        try:
            for driver in drivers:
                driver.connect()
            sources = _wait_sources(drivers, "push" if push == "auto" else "poll", 15.0)
            before = sum(d.stats().requests_sent for d in drivers)
            wakes_before = sum(d.stats().push_wakes for d in drivers)
            script, end = _script(devices, events, interval_ms / 1000, rng)
            fleet.call("script", script=script)
            time.sleep(max(0.0, end - time.monotonic()) + 0.5)
            flips = fleet.call("flips", timeout=5)["flips"]
            sent = sum(d.stats().requests_sent for d in drivers) - before
            wakes = sum(d.stats().push_wakes for d in drivers) - wakes_before
        finally:
            for driver in drivers:
                driver.disconnect()
    rises: Dict[int, List[float]] = {}
    for dev, at, name, value in seen:
        if name == "motion" and value == 1:
            rises.setdefault(dev, []).append(at)
    lat = []
    starts = sorted((dev, actual) for dev, _c, _k, on, _at, actual in flips if on)
    for dev, actual in starts:
        found = [t for t in rises.get(dev, []) if t >= actual]
        if found:
            lat.append(found[0] - actual)
    return {
        "mode": "push" if push == "auto" else "poll",
        "events": len(starts),
        "seen": len(lat),
        "missed": len(starts) - len(lat),
        "devices": devices,
        "interval_ms": interval_ms,
        "sources": sorted(set(sources)),
        "requests_per_event": sent / len(starts) if starts else float("nan"),
        "push_wakes": wakes,
        "p50": percentile(lat, 0.5),
        "p99": percentile(lat, 0.99),
        "max": max(lat) if lat else float("nan"),
    }


def _fidelity_script(
    devices: int, events: int, rng: random.Random
) -> Tuple[List[List[Any]], float]:
    """Random detections per device: 1-8 s long, the next one 1-15 s after the end."""
    per_device = -(-events // devices)
    start = time.monotonic() + 1.0
    script: List[List[Any]] = []
    count = 0
    for dev in range(devices):
        t = start + rng.uniform(0.0, 2.0)
        for _ in range(per_device):
            if count >= events:
                break
            duration = rng.uniform(1.0, 8.0)
            script.append([dev, 0, "motion", True, t])
            script.append([dev, 0, "motion", False, t + duration])
            t += duration + rng.uniform(1.0, 15.0)
            count += 1
    return script, max(item[4] for item in script)


def judge(
    detections: List[Tuple[float, float]], host: List[Tuple[float, int]]
) -> Tuple[Dict[str, int], List[float]]:
    """Each detection (start, end), against the host's ``motion`` changes (time, value):
    counts of seen / merged / lost, and the end latencies of the seen ones."""
    counts = {"seen": 0, "merged": 0, "lost": 0}
    ends: List[float] = []

    def shown_at(t: float) -> int:
        value = 0
        for at, v in host:
            if at > t:
                break
            value = v
        return value

    for k, (start, end) in enumerate(detections):
        following = detections[k + 1][0] if k + 1 < len(detections) else float("inf")
        rises = [at for at, v in host if v == 1 and start <= at < following]
        if rises:
            counts["seen"] += 1
            # Its end, seen before the next detection began (else the two merged there).
            falls = [at for at, v in host if v == 0 and end <= at < following]
            if falls:
                ends.append(falls[0] - end)
        elif shown_at(start) == 1:
            counts["merged"] += 1
        else:
            counts["lost"] += 1
    return counts, ends


def fidelity(
    push: str,
    events: int = 75,
    devices: int = 5,
    interval_ms: int = 10000,
    seed: int = 16,
    call_lead_ms: int = 0,
) -> Dict[str, Any]:
    """Random detections; what reached the host (see the module docstring). ``call_lead_ms``:
    the device's call comes that long before its state shows the event."""
    rng = random.Random(seed)
    seen: List[Tuple[int, float, str, Any]] = []
    spec = {"profile": "camera", "call_lead": call_lead_ms / 1000}
    with Fleet([spec for _ in range(devices)]) as fleet:
        drivers = _drivers(fleet, push, interval_ms, seen)
        try:
            for driver in drivers:
                driver.connect()
            sources = _wait_sources(drivers, "push" if push == "auto" else "poll", 15.0)
            before = sum(d.stats().requests_sent for d in drivers)
            script, end = _fidelity_script(devices, events, rng)
            fleet.call("script", script=script)
            time.sleep(max(0.0, end - time.monotonic()) + interval_ms / 1000 + 1.0)
            flips = fleet.call("flips", timeout=5)["flips"]
            sent = sum(d.stats().requests_sent for d in drivers) - before
        finally:
            for driver in drivers:
                driver.disconnect()
    totals = {"seen": 0, "merged": 0, "lost": 0}
    ends: List[float] = []
    for dev in range(devices):
        mine = sorted((actual, on) for d, _c, _k, on, _at, actual in flips if d == dev)
        detections = [(t, off) for (t, on), (off, _) in zip(mine, mine[1:]) if on]
        host = [(at, int(v)) for d, at, name, v in seen if d == dev and name == "motion"]
        counts, lat = judge(detections, sorted(host))
        for key, value in counts.items():
            totals[key] += value
        ends += lat
    total = sum(totals.values())
    return {
        "mode": "push" if push == "auto" else "poll",
        "detections": total,
        **totals,
        "devices": devices,
        "interval_ms": interval_ms,
        "call_lead_ms": call_lead_ms,
        "sources": sorted(set(sources)),
        "requests_per_detection": sent / total if total else float("nan"),
        "ends_seen": len(ends),
        "end_p50": percentile(ends, 0.5),
        "end_p99": percentile(ends, 0.99),
        "end_max": max(ends) if ends else float("nan"),
    }


def report_fidelity(results: List[Dict[str, Any]]) -> str:
    first = results[0]
    return table(
        f"Detection fidelity: random detections 1-8 s long, 1-15 s apart -> what the host saw "
        f"({first['detections']} detections on {first['devices']} cameras, status_interval "
        f"{first['interval_ms']} ms, the call {first['call_lead_ms']} ms before the state, "
        "loopback)",
        ["mode", "detections", "seen", "merged", "lost", "requests/detection",
         "ends seen", "end p50 ms", "end p99 ms", "end max ms"],
        [
            [
                r["mode"], r["detections"], r["seen"], r["merged"], r["lost"],
                fmt(r["requests_per_detection"], 2), r["ends_seen"],
                fmt(r["end_p50"] * 1000, 0),
                fmt(r["end_p99"] * 1000, 0), fmt(r["end_max"] * 1000, 0),
            ]
            for r in results
        ],
    )


def _flooder(port: int, stop: threading.Event, count: int, hold: bool) -> None:
    """Keep ``count`` connections without the secret open from 127.0.0.2, renewing the oldest
    (``hold``: each sends half a request head, then nothing)."""
    socks: List[Any] = []
    while not stop.is_set():
        try:
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
            if hold:
                sock.sendall(b"POST /x HTTP/1.1\r\nX-Hold: ")
            socks.append(sock)
        except OSError:
            stop.wait(0.001)
        if len(socks) >= count:
            socks.pop(0).close()
    for sock in socks:
        sock.close()


def flood(calls: int = 1000, idle: int = 2000, threads: int = 4) -> List[Dict[str, Any]]:
    """Real calls (with the secret) during a flood of connections without it (``threads``
    flooders holding ``idle`` in all): how many fail."""
    rows = []
    for hold in (False, True):
        with PushListener("", 0, deadline=30.0) as listener:
            path = listener.register(lambda: None).path
            stop = threading.Event()
            flooders = [
                threading.Thread(
                    target=_flooder, args=(listener.port, stop, idle // threads, hold)
                )
                for _ in range(threads)
            ]
            for thread in flooders:
                thread.start()
            stop.wait(1.0)
            failed = 0
            for _ in range(calls):
                conn = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=5)
                try:
                    conn.request("POST", path, body=b"{}")
                    failed += conn.getresponse().status != 200
                except OSError:
                    failed += 1
                finally:
                    conn.close()
            stop.set()
            for thread in flooders:
                thread.join()
            stats = listener.stats()
        rows.append({"flood": "hold" if hold else "idle", "connections": idle, "calls": calls,
                     "failed": failed, "evicted": stats.evicted})
    return rows


def report_flood(rows: List[Dict[str, Any]]) -> str:
    return table(
        "Push listener under a flood without the secret (from 127.0.0.2): real calls that failed",
        ["flood", "connections held", "calls", "failed", "evicted"],
        [[r["flood"], r["connections"], r["calls"], r["failed"], r["evicted"]] for r in rows],
    )


def report_end_to_end(results: List[Dict[str, Any]]) -> str:
    first = results[0]
    return table(
        f"Detection latency, event start -> host callback ({first['events']} events on "
        f"{first['devices']} cameras, status_interval {first['interval_ms']} ms, loopback)",
        ["mode", "events", "missed", "requests/event", "push wakes", "p50 ms", "p99 ms",
         "max ms"],
        [
            [
                r["mode"], r["events"], r["missed"], fmt(r["requests_per_event"], 2),
                r["push_wakes"], fmt(r["p50"] * 1000, 1), fmt(r["p99"] * 1000, 1),
                fmt(r["max"] * 1000, 1),
            ]
            for r in results
        ],
    )


def report(result: Dict[str, Any]) -> str:
    return table(
        f"Push latency, listener only (no driver): emulator event start -> listener "
        f"wake ({result['events']} events on {result['devices']} cameras, loopback)",
        ["events", "woken", "missed", "POSTs/event", "p50 ms", "p99 ms", "max ms"],
        [[
            result["events"],
            result["woken"],
            result["missed"],
            fmt(result["wakes"] / result["events"] if result["events"] else float("nan"), 2),
            fmt(result["p50"] * 1000, 2),
            fmt(result["p99"] * 1000, 2),
            fmt(result["max"] * 1000, 2),
        ]],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=0, help="default 200 (fidelity: 75)")
    parser.add_argument("--devices", type=int, default=0, help="default 25 (fidelity: 5)")
    parser.add_argument("--interval-ms", type=int, default=0,
                        help="default 5000 (fidelity: 10000)")
    parser.add_argument("--listener-only", action="store_true",
                        help="also measure the listener alone (no driver)")
    parser.add_argument("--fidelity", action="store_true",
                        help="random 1-8 s detections 1-15 s apart: seen/merged/lost and end "
                        "latency, push vs poll (--events 75 --devices 5 --interval-ms 10000 "
                        "unless given)")
    parser.add_argument("--call-lead-ms", type=int, default=0,
                        help="fidelity: the device calls this long before its state shows "
                        "the event")
    parser.add_argument("--flood", action="store_true",
                        help="real calls during a flood of connections without the secret")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if args.flood:
        rows = flood()
        print(report_flood(rows))
        if args.json:
            Path(args.json).write_text(json.dumps({"flood": rows}, indent=1), "utf-8")
        return 0 if all(r["failed"] == 0 for r in rows) else 1
    if args.fidelity:
        runs = [
            fidelity(mode, args.events or 75, args.devices or 5, args.interval_ms or 10000,
                     call_lead_ms=args.call_lead_ms)
            for mode in ("auto", "off")
        ]
        print(report_fidelity(runs))
        if args.json:
            Path(args.json).write_text(json.dumps({"fidelity": runs}, indent=1), "utf-8")
        return 0
    args.events = args.events or 200
    args.devices = args.devices or 25
    args.interval_ms = args.interval_ms or 5000
    results = [
        end_to_end(mode, args.events, args.devices, args.interval_ms) for mode in ("auto", "off")
    ]
    print(report_end_to_end(results))
    output: Dict[str, Any] = {"end_to_end": results}
    missed = sum(r["missed"] for r in results)
    if args.listener_only:
        alone = push_latency(args.events, args.devices)
        print(report(alone))
        output["listener_only"] = alone
        missed += alone["missed"]
    if args.json:
        Path(args.json).write_text(json.dumps(output, indent=1), encoding="utf-8")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
