"""The ``reolink`` command line: a subcommand per driver command, ``watch``, ``demo``, ``doctor``,
``emulate``.

Exit status: 0 success; 1 the device or the network failed (one line on stderr says what and what
to check); 2 bad usage or a bad argument (nothing was sent); 130 interrupted (Ctrl-C), 143
terminated (SIGTERM). A one-shot command ends within 0.5 s of either, also while a request is
in flight to a device that does not answer.

SIGTERM (systemd, ``timeout``) is handled like Ctrl-C: ``watch`` and ``demo`` print their summary,
log out and exit 0. When the reader of stdout goes away (``reolink demo | head -2``) the command
stops, logs out and exits 0 without a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any, List, Optional

from .._version import __version__
from ..errors import PackageClashError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``reolink`` argument parser with every subcommand."""
    from ..emulator import cli as emulator_cli
    from .demo import add_demo_command
    from .doctor import add_doctor_command
    from .oneshot import add_device_commands
    from .watch import add_watch_command

    parser = argparse.ArgumentParser(
        prog="reolink",
        description="Reolink cameras and NVRs over the LAN JSON API: driver command line. "
        "The password comes from $REOLINK_PASSWORD (or --password-env NAME, or a prompt).",
        epilog="Try it without a camera: reolink demo",
    )
    parser.add_argument("--version", action="version", version=f"reolink {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_device_commands(sub)
    add_watch_command(sub)
    add_demo_command(sub)
    add_doctor_command(sub)
    emulate = sub.add_parser(
        "emulate",
        help="run an emulated camera, NVR or hub on loopback",
        description="Run an emulated Reolink camera, NVR or hub that answers the JSON API like "
        "firmware, until Ctrl-C or SIGTERM. It prints its URL, profile and credentials first.",
    )
    emulator_cli.add_arguments(emulate)
    emulate.set_defaults(run=emulator_cli.run)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Optional[List[str]]) -> argparse.Namespace:
    """parse_args, except that an unknown option is reported with its subcommand's usage."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        chosen = _subparser(parser, getattr(args, "command", None))
        (chosen or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _subparser(
    parser: argparse.ArgumentParser, name: Optional[str]
) -> Optional[argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers nowhere public
        if isinstance(action, argparse._SubParsersAction) and name:
            found = action.choices.get(name)
            return found if isinstance(found, argparse.ArgumentParser) else None
    return None


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled like Ctrl-C (a KeyboardInterrupt), but exits 143."""


def _on_sigterm(_signum: int, _frame: Any) -> None:
    # Once is enough: a second SIGTERM must not cut the Logout that the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


def _stdout_gone() -> None:
    """The reader of stdout went away: send whatever is still buffered to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = _parse(parser, argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        return int(args.run(args))
    except Terminated:
        print("reolink: terminated", file=sys.stderr, flush=True)
        return 143
    except KeyboardInterrupt:
        print("reolink: interrupted", file=sys.stderr, flush=True)
        return 130
    except PackageClashError as error:
        print(f"reolink: {error}", file=sys.stderr, flush=True)
        return 1
    except BrokenPipeError:
        # `reolink demo | head -2`: the command already stopped and logged out on the way here.
        _stdout_gone()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
