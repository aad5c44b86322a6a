"""The driver a controller embeds: :class:`ReolinkDriver`, its events, table and metadata."""

from __future__ import annotations

from .device import ReolinkDriver, Timing
from .events import AttributeEvent
from .table import command_table, metadata

__all__ = ["AttributeEvent", "ReolinkDriver", "Timing", "command_table", "metadata"]
