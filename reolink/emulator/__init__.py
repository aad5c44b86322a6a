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

from typing import TYPE_CHECKING, Any, List

if TYPE_CHECKING:
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

# Each name loads its module on first use, so that the command line's entry points that only
# describe the emulator (``reolink --help``, every device command) do not pay for its server,
# handlers and fault classes at start.
_FAULT_NAMES = frozenset(
    {
        "FAULT_KINDS", "BatchError", "Drop", "DropMidReply", "Fault", "HtmlIndex", "Http502",
        "Huge", "Latency", "NeverEnding", "Refuse", "RspCode", "ShortReply", "SlowDrip",
        "Stall", "Truncated",
    }
)


def __getattr__(name: str) -> Any:
    module: Any
    if name in ("Emulator", "RequestRecord"):
        from . import core as module
    elif name == "EventSpec":
        from . import events as module
    elif name == "PROFILES":
        from . import profiles as module
    elif name in _FAULT_NAMES:
        from . import faults as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


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
