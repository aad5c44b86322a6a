"""Session: the token state machine, driven with explicit ``now`` values (no real clock)."""

from __future__ import annotations

from typing import List, Optional, Tuple

import attrs
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from reolink.protocol.codes import AuthAction, classify
from reolink.protocol.results import LoginToken
from reolink.protocol.session import Session, SessionPolicy, SessionState

S = SessionState
SECRET_TOKEN = "tok-7f3a9c-secret"
WINDOW = 600.0


def token(lease: int = 3600) -> LoginToken:
    return LoginToken(name=SECRET_TOKEN, lease_time=lease)


def ready(now: float = 0.0, lease: int = 3600, policy: Optional[SessionPolicy] = None) -> Session:
    session = Session(policy=policy or SessionPolicy())
    assert session.login_due(now)
    session.on_login_ok(token(lease), now)
    return session


def max_in_window(times: List[float], window: float = WINDOW) -> int:
    """The most entries of ``times`` inside any half-open window [t, t + window)."""
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


# --- login -------------------------------------------------------------------------------


def test_new_session_is_logged_out_and_wants_a_login() -> None:
    session = Session()
    assert session.state is S.LOGGED_OUT
    assert session.token is None
    assert session.login_due(0.0)
    assert not session.request_allowed(0.0)
    assert not session.offline
    assert session.next_wakeup(0.0) is None


def test_login_ok_makes_ready() -> None:
    session = ready(now=100.0)
    assert session.state is S.READY
    assert session.token == SECRET_TOKEN
    assert session.request_allowed(100.0)
    assert not session.login_due(100.0)
    assert session.reason == ""
    assert session.retry_at == 0.0
    assert not session.offline


def test_token_is_not_in_the_repr() -> None:
    session = ready()
    assert SECRET_TOKEN not in repr(session)
    assert SECRET_TOKEN not in repr(session.lease)


# --- token refresh -----------------------------------------------------------------------


def test_refresh_60_s_before_a_normal_lease_ends() -> None:
    session = ready(now=100.0, lease=3600)
    assert session.next_wakeup(100.0) == 3640.0
    assert not session.login_due(3639.9)
    assert session.state is S.READY
    assert session.login_due(3640.0)
    assert session.state is S.READY  # a query changes nothing; time applies at tick()
    session.tick(3640.0)
    assert session.state is S.EXPIRING
    # The old token still works while the new Login is under way.
    assert session.request_allowed(3640.0)
    assert session.token == SECRET_TOKEN
    session.on_login_ok(token(3600), 3641.0)
    assert session.state is S.READY
    assert not session.login_due(3642.0)
    assert session.next_wakeup(3642.0) == 3641.0 + 3540.0


@pytest.mark.parametrize(
    ("lease", "refresh_after"),
    [
        (60, 30.0),  # half-lease: a 60 s lease must not mean a Login every poll
        (100, 50.0),  # half (50) is later than lease - margin (40)
        (120, 60.0),  # both rules agree
        (121, 61.0),  # the margin wins from twice the margin on
        (3600, 3540.0),
        (0, 3540.0),  # no leaseTime: the 3600 s default
    ],
)
def test_refresh_time_for_each_lease(lease: int, refresh_after: float) -> None:
    session = ready(now=1000.0, lease=lease)
    assert session.next_wakeup(1000.0) == 1000.0 + refresh_after
    assert not session.login_due(1000.0 + refresh_after - 0.01)
    assert session.state is S.READY
    assert session.login_due(1000.0 + refresh_after)
    assert session.state_at(1000.0 + refresh_after) is S.EXPIRING
    assert session.state is S.READY  # a query changes nothing; time applies at tick()
    session.tick(1000.0 + refresh_after)
    assert session.state is S.EXPIRING


def test_custom_refresh_margin() -> None:
    session = ready(now=0.0, lease=3600, policy=SessionPolicy(refresh_margin=300.0))
    assert not session.login_due(3299.0)
    assert session.login_due(3300.0)


# --- auth errors on commands (no login storm) --------------------------------------------


def test_auth_error_relogs_in_once_then_stops() -> None:
    session = ready(now=0.0)
    session.on_request_ok(1.0)
    # An established token is refused (-6): log in and retry once.
    assert session.on_auth_error(10.0) is True
    assert session.state is S.LOGGED_OUT
    assert session.token is None
    assert not session.request_allowed(10.0)
    assert session.login_due(10.0)
    session.on_login_ok(token(), 10.5)
    # The brand-new token is refused too: report; one more login after a short delay.
    assert session.on_auth_error(11.0) is False
    assert session.state is S.LOGGED_OUT
    assert session.retry_at == 11.0 + 5.0
    assert not session.login_due(15.99)
    assert session.next_wakeup(11.0) == 16.0
    assert session.login_due(16.0)
    # Refused again: now back off like a refused login, escalating: 30 s, 5 min, 15 min.
    session.on_login_ok(token(), 16.0)
    assert session.on_auth_error(16.5) is False
    assert session.state is S.LOCKED_OUT
    assert session.offline
    assert "brand-new token" in session.reason
    assert session.retry_at == 16.5 + 30.0
    assert not session.login_due(46.49)
    assert session.login_due(46.5)
    session.on_login_ok(token(), 46.5)
    assert session.on_auth_error(47.0) is False
    assert session.retry_at == 47.0 + 300.0
    session.on_login_ok(token(), 347.0)
    assert session.on_auth_error(347.5) is False
    assert session.retry_at == 347.5 + 900.0
    # An auth error is not a refused Login: it does not count toward the account-safety window.
    assert session.refused_logins == []
    assert session.login_allowed(1247.5) is None
    # One authenticated request that works resets the escalation.
    session.on_login_ok(token(), 1247.5)
    session.on_request_ok(1248.0)
    assert session.on_auth_error(1300.0) is True


def test_auth_error_after_a_successful_request_retries_again() -> None:
    session = ready(now=0.0)
    assert session.on_auth_error(1.0) is False  # fresh token refused
    session.on_login_ok(token(), 6.0)
    session.on_request_ok(7.0)  # the token worked: no longer "fresh"
    assert session.on_auth_error(100.0) is True
    assert session.login_due(100.0)


def test_auth_error_while_expiring_or_backing_off_logs_out() -> None:
    session = ready(now=0.0, lease=60)
    session.on_request_ok(1.0)
    assert session.login_due(30.0)
    session.tick(30.0)
    assert session.state is S.EXPIRING
    assert session.on_auth_error(31.0) is True
    assert session.state is S.LOGGED_OUT

    session = ready(now=0.0)
    session.on_request_ok(1.0)
    session.on_transport_failed("timed out", 2.0)
    assert session.state is S.BACKING_OFF
    assert session.on_auth_error(3.0) is True
    assert session.state is S.LOGGED_OUT
    assert session.token is None


@pytest.mark.parametrize("code", [-6, -21])
def test_token_codes_classify_as_relogin(code: int) -> None:
    # What makes the client call on_auth_error: -6 "please login first", -21 "error token".
    assert classify("GetMdState", code, "please login first") is AuthAction.RELOGIN


# --- refused logins: back-off schedule ---------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [AuthAction.BAD_CREDENTIALS, AuthAction.LOCKED_OUT, AuthAction.SESSION_LIMIT, None],
)
def test_refused_login_backoff_schedule(action: Optional[AuthAction]) -> None:
    session = Session()
    now = 0.0
    delays = []
    for _ in range(6):
        assert session.login_due(now)
        retry_at = session.on_login_refused(action, "login failed", now)
        assert session.state is S.LOCKED_OUT
        assert session.offline
        assert session.reason == "login failed"
        assert session.retry_at == retry_at
        assert not session.request_allowed(now)
        assert session.next_wakeup(now) == retry_at
        assert not session.login_due(retry_at - 0.01)
        assert session.state is S.LOCKED_OUT
        delays.append(retry_at - now)
        now = retry_at
    assert delays == [30.0, 300.0, 900.0, 900.0, 900.0, 900.0]
    assert session.login_due(now)
    assert session.state is S.LOCKED_OUT  # a query changes nothing; time applies at tick()
    session.tick(now)
    assert session.state is S.LOGGED_OUT


def test_login_ok_restarts_the_schedule() -> None:
    session = Session()
    assert session.on_login_refused(AuthAction.LOCKED_OUT, "frequent logins", 0.0) == 30.0
    assert session.on_login_refused(AuthAction.LOCKED_OUT, "frequent logins", 30.0) == 330.0
    session.on_login_ok(token(), 330.0)
    assert session.state is S.READY
    assert not session.offline
    assert session.reason == ""
    assert session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 400.0) == 430.0


def test_relogin_answer_to_login_backs_off_but_is_not_a_refused_login() -> None:
    session = Session()
    assert session.on_login_refused(AuthAction.RELOGIN, "please login first", 0.0) == 30.0
    assert session.state is S.LOCKED_OUT
    assert session.refused_logins == []


# --- account safety ----------------------------------------------------------------------


def test_wrong_password_loop_for_two_hours_never_exceeds_3_logins_in_10_minutes() -> None:
    session = Session()
    attempts: List[float] = []
    now = 0.0
    while now < 2 * 3600.0:
        if session.login_due(now):
            attempts.append(now)
            session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", now)
        now += 0.5
    assert max_in_window(attempts) <= 3
    # The loop keeps trying on the documented schedule: 30 s, 5 min, then every 15 min.
    assert attempts[:4] == [0.0, 30.0, 330.0, 1230.0]
    assert all(b - a == 900.0 for a, b in zip(attempts[2:], attempts[3:]))
    assert len(attempts) == 10


def test_manual_logins_count_toward_the_window() -> None:
    # A host that presses "login" every 7 s on top of the loop: the client asks
    # login_allowed before every Login, automatic or manual.
    session = Session()
    attempts: List[float] = []
    now = 0.0
    while now < 2 * 3600.0:
        manual = now % 7.0 == 0.0
        if (manual and session.login_allowed(now) is None) or session.login_due(now):
            attempts.append(now)
            session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", now)
        now += 0.5
    assert max_in_window(attempts) <= 3
    assert len(attempts) > 10


def test_login_allowed_refuses_a_fourth_login_in_the_window() -> None:
    # Short automatic back-off so only the window rule can stop the 4th Login.
    session = Session(policy=SessionPolicy(auth_backoff=(1.0,)))
    for now in (0.0, 1.0, 2.0):
        assert session.login_allowed(now) is None
        session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", now)
    reason = session.login_allowed(3.0)
    assert reason is not None
    assert "3 logins were refused" in reason
    assert "597 s" in reason
    assert not session.login_due(3.0)
    session.tick(3.0)
    assert session.state is S.LOGGED_OUT  # the back-off is over; only the window holds
    assert session.login_allowed(599.9) is not None
    assert not session.login_due(599.9)
    # The refusal at t=0 leaves the window at t=600.
    assert session.login_allowed(600.0) is None
    assert session.login_due(600.0)


def test_login_allowed_ignores_the_backoff_but_not_the_window() -> None:
    # A manual login may be sent during the back-off (the window is the hard limit).
    session = Session()
    session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 0.0)
    assert not session.login_due(1.0)
    assert session.login_allowed(1.0) is None


_OPS = st.sampled_from(["auto", "manual", "transport", "auth", "ok", "logout"])
_ACTIONS = st.sampled_from(
    [AuthAction.BAD_CREDENTIALS, AuthAction.LOCKED_OUT, AuthAction.SESSION_LIMIT, None]
)


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(
        st.tuples(_OPS, st.floats(min_value=0.0, max_value=400.0), _ACTIONS, st.booleans()),
        max_size=60,
    ),
    st.sampled_from([SessionPolicy(), SessionPolicy(auth_backoff=(1.0,))]),
)
def test_no_event_sequence_breaks_the_login_window(
    steps: List[Tuple[str, float, Optional[AuthAction], bool]], policy: SessionPolicy
) -> None:
    """Whatever happens in between, refused Logins never exceed 3 per 10 minutes and
    login_due never says yes while login_allowed says no."""
    session = Session(policy=policy)
    refused: List[float] = []
    now = 0.0
    for op, advance, action, succeed in steps:
        now += advance
        due = session.login_due(now)
        if due:
            assert session.login_allowed(now) is None
        if op in ("auto", "manual"):
            if (op == "auto" and due) or (op == "manual" and session.login_allowed(now) is None):
                if succeed:
                    session.on_login_ok(token(), now)
                else:
                    refused.append(now)
                    session.on_login_refused(action, "login failed", now)
        elif op == "transport":
            session.on_transport_failed("connection refused", now)
        elif op == "auth":
            session.on_auth_error(now)
        elif op == "ok":
            session.on_request_ok(now)
        else:
            session.on_logout()
    assert max_in_window(refused) <= policy.max_failed_logins


# --- transport failures ------------------------------------------------------------------


def test_transport_backoff_doubles_from_1_s_to_60_s() -> None:
    session = ready(now=0.0)
    session.on_request_ok(0.0)
    now = 10.0
    delays = []
    for _ in range(9):
        retry_at = session.on_transport_failed("connection refused", now)
        assert session.state is S.BACKING_OFF
        assert session.reason == "connection refused"
        assert not session.request_allowed(retry_at - 0.01)
        assert session.request_allowed(retry_at)
        # The token is still held: back-off is not a reason to log in again.
        assert not session.login_due(retry_at)
        assert session.next_wakeup(now) == retry_at
        delays.append(retry_at - now)
        now = retry_at
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_offline_after_two_failures_and_success_resets() -> None:
    session = ready(now=0.0)
    session.on_request_ok(0.5)
    session.on_transport_failed("timed out", 1.0)
    assert not session.offline  # one blip on a known device is not "offline"
    session.on_transport_failed("timed out", 2.0)
    assert session.offline
    session.on_request_ok(4.0)
    assert not session.offline
    assert session.state is S.READY
    assert session.reason == ""
    # The back-off starts from 1 s again.
    assert session.on_transport_failed("timed out", 10.0) == 11.0
    assert not session.offline


def test_offline_at_first_failure_when_never_reached() -> None:
    session = Session()
    retry_at = session.on_transport_failed("connection refused", 0.0)
    assert retry_at == 1.0
    assert session.offline
    assert session.state is S.BACKING_OFF
    assert not session.login_due(0.5)
    assert session.login_due(1.0)  # no token yet: the retry is a Login
    session.on_login_ok(token(), 1.0)
    assert not session.offline
    assert session.state is S.READY


def test_refused_login_means_the_device_was_reached() -> None:
    session = Session()
    session.on_transport_failed("connection refused", 0.0)
    session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 1.0)
    assert session.state is S.LOCKED_OUT
    session.on_logout()
    assert session.state is S.LOGGED_OUT
    session.on_transport_failed("connection refused", 2.0)
    assert not session.offline  # reached once before, so one failure is not enough


def test_transport_failure_keeps_the_account_safety_wait() -> None:
    session = Session()
    retry_at = session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 0.0)
    assert session.on_transport_failed("timed out", 5.0) == retry_at
    assert session.state is S.LOCKED_OUT
    assert session.reason == "login failed"


def test_login_ok_resets_transport_failures() -> None:
    session = Session()
    session.on_transport_failed("refused", 0.0)
    session.on_transport_failed("refused", 1.0)
    assert session.offline
    session.on_login_ok(token(), 3.0)
    assert not session.offline
    assert session.on_transport_failed("refused", 4.0) == 5.0


# --- logout ------------------------------------------------------------------------------


def _in_state(state: SessionState) -> Session:
    session = ready(now=0.0, lease=60)
    if state is S.EXPIRING:
        assert session.login_due(30.0)
        session.tick(30.0)
    elif state is S.BACKING_OFF:
        session.on_transport_failed("refused", 1.0)
    elif state is S.LOCKED_OUT:
        session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 1.0)
    elif state is S.LOGGED_OUT:
        session.on_logout()
    assert session.state is state
    return session


@pytest.mark.parametrize("state", list(SessionState))
def test_logout_from_any_state(state: SessionState) -> None:
    session = _in_state(state)
    session.on_logout()
    assert session.state is S.LOGGED_OUT
    assert session.token is None
    assert not session.request_allowed(31.0)


def test_logout_then_login_again() -> None:
    session = ready(now=0.0)
    session.on_logout()
    assert session.login_due(1.0)
    session.on_login_ok(token(), 1.0)
    assert session.state is S.READY


# --- policy ------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = SessionPolicy()
    assert policy.refresh_margin == 60.0
    assert policy.auth_backoff == (30.0, 300.0, 900.0)
    assert policy.auth_retry_delay == 5.0
    assert policy.failed_login_window == 600.0
    assert policy.max_failed_logins == 3
    assert policy.backoff_initial == 1.0
    assert policy.backoff_max == 60.0
    assert policy.offline_after == 2


def test_policy_scaled() -> None:
    policy = SessionPolicy()
    fast = policy.scaled(0.01)
    assert fast.refresh_margin == pytest.approx(0.6)
    assert fast.auth_backoff == pytest.approx((0.3, 3.0, 9.0))
    assert fast.auth_retry_delay == pytest.approx(0.05)
    assert fast.failed_login_window == pytest.approx(6.0)
    assert fast.backoff_initial == pytest.approx(0.01)
    assert fast.backoff_max == pytest.approx(0.6)
    # Counts are not durations.
    assert fast.max_failed_logins == 3
    assert fast.offline_after == 2
    assert policy == SessionPolicy()  # the original is untouched (frozen)


def test_scaled_policy_drives_the_session() -> None:
    session = Session(policy=SessionPolicy().scaled(0.01))
    assert session.on_login_refused(AuthAction.BAD_CREDENTIALS, "x", 0.0) == pytest.approx(0.3)
    session.on_login_ok(token(), 1.0)
    assert session.on_transport_failed("refused", 2.0) == pytest.approx(2.01)


def test_queries_change_nothing() -> None:
    """login_due, request_allowed, authorize, next_step, next_wakeup and login_refusal are
    pure: time moves the state only at tick() (the driver core calls it once per event)."""
    session = ready(now=0.0, lease=60)
    session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 1.0)
    session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 31.0)
    before = repr(attrs.asdict(session, recurse=False))
    for now in (0.0, 31.0, 400.0, 5000.0):
        session.login_due(now)
        session.request_allowed(now)
        session.authorize(now)
        session.next_step(now, identified=True, poll_due=True)
        session.next_step(now, identified=False, poll_due=False)
        session.next_wakeup(now)
        session.login_refusal(now)
        session.login_allowed(now)
        session.state_at(now)
    assert repr(attrs.asdict(session, recurse=False)) == before
    session.tick(5000.0)
    assert session.state is S.LOGGED_OUT
    assert session.refused_logins == []  # left the window: forgotten at tick()
