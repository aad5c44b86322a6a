"""Driver logging: every record names its device exactly once and carries it in ``extra``.

Messages read ``"<host:port>: what happened"``; the label is also put on the record as
``record.reolink_device`` so a host can filter one device. Reasons and errors that name the
label themselves (transport errors name the host they failed to reach) lose it when logged.
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from ..redact import redact_target

__all__ = ["DeviceLog", "without_label"]


def without_label(label: str, text: str) -> str:
    """``text`` without ``"<label>: "`` prefixes (so a logged message names the device once).

    Transport errors start with the host they failed to reach, and reasons nest them
    (``"rebooting: 10.0.0.5:80: connection refused"``).
    """
    return text.replace(f"{label}: ", "")


class DeviceLog:
    """A logger bound to one device label."""

    __slots__ = ("_extra", "_logger", "label")

    def __init__(self, logger: logging.Logger, label: str) -> None:
        self._logger = logger
        self.label = label
        self._extra: Dict[str, Any] = {"reolink_device": label}

    def enabled(self, level: int) -> bool:
        return self._logger.isEnabledFor(level)

    def _log(self, level: int, message: str, args: Any, exc_info: bool = False) -> None:
        if self._logger.isEnabledFor(level):
            # Reasons and errors pass through the redaction: a push URL's path is a secret.
            clean = tuple(
                redact_target(without_label(self.label, str(a)))
                if isinstance(a, (str, Exception))
                else a
                for a in args
            )
            self._logger.log(
                level, "%s: " + message, self.label, *clean, extra=self._extra, exc_info=exc_info
            )

    def debug(self, message: str, *args: Any) -> None:
        self._log(logging.DEBUG, message, args)

    def info(self, message: str, *args: Any) -> None:
        self._log(logging.INFO, message, args)

    def warning(self, message: str, *args: Any) -> None:
        self._log(logging.WARNING, message, args)

    def error(self, message: str, *args: Any) -> None:
        self._log(logging.ERROR, message, args)

    def exception(self, message: str, *args: Any) -> None:
        self._log(logging.ERROR, message, args, exc_info=True)
