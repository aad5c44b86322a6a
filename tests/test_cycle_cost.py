"""The fixed cost of a poll cycle: what the cuts on the hot path must keep.

The figures are benchmarks' (``benchmarks/profile_cycle.py``); these tests check what a cut
could break without anyone noticing in a figure:

* the core's wake-up time, now worked out without a candidate list, asking the session once,
  is the same as the plain "earliest of every source" it replaced (a reference copy below),
  turn by turn through polls, back-offs, a lock-out, PTZ stops, a reboot, a driver bug's hold
  and the setup read;
* the device thread's steady poll cycle is two turns of the core, one wait and one snapshot
  publication - counted on a thread-free run of the real loop, so a second wake-up or lock
  round trip per cycle fails here;
* the loop's plain flags (stop, push) and the lease it compares still reach the core and the
  host as before; the client's Send memo and the memory transport's header memo key on every
  input they read.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Tuple

import attrs
import pytest
from test_driver_core import INTERVAL, FakeDevice, Harness

from reolink.driver.core import DriverCore
from reolink.driver.loop import DeviceLoop
from reolink.driver.messages import Disconnect, Event, PushWake
from reolink.driver.timing import Timing
from reolink.protocol.session import Step
from reolink.transport import Request, Response

# --- _next_wakeup against the reference it replaced -------------------------------------------


def _reference_wakeup(core: DriverCore) -> float:
    """The wake-up rule as it read before the cut (a list of candidates, then the least)."""
    now = core.now
    identified = core.identified
    poll_at = core._poll_at() if identified else now
    if poll_at <= now:
        step = core.session.next_step(now, identified=identified, poll_due=True)
        if step in (Step.SHOW_OFFLINE, Step.IDLE):
            poll_at = now + core.config.status_interval
    candidates = [poll_at]
    session_at = core.session.next_wakeup(now)
    if session_at is not None:
        candidates.append(session_at)
    if core._ptz_stops:
        candidates.append(min(core._ptz_stops.values()))
    setup_at = core.setup.due_at
    if setup_at is not None and identified and core.session.request_allowed(now):
        candidates.append(max(setup_at, now))
    push_at = now if core.guards.ability_recheck else core.push.next_wakeup(now)
    if push_at is not None and identified and core.session.request_allowed(now):
        candidates.append(push_at)
    return core.guards.not_before(min(candidates), now)


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> List[Tuple[float, float]]:
    """Every wake-up the core works out is checked against the reference (and recorded)."""
    seen: List[Tuple[float, float]] = []
    original = DriverCore._next_wakeup

    def checked(core: DriverCore) -> float:
        wake = original(core)
        reference = _reference_wakeup(core)
        assert wake == reference, (core.now, core.phase, wake, reference)
        seen.append((core.now, wake))
        return wake

    monkeypatch.setattr(DriverCore, "_next_wakeup", checked)
    return seen


def test_wakeups_match_through_polls_outages_and_a_lockout(
    compared: List[Tuple[float, float]],
) -> None:
    device = FakeDevice(lease=300)  # renewals within the run
    h = Harness(device, timing=Timing(setup_every=20.0))  # with the setup read, often
    h.run(4 * INTERVAL)
    device.down = True  # back-off, offline
    h.run(120)
    device.down = False
    h.run(30)
    device.password = "changed"  # the next login is refused: logins pause
    device.tokens.clear()
    h.run(700)
    assert h.value("online") is False
    assert len({wake for _, wake in compared}) > 20  # many different states were compared


def test_wakeups_match_with_ptz_stops_a_reboot_and_a_hold(
    compared: List[Tuple[float, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    h.command("ptz", {"address": "0", "op": "Left", "duration": 1500})  # a Stop due later
    h.run(2 * INTERVAL)
    h.break_poll_once(monkeypatch)
    h.run(2 * INTERVAL)  # a hold (G1)
    assert h.core.guards.hold_until > 0
    h.feed(PushWake())
    h.run(INTERVAL)
    assert h.command("reboot") == {"rebooting": True}
    h.run(30)
    device.down = False
    h.run(60)
    assert h.value("online") is True and len(compared) > 10


# --- the device thread's turns per poll cycle, counted ------------------------------------------


class _App:
    """A device for the memory transport: the FakeDevice of the core tests, on a clock."""

    def __init__(self, device: FakeDevice, clock: List[float]) -> None:
        self.device, self.clock = device, clock

    def __call__(self, method: str, target: str, headers: Any, body: bytes) -> Any:
        request = Request(method, target, body, headers=dict(headers))
        response = self.device(request, self.clock[0])
        assert isinstance(response, Response)
        return response.status, response.headers, response.body


def _loop_run(cycles: int) -> Tuple[Dict[str, int], int, DeviceLoop]:
    """Run the real DeviceLoop on this thread on a simulated clock (a wait moves it on by its
    timeout at once) until ``cycles`` poll cycles after the first three are done, then
    stop it; count its turns, waits and publications in those cycles."""
    from transports import MemoryTransport

    clock = [0.0]
    device = FakeDevice()
    core = Harness(device).core  # a fresh core (the harness only fed it Start: made anew)
    core = DriverCore(core.config, core.timing)
    counts: Dict[str, int] = {}
    handle = core.handle
    warm = 3
    stopped = [False]

    def count(key: str) -> None:
        if core.cycles >= warm and not stopped[0]:
            counts[key] = counts.get(key, 0) + 1

    def counted(now: float, event: Event) -> Any:
        if isinstance(event, Disconnect):  # after the counted cycles: the stop flag's work
            counts["turn Disconnect"] = counts.get("turn Disconnect", 0) + 1
        count(f"turn {type(event).__name__}")
        return handle(now, event)

    core.handle = counted  # type: ignore[method-assign]
    loop: Optional[DeviceLoop] = None

    def tick() -> float:
        assert loop is not None
        if core.cycles >= warm + cycles and not stopped[0]:
            stopped[0] = True
            loop.stop()  # seen at the end of this turn: the core winds down
        if core.cycles > warm + cycles + 20:  # the stop was lost: end the run (the loop
            raise RuntimeError("the loop did not stop")  # logs it and ends), fail below
        return clock[0]

    class Counting:
        """Stands in for the loop's wake-up lock and publication lock, counting their use."""

        def __init__(self, name: str) -> None:
            self._lock = threading.Lock()
            self._name = name

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            count(f"{self._name} {'wait' if blocking else 'look'}")
            if blocking and timeout > 0:
                clock[0] += timeout  # the wait, simulated: its time passes at once
            return self._lock.acquire(False)

        def release(self) -> None:
            self._lock.release()

        def __enter__(self) -> None:
            count(f"{self._name} taken")
            self._lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self._lock.release()

    loop = DeviceLoop(core, MemoryTransport(_App(device, clock)), tick, None)
    loop._wake = Counting("wake-up")  # type: ignore[assignment]
    loop._wake.acquire(False)  # held: nothing pending (as the loop starts it)
    loop._lock = Counting("publication")  # type: ignore[assignment]
    loop.run()
    return counts, cycles, loop


def test_a_steady_poll_cycle_is_two_turns_one_wait_one_publication() -> None:
    counts, cycles, _ = _loop_run(50)
    per = {key: value / cycles for key, value in counts.items()}
    assert per["turn Tick"] == pytest.approx(1.0, abs=0.05)
    assert per["turn Replied"] == pytest.approx(1.0, abs=0.05)
    assert per["wake-up wait"] == pytest.approx(1.0, abs=0.05)
    assert per["wake-up look"] == pytest.approx(1.0, abs=0.05)
    assert per["publication taken"] == pytest.approx(1.0, abs=0.05)
    assert counts["turn Disconnect"] == 1


def test_the_loop_feeds_one_shared_tick_and_the_push_flag() -> None:
    from reolink.driver import loop as loop_module

    _, _, loop = _loop_run(2)
    loop._until = 0.0
    assert loop._next_event() is loop._next_event() is loop_module._TICK  # nothing carried
    loop.push_wake()
    assert isinstance(loop._next_event(), PushWake) and loop.published().push_calls == 1
    assert loop._next_event() is loop_module._TICK  # one call, one PushWake
    assert loop.stopping.is_set()  # the run ended with stop()


def test_the_snapshot_shows_the_token_of_the_lease_compared() -> None:
    _, _, loop = _loop_run(2)  # ended with Logout: no token
    assert loop.published().token is None
    core = loop._core
    h = Harness(FakeDevice())
    h.run(1)
    loop._core = h.core  # a core logged in: its lease's token is what the host may redact
    loop._publish([])
    lease = h.core.session.lease
    assert lease is not None and loop.published().token == lease.token
    loop._core = core


def test_disconnect_reaches_the_core_through_the_stop_flag() -> None:
    counts, _, loop = _loop_run(1)
    assert counts["turn Disconnect"] == 1 and loop._core.phase.value == "finished"


# --- memos keyed by every input ---------------------------------------------------------------


def test_the_client_hands_out_one_send_per_distinct_request() -> None:
    h = Harness(FakeDevice())
    client = h.core.client
    def send(body: bytes, memo: bool = True) -> Any:
        return next(client.exchange("POST", "/a", body, deadline=None, max_body=9,
                                    repeatable=True, what="x", memo=memo))

    first, again, other = send(b"[]"), send(b"[]"), send(b"[1]")
    assert again is first and other is not first
    assert (first.request.body, other.request.body) == (b"[]", b"[1]")
    # Only a poll's request (memo) is kept: any other is built anew and not held.
    once = send(b"[2]", memo=False)
    assert send(b"[2]", memo=False) is not once
    assert once.request == attrs.evolve(first.request, body=b"[2]")


def test_memory_transport_header_memo_follows_the_request_headers() -> None:
    from transports import MemoryTransport

    seen: List[Dict[str, str]] = []

    def app(method: str, target: str, headers: Any, body: bytes) -> Any:
        seen.append(dict(headers))
        headers["x-mutated-by-app"] = "1"  # the app's own copy: the next send is clean
        return 200, {}, b"{}"

    transport = MemoryTransport(app)
    request = Request("POST", "/", b"[]", headers={"X-One": "1"})
    transport.send(request)
    transport.send(request)
    request.headers["x-one"] = "2"  # (a frozen Request's mapping changed in place)
    transport.send(request)
    transport.send(Request("GET", "/"))
    assert [h.get("x-one") for h in seen] == ["1", "1", "2", None]
    assert all("x-mutated-by-app" not in h for h in seen)
    assert seen[0]["content-type"] == "application/json"
    assert "content-type" not in seen[3]  # no body: no content type


def test_emit_marks_the_callback_running_and_a_raising_callback_skips_nothing() -> None:
    from reolink.driver.events import AttributeEvent

    seen: List[Tuple[str, bool]] = []
    loop: Optional[DeviceLoop] = None

    def callback(event: AttributeEvent) -> None:
        assert loop is not None
        seen.append((event.name, loop.in_callback))
        if event.name == "motion":
            raise ValueError("a host bug")

    core = Harness(FakeDevice()).core
    loop = DeviceLoop(core, object(), lambda: 0.0, callback)  # type: ignore[arg-type]
    events = (
        AttributeEvent("zone", "0", "motion", 1, None, "cam"),
        AttributeEvent("zone", "0", "ai_detected", "people", None, "cam"),
    )
    loop._emit(events)
    assert seen == [("motion", True), ("ai_detected", True)] and loop.in_callback is False


# --- the session's settled state (a query at the time tick() applied) --------------------------


def _sessions() -> List[Any]:
    """Sessions in every state, with leases and retry times around t = 100."""
    from reolink.protocol.lease import TokenLease
    from reolink.protocol.session import Session, SessionState

    made = []
    for state in SessionState:
        for lease_seconds in (None, 10.0, 150.0, 3600.0):
            for retry_at in (0.0, 99.0, 100.0, 101.0):
                session = Session()
                session.state = state
                session.retry_at = retry_at
                if lease_seconds is not None:
                    session.lease = TokenLease("tok", 0.0, lease_seconds)
                made.append(session)
    return made


@pytest.mark.parametrize("now", [50.0, 100.0, 3540.0, 5000.0])
def test_after_tick_no_time_driven_transition_is_due_at_that_time(now: float) -> None:
    # The premise of Session._settled: tick() fires at most one time-driven transition, and
    # none is due after it at the same time - so a query then may take the state as it is.
    for session in _sessions():
        session.tick(now)
        assert session._time_event(now) is None, (session.state, session.lease, session.retry_at)


def test_a_query_looks_ahead_again_once_anything_tick_saw_changes() -> None:
    import attrs

    from reolink.protocol.lease import TokenLease
    from reolink.protocol.session import Session, SessionPolicy, SessionState

    S = SessionState
    session = Session()
    session.state = S.READY
    session.lease = TokenLease("tok", 0.0, 3600.0)  # renewed at 3540
    session.tick(100.0)
    assert session.state_at(100.0) is S.READY
    session.lease = TokenLease("tok", 0.0, 150.0)  # assigned directly: renewed at 90
    assert session.state_at(100.0) is S.EXPIRING
    session.lease = TokenLease("tok", 0.0, 200.0)  # renewed at 140 (a 60 s margin)
    session.tick(100.0)
    assert session.state_at(100.0) is S.READY
    session.policy = attrs.evolve(session.policy, refresh_margin=150.0)  # now at 100 (half)
    assert session.policy != SessionPolicy() and session.state_at(100.0) is S.EXPIRING
    session.tick(100.0)
    assert session.state is S.EXPIRING and session.state_at(100.0) is S.EXPIRING
    session.state = S.LOCKED_OUT  # assigned directly, its retry time long past
    assert session.state_at(100.0) is S.LOGGED_OUT
    session.tick(100.0)
    session.retry_at = 200.0
    session.state = S.LOCKED_OUT
    assert session.state_at(100.0) is S.LOCKED_OUT and session.state_at(200.0) is S.LOGGED_OUT
    session.tick(100.0)
    session.retry_at = 50.0  # only the retry time changed
    assert session.state_at(100.0) is S.LOGGED_OUT


def test_plain_members_are_the_very_enum_members() -> None:
    import enum

    from reolink.driver import core
    from reolink.driver.pushcontrol import Phase as PushPhase
    from reolink.protocol import session
    from reolink.protocol.session import SessionState, plain_members

    pairs = [(session.S, SessionState), (session._Steps, Step), (core.P, core.DevicePhase),
             (core._O, core._Outcome), (core._Step, Step), (core._PushPhase, PushPhase)]
    for plain, members in pairs:
        assert not isinstance(plain, enum.EnumMeta)  # a plain class: no __getattr__ hook
        for name, member in members.__members__.items():
            assert getattr(plain, name) is member
    assert plain_members(SessionState).READY is SessionState.READY
