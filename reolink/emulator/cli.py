"""Command line of ``reolink emulate`` / ``python -m reolink.emulator``.

The first line is exactly ``listening on http(s)://HOST:PORT`` (flushed; scripts read it), then
one line with the profile and the credentials to log in with. With ``-v`` each request it
receives is one line on stderr (client address, commands, Login attempts, status).
It serves until SIGINT or SIGTERM and exits 0. A port already in use, or HTTPS without a way to
make a certificate, is one line on stderr and exit status 1; a bad option value is exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .profiles import PROFILES

if TYPE_CHECKING:
    from .core import Emulator, RequestRecord

__all__ = ["add_arguments", "add_setup_arguments", "apply_setup_arguments", "main", "run"]


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected 0..65535 (0: any free port), got {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser`` (each help text names its default)."""
    parser.add_argument(
        "--profile",
        default="camera",
        choices=PROFILES,
        help="device to emulate: camera (RLC-811A, AI, spotlight, siren), ptz (RLC-823A), "
        "nvr (RLN16-410, offline and AI-less channels), legacy (pre-2021 firmware), hub "
        "(battery cameras, one asleep) (default: %(default)s)",
    )
    parser.add_argument(
        "--channels",
        type=_positive,
        default=None,
        metavar="N",
        help="channel count of the nvr and hub profiles, 1-64; the camera, ptz and legacy "
        "profiles have one and refuse another count (default: nvr 8, hub 4, others 1)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=_port, default=0, help="port to listen on; 0 picks a free one (default: 0)"
    )
    parser.add_argument(
        "--https",
        action="store_true",
        help="serve HTTPS with a self-signed certificate made at start (needs trustme or the "
        "openssl command, or --cert/--key) (default: plain HTTP)",
    )
    parser.add_argument(
        "--cert",
        metavar="PEM",
        help="HTTPS: certificate (chain) file to serve (default: made at start)",
    )
    parser.add_argument(
        "--key",
        metavar="PEM",
        help="HTTPS: private key of --cert (default: inside the --cert file)",
    )
    parser.add_argument(
        "--username", default="admin", help="the account clients log in with (default: %(default)s)"
    )
    parser.add_argument(
        "--password", default="admin123", help="its password (default: %(default)s)"
    )
    parser.add_argument(
        "--lease",
        type=_positive,
        default=3600,
        metavar="SECONDS",
        help="token lease given at Login (default: %(default)s)",
    )
    parser.add_argument(
        "--snapshot-size",
        type=int,
        default=0,
        metavar="BYTES",
        help="pad Snap JPEGs to at least this size; 0 leaves them small (default: 0)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each request on stderr: client address, method, commands (Login attempts "
        "marked), HTTP status; never a password or token (default: off)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--events",
        metavar="FILE",
        help="JSON list of {channel, kind, start, duration} detections to play (default: none)",
    )
    group.add_argument(
        "--random-events",
        action="store_true",
        help="random motion and AI detections for demos (default: off)",
    )
    add_setup_arguments(parser)


def add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    """Detection-setup faults, as an owner could set them in the Reolink app (for ``doctor``)."""
    setup = parser.add_argument_group("detection setup (default: everything set up)")
    setup.add_argument(
        "--empty-motion-area",
        type=int,
        action="append",
        default=[],
        metavar="CH",
        help="channel CH has no motion detection area drawn (repeatable; default: none)",
    )
    setup.add_argument(
        "--pir-off",
        type=int,
        action="append",
        default=[],
        metavar="CH",
        help="the PIR sensor of battery channel CH is switched off (repeatable; default: none)",
    )
    setup.add_argument(
        "--push-off", action="store_true", help="push is switched off on the device (default: on)"
    )
    setup.add_argument(
        "--doorbell",
        type=int,
        action="append",
        default=[],
        metavar="CH",
        help="channel CH is a doorbell (GetEvents visitor.support 1) (repeatable; default: none)",
    )
    setup.add_argument(
        "--no-get-events",
        action="store_true",
        help="firmware without GetEvents (answered -9 like an unknown command) (default: the "
        "profile's)",
    )


def apply_setup_arguments(emu: Emulator, args: argparse.Namespace) -> None:
    """Apply the detection-setup options to ``emu`` (ValueError for a channel it lacks)."""
    for channel in getattr(args, "empty_motion_area", []):
        emu.set_motion_area(channel, False)
    for channel in getattr(args, "pir_off", []):
        emu.set_pir(channel, False)
    for channel in getattr(args, "doorbell", []):
        emu.make_doorbell(channel)
    if getattr(args, "push_off", False):
        emu.set_push(False)
    if getattr(args, "no_get_events", False):
        emu.drop_command("GetEvents")


def _start(args: argparse.Namespace) -> Emulator:
    from .core import Emulator  # here: describing the options (--help) needs no server

    emu = Emulator(
        profile=args.profile,
        channels=args.channels,
        host=args.host,
        port=args.port,
        https=args.https or args.cert is not None,
        certfile=args.cert,
        keyfile=args.key,
        username=args.username,
        password=args.password,
        lease=args.lease,
        events=args.events,
        random_events=args.random_events,
        snapshot_size=args.snapshot_size,
    )
    apply_setup_arguments(emu, args)
    return emu.start()


def _explain_start_failure(args: argparse.Namespace, err: Exception) -> str:
    if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
        return (
            f"port {args.port} on {args.host} is already in use (another emulator or server?): "
            "pick another --port, or --port 0 for any free one"
        )
    if isinstance(err, OSError) and err.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {args.host}: not an address of this machine (see --host)"
    if isinstance(err, OSError) and err.errno == errno.EACCES:
        return f"not allowed to listen on port {args.port} (ports below 1024 need root)"
    if isinstance(err, FileNotFoundError) and err.filename:
        return f"cannot read {err.filename}: no such file"
    return str(err) or type(err).__name__


def describe_request(rec: RequestRecord) -> str:
    """One ``-v`` line: when, who, what, the answer. The query's token is never shown."""
    when = time.strftime("%H:%M:%S", time.localtime())
    what = "+".join(rec.cmds) if rec.cmds else rec.path
    login = f" (login attempt: {rec.login or 'no reply'})" if "Login" in rec.cmds else ""
    status = "no reply" if rec.status is None else str(rec.status)
    return f"{when} {rec.remote or 'in-process'} {rec.method} {what}{login} -> {status}"


def _print_request(rec: RequestRecord) -> None:
    try:
        print(f"reolink emulate: {describe_request(rec)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr gone: serving matters more than logging
        pass


class _Stop(Exception):
    """SIGINT or SIGTERM arrived: leave the serve loop of :func:`run`."""


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; return the exit status."""
    from .tls import CertificateUnavailable  # here: describing the options needs no TLS

    if args.key is not None and args.cert is None:
        print("reolink emulate: --key needs --cert", file=sys.stderr, flush=True)
        return 2
    try:
        emu = _start(args)
    except ValueError as err:  # a bad profile/channel combination
        print(f"reolink emulate: {err}", file=sys.stderr, flush=True)
        return 2
    except (OSError, CertificateUnavailable) as err:
        print(f"reolink emulate: {_explain_start_failure(args, err)}", file=sys.stderr, flush=True)
        return 1
    if getattr(args, "verbose", False):
        emu.on_request = _print_request
    signals = (signal.SIGINT, signal.SIGTERM)

    def on_signal(_signum: int, _frame: Any) -> None:
        # Raise, never set an Event: the handler runs in the main thread between two bytecodes,
        # possibly while that thread holds the Event's lock inside its wait, and Event.set()
        # would wait for that lock forever (a SIGTERM hang, seen under load). Once is enough:
        # a second signal must not cut the stop short.
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)
        raise _Stop

    previous: Dict[signal.Signals, Any] = {}
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, on_signal)
        channels = len(emu.profile.channels)
        print(f"listening on {emu.url}", flush=True)
        print(
            f"profile {emu.profile.name}: {emu.profile.model}, {channels} channel(s); "
            f"log in as {args.username} / {args.password}; Ctrl-C to stop",
            flush=True,
        )
        while True:
            # Short: a signal that one of the emulator's threads took runs its handler here.
            time.sleep(0.5)
    except _Stop:
        pass
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reolink.emulator",
        description="Run an emulated Reolink camera, NVR or hub until Ctrl-C or SIGTERM.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
