"""What the device loop feeds the driver core (events) and what the core asks of it (actions).

The core (:mod:`reolink.driver.core`) is a pure function of its state and ``(now, event)``:
it never sends, sleeps or reads a clock. The loop (:mod:`reolink.driver.loop`) performs each
action and feeds back what happened. At most one :class:`Send` is outstanding at a time; its
outcome comes back as :class:`Replied` or :class:`SendFailed`.
"""

from __future__ import annotations

from typing import Any, Container, Dict, FrozenSet, Optional, Tuple, Union

import attrs

from ..errors import ReolinkError, TransportError
from ..transport import Request, Response
from .events import AttributeEvent

__all__ = [
    "Action",
    "CommandQueued",
    "Disconnect",
    "Emit",
    "Event",
    "Fail",
    "Finished",
    "Listen",
    "ListenFailed",
    "Listening",
    "Offline",
    "Online",
    "Probe",
    "Probed",
    "PushWake",
    "Ready",
    "Replied",
    "Resolve",
    "Send",
    "SendFailed",
    "Start",
    "Tick",
    "WaitUntil",
]

# --- events: loop -> core ---------------------------------------------------------------------


@attrs.frozen
class Start:
    """The device thread started: identify the device, then poll."""


@attrs.frozen
class Tick:
    """A wait ended (its time came, or the loop was woken): do whatever is due."""


@attrs.frozen
class Replied:
    """The outstanding :class:`Send` got a complete HTTP response."""

    response: Response


@attrs.frozen
class SendFailed:
    """The outstanding :class:`Send` failed (``error.request_sent`` says if it may have arrived)."""

    error: TransportError


@attrs.frozen
class CommandQueued:
    """A host command (already validated) to run; ``job`` identifies it in Resolve/Fail."""

    job: int
    name: str
    args: Dict[str, Any]
    deadline: float


@attrs.frozen
class Disconnect:
    """The host called disconnect() at ``since``: wind down (PTZ stops, Logout), then finish."""

    since: float


@attrs.frozen
class PushWake:
    """The device pushed a notification (webhook): poll now instead of at the next interval."""


@attrs.frozen
class Listening:
    """The loop registered this device on the push listener (answer to :class:`Listen`).

    ``url`` is what the device calls (its path is a secret: never logged or shown); ``where``
    is its ``host:port`` only (shown in messages). ``live``: the URLs of every live registration
    of that listener (``url in live``, asked at the time), so a slot holding another running
    driver's URL is not mistaken for a crashed run's; by default only ``url``.
    """

    url: str = attrs.field(repr=False)
    where: str
    live: Optional[Container[str]] = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen
class ListenFailed:
    """The loop could not register on the push listener; ``reason`` says why (port busy...)."""

    reason: str


@attrs.frozen
class Probed:
    """The answer to :class:`Probe`: the URLs no live listener answers (connection refused,
    or 404: a run of this library that ended without freeing its slot)."""

    dead: FrozenSet[str] = attrs.field(repr=False)


Event = Union[
    Start,
    Tick,
    Replied,
    SendFailed,
    CommandQueued,
    Disconnect,
    PushWake,
    Listening,
    ListenFailed,
    Probed,
]

# --- actions: core -> loop --------------------------------------------------------------------


@attrs.frozen
class Send:
    """Send this request (``request.repeatable`` says whether a lower layer may repeat it)."""

    request: Request


@attrs.frozen
class Emit:
    """Hand these attribute changes to the host's callback, in order."""

    events: Tuple[AttributeEvent, ...]


@attrs.frozen
class Resolve:
    """The host command ``job`` succeeded with ``result`` (plain JSON data)."""

    job: int
    result: Any


@attrs.frozen
class Fail:
    """The host command ``job`` failed with ``error``."""

    job: int
    error: ReolinkError


@attrs.frozen
class Ready:
    """connect() may return: the device was identified, or it was found offline."""


@attrs.frozen
class Offline:
    """The device is shown offline for ``reason``; ``error`` is what caused it, if known."""

    reason: str
    error: Optional[ReolinkError] = None


@attrs.frozen
class Online:
    """The device answered: it is shown online."""


@attrs.frozen
class WaitUntil:
    """Nothing to send: feed :class:`Tick` at ``when`` (or earlier, on a new event)."""

    when: float


@attrs.frozen
class Finished:
    """Wound down after :class:`Disconnect`: close the transport and end the thread."""


@attrs.frozen
class Listen:
    """Register this device on the push listener (push_host/push_port of the config); feed
    :class:`Listening` or :class:`ListenFailed` next. The loop unregisters when it ends."""


@attrs.frozen
class Probe:
    """Ask each URL (webhook slots of this library on this host, not ours) whether a live
    listener answers it (HEAD, a short timeout); feed :class:`Probed` next. Secrets: no repr."""

    urls: Tuple[str, ...] = attrs.field(repr=False)


Action = Union[
    Send, Emit, Resolve, Fail, Ready, Offline, Online, WaitUntil, Finished, Listen, Probe
]
