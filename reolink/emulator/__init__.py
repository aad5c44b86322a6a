"""A Reolink camera/NVR emulator: the device every test, the demo and the benchmarks talk to.

It answers the CGI/JSON API the way firmware does, from its own reading of the API digest
(/work/shared/reolink-api.md); it imports nothing from the rest of ``reolink`` and the driver
never imports it. Stdlib and attrs only.

>>> from reolink.emulator import Emulator, Fault, Latency
>>> with Emulator(profile="nvr") as emu:   # doctest: +SKIP
...     emu.set_motion(0, True)
...     emu.add_fault(Latency(seconds=0.2))   # or Fault("latency", seconds=0.2)
"""

from __future__ import annotations

from .core import Emulator, RequestRecord
from .events import EventSpec
from .faults import (
    FAULT_KINDS,
    BatchError,
    Drop,
    DropMidReply,
    Fault,
    HtmlIndex,
    Http502,
    Huge,
    Latency,
    NeverEnding,
    Refuse,
    RspCode,
    ShortReply,
    SlowDrip,
    Stall,
    Truncated,
)
from .profiles import PROFILES

__all__ = [
    "FAULT_KINDS",
    "PROFILES",
    "BatchError",
    "Drop",
    "DropMidReply",
    "Emulator",
    "EventSpec",
    "Fault",
    "HtmlIndex",
    "Http502",
    "Huge",
    "Latency",
    "NeverEnding",
    "Refuse",
    "RequestRecord",
    "RspCode",
    "ShortReply",
    "SlowDrip",
    "Stall",
    "Truncated",
]
