"""Keep secrets out of logs: redact tokens, passwords and push URL paths in targets and text."""

from __future__ import annotations

import re

__all__ = ["PUSH_PATH_PREFIX", "redact_target", "redact_text"]

#: Every push listener device path starts with this; the rest is the secret token. Its one
#: home is here (re-exported as ``reolink.push.PATH_PREFIX``): the pure driver core reads it
#: without loading the listener's package (sockets, threads).
PUSH_PATH_PREFIX = "/reolink/push/"

_SECRET_QUERY = re.compile(r"(?i)([?&](?:token|password|pwd|passwd)=)[^&#\s]*")
#: A push listener's device path (PUSH_PATH_PREFIX + secret token).
_PUSH_PATH = re.compile(f"({re.escape(PUSH_PATH_PREFIX)})" + r"[A-Za-z0-9_\-]+")


def redact_target(target: str) -> str:
    """``/cgi-bin/api.cgi?cmd=Snap&token=abc`` → ``/cgi-bin/api.cgi?cmd=Snap&token=***``;
    ``/reolink/push/<token>`` (a push URL's secret path) → ``/reolink/push/***``."""
    if PUSH_PATH_PREFIX in target:
        target = _PUSH_PATH.sub(r"\1***", target)
    return _SECRET_QUERY.sub(r"\1***", target)


def redact_text(text: str, *secrets: str) -> str:
    """Replace every non-empty secret, and token/password query values, by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact_target(text)
