"""The ``reolink`` command line: a subcommand per driver command, ``watch``, ``demo``, ``emulate``.

Exit status: 0 success; 1 the device or the network failed (one line on stderr says what and what
to check); 2 bad usage or a bad argument (nothing was sent); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .._version import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``reolink`` argument parser with every subcommand."""
    from ..emulator import cli as emulator_cli
    from .commands import add_device_commands
    from .demo import add_demo_command
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
    emulate = sub.add_parser("emulate", help="run an emulated camera, NVR or hub on loopback")
    emulator_cli.add_arguments(emulate)
    emulate.set_defaults(run=emulator_cli.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("reolink: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
