"""Command line of ``reolink emulate`` / ``python -m reolink.emulator``.

Prints exactly one first line, ``listening on http(s)://HOST:PORT`` (flushed), then serves
until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, List, Optional

from .core import Emulator
from .profiles import PROFILES

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    parser.add_argument("--profile", default="camera", choices=PROFILES, help="device to emulate")
    parser.add_argument("--channels", type=int, default=None, help="channel count (nvr, hub)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--https", action="store_true", help="serve HTTPS (self-signed)")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin123")
    parser.add_argument("--lease", type=int, default=3600, help="token lease in seconds")
    parser.add_argument("--snapshot-size", type=int, default=0, help="pad Snap JPEGs to N bytes")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--events", metavar="FILE", help="JSON list of {channel,kind,start,duration}"
    )
    group.add_argument("--random-events", action="store_true", help="random demo detections")


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; return the exit status."""
    try:
        emu = Emulator(
            profile=args.profile,
            channels=args.channels,
            host=args.host,
            port=args.port,
            https=args.https,
            username=args.username,
            password=args.password,
            lease=args.lease,
            events=args.events,
            random_events=args.random_events,
            snapshot_size=args.snapshot_size,
        )
        emu.start()
    except (OSError, ValueError) as err:
        print(f"reolink emulate: {err}", file=sys.stderr, flush=True)
        return 2
    done = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        done.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"listening on {emu.url}", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reolink.emulator", description="Run an emulated Reolink camera or NVR."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
