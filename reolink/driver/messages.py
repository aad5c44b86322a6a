"""What the device loop feeds the driver core (events) and what the core asks of it (actions).

The core (:mod:`reolink.driver.core`) is a pure function of its state and ``(now, event)``:
it never sends, sleeps or reads a clock. The loop (:mod:`reolink.driver.loop`) performs each
action and feeds back what happened. At most one :class:`Send` is outstanding at a time; its
outcome comes back as :class:`Replied` or :class:`SendFailed`.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Dict, FrozenSet, Iterable, Optional, Tuple, Union

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
    "LiveUrls",
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
    """A host command (already validated) to run; ``job`` identifies it in Resolve/Fail.

    ``nonce``: randomness the command may need (Snap's anti-cache ``rs``), drawn by the host
    thread: the core reads no random source of its own ("" lets the client number them).
    """

    job: int
    name: str
    args: Dict[str, Any]
    deadline: float
    nonce: str = attrs.field(default="", repr=False)


@attrs.frozen
class Disconnect:
    """The host called disconnect() at ``since``: wind down (PTZ stops, Logout), then finish."""

    since: float


@attrs.frozen
class PushWake:
    """The device pushed a notification (webhook): poll now instead of at the next interval."""


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path


@attrs.frozen
class LiveUrls:
    """The paths a push listener answered at one moment: a value, never a live view.

    ``url in live`` holds when a registration answered that URL's path then (the path is
    what the listener routes on). The paths are secrets: no repr.
    """

    paths: FrozenSet[str] = attrs.field(repr=False)

    @classmethod
    def of(cls, urls: Iterable[str]) -> LiveUrls:
        """From URLs (or paths)."""
        return cls(frozenset(_path(url) for url in urls))

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and _path(url) in self.paths


def _live_value(value: Union[LiveUrls, Iterable[str], None]) -> Optional[LiveUrls]:
    if value is None or isinstance(value, LiveUrls):
        return value
    return LiveUrls.of(value)


@attrs.frozen
class Listening:
    """The loop registered this device on the push listener (answer to :class:`Listen`).

    ``url`` is what the device calls (its path is a secret: never logged or shown); ``where``
    is its ``host:port`` only (shown in messages). ``live``: the URLs of every live registration
    of that listener when the loop answered (a :class:`LiveUrls` value: ``url in live``), so a
    slot holding another running driver's URL is not mistaken for a crashed run's; by default
    only ``url``. The core asks again (:class:`Listen`) before every registration, so the set
    is never older than the registration that reads it.
    """

    url: str = attrs.field(repr=False)
    where: str
    live: Optional[LiveUrls] = attrs.field(
        default=None, converter=_live_value, repr=False, eq=False
    )


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
