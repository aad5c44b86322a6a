"""Injected misbehaviour: what a flaky camera, a busy NVR or a broken proxy does to a request.

A :class:`Fault` applies to the next ``count`` requests (or to every request until
:meth:`Emulator.clear_faults` when ``count`` is None), optionally only to requests whose batch
contains the command ``cmd``. When several faults are armed, the oldest matching one wins and
only that one is applied to a request.

Kinds (``seconds``/``code``/``size`` are the knobs each kind reads):

* ``latency`` -- answer normally after ``seconds``.
* ``drop`` -- close the connection without a reply; the commands are *not* run.
* ``drop_mid_reply`` -- run the commands, send the headers and half the body, close.
* ``http_502`` -- an nginx "502 Bad Gateway" HTML page; nothing is run.
* ``html_index`` -- the web UI's HTML index page with 200 ``text/html``; nothing is run.
* ``truncated`` -- run the commands and send a well-framed reply whose JSON is cut in half.
* ``short_reply`` -- run the commands and answer with one entry fewer than requested.
* ``batch_error`` -- ONE error entry (``code`` -8 timeout or -10 protocol) for the whole batch.
* ``never_ending`` -- 200 ``text/html`` without Content-Length, bytes streamed until the client
  hangs up (or the emulator stops).
* ``stall`` -- accept and never answer; after ``seconds`` (None: until stop) close.
* ``slow_drip`` -- run the commands, send the whole response one byte every ``seconds``.
* ``huge`` -- a syntactically plausible JSON reply of ``size`` bytes; nothing is run.
* ``rsp_code`` -- every command of the batch answered with error ``code`` (e.g. -6, -5).
* ``refuse`` -- takes effect when added: the listening socket closes for ``seconds`` (existing
  connections are dropped), then reopens on the same port. ``count``/``cmd`` are ignored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import List, Optional, Sequence

__all__ = ["FAULT_KINDS", "Fault", "FaultQueue"]

FAULT_KINDS = (
    "latency",
    "drop",
    "drop_mid_reply",
    "http_502",
    "html_index",
    "truncated",
    "short_reply",
    "batch_error",
    "never_ending",
    "stall",
    "slow_drip",
    "huge",
    "rsp_code",
    "refuse",
)

# Defaults per kind when the caller leaves the knob out.
_DEFAULT_SECONDS = {"latency": 0.5, "slow_drip": 0.05, "refuse": 1.0}
_DEFAULT_CODE = {"batch_error": -8, "rsp_code": -6}


@dataclass
class Fault:
    """One armed misbehaviour (see the module docstring for the kinds)."""

    kind: str
    count: Optional[int] = 1
    cmd: Optional[str] = None
    seconds: Optional[float] = None
    code: Optional[int] = None
    size: int = 1_000_000

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1 or None")
        if self.seconds is None:
            self.seconds = _DEFAULT_SECONDS.get(self.kind)
        if self.code is None:
            self.code = _DEFAULT_CODE.get(self.kind)
        if self.kind == "batch_error" and self.code not in (-8, -10):
            raise ValueError("batch_error code must be -8 (timeout) or -10 (protocol)")
        if self.kind == "huge" and self.size < 64:
            raise ValueError("huge size must be at least 64 bytes")


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
                if fault.kind == "refuse":
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
