"""Push latency, LISTENER ONLY: emulator motion/AI start -> PushListener wake.

    python benchmarks/bench_push_latency.py [--events 200] [--devices 25] [--json FILE]

Scaffolding for issue 13's "detection latency push vs poll" figure, until the driver uses push.
What it measures today: the emulated cameras (``camera`` profile, in a child process, see
_emuproc.py) get one webhook slot each pointing at one :class:`reolink.push.PushListener` in
this process, set with the protocol layer's builders (GetWebHook, choose_slot, SetWebHook). A
thread in the child starts motion or "people" at scripted ``time.monotonic()`` instants (the
clock is system-wide) and records when each start took effect; each start makes the device POST
its webhook. Latency = the wake's time on the listener thread - the start's time.

It does NOT include the driver's reaction to the wake (the poll it will run, the attribute
callback): those arrive with the driver integration (phase 2). Until then, these figures are an
upper bound on nothing and a lower bound on the host-callback latency push can reach.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PASSWORD, USER, Fleet, percentile
from _report import fmt, table

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


def report(result: Dict[str, Any]) -> str:
    return table(
        f"Push latency, LISTENER ONLY (not yet the driver): emulator event start -> listener "
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
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--devices", type=int, default=25)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    result = push_latency(args.events, args.devices)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0 if result["missed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
