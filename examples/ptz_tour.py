"""A PTZ preset tour: recall each preset in turn, dwell, repeat.

Try it against the emulator:  reolink emulate --profile ptz --port 8080
then  python examples/ptz_tour.py --presets 1,2,3 --dwell 2 --seconds 20
"""

from __future__ import annotations

import argparse
import itertools
import os
import threading
import time

from reolink import ReolinkDriver, ReolinkError


def main() -> int:
    parser = argparse.ArgumentParser(description="Tour PTZ presets")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", default="8080")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--address", default="0", help="channel of the PTZ camera")
    parser.add_argument("--presets", default="1,2,3", help="preset ids, in tour order")
    parser.add_argument("--speed", type=int, default=32, help="1-64")
    parser.add_argument("--dwell", type=float, default=5.0, help="seconds at each preset")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the tour runs")
    args = parser.parse_args()
    presets = [int(p) for p in args.presets.split(",") if p.strip()]

    driver = ReolinkDriver(
        {
            "ip": args.ip,
            "port": args.port,
            "username": args.username,
            "password": os.environ.get("REOLINK_PASSWORD", "admin123"),
        }
    )
    if not driver.connect():
        print(f"cannot connect: {driver.last_error}", flush=True)
        driver.disconnect()
        return 1
    end = time.monotonic() + args.seconds
    pause = threading.Event()
    moves = 0
    try:
        # At least one full round, then until --seconds have passed.
        for n, preset in enumerate(itertools.cycle(presets)):
            if n >= len(presets) and time.monotonic() >= end:
                break
            result = driver.command(
                "ptz_preset", {"address": args.address, "preset": preset, "speed": args.speed}
            )
            moves += 1
            print(f"moved to preset {result['preset']} on channel {result['channel']}", flush=True)
            pause.wait(args.dwell)
    except ReolinkError as error:
        print(f"tour stopped: {error}", flush=True)
        return 1
    finally:
        driver.disconnect()
    print(f"tour done: {moves} moves", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
