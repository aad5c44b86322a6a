"""What every device subcommand shares: connection options, the password, logging, error lines.

Exit codes of the command line: 0 success, 1 the device or the network failed, 2 bad usage or a
bad argument (nothing was sent), 130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Set

from ..redact import redact_text
from .hints import Target, explain_error, explain_offline

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "RedactingFilter",
    "Target",
    "UsageError",
    "add_connection_arguments",
    "configure_logging",
    "device_attributes",
    "explain_error",
    "explain_offline",
    "read_password",
    "seconds_arg",
    "target_of",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_PASSWORD_ENV = "REOLINK_PASSWORD"  # noqa: S105 - a variable name, not a password


class UsageError(Exception):
    """Bad usage found before anything was sent (exit 2)."""


def seconds_arg(text: str) -> float:
    """argparse type of ``--seconds``: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 (leave --seconds out to run until Ctrl-C), "
            f"got {text!r}"
        )
    return value


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every device subcommand takes."""
    group = parser.add_argument_group("connection")
    group.add_argument("--ip", required=True, help="LAN IP or host name of the camera or NVR")
    group.add_argument("--port", help="HTTP(S) port (default 80, or 443 with --protocol https)")
    group.add_argument("--protocol", choices=("http", "https"), default="http")
    group.add_argument("--username", default="admin", help="account name (default admin)")
    group.add_argument(
        "--password-env",
        metavar="NAME",
        default=DEFAULT_PASSWORD_ENV,
        help=f"environment variable holding the password (default {DEFAULT_PASSWORD_ENV}); "
        "when it is unset you are prompted (on a terminal)",
    )
    group.add_argument(
        "--password",
        help="the password (discouraged: it shows in ps and in the shell history)",
    )
    group.add_argument("--timeout", metavar="MS", help="per-request timeout in ms (default 8000)")
    group.add_argument(
        "--tls-fingerprint", metavar="SHA256", help="HTTPS: accept only this certificate"
    )
    group.add_argument(
        "--tls-verify", metavar="CA_FILE", help="HTTPS: verify the certificate with this CA bundle"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", help="debug logs on stderr (secrets redacted)"
    )


def read_password(args: argparse.Namespace) -> str:
    """The password from --password (with a warning), the environment, or a prompt."""
    if args.password:
        print(
            "reolink: warning: --password shows in ps and the shell history; "
            f"prefer {args.password_env}=... in the environment",
            file=sys.stderr,
            flush=True,
        )
        return str(args.password)
    value = os.environ.get(args.password_env, "")
    if value:
        return value
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            return getpass.getpass(f"Password for {args.username}@{args.ip}: ")
        except EOFError:
            pass
    raise UsageError(
        f"no password: set {args.password_env} in the environment (or name another variable with "
        "--password-env), or run on a terminal to be prompted"
    )


def target_of(args: argparse.Namespace) -> Target:
    """The :class:`~reolink.cli.hints.Target` the connection options point at."""
    protocol = str(args.protocol)
    try:
        port = int(args.port)
    except (TypeError, ValueError):  # not given (or already refused by the driver's checks)
        port = 443 if protocol == "https" else 80
    return Target(
        host=str(args.ip).strip(),
        port=port,
        protocol=protocol,
        pinned=bool(args.tls_fingerprint or args.tls_verify),
    )


def device_attributes(args: argparse.Namespace, password: str) -> Dict[str, Any]:
    """The driver's attribute mapping from the connection options (strings, as a host keeps)."""
    attributes: Dict[str, Any] = {
        "ip": args.ip,
        "username": args.username,
        "password": password,
        "protocol": args.protocol,
    }
    optional = {
        "port": args.port,
        "request_timeout": args.timeout,
        "tls_fingerprint": args.tls_fingerprint,
        "tls_verify": args.tls_verify,
    }
    attributes.update({name: value for name, value in optional.items() if value is not None})
    return attributes


# --- logging ------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Replaces the password, every token seen and ``token=``/``password=`` values by ``***``.

    Put on the handler (not a logger) so it also covers third-party loggers such as urllib3's,
    which log request URLs with their query strings. ``secrets`` is called for every record and
    returns the secrets known right now (the current token changes at each login); every value
    it ever returned stays redacted.
    """

    def __init__(self, secrets: Callable[[], Iterable[Optional[str]]]) -> None:
        super().__init__()
        self._secrets = secrets
        self._seen: Set[str] = set()

    def redact(self, text: str) -> str:
        for secret in self._secrets():
            if secret:
                self._seen.add(secret)
        # Longest first: a secret that contains another must be replaced whole.
        return redact_text(text, *sorted(self._seen, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class SecretBook:
    """The secrets the log filter must hide: the password and the tokens of live drivers."""

    def __init__(self) -> None:
        self.values: List[str] = []
        self.sources: List[Callable[[], Optional[str]]] = []

    def __call__(self) -> List[Optional[str]]:
        return [*self.values, *(source() for source in self.sources)]


def configure_logging(verbose: bool, secrets: SecretBook) -> None:
    """-v: DEBUG records of every logger on stderr, through the redacting filter.

    Without -v nothing is logged: the command's result and its one error line are the output.
    Called from the CLI's main only; the library never configures logging.
    """
    if not verbose:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


# --- one clear line per failure -------------------------------------------------------------


def fail(message: str) -> int:
    """Print the one error line; return exit status 1."""
    print(f"reolink: {_one_line(message)}", file=sys.stderr, flush=True)
    return EXIT_FAILED


def usage(message: str) -> int:
    """Print the one usage line; return exit status 2."""
    print(f"reolink: {_one_line(message)}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def _one_line(message: str) -> str:
    return " ".join(message.split())
