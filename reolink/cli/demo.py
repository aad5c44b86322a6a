"""``reolink demo``: the emulator on loopback, a built-in event script, the real driver watching.

Nothing to configure: the emulator listens on a free loopback port, the driver connects to it
over real HTTP, registers its push URL on the emulated webhook (``event_source`` push: every
detection start makes it poll at once) and the live ``watch`` view shows what it sees. The
script repeats every :data:`CYCLE` seconds: detections across several channels and one channel
going offline and back.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, List, Optional, Tuple

from ..driver import ReolinkDriver, Timing
from ..emulator.profiles import PROFILES
from ..errors import ReolinkError
from .connection import EXIT_OK, SecretBook, configure_logging, explain_error, fail, seconds_arg
from .oneshot import disconnect_quietly
from .watch import LiveView, event_queue, push_wakes, watch_loop

if TYPE_CHECKING:
    from ..emulator import Emulator

__all__ = ["DemoScript", "add_demo_command", "run_demo"]

log = logging.getLogger(__name__)

#: The script repeats with this period (s).
CYCLE = 22.0
_PASSWORD = "admin123"  # noqa: S105 - the emulated device's own demo password


def add_demo_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "demo",
        help="an emulated device on loopback with the real driver watching it",
        description="Start the emulator with a built-in event script, connect the real driver "
        "to it over HTTP and show the live watch view. Nothing to configure.",
    )
    parser.add_argument("--profile", default="nvr", choices=PROFILES, help="device to emulate")
    parser.add_argument(
        "--seconds", type=seconds_arg, help="stop after N seconds (default: until Ctrl-C/SIGTERM)"
    )
    parser.add_argument("--json", action="store_true", help="JSON lines even on a terminal")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs on stderr")
    # The emulator is on loopback: it can be polled faster than a real camera should be.
    parser.add_argument("--interval", type=int, default=1000, help=argparse.SUPPRESS)
    parser.set_defaults(run=run_demo)


Step = Tuple[float, str, Callable[[], None]]


class DemoScript:
    """Drives the emulator's detections and channel states on a repeating timeline."""

    def __init__(self, emu: Emulator, cycle: float = CYCLE) -> None:
        self.emu = emu
        self.cycle = cycle
        self.steps = self._plan()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reolink-demo-script", daemon=True)

    def _plan(self) -> List[Step]:
        emu = self.emu
        specs = emu.profile.channels
        active = [i for i, spec in enumerate(specs) if spec.online and not spec.sleeping]
        steps: List[Step] = []
        if not active:
            return steps

        def on_off(start: float, length: float, label: str, switch: Callable[[bool], None]) -> None:
            steps.append((start, f"{label} on", lambda: switch(True)))
            steps.append((start + length, f"{label} off", lambda: switch(False)))

        for n in range(8):
            channel = active[n % len(active)]
            kinds = [
                kind
                for kind in ("people", "vehicle", "motion", "dog_cat")
                if kind == "motion" or kind in specs[channel].ai_types
            ]
            kind = kinds[n % len(kinds)]
            label = f"channel {channel} {kind}"
            if kind == "motion":
                on_off(1.0 + 2.5 * n, 3.0, label, _bind(emu.set_motion, channel))
            else:
                on_off(1.0 + 2.5 * n, 3.0, label, _bind_ai(emu, channel, kind))
        # One channel drops off the NVR (or the camera's stream goes away) and comes back.
        dropping = active[min(2, len(active) - 1)]
        steps.append((8.0, f"channel {dropping} offline", lambda: emu.set_online(dropping, False)))
        steps.append((14.0, f"channel {dropping} online", lambda: emu.set_online(dropping, True)))
        return sorted(steps, key=lambda step: step[0])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _run(self) -> None:
        begin = time.monotonic()
        while not self._stop.is_set():
            for offset, label, action in self.steps:
                if self._stop.wait(max(0.0, begin + offset - time.monotonic())):
                    return
                try:
                    action()
                    log.debug("demo script: %s", label)
                except ValueError as error:  # a profile without that detection: skip it
                    log.debug("demo script: %s skipped (%s)", label, error)
            begin += self.cycle
            if self._stop.wait(max(0.0, begin - time.monotonic())):
                return


def _bind(setter: Callable[[int, bool], None], channel: int) -> Callable[[bool], None]:
    return lambda on: setter(channel, on)


def _bind_ai(emu: Emulator, channel: int, kind: str) -> Callable[[bool], None]:
    return lambda on: emu.set_ai(channel, kind, on)


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status."""
    secrets = SecretBook()
    secrets.values.append(_PASSWORD)
    configure_logging(args.verbose, secrets)
    as_json = bool(args.json) or not sys.stdout.isatty()
    interval = max(100, int(args.interval))
    from ..emulator import Emulator  # here: the other subcommands need no emulator

    emu = Emulator(profile=args.profile, password=_PASSWORD).start()
    script = DemoScript(emu)
    events, callback = event_queue()
    driver = ReolinkDriver(
        {
            "ip": emu.host,
            "port": str(emu.port),
            "username": "admin",
            "password": _PASSWORD,
            "status_interval": str(interval),
            "request_timeout": "3000",
        },
        {str(i): {} for i in range(len(emu.profile.channels))},
        callback,
        timing=Timing(min_status_interval_ms=interval),
    )
    secrets.sources.append(lambda: driver.session_token)
    title = f"reolink demo: emulated {args.profile} on {emu.url}"
    view = LiveView(sys.stdout, as_json, title)
    started = time.monotonic()
    problem: Optional[str] = None
    try:
        script.start()
        if driver.connect():
            view.set_channels(driver.command("get_channels"))
            watch_loop([driver], events, view, args.seconds)
        else:
            problem = f"demo: the driver could not connect to the emulator: {driver.last_error}"
    except ReolinkError as error:
        problem = explain_error(error, "demo")
    except KeyboardInterrupt:
        pass
    finally:
        disconnect_quietly(driver)
        script.stop()
        emu.stop()
    if problem is not None:
        return fail(problem)
    line = (
        f"demo: {view.summary()}, {driver.requests_sent} requests sent, "
        f"{driver.logins_sent} login(s), {push_wakes([driver])} wake(s) by push, "
        f"{time.monotonic() - started:.0f} s"
    )
    print(line, file=sys.stderr if as_json else sys.stdout, flush=True)
    return EXIT_OK
