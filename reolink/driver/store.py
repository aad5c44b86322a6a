"""Attribute values: written during a cycle, committed once, compared by value.

The core writes attributes as it learns them (a zone may first get "-17 rcv failed", then, from
GetChannelstatus in the same batch, "channel is offline"). Nothing reaches the host until
:meth:`AttributeStore.commit`, which turns the *final* value of each attribute that differs from
the last committed one into one event. "Did anything change" is decided here and only here.

Skipping work on a repeated answer is decided here too, so no cache elsewhere can go stale.
A reader that derives attributes from a raw answer (the poller: a reply's value, a whole
batch's bodies) reports what it derived them from with :meth:`AttributeStore.derived`, and
asks :meth:`AttributeStore.unchanged` next time. Every write that changes an attribute's
latest value moves the store's revision counter and stamps its ``(target, address)`` with
it; a memo covers some scopes (or the whole store) and holds only while the latest stamp among
them has not moved since it was taken (stamps only grow, so the latest one moves with any).
So whoever writes an attribute - a poll, a channel going offline, the device going down, a
setup finding - invalidates every memo that covered it without knowing the memo exists: there
is nothing to remember. A memo's raw value must hold every input of the derivation besides the
attributes in its scope (the poller's keys do: plan key, channel modes, availability).

Events are made by :func:`reolink.protocol.results.positional_maker` (the same frozen
AttributeEvent, fewer instructions: up to 128 per cycle at 64 channels).
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, Iterable, List, Optional, Sequence, Tuple

from ..protocol.results import positional_maker
from .events import AttributeEvent, AttributeValue

__all__ = ["AttributeStore", "Key", "Scope"]

#: (target, address, name): ("device", None, "online"), ("zone", "0", "motion")...
Key = Tuple[str, Optional[str], str]
#: (target, address): the attributes of one zone, or of the device.
Scope = Tuple[str, Optional[str]]

#: "never written" (None is a value); typed Any so that it can stand in any value's place
_MISSING: Any = object()
#: AttributeEvent(target, address, name, value, previous, device), made without attrs'
#: __init__ (reolink.protocol.results.positional_maker: the same object, fewer instructions)
_event = positional_maker(AttributeEvent)


class AttributeStore:
    """Committed values plus this cycle's pending writes, and the memos of their sources."""

    def __init__(self, device: str) -> None:
        self._device = device
        self._values: Dict[Key, AttributeValue] = {}
        self._pending: Dict[Key, AttributeValue] = {}
        #: moved by every write that changes an attribute's latest (pending or committed) value
        self._revision = 0
        #: the revision of the last such write per (target, address)
        self._scopes: Dict[Scope, int] = {}
        #: source -> (raw value, revision of its scope when the attributes were derived)
        self._memos: Dict[Hashable, Tuple[object, int]] = {}

    def get(self, target: str, address: Optional[str], name: str) -> AttributeValue:
        """The latest value written (pending or committed), None if never written."""
        key = (target, address, name)
        value = self._pending.get(key, _MISSING)
        return self._values.get(key) if value is _MISSING else value

    def set(self, target: str, address: Optional[str], name: str, value: AttributeValue) -> None:
        """Write a value; the host hears of it at the next commit if it differs by then.

        Values are compared with their type (1 == True in Python, but a host sees the type:
        a change of type is a change)."""
        key = (target, address, name)
        pending = self._pending
        latest = pending.get(key, _MISSING)
        if latest is _MISSING:
            latest = self._values.get(key, _MISSING)
        # Always recorded (the order of this cycle's events is the order of first writes).
        pending[key] = value
        if latest is _MISSING or type(latest) is not type(value) or latest != value:
            self._revision += 1
            self._scopes[(target, address)] = self._revision

    def update(
        self, target: str, address: Optional[str], values: Iterable[Tuple[str, AttributeValue]]
    ) -> None:
        """:meth:`set` for several attributes of one target, in order (name, value)."""
        pending = self._pending
        committed = self._values
        changed = False
        for name, value in values:
            key = (target, address, name)
            if changed:  # the scope's stamp moves anyway: no need to know the latest value
                pending[key] = value
                continue
            latest = pending.get(key, _MISSING)
            if latest is _MISSING:
                latest = committed.get(key, _MISSING)
            pending[key] = value
            if latest is _MISSING or type(latest) is not type(value) or latest != value:
                changed = True
        if changed:
            self._revision += 1
            self._scopes[(target, address)] = self._revision

    def commit(self) -> List[AttributeEvent]:
        """One event per attribute whose final value differs from the last committed one."""
        if not self._pending:
            return []
        events = []
        values = self._values
        device = self._device
        for key, value in self._pending.items():
            previous = values.get(key, _MISSING)
            if previous is _MISSING:
                previous = None
            elif type(previous) is type(value) and previous == value:
                continue
            values[key] = value
            target, address, name = key
            events.append(_event(target, address, name, value, previous, device))
        self._pending.clear()
        return events

    def snapshot(self) -> Dict[Key, AttributeValue]:
        """A copy of the committed values."""
        return dict(self._values)

    # --- memos: skipping a repeated answer, decided by the store ------------------------

    def _stamp(self, scopes: Optional[Sequence[Scope]]) -> int:
        """The revision of the latest change among ``scopes`` (None: the whole store)."""
        if scopes is None:
            return self._revision
        stamps = self._scopes
        latest = 0  # stamps are revisions: never below 0
        for scope in scopes:
            stamp = stamps.get(scope, 0)
            if stamp > latest:
                latest = stamp
        return latest

    def derived(
        self, source: Hashable, raw: object, scopes: Optional[Sequence[Scope]] = None
    ) -> None:
        """``source`` has just written the attributes of ``scopes`` (every attribute when
        None) from ``raw``; :meth:`unchanged` answers for it from now on."""
        self._memos[source] = (raw, self._stamp(scopes))

    def derived_each(self, entries: Iterable[Tuple[Hashable, object, Sequence[Scope]]]) -> None:
        """:meth:`derived` for each ``(source, raw, scopes)`` (the replies of one batch)."""
        memos = self._memos
        stamps = self._scopes
        for source, raw, scopes in entries:
            if len(scopes) == 1:  # the common case, without a call
                memos[source] = (raw, stamps.get(scopes[0], 0))
            else:
                memos[source] = (raw, self._stamp(scopes))

    def unchanged(
        self, source: Hashable, raw: object, scopes: Optional[Sequence[Scope]] = None
    ) -> bool:
        """True when deriving from ``raw`` again would change nothing: ``raw`` equals what
        ``source`` last reported, and no attribute of ``scopes`` changed since, by anyone."""
        memo = self._memos.get(source)
        if memo is None:
            return False
        if scopes is not None and len(scopes) == 1:  # the common case, without a call
            stamp = self._scopes.get(scopes[0], 0)
        else:
            stamp = self._stamp(scopes)
        return memo[1] == stamp and memo[0] == raw
