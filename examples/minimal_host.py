"""A minimal controller host: construct, connect, get attribute changes, run commands, disconnect.

Try it against the emulator:  reolink emulate --port 8080   then   python examples/minimal_host.py
"""

from __future__ import annotations

import argparse
import os
import threading

from reolink import AttributeEvent, ReolinkDriver, ReolinkError


def on_change(event: AttributeEvent) -> None:
    """Called on the driver's thread once per attribute change: hand it to the controller."""
    where = "device" if event.target == "device" else f"zone {event.address}"
    print(f"{event.device} {where}: {event.name} = {event.value!r}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Minimal reolink host")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", default="8080")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run (or Ctrl-C)")
    args = parser.parse_args()

    # Attributes as the controller stores them (strings); one zone per channel.
    driver = ReolinkDriver(
        {
            "ip": args.ip,
            "port": args.port,
            "username": args.username,
            "password": os.environ.get("REOLINK_PASSWORD", "admin123"),
            "status_interval": "2000",
        },
        {"0": {"ai_types": "people,vehicle"}},
        on_change,
    )
    if not driver.connect():
        # Not fatal: the driver keeps retrying by itself and reports through on_change.
        print(f"offline for now: {driver.last_error}", flush=True)
    try:
        try:
            print(f"channels: {driver.command('get_channels')}", flush=True)
            print(f"motion: {driver.command('get_motion', {'address': '0'})}", flush=True)
        except ReolinkError as error:
            print(f"command failed: {error}", flush=True)
        # The controller's own life goes on here; changes arrive through on_change meanwhile.
        threading.Event().wait(args.seconds)
    except KeyboardInterrupt:
        pass  # Ctrl-C: stop as a controller does, disconnecting first
    driver.disconnect()
    print("disconnected", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
