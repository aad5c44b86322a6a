"""AttributeStore: the one change detector, and the memos that skip repeated answers.

The poller skips parsing an answer equal to the last one; whether it may is the store's call
(:meth:`AttributeStore.unchanged`), so any writer of an attribute - not only the poller's own
offline path - makes the next equal answer apply in full, without remembering to.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Tuple

from reolink.driver.config import ZoneConfig
from reolink.driver.logs import DeviceLog
from reolink.driver.poller import Mode, Poller
from reolink.driver.store import AttributeStore
from reolink.protocol import commands
from reolink.protocol.results import CommandReply


def _names(store: AttributeStore) -> List[Tuple[object, str, object]]:
    return [(e.address, e.name, e.value) for e in store.commit()]


def test_commit_reports_final_values_in_first_write_order() -> None:
    store = AttributeStore("dev")
    store.set("zone", "0", "online", True)
    store.set("zone", "0", "motion", 0)
    assert _names(store) == [("0", "online", True), ("0", "motion", 0)]
    # Written back and forth within a cycle: nothing changed, nothing reported.
    store.set("zone", "0", "motion", 1)
    store.set("zone", "0", "motion", 0)
    assert store.commit() == []
    # 1 == True, but a host sees the type: a change of type is a change.
    store.set("zone", "0", "motion", False)
    assert _names(store) == [("0", "motion", False)]


def test_memo_holds_until_any_write_changes_its_scope() -> None:
    store = AttributeStore("dev")
    store.set("zone", "0", "motion", 1)
    store.derived("src", {"state": 1}, [("zone", "0")])
    assert store.unchanged("src", {"state": 1}, [("zone", "0")])
    assert not store.unchanged("src", {"state": 0}, [("zone", "0")])
    assert not store.unchanged("other", {"state": 1}, [("zone", "0")])
    # Writing the same value again, or another zone, changes nothing for this memo...
    store.set("zone", "0", "motion", 1)
    store.set("zone", "1", "motion", 1)
    store.commit()
    assert store.unchanged("src", {"state": 1}, [("zone", "0")])
    # ...but the whole-store scope moved with zone 1.
    store.derived("all", "raw")
    store.set("zone", "1", "motion", 0)
    assert not store.unchanged("all", "raw")
    assert store.unchanged("src", {"state": 1}, [("zone", "0")])
    # Several scopes: the memo holds until any of them changes.
    store.derived("pair", "raw", [("zone", "0"), ("zone", "2")])
    assert store.unchanged("pair", "raw", [("zone", "0"), ("zone", "2")])
    store.set("zone", "2", "online", False)
    assert not store.unchanged("pair", "raw", [("zone", "0"), ("zone", "2")])
    assert store.unchanged("src", {"state": 1}, [("zone", "0")])
    # Any writer changing zone 0, even to a value later written back, drops its memo.
    store.set("zone", "0", "motion", 0)
    store.set("zone", "0", "motion", 1)
    assert not store.unchanged("src", {"state": 1}, [("zone", "0")])


def _poller(channels: int = 1) -> Tuple[Poller, AttributeStore]:
    store = AttributeStore("dev")
    zones = [ZoneConfig(address=str(c), channel=c) for c in range(channels)]
    poller = Poller(zones, store, DeviceLog(logging.getLogger("test.store"), "dev"))
    poller.configure(channels, multichannel=channels > 1, channel_list=None, now=0.0)
    return poller, store


def _md(moving: int) -> CommandReply:
    return CommandReply(cmd="GetMdState", value={"state": moving})


def _apply_md(poller: Poller, moving: int, answer: object) -> None:
    batch = [commands.build_get_md_state(0)]
    poller.apply(batch, [_md(moving)], 0.0, answer)  # type: ignore[arg-type]


def _values(store: AttributeStore) -> Dict[str, object]:
    store.commit()
    return {k[2]: v for k, v in store.snapshot().items() if k[:2] == ("zone", "0")}


def test_another_writer_makes_the_same_answer_apply_again() -> None:
    """Before, a write outside the poller left its caches stale (Poller._forget was a duty)."""
    poller, store = _poller()
    poller._channels[0].mode = Mode.MD
    answer = ("key", (b"motion",))
    _apply_md(poller, 1, answer)
    assert _values(store)["motion"] == 1
    # Someone else (not the poller) clears the zone, e.g. a future "reset detections" path.
    store.set("zone", "0", "motion", 0)
    store.set("zone", "0", "state", "clear")
    assert _values(store)["motion"] == 0
    # The device still says motion, byte for byte the same answer: it is applied again.
    _apply_md(poller, 1, answer)
    assert _values(store)["motion"] == 1
    # Without the whole-answer memo, the per-reply memo is checked the same way.
    store.set("zone", "0", "motion", 0)
    _apply_md(poller, 1, None)
    assert _values(store)["motion"] == 1


def test_repeated_answer_is_skipped_and_offline_path_needs_no_forget() -> None:
    poller, store = _poller()
    poller._channels[0].mode = Mode.MD
    answer = ("key", (b"still",))
    _apply_md(poller, 0, answer)
    assert _values(store)["online"] is True
    # An equal answer: not parsed again (a broken value would raise if it were).
    poller.apply(
        [commands.build_get_md_state(0)],
        [CommandReply(cmd="GetMdState", value={"state": "garbage"})],
        0.0,
        answer,  # type: ignore[arg-type]
    )
    assert _values(store)["online"] is True
    poller.device_offline("connection refused")
    assert _values(store)["online"] is False
    _apply_md(poller, 0, answer)
    values = _values(store)
    assert values["online"] is True and values["error"] == ""


def _status(poller: Poller, online: List[int]) -> None:
    value = {"count": 2, "status": [{"channel": c, "online": int(c in online)} for c in (0, 1)]}
    reply = CommandReply(cmd="GetChannelstatus", value=value)
    poller.apply([commands.build_get_channel_status()], [reply], 0.0)


def test_same_channel_status_is_applied_again_after_another_writer() -> None:
    poller, store = _poller(channels=2)
    _status(poller, online=[0])
    store.commit()
    assert store.get("zone", "1", "error") == "channel is offline"
    # Someone else writes the offline zone; the device still lists it offline, same value.
    store.set("zone", "1", "error", "something else")
    store.commit()
    _status(poller, online=[0])
    assert store.get("zone", "1", "error") == "channel is offline"
