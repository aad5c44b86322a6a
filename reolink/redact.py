"""Keep secrets out of logs: redact tokens and passwords in request targets and text."""

from __future__ import annotations

import re

__all__ = ["redact_target", "redact_text"]

_SECRET_QUERY = re.compile(r"(?i)([?&](?:token|password|pwd|passwd)=)[^&#\s]*")


def redact_target(target: str) -> str:
    """``/cgi-bin/api.cgi?cmd=Snap&token=abc`` → ``/cgi-bin/api.cgi?cmd=Snap&token=***``."""
    return _SECRET_QUERY.sub(r"\1***", target)


def redact_text(text: str, *secrets: str) -> str:
    """Replace every non-empty secret, and token/password query values, by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact_target(text)
