"""The emulated webhook: per-channel slot tables, push settings, and the POSTs a device sends.

What firmware does (API digest, "GetWebHook / SetWebHook / TestWebHook"): each channel has a
fixed list of slots (``indexEnable`` -1 unused, 0 configured but disabled, 1 enabled); at the
start of a motion or AI event, while push is enabled (GetPushV20 ``enable`` and the channel's
``scheduleEnable``), the device calls every enabled slot's URL with a plain HTTP POST; nothing is
sent when an event ends. TestWebHook calls a URL once, whatever the push settings.

The body is not documented and differs between firmware; the emulator sends a small JSON object
(``{"alarm": {"type": "MD", "channel": 0, ...}}``) that a client must not depend on.

POSTs leave from one :class:`Sender` thread fed by a bounded queue, so raising an event never
waits on the network. :meth:`Webhooks.start` / :meth:`Webhooks.stop` follow the emulator's
``start()`` / ``stop()``; the thread is created on the first POST only.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Optional, Tuple

from .profiles import Profile

__all__ = ["Delivery", "Sender", "Webhooks"]

log = logging.getLogger(__name__)

MAX_URL = 511
_SCHEDULE = "1" * 168  # 7 days x 24 hours, every hour on
_TABLES = {"MD": _SCHEDULE, "AI_PEOPLE": _SCHEDULE, "AI_VEHICLE": _SCHEDULE}
_ROWS = {"motion": "MD", "dog_cat": "AI_DOG_CAT", "test": ""}
_TYPES = {
    "motion": "MD",
    "people": "PEOPLE",
    "vehicle": "VEHICLE",
    "dog_cat": "DOG_CAT",
    "face": "FACE",
    "package": "PACKAGE",
    "test": "TEST",
}


@dataclass(frozen=True)
class Delivery:
    """One POST the device made (test infrastructure: the URL is kept)."""

    url: str
    kind: str
    channel: int
    status: Optional[int]  # None: the call failed (``error`` says why)
    error: Optional[str]
    sent_at: float  # time.monotonic() when the POST started


class Sender:
    """POSTs queued URLs one at a time on its own thread; never blocks the caller."""

    def __init__(self, timeout: float = 2.0, max_queue: int = 256) -> None:
        self.timeout = timeout
        self.max_queue = max_queue
        self.dropped = 0
        self._cond = threading.Condition()
        self._queue: Deque[Tuple[str, bytes, str, int]] = deque()
        self._accepting = True
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._current: Optional[http.client.HTTPConnection] = None
        self.deliveries: List[Delivery] = []

    def start(self) -> None:
        """Accept POSTs again (after :meth:`stop`); the thread starts with the first one."""
        with self._cond:
            self._accepting, self._stopping = True, False

    def stop(self, timeout: float = 5.0) -> None:
        """Drop what is queued, cut the POST in flight, join the thread."""
        with self._cond:
            self._accepting, self._stopping = False, True
            self._queue.clear()
            thread, self._thread = self._thread, None
            current = self._current
            self._cond.notify_all()
        if current is not None and current.sock is not None:
            try:  # shutdown, not close: it wakes the sender thread blocked in recv
                current.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(f"emulator webhook sender did not stop within {timeout} s")

    def post(self, url: str, body: bytes, kind: str, channel: int) -> bool:
        """Queue one POST; False when stopped or the queue is full (counted in ``dropped``)."""
        with self._cond:
            if not self._accepting:
                return False
            if len(self._queue) >= self.max_queue:
                self.dropped += 1
                return False
            self._queue.append((url, body, kind, channel))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="reolink-emulator-webhook", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
        return True

    def wait_deliveries(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` POSTs have finished (answered or failed)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.deliveries) >= count, timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or bool(self._queue))
                if self._stopping:
                    return
                url, body, kind, channel = self._queue.popleft()
            delivery = self._send(url, body, kind, channel)
            with self._cond:
                self.deliveries.append(delivery)
                self._cond.notify_all()

    def _send(self, url: str, body: bytes, kind: str, channel: int) -> Delivery:
        started = time.monotonic()
        split = urllib.parse.urlsplit(url)
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        status: Optional[int] = None
        error: Optional[str] = None
        try:
            conn = http.client.HTTPConnection(
                split.hostname or "", split.port or 80, timeout=self.timeout
            )
            conn.connect()
            with self._cond:
                # Published only once connected, so stop() always has a socket to shut down.
                if self._stopping:
                    conn.close()
                    raise ConnectionAbortedError("emulator stopping")
                self._current = conn
            try:
                conn.request("POST", target, body=body, headers={
                    "Content-Type": "application/json", "Connection": "close"})
                response = conn.getresponse()
                response.read(65536)
                status = response.status
            finally:
                conn.close()
                with self._cond:
                    self._current = None
        except (OSError, http.client.HTTPException, ValueError) as err:
            error = f"{type(err).__name__}: {err}"
            log.debug("emulator webhook call failed: %s", error)
        return Delivery(url, kind, channel, status, error, started)


class Webhooks:
    """Slot tables and push settings of one device, and its :class:`Sender`.

    Mutated under the device lock by the command handlers; test controls:
    :meth:`set_push`, :meth:`put` (another system edits a slot during a run), :meth:`reset`
    (a factory reset or a replaced device: every table empty), :attr:`call_lead` (seconds the
    call precedes the state showing the event, see ``Emulator.set_motion``), :attr:`sender`
    (``deliveries``, ``wait_deliveries``). A reboot keeps the tables (firmware stores them).
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.slot_count = profile.webhook_slots
        self.slots: List[List[Dict[str, Any]]] = [
            [_empty(i) for i in range(self.slot_count)] for _ in profile.channels
        ]
        self.push_enabled = True
        self.schedule_enabled = [True for _ in profile.channels]
        #: per channel, GetPushV20's schedule tables (type -> 168 characters, one per hour)
        self.schedules: List[Dict[str, str]] = [dict(_TABLES) for _ in profile.channels]
        #: seconds between the webhook call and the state showing the event (0: together)
        self.call_lead = 0.0
        self.sender = Sender()

    @property
    def supported(self) -> bool:
        return self.slot_count > 0

    # -------------------------------------------------------------- lifecycle (Emulator)
    def start(self) -> None:
        self.sender.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.sender.stop(timeout)

    # -------------------------------------------------------------- test controls
    def set_push(self, enabled: bool, channel: Optional[int] = None) -> None:
        """Device-wide push switch, or one channel's schedule switch when ``channel`` is given."""
        if channel is None:
            self.push_enabled = bool(enabled)
        else:
            self.schedule_enabled[channel] = bool(enabled)

    def put(self, channel: int, index: int, url: str, enabled: bool = True) -> None:
        """Another system (the Reolink app, Home Assistant) writes ``url`` into a slot."""
        self.set_slot(channel, {"index": index, "indexEnable": int(enabled), "hookUrl": url})

    def reset(self) -> None:
        """Every slot table back to empty (a factory reset, or a replaced device)."""
        self.slots = [[_empty(i) for i in range(self.slot_count)] for _ in self.profile.channels]

    def set_schedule(self, channel: int, table: Dict[str, str]) -> None:
        """GetPushV20's schedule of ``channel``: type (MD, AI_PEOPLE...) -> 168 of 0/1."""
        self.schedules[channel] = dict(table)

    # -------------------------------------------------------------- firmware behaviour
    def set_slot(self, channel: int, hook: Dict[str, Any]) -> None:
        """SetWebHook; raises ValueError for a parameter firmware refuses (-4)."""
        index = hook.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError("index")
        if not 0 <= index < self.slot_count:
            raise ValueError("index")
        state = hook.get("indexEnable", 1)
        if not isinstance(state, int) or isinstance(state, bool) or state not in (-1, 0, 1):
            raise ValueError("indexEnable")
        if state == -1:
            self.slots[channel][index] = _empty(index)
            return
        url, custom, body = hook.get("hookUrl"), hook.get("bCustom", 0), hook.get("hookBody", "")
        if not isinstance(url, str) or not url or len(url) > MAX_URL:
            raise ValueError("hookUrl")
        if custom not in (0, 1) or not isinstance(body, str) or len(body) > MAX_URL:
            raise ValueError("bCustom/hookBody")
        self.slots[channel][index] = {
            "index": index, "indexEnable": state, "hookUrl": url, "bCustom": custom,
            "hookBody": body,
        }

    def test(self, channel: int, url: Any) -> None:
        """TestWebHook: call ``url`` once now. Raises ValueError for a URL firmware refuses."""
        if not isinstance(url, str) or not url.startswith("http://") or len(url) > MAX_URL:
            raise ValueError("hookUrl")
        self.sender.post(url, self._body(channel, "test"), "test", channel)

    def event_started(self, channel: int, kind: str) -> int:
        """A motion/AI event began: POST to every enabled slot while push is on; return count.

        Called under the device lock; only queues (the sender thread does the network).
        """
        if not (self.supported and self.push_enabled and self.schedule_enabled[channel]):
            return 0
        if not self.scheduled_now(channel, kind):
            return 0
        urls = [s["hookUrl"] for s in self.slots[channel] if s["indexEnable"] == 1]
        body = self._body(channel, kind)
        return sum(self.sender.post(url, body, kind, channel) for url in urls if url)

    def scheduled_now(self, channel: int, kind: str) -> bool:
        """Whether the push schedule's row for ``kind`` is on at this hour (local time). The
        day order of the 168 characters is undocumented; the emulator counts from Sunday."""
        row = self.schedules[channel].get(_ROWS.get(kind, f"AI_{kind.upper()}"))
        if not isinstance(row, str) or len(row) != len(_SCHEDULE):
            return True  # no row for this kind: nothing says it is off
        now = time.localtime()
        return row[((now.tm_wday + 1) % 7) * 24 + now.tm_hour] == "1"

    def _body(self, channel: int, kind: str) -> bytes:
        spec = self.profile.channels[channel]
        alarm = {
            "type": _TYPES.get(kind, kind.upper()),
            "channel": channel,
            "channelName": spec.name,
            "deviceModel": self.profile.model,
            "alarmTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime()),
            "title": "Reolink alarm",
        }
        return json.dumps({"alarm": alarm}, separators=(",", ":")).encode()

    def push_value(self, channel: int, v20: bool) -> Dict[str, Any]:
        """GetPushV20 (``v20``) or GetPush value."""
        table = dict(self.schedules[channel])
        sched = 1 if self.schedule_enabled[channel] else 0
        if v20:
            return {"Push": {"enable": 1 if self.push_enabled else 0, "scheduleEnable": sched,
                             "schedule": {"channel": channel, "table": table}}}
        on = 1 if self.push_enabled and self.schedule_enabled[channel] else 0
        return {"Push": {"schedule": {"channel": channel, "enable": on, "table": table}}}


def _empty(index: int) -> Dict[str, Any]:
    return {"index": index, "indexEnable": -1, "hookUrl": "", "bCustom": 0, "hookBody": ""}
