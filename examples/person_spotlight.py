"""React to a person detection: switch the spotlight on, and off again once nobody is seen.

Try it against the emulator:  reolink emulate --profile camera --port 8080 --random-events
then  python examples/person_spotlight.py --seconds 60

Commands are never run from the callback (it runs on the driver's own thread, which also runs
the commands): the callback only queues what happened, and the main thread acts on it.
"""

from __future__ import annotations

import argparse
import os
import queue
import time

from reolink import AttributeEvent, ReolinkDriver, ReolinkError


def main() -> int:
    parser = argparse.ArgumentParser(description="Spotlight on when a person is detected")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", default="8080")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--address", default="0", help="channel with the spotlight")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds on after the person left")
    parser.add_argument("--seconds", type=float, default=300.0, help="how long to run")
    args = parser.parse_args()

    people: queue.Queue[bool] = queue.Queue()

    def on_change(event: AttributeEvent) -> None:
        if event.target == "zone" and event.name == "ai_detected":
            people.put("people" in str(event.value).split(","))

    driver = ReolinkDriver(
        {
            "ip": args.ip,
            "port": args.port,
            "username": args.username,
            "password": os.environ.get("REOLINK_PASSWORD", "admin123"),
            "status_interval": "2000",
        },
        {args.address: {"ai_types": "people"}},
        on_change,
    )
    if not driver.connect():
        print(f"offline for now: {driver.last_error}", flush=True)
    end = time.monotonic() + args.seconds
    light_on = False
    off_at = None
    try:
        while time.monotonic() < end:
            try:
                present = people.get(timeout=0.2)
            except queue.Empty:
                present = None
            try:
                if present and not light_on:
                    driver.command("spotlight_on", {"address": args.address})
                    light_on, off_at = True, None
                    print("person detected: spotlight on", flush=True)
                elif present is False and light_on:
                    off_at = time.monotonic() + args.hold
                elif present and light_on:
                    off_at = None
                if light_on and off_at is not None and time.monotonic() >= off_at:
                    driver.command("spotlight_off", {"address": args.address})
                    light_on, off_at = False, None
                    print("nobody for a while: spotlight off", flush=True)
            except ReolinkError as error:
                print(f"spotlight command failed: {error}", flush=True)
    finally:
        driver.disconnect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
