"""What every device subcommand shares: connection options, the password, logging, error lines.

Exit codes of the command line: 0 success, 1 the device or the network failed, 2 bad usage or a
bad argument (nothing was sent), 130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Set

from ..errors import (
    ApiError,
    AuthError,
    CommandError,
    CommandTimeout,
    ConnectError,
    CredentialsError,
    LockedOutError,
    RemoteProtocolError,
    ReolinkError,
    SessionLimitError,
    Timeout,
    TLSError,
    TransportError,
)
from ..redact import redact_text

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "RedactingFilter",
    "UsageError",
    "add_connection_arguments",
    "configure_logging",
    "device_attributes",
    "explain_error",
    "explain_offline",
    "read_password",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_PASSWORD_ENV = "REOLINK_PASSWORD"  # noqa: S105 - a variable name, not a password

LOGIN_HINT = (
    "Confirm the username and password in the Reolink mobile app. "
    "Repeated bad attempts lock the account for several minutes."
)
LOCKED_HINT = (
    "The device locks the account for several minutes after repeated bad attempts: wait, then "
    "confirm the username and password in the Reolink mobile app."
)
RELOGIN_HINT = (
    "Token expired or invalidated by another session. The driver auto-recovers; persistent "
    "failures usually mean two clients are racing on Login."
)
SNAPSHOT_HINT = (
    "Older firmware returns the web UI HTML when the token is rejected. "
    "Retry, or rotate the password."
)
SESSION_HINT = (
    "The device's session table is full (too many clients logged in): close other apps or "
    "wait for their sessions to end."
)
TLS_HINT = (
    "Check --tls-fingerprint / --tls-verify against the camera's certificate "
    "(README: HTTPS and certificate pinning)."
)
TIMEOUT_HINT = "The device did not answer in time: check the network, or raise --timeout."
REFUSED_HINT = (
    "Check that the camera supports this (spotlight, siren, PTZ) and that the account may use it "
    "(admin recommended)."
)
PROTOCOL_HINT = (
    "The reply is not the JSON API's: the firmware may be too old (2018+ firmware exposes "
    "/cgi-bin/api.cgi), or something else answers on this port."
)


_RSP_CODE = re.compile(r"rspCode (-?[0-9]+)")


class UsageError(Exception):
    """Bad usage found before anything was sent (exit 2)."""


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


def explain_error(error: ReolinkError, command: str) -> str:
    """What failed and what to check, in the words of the driver page's troubleshooting table."""
    text = str(error)
    if isinstance(error, SessionLimitError):
        return f"login refused: {text}. {SESSION_HINT}"
    if isinstance(error, LockedOutError):
        return f"login refused: {text}. {LOCKED_HINT}"
    if isinstance(error, CredentialsError):
        return f"login failed: {text}. {LOGIN_HINT}"
    if isinstance(error, AuthError):
        return f"{command}: {text}. {RELOGIN_HINT}"
    if isinstance(error, TLSError):
        return f"TLS failed: {text}. {TLS_HINT}"
    if isinstance(error, ConnectError):
        return f"cannot reach the device: {text}. {_reach_hint()}"
    if isinstance(error, (Timeout, CommandTimeout)):
        return f"{command}: {text}. {TIMEOUT_HINT}"
    if isinstance(error, TransportError):
        return f"{command}: {text}. {TIMEOUT_HINT}"
    if command == "snapshot" and isinstance(error, (RemoteProtocolError, ApiError)):
        return f"snapshot rejected: {text}. {SNAPSHOT_HINT}"
    if isinstance(error, CommandError):
        return f"{command} refused by the device: {text}. {REFUSED_HINT}"
    if isinstance(error, RemoteProtocolError):
        return f"{command}: {text}. {PROTOCOL_HINT}"
    return f"{command} failed: {text}"


def explain_offline(reason: str) -> str:
    """The same, from the text the driver leaves in ``last_error`` when connect() fails."""
    lowered = reason.lower()
    code = _RSP_CODE.search(reason)
    rsp_code = int(code.group(1)) if code else None
    if rsp_code in (-105, -500, -505, -506) or "locked" in lowered or "frequent" in lowered:
        return f"login refused: {reason}. {LOCKED_HINT}"
    if rsp_code in (-5, -507) or "session" in lowered:
        return f"login refused: {reason}. {SESSION_HINT}"
    if "login" in lowered:
        return f"login failed: {reason}. {LOGIN_HINT}"
    if "tls" in lowered or "certificate" in lowered or "fingerprint" in lowered:
        return f"TLS failed: {reason}. {TLS_HINT}"
    if "no complete response" in lowered or "no time left" in lowered:
        return f"no answer: {reason}. {TIMEOUT_HINT}"
    if any(word in lowered for word in ("refused", "resolved", "connect", "unreachable")):
        return f"cannot reach the device: {reason}. {_reach_hint()}"
    return f"device offline: {reason or 'no answer'}. {_reach_hint()}"


def _reach_hint() -> str:
    return (
        "Check --ip and --port, and that http://IP/cgi-bin/api.cgi?cmd=Login answers with JSON; "
        "battery cameras: --protocol https --port 443."
    )


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
