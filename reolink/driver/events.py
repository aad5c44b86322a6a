"""What the driver hands the host: one frozen event per attribute change."""

from __future__ import annotations

from typing import Optional, Union

import attrs

__all__ = ["AttributeEvent", "AttributeValue"]

AttributeValue = Union[bool, int, str, None]


@attrs.frozen
class AttributeEvent:
    """An attribute of the device or of one of its zones changed.

    ``target`` is ``"device"`` or ``"zone"``; ``address`` is the zone address (``None`` for the
    device); ``previous`` is the value before (``None`` the first time the attribute is written).
    ``device`` names the device (``host:port``) so one callback can serve several drivers.

    Device attributes: ``online`` (bool), ``error`` (str: why the device is offline, ``""`` when
    online), ``model``, ``firmware`` (str), ``channel_count`` (int).
    Zone attributes: ``online`` (bool, like the device's), ``motion`` (1/0), ``state``
    (``"motion"``/``"clear"``), ``ai_detected`` (comma list such as ``"people,vehicle"``,
    ``""`` when nothing is detected), ``error`` (str: why the zone cannot be polled, ``""``
    when fine).
    """

    target: str
    address: Optional[str]
    name: str
    value: AttributeValue
    previous: AttributeValue = None
    device: str = ""
