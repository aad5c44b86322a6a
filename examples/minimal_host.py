"""A minimal controller host: construct, connect, get attribute changes, run commands, disconnect.

Try it against the emulator:  reolink emulate --port 8080   then   python examples/minimal_host.py
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

from reolink import AttributeEvent, ReolinkDriver, ReolinkError

#: on_change runs on the driver's thread and main() on this one. print() writes a line's text
#: and its end in two calls, so two threads' lines can merge; one write under a lock cannot.
_output = threading.Lock()


def say(line: str) -> None:
    with _output:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def on_change(event: AttributeEvent) -> None:
    """Called on the driver's thread once per attribute change: hand it to the controller."""
    where = "device" if event.target == "device" else f"zone {event.address}"
    say(f"{event.device} {where}: {event.name} = {event.value!r}")


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
        say(f"offline for now: {driver.last_error}")
    try:
        try:
            say(f"channels: {driver.command('get_channels')}")
            say(f"motion: {driver.command('get_motion', {'address': '0'})}")
        except ReolinkError as error:
            say(f"command failed: {error}")
        # The controller's own life goes on here; changes arrive through on_change meanwhile.
        threading.Event().wait(args.seconds)
    except KeyboardInterrupt:
        pass  # Ctrl-C: stop as a controller does, disconnecting first
    driver.disconnect()
    say("disconnected")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
