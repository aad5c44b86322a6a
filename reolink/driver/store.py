"""Attribute values: written during a cycle, committed once, compared by value.

The core writes attributes as it learns them (a zone may first get "-17 rcv failed", then, from
GetChannelstatus in the same batch, "channel is offline"). Nothing reaches the host until
:meth:`AttributeStore.commit`, which turns the *final* value of each attribute that differs from
the last committed one into one event. "Did anything change" is decided here and only here.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .events import AttributeEvent, AttributeValue

__all__ = ["AttributeStore", "Key"]

#: (target, address, name): ("device", None, "online"), ("zone", "0", "motion")...
Key = Tuple[str, Optional[str], str]


def _same(a: AttributeValue, b: AttributeValue) -> bool:
    # 1 == True in Python; a host sees the type, so a change of type is a change.
    return a == b and type(a) is type(b)


class AttributeStore:
    """Committed values plus this cycle's pending writes."""

    def __init__(self, device: str) -> None:
        self._device = device
        self._values: Dict[Key, AttributeValue] = {}
        self._pending: Dict[Key, AttributeValue] = {}

    def get(self, target: str, address: Optional[str], name: str) -> AttributeValue:
        """The latest value written (pending or committed), None if never written."""
        key = (target, address, name)
        if key in self._pending:
            return self._pending[key]
        return self._values.get(key)

    def set(self, target: str, address: Optional[str], name: str, value: AttributeValue) -> None:
        """Write a value; the host hears of it at the next commit if it differs by then."""
        self._pending[(target, address, name)] = value

    def commit(self) -> List[AttributeEvent]:
        """One event per attribute whose final value differs from the last committed one."""
        if not self._pending:
            return []
        events = []
        for key, value in self._pending.items():
            known = key in self._values
            previous = self._values.get(key)
            if known and _same(previous, value):
                continue
            self._values[key] = value
            target, address, name = key
            events.append(AttributeEvent(target, address, name, value, previous, self._device))
        self._pending.clear()
        return events

    def snapshot(self) -> Dict[Key, AttributeValue]:
        """A copy of the committed values."""
        return dict(self._values)
