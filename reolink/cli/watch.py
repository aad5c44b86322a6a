"""``reolink watch``: the driver's poll loop, shown as a live table or as JSON lines.

Push is used wherever the device supports it (``--no-push`` turns it off; ``--push-host``,
``--push-port``): the device calls us at each motion/AI start and the driver polls at once. The
``event_source`` device attribute (and its reason) shows in the table header and as JSON lines.

Zones default to every channel of the device: a first short connection runs get_channels
(names and ids), then the watching connection polls them all. With ``--zones`` the ids are
given and one connection is enough.

A device that cannot be reached at start is shown offline while the driver keeps retrying (the
channels are learned once it answers); a refused Login ends the command at once (exit 1), so a
forgotten ``watch`` cannot lock the account.
"""

from __future__ import annotations

import argparse
import datetime
import json
import queue
import shutil
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from ..driver import AttributeEvent, ReolinkDriver, Timing
from ..driver.config import MIN_STATUS_INTERVAL_MS
from ..errors import CredentialsError, LockedOutError, ReolinkError
from .connection import (
    EXIT_OK,
    SecretBook,
    Target,
    UsageError,
    add_connection_arguments,
    configure_logging,
    explain_error,
    fail,
    seconds_arg,
    target_of,
    usage,
)
from .oneshot import connect_or_explain, disconnect_quietly, open_driver

__all__ = ["LiveView", "add_watch_command", "run_watch", "watch_loop"]

#: How often the table is redrawn at most, and at least (for the counters), in seconds.
_REDRAW_MIN = 0.2
_REDRAW_MAX = 1.0


def add_watch_command(sub: Any) -> None:
    parser = sub.add_parser(
        "watch",
        help="poll motion and AI detections and show changes as they happen",
        description="Run the driver's poll loop and show every attribute change: a live table "
        "on a terminal, one JSON object per change per line otherwise (or with --json).",
    )
    parser.add_argument(
        "--zones", metavar="0,2", help="channels to watch (default: every channel of the device)"
    )
    parser.add_argument(
        "--interval",
        metavar="MS",
        default="5000",
        help=f"status_interval: poll period in ms (default 5000, minimum {MIN_STATUS_INTERVAL_MS})",
    )
    parser.add_argument(
        "--seconds", type=seconds_arg, help="stop after N seconds (default: until Ctrl-C/SIGTERM)"
    )
    parser.add_argument("--json", action="store_true", help="JSON lines even on a terminal")
    parser.add_argument(
        "--no-push",
        action="store_true",
        help="poll only (by default the device's webhook makes the driver poll at once on "
        "every motion/AI start, where the device supports it)",
    )
    parser.add_argument(
        "--push-host",
        metavar="ADDRESS",
        help="this host's address the device calls (default: the local address of the "
        "connection to the device)",
    )
    parser.add_argument(
        "--push-port",
        metavar="PORT",
        help="port the device calls, e.g. one opened in a firewall (default: any free port)",
    )
    # Tests and the demo poll an emulator faster than any real camera should be polled.
    parser.add_argument(
        "--min-interval", type=int, default=MIN_STATUS_INTERVAL_MS, help=argparse.SUPPRESS
    )
    add_connection_arguments(parser)
    parser.set_defaults(run=run_watch)


class LiveView:
    """Renders attribute events: a table redrawn in place, or one JSON line per event."""

    def __init__(self, out: TextIO, as_json: bool, title: str) -> None:
        self.out = out
        self.as_json = as_json
        self.title = title
        self.names: Dict[str, str] = {}
        self.rows: Dict[str, Dict[str, Any]] = {}
        self.device: Dict[str, Any] = {}
        self.events = 0
        self.counts: Dict[str, int] = {}
        self.footer = ""
        self._drawn_lines = 0

    def set_channels(self, channels: List[Dict[str, Any]]) -> None:
        for channel in channels:
            address = str(channel.get("id"))
            self.names[address] = str(channel.get("name", ""))
            self._row(address)

    def _row(self, address: str) -> Dict[str, Any]:
        return self.rows.setdefault(
            address, {"online": None, "motion": None, "ai_detected": "", "changed": None}
        )

    def add(self, event: AttributeEvent, when: float) -> None:
        self.events += 1
        if event.target == "zone" and event.name in ("motion", "ai_detected", "online"):
            turned_on = event.value not in (0, "", None, False)
            if turned_on and event.name != "online":
                self.counts[event.name] = self.counts.get(event.name, 0) + 1
            if event.name == "online" and event.value == 0:
                self.counts["offline"] = self.counts.get("offline", 0) + 1
        if self.as_json:
            line = {
                "time": _stamp(when, milliseconds=True),
                "target": event.target,
                "address": event.address,
                "name": event.name,
                "value": event.value,
            }
            self.out.write(json.dumps(line) + "\n")
            self.out.flush()
            return
        if event.target == "device":
            self.device[event.name] = event.value
            return
        assert event.address is not None
        row = self._row(event.address)
        row[event.name] = event.value
        if event.name in ("online", "motion", "ai_detected", "error"):
            row["changed"] = when

    def draw(self) -> None:
        """Redraw the table in place (table mode only)."""
        if self.as_json:
            return
        # Lines longer than the terminal would wrap and break the cursor arithmetic.
        width = max(20, shutil.get_terminal_size().columns - 1)
        lines = [line[:width] for line in self._table()]
        # Up to the first line drawn last time, clear to the end of the screen, draw again.
        prefix = f"\x1b[{self._drawn_lines}F\x1b[J" if self._drawn_lines else ""
        self.out.write(prefix + "\n".join(lines) + "\n")
        self.out.flush()
        self._drawn_lines = len(lines)

    def _table(self) -> List[str]:
        online = self.device.get("online")
        state = "online" if online else ("offline" if online is False else "connecting")
        if online is False and self.device.get("error"):
            state += f": {self.device['error']}"
        source = self.device.get("event_source")
        if source == "push":
            state += "  events: push"
        elif source == "poll":
            state += f"  events: poll ({self.device.get('event_source_reason', '')})"
        head = [
            f"{self.title}  {self.device.get('model', '')} "
            f"firmware {self.device.get('firmware', '?')}  {state}",
            "",
            f"{'CH':>3}  {'NAME':<18} {'ONLINE':<7} {'MOTION':<7} {'AI':<22} {'CHANGED':<8}",
        ]
        body = []
        for address in sorted(self.rows, key=lambda a: int(a) if a.isdigit() else 0):
            row = self.rows[address]
            changed = row["changed"]
            online = _flag(row["online"], "yes", "NO")
            # The zone's asleep attribute (a field), never the words of its error.
            if not row["online"] and row.get("asleep") is True:
                online = "asleep"
            body.append(
                f"{address:>3}  {self.names.get(address, '')[:18]:<18} "
                f"{online:<7} {_flag(row['motion'], 'MOTION', '-'):<7} "
                f"{(row['ai_detected'] or '-')[:22]:<22} "
                f"{_stamp(changed) if changed else '':<8}"
            )
        return [*head, *body, "", self.footer]

    def summary(self) -> str:
        detail = ", ".join(
            f"{self.counts.get(key, 0)} {label}"
            for key, label in (
                ("motion", "motion"),
                ("ai_detected", "AI detection"),
                ("offline", "channel offline"),
            )
        )
        return f"{self.events} events seen ({detail})"


def _flag(value: Any, on: str, off: str) -> str:
    if value is None:
        return "?"
    return on if value else off


def _stamp(when: float, milliseconds: bool = False) -> str:
    moment = datetime.datetime.fromtimestamp(when).astimezone()
    if milliseconds:
        return moment.isoformat(timespec="milliseconds")
    return moment.strftime("%H:%M:%S")


def watch_loop(
    drivers: List[ReolinkDriver],
    events: queue.Queue[Optional[Tuple[AttributeEvent, float]]],
    view: LiveView,
    seconds: Optional[float],
    stop: Optional[threading.Event] = None,
    until: Optional[Callable[[], bool]] = None,
) -> bool:
    """Show events until ``seconds`` pass, ``stop`` is set, ``until()`` holds, or Ctrl-C /
    SIGTERM; drivers keep polling. Returns True when it ended because ``until()`` held.

    A ``None`` in the queue only wakes the loop up (to look at ``until`` again).
    """
    end = time.monotonic() + seconds if seconds is not None else None
    stop = stop or threading.Event()
    last_draw = 0.0
    dirty = True
    reached = False
    try:
        while not stop.is_set():
            if until is not None and until():
                reached = True
                break
            now = time.monotonic()
            if end is not None and now >= end:
                break
            wait = _REDRAW_MAX if end is None else min(_REDRAW_MAX, end - now)
            if dirty and not view.as_json:
                wait = min(wait, _REDRAW_MIN - (now - last_draw))
            try:
                item = events.get(timeout=max(0.0, wait))
                if item is not None:
                    view.add(*item)
                    dirty = True
            except queue.Empty:
                pass
            since = time.monotonic() - last_draw
            if not view.as_json and ((dirty and since >= _REDRAW_MIN) or since >= _REDRAW_MAX):
                view.footer = _footer(drivers, view, end)
                view.draw()
                last_draw = time.monotonic()
                dirty = False
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the command line turns it into this)
        pass
    # Whatever arrived before the end is still shown.
    while True:
        try:
            item = events.get_nowait()
        except queue.Empty:
            break
        if item is not None:
            view.add(*item)
    if not view.as_json and not reached:
        view.footer = _footer(drivers, view, None, stopped=True)
        view.draw()
    return reached


def _footer(
    drivers: List[ReolinkDriver], view: LiveView, end: Optional[float], stopped: bool = False
) -> str:
    if stopped:
        left = "stopped"
    elif end is None:
        left = "Ctrl-C to stop"
    else:
        left = f"{max(0.0, end - time.monotonic()):.0f} s left"
    return (
        f"{view.events} events, {sum(d.requests_sent for d in drivers)} requests, "
        f"{sum(d.logins_sent for d in drivers)} login(s), {push_wakes(drivers)} push wake(s)  "
        f"{left}"
    )


def push_wakes(drivers: List[ReolinkDriver]) -> int:
    """Calls the devices made to our push listener (each woke a poll)."""
    return sum(d.stats().push_wakes for d in drivers)


def push_attributes(args: argparse.Namespace) -> Dict[str, str]:
    """--no-push, --push-host, --push-port as driver attributes."""
    attributes = {"push": "off" if args.no_push else "auto"}
    if args.push_host is not None:
        attributes["push_host"] = args.push_host
    if args.push_port is not None:
        attributes["push_port"] = args.push_port
    return attributes


def _option_names(text: str) -> str:
    """A driver ConfigError about a push attribute, in the command line's words."""
    for attribute, option in (("push_host", "--push-host"), ("push_port", "--push-port")):
        text = text.replace(f"attribute {attribute!r}", option)
    return text


def event_queue() -> Tuple[queue.Queue[Optional[Tuple[AttributeEvent, float]]], Any]:
    """A queue and the driver callback feeding it (events are shown on the main thread)."""
    events: queue.Queue[Optional[Tuple[AttributeEvent, float]]] = queue.Queue()

    def callback(event: AttributeEvent) -> None:
        events.put((event, time.time()))

    return events, callback


def _zones(text: Optional[str]) -> Optional[List[str]]:
    if text is None:
        return None
    zones = [part.strip() for part in text.split(",") if part.strip()]
    if not zones:
        raise UsageError("--zones: give channel ids separated by commas, e.g. 0,2")
    return zones


def _refused_login(driver: ReolinkDriver) -> bool:
    """connect() failed because the device refused the Login (wrong credentials, locked)."""
    return isinstance(driver.last_exception, (CredentialsError, LockedOutError))


def _start(driver: ReolinkDriver, label: str, target: Target) -> Optional[str]:
    """connect(); the error line when the device refused the Login, else None.

    An unreachable or failing device is not fatal: the driver keeps retrying by itself (as it
    does for a host) and the view shows it offline until it answers. A refused Login is: the
    account must not be locked by a command left running.
    """
    problem = connect_or_explain(driver, target)
    if problem is None or _refused_login(driver):
        return problem
    print(
        f"reolink: {label}: offline for now; the driver keeps retrying (Ctrl-C to stop): {problem}",
        file=sys.stderr,
        flush=True,
    )
    return None


def _probe_callback(
    events: queue.Queue[Optional[Tuple[AttributeEvent, float]]], online: threading.Event
) -> Any:
    """The channel-learning driver's callback: its offline state is shown, nothing else."""

    def callback(event: AttributeEvent) -> None:
        if online.is_set() or event.target != "device":
            return
        if event.name == "online" and event.value is True:
            online.set()
            events.put(None)  # wake the loop: the channels can be learned now
        elif event.name == "online" or (event.name == "error" and event.value):
            # An empty error (nothing wrong) is left to the driver that takes over: shown once.
            events.put((event, time.time()))

    return callback


def _beyond(driver: ReolinkDriver, zones: List[str]) -> Optional[str]:
    """The usage line when a --zones address is beyond the device's channel count (once known)."""
    count = driver.values()["device"].get("channel_count")
    if not isinstance(count, int) or isinstance(count, bool):
        return None
    beyond = [zone for zone in zones if zone.isdigit() and int(zone) >= count]
    if not beyond:
        return None
    return (
        f"watch: --zones {','.join(beyond)}: the device has {count} channel(s), "
        f"addresses 0..{count - 1}"
    )


def _left(end: Optional[float]) -> Optional[float]:
    return None if end is None else max(0.0, end - time.monotonic())


def run_watch(args: argparse.Namespace) -> int:
    """Watch a device; returns the exit status."""
    secrets = SecretBook()
    configure_logging(args.verbose, secrets)
    as_json = bool(args.json) or not sys.stdout.isatty()
    timing = Timing(min_status_interval_ms=max(1, args.min_interval))
    extra = {"status_interval": args.interval, **push_attributes(args)}
    events, callback = event_queue()
    probe_online = threading.Event()
    drivers: List[ReolinkDriver] = []
    try:
        zones = _zones(args.zones)
        probe_zones: Optional[Dict[str, Dict[str, Any]]] = None
        if zones is not None:
            probe_zones = {address: {} for address in zones}
        first_callback = callback if zones else _probe_callback(events, probe_online)
        first = open_driver(args, secrets, probe_zones, first_callback, extra, timing)
    except UsageError as error:
        return usage(f"watch: {_option_names(str(error))}")
    drivers.append(first)
    polled_ms = round(first.status_interval * 1000)
    if args.interval.strip().isdigit() and int(args.interval) < polled_ms:
        print(f"reolink: note: --interval raised to {polled_ms} ms (the minimum)", file=sys.stderr)
    view = LiveView(sys.stdout, as_json, f"reolink watch {first.label}")
    end = None if args.seconds is None else time.monotonic() + args.seconds
    problem: Optional[str] = None
    beyond: Optional[str] = None
    try:
        problem = _start(first, "watch", target_of(args))
        if problem is None and zones is not None:
            # Zones beyond the channel count are refused as soon as the device says how many
            # it has: at start when it answers, else when it first does.
            beyond = _beyond(first, zones)
            if beyond is None and first.online:
                names = first.command("get_channels")
                view.set_channels([c for c in names if str(c["id"]) in zones])
            if beyond is None:
                watch_loop(
                    drivers,
                    events,
                    view,
                    _left(end),
                    until=lambda: _beyond(first, zones) is not None,
                )
                beyond = _beyond(first, zones)
        elif problem is None:
            # Learn every channel (waiting for the device if it is not up yet), then watch
            # them all on a connection of their own.
            if first.online or watch_loop(
                drivers, events, view, _left(end), until=probe_online.is_set
            ):
                channels: List[Dict[str, Any]] = first.command("get_channels")
                disconnect_quietly(first)
                second = first.with_zones(
                    {str(channel["id"]): {} for channel in channels}, callback
                )
                secrets.sources.append(lambda: second.session_token)
                drivers.append(second)
                view.set_channels(channels)
                problem = _start(second, "watch", target_of(args))
                if problem is None:
                    watch_loop(drivers, events, view, _left(end))
    except ReolinkError as error:
        problem = explain_error(error, "watch", target_of(args))
    except KeyboardInterrupt:
        pass
    finally:
        for driver in drivers:
            disconnect_quietly(driver)
    if beyond is not None:
        return usage(beyond)
    if problem is not None:
        return fail(problem)
    line = (
        f"watch: {view.summary()}, {sum(d.requests_sent for d in drivers)} requests sent, "
        f"{sum(d.logins_sent for d in drivers)} login(s), {push_wakes(drivers)} wake(s) by push"
    )
    print(line, file=sys.stderr if as_json else sys.stdout, flush=True)
    return EXIT_OK
