"""Every time constant of the driver, in one frozen value."""

from __future__ import annotations

import attrs

from ..protocol.session import SessionPolicy
from .config import MIN_STATUS_INTERVAL_MS
from .pushcontrol import PushTiming

__all__ = ["Timing"]


@attrs.frozen
class Timing:
    """Every time constant of the driver. Tests pass scaled-down copies; hosts use the default."""

    #: status_interval values below this are raised to it (ms).
    min_status_interval_ms: int = MIN_STATUS_INTERVAL_MS
    session: SessionPolicy = attrs.field(factory=SessionPolicy)
    #: how long connect() waits for the first login and identification, beyond request_timeoutx4.
    connect_grace: float = 1.0
    #: after a reboot command, failures are expected for this long (seconds).
    reboot_grace: float = 180.0
    #: push: the TestWebHook call's deadline, retry delay, coalescing gap (see driver.push).
    push: PushTiming = attrs.field(factory=PushTiming)
    #: seconds between two detection-setup reads (zone/device ``setup``); 0 = never read.
    setup_every: float = 1800.0

    def scaled(self, factor: float, *, min_status_interval_ms: int = 10) -> Timing:
        """The same rules with every duration multiplied by ``factor`` (for tests)."""
        return Timing(
            min_status_interval_ms=min_status_interval_ms,
            session=self.session.scaled(factor),
            connect_grace=self.connect_grace,
            reboot_grace=self.reboot_grace * factor,
            push=self.push.scaled(factor),
            setup_every=self.setup_every * factor,
        )
