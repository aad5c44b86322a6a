"""Injected misbehaviour: what a flaky camera, a busy NVR or a broken proxy does to a request.

Each kind of fault is one small frozen class carrying only the knobs it reads. Every fault
applies to the next ``count`` requests (or to every request until
:meth:`Emulator.clear_faults` when ``count`` is None), optionally only to requests whose batch
contains the command ``cmd``. When several faults are armed, the oldest matching one wins and
only that one is applied to a request. ``Fault(kind, **knobs)`` builds the kind's class by name
(``Fault("latency", seconds=0.2)`` is ``Latency(seconds=0.2)``).

Kinds:

* ``latency`` (:class:`Latency`) -- answer normally after ``seconds``.
* ``drop`` (:class:`Drop`) -- close the connection without a reply; the commands are *not* run.
* ``drop_mid_reply`` (:class:`DropMidReply`) -- run the commands, send the headers and half the
  body, close.
* ``http_502`` (:class:`Http502`) -- an nginx "502 Bad Gateway" HTML page; nothing is run.
* ``html_index`` (:class:`HtmlIndex`) -- the web UI's HTML index page with 200 ``text/html``;
  nothing is run.
* ``truncated`` (:class:`Truncated`) -- run the commands and send a well-framed reply whose JSON
  is cut in half.
* ``short_reply`` (:class:`ShortReply`) -- run the commands and answer with one entry fewer
  than requested.
* ``batch_error`` (:class:`BatchError`) -- ONE error entry (``code`` -8 timeout or -10
  protocol) for the whole batch.
* ``never_ending`` (:class:`NeverEnding`) -- 200 ``text/html`` without Content-Length, bytes
  streamed until the client hangs up (or the emulator stops).
* ``stall`` (:class:`Stall`) -- accept and never answer; after ``seconds`` (None: until stop)
  close.
* ``slow_drip`` (:class:`SlowDrip`) -- run the commands, send the whole response one byte every
  ``seconds``.
* ``huge`` (:class:`Huge`) -- a syntactically plausible JSON reply of ``size`` bytes; nothing is
  run.
* ``rsp_code`` (:class:`RspCode`) -- every command of the batch answered with error ``code``
  (e.g. -6, -5).
* ``refuse`` (:class:`Refuse`) -- takes effect when added: the listening socket closes for
  ``seconds`` (existing connections are dropped), then reopens on the same port.
  ``count``/``cmd`` are ignored.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Type

import attrs

__all__ = [
    "FAULT_KINDS",
    "BatchError",
    "Drop",
    "DropMidReply",
    "Fault",
    "FaultQueue",
    "HtmlIndex",
    "Http502",
    "Huge",
    "Latency",
    "NeverEnding",
    "Refuse",
    "RspCode",
    "ShortReply",
    "SlowDrip",
    "Stall",
    "Truncated",
]


class _ByKind(type):
    """Lets ``Fault(kind, **knobs)`` build the class registered for ``kind``."""

    def __call__(cls, *args: Any, **knobs: Any) -> Any:
        if cls is not Fault:
            return super().__call__(*args, **knobs)
        if len(args) != 1 or not isinstance(args[0], str):
            raise TypeError("Fault(kind, **knobs) takes the kind's name and keyword knobs")
        kind = _KINDS.get(args[0])
        if kind is None:
            raise ValueError(f"unknown fault kind {args[0]!r}; known: {', '.join(FAULT_KINDS)}")
        allowed = [a.name for a in attrs.fields(kind)]
        unknown = sorted(set(knobs) - set(allowed))
        if unknown:
            raise ValueError(
                f"fault {args[0]!r} has no {', '.join(unknown)}; it takes {', '.join(allowed)}"
            )
        return kind(**knobs)


def _count(_instance: Any, _attribute: Any, value: Optional[int]) -> None:
    if value is not None and value < 1:
        raise ValueError("count must be >= 1 or None")


@attrs.frozen(kw_only=True)
class Fault(metaclass=_ByKind):
    """One armed misbehaviour: the base of every kind (see the module docstring)."""

    kind: ClassVar[str] = ""
    count: Optional[int] = attrs.field(default=1, validator=_count)
    cmd: Optional[str] = None


@attrs.frozen(kw_only=True)
class Latency(Fault):
    kind: ClassVar[str] = "latency"
    seconds: float = 0.5


@attrs.frozen(kw_only=True)
class Drop(Fault):
    kind: ClassVar[str] = "drop"


@attrs.frozen(kw_only=True)
class DropMidReply(Fault):
    kind: ClassVar[str] = "drop_mid_reply"


@attrs.frozen(kw_only=True)
class Http502(Fault):
    kind: ClassVar[str] = "http_502"


@attrs.frozen(kw_only=True)
class HtmlIndex(Fault):
    kind: ClassVar[str] = "html_index"


@attrs.frozen(kw_only=True)
class Truncated(Fault):
    kind: ClassVar[str] = "truncated"


@attrs.frozen(kw_only=True)
class ShortReply(Fault):
    kind: ClassVar[str] = "short_reply"


@attrs.frozen(kw_only=True)
class BatchError(Fault):
    kind: ClassVar[str] = "batch_error"
    code: int = attrs.field(default=-8)

    @code.validator
    def _check_code(self, _attribute: Any, value: int) -> None:
        if value not in (-8, -10):
            raise ValueError("batch_error code must be -8 (timeout) or -10 (protocol)")


@attrs.frozen(kw_only=True)
class NeverEnding(Fault):
    kind: ClassVar[str] = "never_ending"


@attrs.frozen(kw_only=True)
class Stall(Fault):
    kind: ClassVar[str] = "stall"
    seconds: Optional[float] = None  # None: until the emulator stops


@attrs.frozen(kw_only=True)
class SlowDrip(Fault):
    kind: ClassVar[str] = "slow_drip"
    seconds: float = 0.05


@attrs.frozen(kw_only=True)
class Huge(Fault):
    kind: ClassVar[str] = "huge"
    size: int = attrs.field(default=1_000_000)

    @size.validator
    def _check_size(self, _attribute: Any, value: int) -> None:
        if value < 64:
            raise ValueError("huge size must be at least 64 bytes")


@attrs.frozen(kw_only=True)
class RspCode(Fault):
    kind: ClassVar[str] = "rsp_code"
    code: int = -6


@attrs.frozen(kw_only=True)
class Refuse(Fault):
    kind: ClassVar[str] = "refuse"
    seconds: float = 1.0


_KINDS: Dict[str, Type[Fault]] = {
    k.kind: k
    for k in (
        Latency, Drop, DropMidReply, Http502, HtmlIndex, Truncated, ShortReply, BatchError,
        NeverEnding, Stall, SlowDrip, Huge, RspCode, Refuse,
    )
}
FAULT_KINDS = tuple(_KINDS)


class FaultQueue:
    """Thread-safe list of armed faults; :meth:`take` consumes one use of the first match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: List[Fault] = []
        self._left: List[Optional[int]] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
            self._left.append(fault.count)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._left.clear()

    def pending(self) -> List[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, cmds: Sequence[str]) -> Optional[Fault]:
        """Return the fault to apply to a request carrying ``cmds`` (or None), using it up."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if isinstance(fault, Refuse):
                    continue
                if fault.cmd is not None and fault.cmd not in cmds:
                    continue
                left = self._left[i]
                if left is not None:
                    if left <= 1:
                        del self._faults[i]
                        del self._left[i]
                    else:
                        self._left[i] = left - 1
                return fault
            return None
