"""The driver a controller embeds: :class:`ReolinkDriver`, its events, table and metadata."""

from __future__ import annotations

from .device import DriverStats, ReolinkDriver
from .events import AttributeEvent
from .table import command_table, metadata
from .timing import Timing

__all__ = [
    "AttributeEvent",
    "DriverStats",
    "ReolinkDriver",
    "Timing",
    "command_table",
    "metadata",
]
