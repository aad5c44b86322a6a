"""One subcommand per driver command: connect, run it, print its JSON result, disconnect."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
from typing import Any, Dict, Optional

from .._quiet_threads import wait_sliced
from ..driver import ReolinkDriver, Timing
from ..driver.config import parse_channel, parse_device
from ..driver.table import COMMANDS, PTZ_DRIVER_OPS, validate_args
from ..errors import ArgumentError, ConfigError, ReolinkError
from .connection import (
    EXIT_OK,
    SecretBook,
    Target,
    UsageError,
    add_connection_arguments,
    configure_logging,
    device_attributes,
    explain_error,
    explain_offline,
    fail,
    read_password,
    target_of,
    usage,
)

__all__ = [
    "add_device_commands",
    "connect_or_explain",
    "disconnect_quietly",
    "open_driver",
    "run_command",
]

_DESCRIPTIONS = {command["name"]: command["description"] for command in COMMANDS}
#: ptz --duration: how long past the automatic Stop to wait before disconnecting (s).
_STOP_MARGIN = 0.3
#: Ctrl-C / SIGTERM: how long disconnect() may take (a pending PTZ Stop, Logout) before the
#: command gives up on it and exits (the device thread is a daemon: it ends with the process).
INTERRUPT_GRACE = 0.25


def add_device_commands(sub: Any) -> None:
    """Add login, logout, get_dev_info ... reboot to the ``reolink`` subparsers."""
    for name in _DESCRIPTIONS:
        parser = sub.add_parser(name, help=_DESCRIPTIONS[name], description=_DESCRIPTIONS[name])
        spec = next(command for command in COMMANDS if command["name"] == name)
        arg_names = [arg["name"] for arg in spec["args"]]
        if "address" in arg_names:
            parser.add_argument("address", help='channel index: "0" for a camera, 0..N-1 on an NVR')
        if name == "ptz":
            parser.add_argument("op", help="one of " + ", ".join(PTZ_DRIVER_OPS))
            parser.add_argument("--speed", metavar="N", help=_range_help(spec, "speed"))
            parser.add_argument(
                "--duration",
                metavar="MS",
                help="ms before the driver sends Stop: " + _range_help(spec, "duration")
                + "; 0: no automatic Stop",
            )
        if name == "ptz_preset":
            parser.add_argument("preset", help="preset id (usually 1-64)")
            parser.add_argument("--speed", metavar="N", help=_range_help(spec, "speed"))
        if name == "snapshot":
            parser.add_argument(
                "-o",
                "--output",
                metavar="FILE.jpg",
                help="write the JPEG to FILE and print the result without its base64",
            )
        add_connection_arguments(parser)
        parser.set_defaults(run=run_command, command_args=arg_names)


def _range_help(spec: Dict[str, Any], name: str) -> str:
    """``low-high (default d)`` of an int argument, from the command table (its one home)."""
    arg = next(arg for arg in spec["args"] if arg["name"] == name)
    return f"{arg['min']}-{arg['max']} (default {arg['default']})"


def _command_args(args: argparse.Namespace) -> Dict[str, Any]:
    given = {name: getattr(args, name, None) for name in args.command_args}
    return {name: value for name, value in given.items() if value is not None}


def open_driver(
    args: argparse.Namespace,
    secrets: SecretBook,
    zones: Optional[Dict[str, Dict[str, Any]]] = None,
    callback: Any = None,
    extra: Optional[Dict[str, Any]] = None,
    timing: Optional[Timing] = None,
) -> ReolinkDriver:
    """Validate the connection options, read the password, build the driver (no I/O yet).

    Raises UsageError (exit 2) on a bad option; the password is only asked for once every
    other option is known to be good.
    """
    attributes = {**device_attributes(args, "placeholder"), **(extra or {})}
    try:
        # The password is checked below, with the real one; everything else is checked here.
        parse_device(attributes, zones)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    password = read_password(args)
    secrets.values.append(password)
    attributes["password"] = password
    try:
        driver = ReolinkDriver(attributes, zones, callback, timing=timing)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    secrets.sources.append(lambda: driver.session_token)
    return driver


def connect_or_explain(driver: ReolinkDriver, target: Optional[Target] = None) -> Optional[str]:
    """connect(); None when online, else the one error line to print."""
    if driver.connect():
        return None
    if driver.last_exception is not None:  # classify by the error itself, not its wording
        return explain_error(driver.last_exception, "connect", target)
    return explain_offline(driver.last_error)


def run_command(args: argparse.Namespace) -> int:
    """Run one driver command; print its JSON result. Returns the exit status."""
    name: str = args.command
    secrets = SecretBook()
    configure_logging(args.verbose, secrets)
    given = _command_args(args)
    try:
        validate_args(name, given)
        if "address" in given:
            parse_channel(given["address"])
        # One command and gone: no webhook registered (and freed) for it.
        driver = open_driver(args, secrets, extra={"push": "off"})
    except (ArgumentError, ConfigError, UsageError) as error:
        return usage(_prefixed(name, error))
    try:
        result = _run(driver, name, given, target_of(args))
    except ArgumentError as error:
        return usage(_prefixed(name, error))
    except _Offline as error:
        return fail(str(error))
    except ReolinkError as error:
        return fail(explain_error(error, name, target_of(args)))
    if name == "snapshot" and args.output:
        try:
            with open(args.output, "wb") as file:
                file.write(base64.b64decode(result["base64"]))
        except OSError as error:
            return fail(f"snapshot: cannot write {args.output}: {error.strerror or error}")
        result = {key: value for key, value in result.items() if key != "base64"}
        result["file"] = args.output
    print(json.dumps(result, indent=2), flush=True)
    return EXIT_OK


def _run(driver: ReolinkDriver, name: str, given: Dict[str, Any], target: Target) -> Any:
    """Connect, run the command, disconnect (before any error line is printed).

    Interrupted (Ctrl-C, SIGTERM), the disconnect gets :data:`INTERRUPT_GRACE` only: a request
    in flight to a device that does not answer must not hold the command for request_timeout.
    """
    grace: Optional[float] = None
    try:
        problem = connect_or_explain(driver, target)
        if problem is not None:
            raise _Offline(problem)
        result = driver.command(name, given)
        if name == "ptz" and result.get("duration"):
            # The automatic Stop is due after `duration`; disconnect() would send it early.
            wait_sliced(threading.Event().wait, result["duration"] / 1000 + _STOP_MARGIN)
        return result
    except KeyboardInterrupt:
        grace = INTERRUPT_GRACE
        raise
    finally:
        disconnect_quietly(driver, grace)


class _Offline(ReolinkError):
    """connect() failed; the message is the explained error line."""


def _prefixed(name: str, error: Exception) -> str:
    """``name: message``, without saying the name twice; "zone address" is "address" here."""
    text = str(error).replace("zone address", "address")
    return text if text.startswith(f"{name}:") else f"{name}: {text}"


def disconnect_quietly(driver: ReolinkDriver, grace: Optional[float] = None) -> None:
    """disconnect(); a thread that does not stop in time is a warning, not a failure.

    With ``grace`` (after Ctrl-C / SIGTERM) it waits that long at most and says nothing: the
    one line is "interrupted" or "terminated".
    """
    try:
        driver.disconnect(grace)
    except ReolinkError as error:  # the thread did not stop in time; the process ends anyway
        if grace is None:
            print(f"reolink: warning: {error}", file=sys.stderr, flush=True)
