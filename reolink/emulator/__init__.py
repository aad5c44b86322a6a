"""A Reolink camera/NVR emulator: the device every test, the demo and the benchmarks talk to.

It answers the CGI/JSON API the way firmware does, from its own reading of the API digest
(/work/shared/reolink-api.md); it imports nothing from the rest of ``reolink`` and the driver
never imports it. Stdlib only.

>>> from reolink.emulator import Emulator, Fault
>>> with Emulator(profile="nvr") as emu:   # doctest: +SKIP
...     emu.set_motion(0, True)
...     emu.add_fault(Fault("latency", seconds=0.2))
"""

from __future__ import annotations

from .core import Emulator, RequestRecord
from .events import EventSpec
from .faults import FAULT_KINDS, Fault
from .profiles import PROFILES

__all__ = ["FAULT_KINDS", "PROFILES", "Emulator", "EventSpec", "Fault", "RequestRecord"]
