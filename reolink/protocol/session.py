"""The session and token state machine. Pure: the clock arrives as ``now`` arguments.

Every session decision of the driver is made here and nowhere else: when to log in, whether a
Login may be sent at all (account safety), when to renew the token, how long to back off, and what
the driver loop should do next (:meth:`Session.next_step`, :meth:`Session.authorize`).

States and what moves between them (the table ``_TRANSITIONS`` below; the timing rules that
decide *when* an event may happen are the methods listed under "Rules")::

    LOGGED_OUT --login_ok--> READY --lease nearly over (tick)--> EXPIRING --login_ok--> READY
        |                      |  \\--auth_error (-6/-21 on a command)--> LOGGED_OUT (relogin once)
        |                      \\--transport_failed--> BACKING_OFF --transport_ok--> READY
        \\--login_refused (wrong credentials, locked, throttled, session table full)--> LOCKED_OUT
    LOCKED_OUT --retry time reached (tick)--> LOGGED_OUT      any --logout--> LOGGED_OUT

Rules the driver relies on:

* **Account safety.** A Login refused for credentials, lock-out, throttling or a full session table
  stops automatic logins. The next automatic try waits ``auth_backoff[0]`` (30 s), then
  ``auth_backoff[1]`` (5 min), then ``auth_backoff[2]`` (15 min) for every later try. Independently
  of that schedule, no Login at all (automatic or forced by the ``login`` command) is allowed while
  ``max_failed_logins`` (3) refused Logins lie within the last ``failed_login_window`` (10 min):
  the driver can never be what locks a camera account (firmware locks after about 5). While
  automatic logins are paused, only the host's ``login`` command may try
  (:meth:`Session.login_refusal` holds both rules).
* **Token refresh.** A token is renewed ``refresh_margin`` (60 s) before its lease ends, or at half
  the lease for leases shorter than twice the margin (see :class:`TokenLease`).
* **No login storm.** An auth error on a command (``-6``) sends the session to LOGGED_OUT; the loop
  logs in once and retries the command once. An auth error right after a fresh login is
  reported, not retried: the next login waits ``auth_retry_delay`` (5 s) the first time, then
  the session goes LOCKED_OUT on the ``auth_backoff`` schedule until an authenticated request
  succeeds again (:meth:`Session.on_auth_error`).
* **Transport failures** (connect refused, timeouts, garbage) back off ``backoff_initial`` doubling
  to ``backoff_max``; the device counts as offline after ``offline_after`` failures in a row (or at
  the first failure when it was never reached). A success resets the count
  (:meth:`Session.on_transport_failed`, :attr:`Session.offline`).

Time and queries: the state moves only when an input arrives (the ``on_*`` methods, which apply
time first) or at :meth:`Session.tick` - the driver core calls it once, at the top of every
event. Every query (:meth:`~Session.login_due`, :meth:`~Session.request_allowed`,
:meth:`~Session.authorize`, :meth:`~Session.next_step`, :meth:`~Session.next_wakeup`,
:meth:`~Session.login_refusal`) is pure: it looks at the state time would give
(:meth:`Session.state_at`) and changes nothing, so asking twice, or in another order, can never
change what happens.

Both schedules are tenacity wait strategies (:meth:`SessionPolicy.transport_wait`,
:meth:`SessionPolicy.auth_wait`), evaluated here as pure functions of the attempt count
(:func:`delay_after`): tenacity never sleeps or reads a clock for us; the session turns the delay
into a ``retry_at`` and the driver core schedules the wake-up.

Why it is built this way (the decisions a change must keep):

* **A transition table, not flags** (h11's ``_state.py``): every state change is one row of
  ``_TRANSITIONS``, fired by one named event, so a reader sees every way the session can move
  in one place and a test checks each row. Only ``_fire`` assigns the state, by looking the
  pair up; a pair the table does not list leaves the state as it is.
* **Time is applied once per turn.** :meth:`Session.tick` applies ``now`` (a lease nearly
  over, a retry time reached) and the driver core calls it once at the top of every event;
  the ``on_*`` inputs that take a ``now`` apply it first for the same reason. Within a turn
  the state then holds still.
* **Queries are pure.** A question answered from the state time *would* give
  (:meth:`Session.state_at`) changes nothing, so the core may ask the same question while
  choosing the next flow and again while computing its wake-up, in any order, and get one
  answer; a query that moved the state would make the wake-up depend on who asked first.
* **The rules are numbers in a policy** (:class:`SessionPolicy`): tests shrink them to run
  the schedules fast, the rules stay the same.

What is worked out once per lease (its refresh time, the :class:`Authorization` of its token)
is made by :meth:`Session.tick`, an input, and kept with the very lease it was made for; a
query uses it only for that lease (``is``) and works it out afresh otherwise, so replacing
the lease can never leave an old token or refresh time behind.

Likewise :meth:`Session.tick` notes what it left at its ``now`` (``_settled``: the time, the
state, the lease, the retry time and the policy - everything the time-driven rules read). Time
applied, no time-driven transition is due at that very moment, so a query at that ``now``
with those very values takes the state as it is instead of looking ahead; any other time or
any change to one of them (an input, or a field assigned directly) looks ahead as before. The
core asks the session four questions per poll cycle at the time it ticked: each skips two
calls (``_time_event``, ``_refresh_at``).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Type, TypeVar, cast

import attrs

if TYPE_CHECKING:
    from tenacity import RetryCallState
    from tenacity.wait import wait_base

from .codes import AuthAction
from .lease import TokenLease
from .results import LoginToken

__all__ = ["Authorization", "Session", "SessionPolicy", "SessionState", "Step", "delay_after"]


class SessionState(enum.Enum):
    LOGGED_OUT = "logged-out"
    READY = "ready"
    EXPIRING = "expiring"
    BACKING_OFF = "backing-off"
    LOCKED_OUT = "locked-out"


class Step(enum.Enum):
    """What the driver loop should do next (:meth:`Session.next_step`)."""

    IDENTIFY = "identify"  # log in (if needed) and learn what the device is
    RENEW = "renew"  # the token's lease is nearly over: log in again now
    POLL = "poll"  # a poll cycle is due and may be sent
    SHOW_OFFLINE = "show-offline"  # nothing may be sent: show the device offline, with the reason
    IDLE = "idle"  # nothing to do until the next wake-up


@attrs.frozen
class Authorization:
    """Whether an authenticated request may go out now (:meth:`Session.authorize`).

    Exactly one holds: ``token`` (use it), ``login`` (log in first), ``refused`` (the reason no
    request may be sent: logins are paused for account safety).
    """

    token: Optional[str] = attrs.field(default=None, repr=False)
    login: bool = False
    refused: Optional[str] = None


class _Event(enum.Enum):
    LOGIN_OK = "login_ok"
    LOGIN_REFUSED = "login_refused"
    AUTH_ERROR = "auth_error"
    LEASE_ENDING = "lease_ending"
    RETRY_DUE = "retry_due"
    TRANSPORT_FAILED = "transport_failed"
    TRANSPORT_OK = "transport_ok"
    LOGOUT = "logout"


EnumT = TypeVar("EnumT", bound=enum.Enum)


def plain_members(members: Type[EnumT]) -> Type[EnumT]:
    """The members of the Enum ``members`` as the attributes of a plain class, typed as the
    Enum itself: ``S.READY`` is the very member either way, only faster to read.

    Up to Python 3.11 every read of a member through its Enum class (``SessionState.READY``)
    goes through the metaclass's ``__getattr__`` hook: about 100 ns, against 20 ns for a plain
    class attribute. The driver reads about 40 members per poll cycle (identity tests of a
    state, a phase, a step): some 4 us of a 35 us cycle. Only reads go through the plain
    class; iterate, look up or annotate with the Enum itself."""
    return cast(Type[EnumT], type(members.__name__, (), dict(members.__members__)))


S = plain_members(SessionState)
E = _Event
_Steps = plain_members(Step)  # next_step() answers once per turn

# (state, event) -> next state. A pair that is not here leaves the state as it is.
_TRANSITIONS: Dict[Tuple[SessionState, _Event], SessionState] = {
    (S.LOGGED_OUT, E.LOGIN_OK): S.READY,
    (S.LOGGED_OUT, E.LOGIN_REFUSED): S.LOCKED_OUT,
    (S.LOGGED_OUT, E.TRANSPORT_FAILED): S.BACKING_OFF,
    (S.READY, E.LEASE_ENDING): S.EXPIRING,
    (S.READY, E.AUTH_ERROR): S.LOGGED_OUT,
    (S.READY, E.TRANSPORT_FAILED): S.BACKING_OFF,
    (S.READY, E.LOGIN_OK): S.READY,
    (S.READY, E.LOGIN_REFUSED): S.LOCKED_OUT,
    (S.EXPIRING, E.LOGIN_OK): S.READY,
    (S.EXPIRING, E.LOGIN_REFUSED): S.LOCKED_OUT,
    (S.EXPIRING, E.AUTH_ERROR): S.LOGGED_OUT,
    (S.EXPIRING, E.TRANSPORT_FAILED): S.BACKING_OFF,
    (S.BACKING_OFF, E.TRANSPORT_OK): S.READY,
    (S.BACKING_OFF, E.LOGIN_OK): S.READY,
    (S.BACKING_OFF, E.LOGIN_REFUSED): S.LOCKED_OUT,
    (S.BACKING_OFF, E.AUTH_ERROR): S.LOGGED_OUT,
    (S.LOCKED_OUT, E.RETRY_DUE): S.LOGGED_OUT,
    (S.LOCKED_OUT, E.LOGIN_OK): S.READY,
    (S.LOCKED_OUT, E.TRANSPORT_FAILED): S.LOCKED_OUT,
}
for _state in SessionState:
    _TRANSITIONS[(_state, E.LOGOUT)] = S.LOGGED_OUT


@attrs.frozen
class SessionPolicy:
    """The numbers behind the rules in the module docstring (seconds)."""

    refresh_margin: float = 60.0
    auth_backoff: Tuple[float, ...] = (30.0, 300.0, 900.0)
    auth_retry_delay: float = 5.0
    failed_login_window: float = 600.0
    max_failed_logins: int = 3
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    offline_after: int = 2

    def transport_wait(self) -> wait_base:
        """Back-off after the n-th network failure in a row: 1, 2, 4 ... s, at most 60 s."""
        # Imported on first use: ``import reolink.protocol`` stays light (a layer rule).
        from tenacity import wait_exponential

        return wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max)

    def auth_wait(self) -> wait_base:
        """Pause after the n-th refused Login (or refused fresh token): 30 s, 5 min, 15 min..."""
        from tenacity import wait_chain, wait_fixed

        return wait_chain(*(wait_fixed(seconds) for seconds in self.auth_backoff))

    def scaled(self, factor: float) -> SessionPolicy:
        """The same rules with every duration multiplied by ``factor`` (for tests)."""
        return attrs.evolve(
            self,
            refresh_margin=self.refresh_margin * factor,
            auth_backoff=tuple(d * factor for d in self.auth_backoff),
            auth_retry_delay=self.auth_retry_delay * factor,
            failed_login_window=self.failed_login_window * factor,
            backoff_initial=self.backoff_initial * factor,
            backoff_max=self.backoff_max * factor,
        )


@attrs.frozen
class _Attempt:
    """All a wait strategy reads of tenacity's RetryCallState: the attempt number (from 1).

    tenacity's own RetryCallState reads the clock when made; the session has no clock.
    """

    attempt_number: int


def delay_after(wait: wait_base, attempt: int) -> float:
    """The delay ``wait`` gives after the ``attempt``-th failure (1 = the first): a pure
    function of the count - no sleep, no clock."""
    return float(wait(cast("RetryCallState", _Attempt(max(1, attempt)))))


@attrs.define
class Session:
    """The driver's one session with a device: token, lease, and what may happen next."""

    policy: SessionPolicy = attrs.field(factory=SessionPolicy)
    state: SessionState = SessionState.LOGGED_OUT
    lease: Optional[TokenLease] = attrs.field(default=None, repr=False)
    #: when the next automatic login or request may happen (LOCKED_OUT / BACKING_OFF).
    retry_at: float = 0.0
    #: why the device is not usable right now ("" when fine).
    reason: str = ""
    refused_logins: List[float] = attrs.field(factory=list, repr=False)
    _auth_failures: int = 0
    _transport_failures: int = 0
    _ever_reached: bool = False
    _fresh_login: bool = False
    _token_refusals: int = 0
    #: (lease, policy, its refresh time): worked out once per lease, at tick() - the queries
    #: of every turn only compare it (they never write it)
    _refresh: Tuple[Optional[TokenLease], Optional[SessionPolicy], float] = attrs.field(
        default=(None, None, 0.0), repr=False, eq=False
    )
    #: (lease, the Authorization of its token): made once per lease, at tick(), like
    #: _refresh; authorize() hands it out only for that very lease (else it builds one)
    _grant: Tuple[Optional[TokenLease], Optional[Authorization]] = attrs.field(
        default=(None, None), repr=False, eq=False
    )
    #: (now, state, lease, retry_at, policy) as tick() left them: at that very time and with
    #: those very values no time-driven transition is due (see the module docstring)
    _settled: Tuple[
        float, Optional[SessionState], Optional[TokenLease], float, Optional[SessionPolicy]
    ] = attrs.field(default=(-1.0, None, None, 0.0, None), repr=False, eq=False)

    # --- queries --------------------------------------------------------------------------

    @property
    def token(self) -> Optional[str]:
        lease = self.lease  # read once: the attribute may be replaced meanwhile
        return lease.token if lease is not None else None

    @property
    def offline(self) -> bool:
        """True when the device should be shown offline."""
        if self.state is S.LOCKED_OUT:
            return True
        failures = self._transport_failures
        return failures >= self.policy.offline_after or (failures > 0 and not self._ever_reached)

    @property
    def failing(self) -> bool:
        """True when the last exchange with the device failed on the network."""
        return self._transport_failures > 0

    def state_at(self, now: float) -> SessionState:
        """The state once time has moved to ``now`` (the lease nearly over: EXPIRING; the
        retry time of a LOCKED_OUT session reached: LOGGED_OUT). A pure query: only
        :meth:`tick` (and the ``on_*`` inputs, which apply time first) move :attr:`state`."""
        at, state, lease, retry_at, policy = self._settled
        if (
            at == now
            and state is self.state
            and lease is self.lease
            and retry_at == self.retry_at
            and policy is self.policy
        ):
            return state  # tick() applied this very time to these very values: nothing due
        event = self._time_event(now)
        if event is None:
            return self.state
        return _TRANSITIONS.get((self.state, event), self.state)

    def _time_event(self, now: float) -> Optional[_Event]:
        # The two time-driven rules, in one place: tick() fires them, queries look ahead.
        state = self.state
        if state is S.READY:
            lease = self.lease
            if lease is not None and now >= self._refresh_at(lease):
                return E.LEASE_ENDING
        elif state is S.LOCKED_OUT and now >= self.retry_at:
            return E.RETRY_DUE
        return None

    def _refresh_at(self, lease: TokenLease) -> float:
        """When ``lease`` is renewed (:meth:`TokenLease.refresh_at` with the policy's margin)."""
        cached, policy, at = self._refresh
        if cached is lease and policy is self.policy:
            return at
        return lease.refresh_at(self.policy.refresh_margin)

    def tick(self, now: float) -> None:
        """Apply time: fire the time-driven transition due at ``now`` (lease ending, retry
        time reached), and forget refused logins that left the account-safety window.
        The driver core calls it once at the top of each event; every query is pure."""
        lease = self.lease
        if lease is not None and (self._refresh[0] is not lease or self._grant[0] is not lease):
            self._refresh = (lease, self.policy, lease.refresh_at(self.policy.refresh_margin))
            self._grant = (lease, Authorization(token=lease.token))
        event = self._time_event(now)
        if event is not None:
            self._fire(event)
        self._settled = (now, self.state, self.lease, self.retry_at, self.policy)
        if self.refused_logins:
            self.refused_logins[:] = self._refusals_in_window(now)

    def login_due(self, now: float) -> bool:
        """Should the loop log in now (automatically)?"""
        return self._login_due(self.state_at(now), now)

    def _login_due(self, state: SessionState, now: float) -> bool:
        if state in (S.LOGGED_OUT, S.EXPIRING):
            return now >= self.retry_at and self.login_allowed(now) is None
        if state is S.BACKING_OFF:
            # The account-safety window holds here too: a network blip between refused
            # Logins must not open a way around it.
            return self.lease is None and now >= self.retry_at and self.login_allowed(now) is None
        return False

    def request_allowed(self, now: float) -> bool:
        """May the loop send an ordinary (authenticated) request now?"""
        return self._request_allowed(self.state_at(now), now)

    def _request_allowed(self, state: SessionState, now: float) -> bool:
        if state is S.BACKING_OFF:
            return now >= self.retry_at
        return state in (S.READY, S.EXPIRING)

    def login_allowed(self, now: float) -> Optional[str]:
        """``None`` if a Login may be sent now, else the reason it may not (account safety)."""
        if not self.refused_logins:
            return None  # the common case, every turn
        refused = self._refusals_in_window(now)
        if len(refused) >= self.policy.max_failed_logins:
            wait = refused[0] + self.policy.failed_login_window - now
            return (
                f"{len(refused)} logins were refused in the last "
                f"{self.policy.failed_login_window:.0f} s; no further login for {wait:.0f} s "
                "so the camera account is not locked"
            )
        return None

    def _refusals_in_window(self, now: float) -> List[float]:
        window_start = now - self.policy.failed_login_window
        return [t for t in self.refused_logins if t > window_start]

    def login_refusal(self, now: float, *, manual: bool = False) -> Optional[str]:
        """``None`` if a Login may be sent now, else why not.

        Two rules: the account-safety window holds for every Login (automatic or the host's
        ``login`` command); while logins are paused after a refusal (LOCKED_OUT before
        ``retry_at``), only the host's explicit ``login`` may try.
        """
        reason = self.login_allowed(now)
        if reason is not None:
            return reason
        if not manual and self.state_at(now) is S.LOCKED_OUT and self.retry_at > now:
            return f"automatic logins are paused ({self.reason})"
        return None

    def authorize(self, now: float) -> Authorization:
        """May an authenticated request go out now, and with which token?"""
        state = self.state_at(now)
        lease = self.lease  # read once
        if lease is not None and state in (S.READY, S.BACKING_OFF):
            cached, grant = self._grant
            if cached is lease and grant is not None:
                return grant  # the same value, made once for this lease (frozen)
            return Authorization(token=lease.token)
        if state is S.LOCKED_OUT:
            return Authorization(refused=self.reason or "logins are paused")
        return Authorization(login=True)

    def next_step(self, now: float, *, identified: bool, poll_due: bool) -> Step:
        """What the driver loop does next, given whether the device is identified and a poll due."""
        state = self.state_at(now)  # once: the helpers below take it
        if not identified:
            if self._login_due(state, now) or state in (S.READY, S.EXPIRING):
                return _Steps.IDENTIFY
            return _Steps.SHOW_OFFLINE
        if state is S.EXPIRING and self._login_due(state, now):
            return _Steps.RENEW
        if poll_due and (self._request_allowed(state, now) or self._login_due(state, now)):
            return _Steps.POLL
        if state is S.LOCKED_OUT:
            # Logins are paused (refused, or fresh tokens refused again): say so.
            return _Steps.SHOW_OFFLINE
        return _Steps.IDLE

    def shows_offline(self, *, auth_failed: bool) -> bool:
        """After a failure: show the device offline (True), or retry quietly (False)?"""
        return self.offline or auth_failed

    def next_wakeup(self, now: float) -> Optional[float]:
        """The earliest time at which :meth:`tick` may change something, if any."""
        state = self.state_at(now)
        lease = self.lease
        if state is S.READY and lease is not None:
            return self._refresh_at(lease)
        waits = []
        if state in (S.LOCKED_OUT, S.BACKING_OFF, S.LOGGED_OUT) and self.retry_at > now:
            waits.append(self.retry_at)
        if self.login_allowed(now) is not None:
            # The account-safety window frees up when its oldest refused login leaves it.
            waits.append(self._refusals_in_window(now)[0] + self.policy.failed_login_window)
        return max(waits) if waits else None

    # --- inputs ---------------------------------------------------------------------------

    def on_login_ok(self, token: LoginToken, now: float) -> None:
        self.tick(now)
        self.lease = TokenLease.from_login(token, now)
        self._auth_failures = 0
        self._transport_failures = 0
        self._ever_reached = True
        self._fresh_login = True
        self.retry_at = 0.0
        self.reason = ""
        self._fire(E.LOGIN_OK)

    def on_login_refused(
        self,
        action: Optional[AuthAction],
        reason: str,
        now: float,
        *,
        locked_for: Optional[float] = None,
    ) -> float:
        """A Login was answered with an error. Returns when the next automatic try may happen.

        ``locked_for``: how long the device said the account stays locked (its
        ``unlock_time``); no automatic try comes before that (a try may extend the lock).
        """
        self.tick(now)
        self.lease = None
        self._ever_reached = True
        self._transport_failures = 0
        if action is not AuthAction.RELOGIN:
            self.refused_logins.append(now)
        self._auth_failures += 1
        delay = delay_after(self.policy.auth_wait(), self._auth_failures)
        if locked_for is not None and locked_for > delay:
            delay = locked_for
        self.retry_at = now + delay
        self.reason = reason
        self._fire(E.LOGIN_REFUSED)
        return self.retry_at

    def on_auth_error(self, now: float) -> bool:
        """A command was refused for its token. True if the loop should log in and retry once."""
        self.tick(now)
        fresh = self._fresh_login
        self.lease = None
        self._fire(E.AUTH_ERROR)
        if fresh:
            # A brand-new token refused at once: another client racing on Login, or firmware
            # trouble. Logging in again now would be a login storm (and every superseded
            # token holds a session slot), so back off like a refused login: 30 s, 5 min,
            # then 15 min, until an authenticated request succeeds again.
            self._token_refusals += 1
            if self._token_refusals == 1:
                # Once can be a glitch (a renewal racing the device): one more login soon.
                self.retry_at = now + self.policy.auth_retry_delay
                return False
            delay = delay_after(self.policy.auth_wait(), self._token_refusals - 1)
            self.retry_at = now + delay
            self.reason = (
                "the device refused a brand-new token (-6/-21) again: another client may be "
                f"racing on Login; next login in {delay:.0f} s"
            )
            self._fire(E.LOGIN_REFUSED)
            return False
        return True

    def on_request_ok(self, now: float) -> None:
        self.tick(now)
        self._fresh_login = False
        self._token_refusals = 0
        self._ever_reached = True
        self._transport_failures = 0
        if self.state is S.BACKING_OFF:
            self.reason = ""
            self._fire(E.TRANSPORT_OK)

    def on_transport_failed(self, reason: str, now: float) -> float:
        """A request failed on the network. Returns when the next try may happen."""
        self.tick(now)
        if self.state is S.LOCKED_OUT:
            # The account-safety wait is longer than any network back-off: keep it.
            return self.retry_at
        self._transport_failures += 1
        delay = delay_after(self.policy.transport_wait(), self._transport_failures)
        self.retry_at = now + delay
        self.reason = reason
        self._fire(E.TRANSPORT_FAILED)
        return self.retry_at

    def on_logout(self) -> None:
        """The token was given up (Logout sent, or the device rebooted)."""
        self.lease = None
        self._fresh_login = False
        self._fire(E.LOGOUT)

    def _fire(self, event: _Event) -> None:
        self.state = _TRANSITIONS.get((self.state, event), self.state)
