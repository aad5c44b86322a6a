"""Requests to one device, as sans-I/O flows: generators that yield what to send.

A flow (``Flow``) is a generator that yields :class:`~reolink.driver.messages.Send` (send this
request and resume me with the :class:`~reolink.transport.Response`, or throw the
``TransportError`` into me) or :class:`Pause` (resume me with ``None`` at ``until``). The driver
core runs flows; it sets :attr:`DeviceClient.now` before every resumption. Nothing here sends,
sleeps or reads a clock.

The client keeps the :class:`~reolink.protocol.session.Session` informed of every outcome and
applies the retry rules (the request-safety rule of :mod:`reolink.transport`, decided there by
:func:`reolink.transport.decide`; nothing here tests ``repeatable`` or ``request_sent`` itself):

* a request that provably never left (``request_sent`` False, e.g. connection refused) may be
  sent once more after a short pause, whatever it does;
* a request that may have reached the device is sent again only when it is read-only (``Get*``,
  marked ``repeatable``) and its caller has time left; a command that changes something
  (PtzCtrl, AudioAlarmPlay, Reboot, Set*) whose reply was lost fails with an error that says
  the device may have executed it, and nothing sends it again;
* a batch answered short, or with one global error, is retried command by command; a command
  that keeps timing out alone is left out of later batches for the rest of the session;
* an auth error on a command (-6 please login first: the device refused, it did not execute)
  logs in again once and retries once - when the session allows (:meth:`Session.on_auth_error`).

On the hot path (the same poll every cycle) the client keeps memos of pure functions only,
each keyed by every argument it reads, so none can go stale and none decides anything: the
frozen :class:`~reolink.transport.Request` built for the same fields (kept in the frozen Send
that carries it), the target for the same (cmd, token) - a renewed token is a new key - and
the replies decoded from the same bytes, and a reply entry decoded from the same text in one
of the last two answers (:func:`reolink.protocol.batch.decode_batch_reusing`). Only the
poll's requests and answers are kept: nothing else repeats, and a Login's body holds the
password.
"""

from __future__ import annotations

from typing import Dict, Generator, List, Mapping, Optional, Sequence, Set, Tuple, TypeVar, Union

import attrs

from ..errors import (
    ApiError,
    AuthError,
    BatchShapeError,
    CredentialsError,
    LeftOutError,
    LockedOutError,
    RemoteProtocolError,
    ReolinkError,
    ResponseTooLarge,
    Timeout,
    TransportError,
    TransportProtocolError,
)
from ..protocol import batch as pbatch
from ..protocol import codes, commands, envelope, parsers, snap
from ..protocol.results import CommandReply
from ..protocol.session import Session
from ..redact import redact_target
from ..transport import (
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_JSON_BYTES,
    Failure,
    Request,
    Response,
    decide,
)
from .config import DeviceConfig
from .logs import DeviceLog
from .messages import Send

__all__ = [
    "BLACKLIST_AFTER",
    "DeviceClient",
    "Flow",
    "Pause",
    "lost_reply",
    "unreadable_reply",
]

T = TypeVar("T")
Command = Mapping[str, object]
#: after this many lone timeouts a (cmd, channel) pair is left out of batches for the session.
BLACKLIST_AFTER = 2
#: the pause before sending again a request that never left.
RETRY_PAUSE = 0.05
_JSON_HEADERS = {"Content-Type": "application/json"}
#: most entries a memo of the client holds (it starts afresh when full)
_MEMO_SIZE = 16


@attrs.frozen
class Pause:
    """Resume the flow with ``None`` at ``until`` (a short wait before a retry)."""

    until: float


Flow = Generator[Union[Send, "Pause"], Optional[Response], T]
#: A poll plan's pre-encoded parts: (commands, body) per request of at most 35 commands.
Parts = Sequence[Tuple[Sequence[Command], bytes]]


def _key(command: Command) -> Tuple[str, Optional[int]]:
    return str(command.get("cmd")), pbatch.command_channel(command)


def _names(batch: Sequence[Command]) -> str:
    """How a batch is named in messages: its first commands."""
    names = "+".join(str(c.get("cmd")) for c in batch[:3])
    return names + ("+..." if len(batch) > 3 else "")


def unreadable_reply(
    error: RemoteProtocolError, batch: Sequence[Command], *, repeatable: bool, changes: bool
) -> RemoteProtocolError:
    """The error for an unreadable answer: for a command that changes something, it says the
    device may have executed it (the request reached it) and that it was not sent again.

    ``repeatable`` and ``changes`` are the request's facts, as it was sent. The request-safety
    decision (:func:`reolink.transport.decide`) says which: an answer came, so the request was
    sent and did not time out."""
    kind = _Kind(repeatable=repeatable, changes_state=changes)
    if not decide(kind, Failure(sent=True)).may_have_run:
        return error
    wrapped = RemoteProtocolError(
        f"{_names(batch)}: the reply could not be read ({error}); the device may have "
        "executed it, so it was not sent again",
        http_status=error.http_status,
    )
    wrapped.may_have_run = True
    return wrapped


@attrs.frozen
class _Kind:
    """What :func:`decide` reads of a request, where only the batch is at hand."""

    repeatable: bool
    changes_state: bool


def lost_reply(error: TransportError, what: str) -> TransportError:
    """The error for a command that changes something whose reply was lost: not repeated."""
    if isinstance(error, ResponseTooLarge):
        # The reply came, too large to read: the device ran the command (the message says why
        # the reply was not read; the field says it may have run, as for any lost reply).
        error.may_have_run = True
        return error
    detail = str(error)
    if not error.may_have_run:  # else the transport's message says so already
        detail += "; the device may have executed it, so it was not sent again"
    message = f"{what}: the reply was lost ({detail})"
    kind = (
        Timeout
        if isinstance(error, Timeout)
        else TransportProtocolError
        if isinstance(error, TransportProtocolError)
        else TransportError
    )
    lost = kind(message, request_sent=True)
    lost.may_have_run = True
    return lost


#: The fields of a Request the client builds: method, target, body, timeout (both),
#: max_body, repeatable, changes (see DeviceClient._send).
_RequestKey = Tuple[str, str, Optional[bytes], float, int, bool, bool]
#: One answer kept for a poll body: (response body, replies, its entries by their text).
_Answer = Tuple[bytes, List[CommandReply], pbatch.Known]


def _new_send(key: _RequestKey) -> Send:
    method, target, body, budget, max_body, repeatable, changes = key
    return Send(Request(
        method,
        target,
        body,
        headers=_JSON_HEADERS if body is not None else {},
        connect_timeout=budget,
        read_timeout=budget,
        max_body=max_body,
        repeatable=repeatable,
        changes_state=changes and not repeatable,
    ))


class DeviceClient:
    """One device's session and request flows. Driven by the core only (not thread-safe)."""

    def __init__(self, config: DeviceConfig, session: Session, log: DeviceLog) -> None:
        self.config = config
        self.session = session
        self.log = log
        #: the time of the event being handled (set by the core before each resumption).
        self.now = 0.0
        #: snapshots taken (numbers the anti-cache rs when no nonce came with the command)
        self._snaps = 0
        #: (cmd, channel) pairs left out of batches for this session (they keep timing out).
        self.blacklist: Set[Tuple[str, Optional[int]]] = set()
        self._lone_timeouts: Dict[Tuple[str, Optional[int]], int] = {}
        self.requests_sent = 0
        self.logins_sent = 0
        # The last two all-success answers per poll body, newest first: request body ->
        # ((response body, replies, its entries by their text), ...). A memo of pure
        # functions (decoding the same bytes for the same request gives the same replies; an
        # entry's text, the same entry: see pbatch.decode_batch_reusing), so it cannot go
        # stale; it decides nothing for the host: whether an answer changes any attribute is
        # the AttributeStore's call (driver/store.py). Two, because a detection's end brings
        # back the answer before its start. Only the poll's batches are kept (``memo=True``):
        # they repeat every cycle. A one-off answer (identification's GetAbility: about
        # 100 KB decoded at 8 channels; a Login, whose request body holds the password) would
        # only be held until the next reconnect.
        self._last_reply: Dict[bytes, Tuple[_Answer, ...]] = {}
        #: memos of pure functions, keyed by every argument (see _send, _api_target); the
        #: first holds the Send of each frozen Request
        self._requests: Dict[_RequestKey, Send] = {}
        self._targets: Dict[Tuple[Optional[str], Optional[str]], str] = {}

    # --- raw requests -----------------------------------------------------------------

    def _timeout(self, deadline: Optional[float]) -> float:
        budget = self.config.request_timeout
        if deadline is not None:
            budget = min(budget, deadline - self.now)
        if budget <= 0:
            raise Timeout("no time left for the request (request_timeout)")
        return budget

    def _send(
        self,
        method: str,
        target: str,
        body: Optional[bytes],
        budget: float,
        max_body: int,
        repeatable: bool,
        changes: bool,
        memo: bool,
    ) -> Send:
        """The Send of the Request for these fields: frozen values, so for a poll (``memo``)
        the one built last time for the same fields is handed out again (a memo of a pure
        constructor, keyed by every field it reads: it cannot go stale). A poll sends the
        same request every cycle; other requests are not kept (a Login's body holds the
        password)."""
        key = (method, target, body, budget, max_body, repeatable, changes)
        if not memo:
            return _new_send(key)
        send = self._requests.get(key)
        if send is None:
            if len(self._requests) >= _MEMO_SIZE:
                self._requests.clear()
            send = self._requests[key] = _new_send(key)
        return send

    def _api_target(self, cmd: Optional[str], token: Optional[str]) -> str:
        """:func:`commands.api_target`, memoized by its arguments (a pure function)."""
        key = (cmd, token)
        target = self._targets.get(key)
        if target is None:
            if len(self._targets) >= _MEMO_SIZE:
                self._targets.clear()
            target = self._targets[key] = commands.api_target(cmd=cmd, token=token)
        return target

    def exchange(
        self,
        method: str,
        target: str,
        body: Optional[bytes],
        *,
        deadline: Optional[float],
        max_body: int,
        repeatable: bool,
        what: Union[str, Sequence[Command]],
        changes: bool = True,
        memo: bool = False,
    ) -> Flow[Response]:
        """One HTTP exchange under the request-safety rule; failures are fed to the session.

        ``changes``: running the request may change something on the device (see
        :func:`reolink.protocol.batch.changes_state`); a lost reply to one that is not
        repeatable is "may have run".
        ``memo``: a poll's request, sent again every cycle (see :meth:`_send`).
        """
        for attempt in (1, 2):
            budget = self._timeout(deadline)
            send = self._send(method, target, body, budget, max_body, repeatable, changes, memo)
            if self.log.enabled(10):
                self.log.debug("%s %s", method, redact_target(target))
            try:
                response = yield send
            except TransportError as error:
                # Counted when it may have reached the device: a refused connection sent nothing.
                self.requests_sent += int(error.request_sent)
                name = what if isinstance(what, str) else _names(what)
                time_left = deadline is not None and deadline > self.now
                decision = decide(send.request, Failure.of(error, time_left=time_left))
                if attempt == 1 and decision.repeat:
                    self.log.debug("%s failed (%s); sending it once more", name, error)
                    yield Pause(self.now + RETRY_PAUSE)
                    continue
                self.session.on_transport_failed(str(error), self.now)
                if decision.may_have_run:
                    raise lost_reply(error, name) from error
                raise
            assert response is not None
            self.requests_sent += 1
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(
        self,
        batch: Sequence[Command],
        token: Optional[str],
        deadline: Optional[float],
        body: Optional[bytes] = None,
        repeatable: Optional[bool] = None,
        memo: bool = False,
    ) -> Flow[Tuple[List[CommandReply], Optional[bytes]]]:
        """POST one batch; returns (replies, response body if every reply is a success).

        ``memo``: keep an all-success answer to skip decoding the same bytes next time.
        """
        if body is None:
            body = pbatch.encode_body(batch)
        first = str(batch[0].get("cmd")) if len(batch) == 1 else None
        if repeatable is None:
            repeatable = pbatch.is_read_only(batch)
        # Read only for a request that is not repeatable: a poll's batch is not scanned.
        changes = not repeatable and pbatch.changes_state(batch)
        response = yield from self.exchange(
            "POST",
            self._api_target(first, token),
            body,
            deadline=deadline,
            max_body=DEFAULT_MAX_JSON_BYTES,
            repeatable=repeatable,
            what=batch,
            changes=changes,
            memo=memo,
        )
        try:
            return self._decoded(body, response, batch, memo)
        except RemoteProtocolError as error:
            # Garbage in place of a reply counts as a failed exchange (the device is not
            # usable), so a device that only answers HTML pages is shown offline.
            self.session.on_transport_failed(str(error), self.now)
            wrapped = unreadable_reply(error, batch, repeatable=repeatable, changes=changes)
            if wrapped is error:
                raise
            raise wrapped from error

    def _decoded(
        self, body: bytes, response: Response, batch: Sequence[Command], memo: bool
    ) -> Tuple[List[CommandReply], Optional[bytes]]:
        """The replies to ``batch`` (and the response body if every one is a success); a
        poll's (``memo``) read through and kept in ``_last_reply``."""
        answers = self._last_reply.get(body, ()) if memo else ()
        if answers and response.status == 200:
            # Byte-for-byte an answer this request got in the last two (the steady state of
            # polling; a detection's end): the same, already validated replies.
            raw = response.body
            if raw == answers[0][0]:
                return answers[0][1], raw
            if len(answers) > 1 and raw == answers[1][0]:
                self._last_reply[body] = (answers[1], answers[0])
                return answers[1][1], raw
        envelope.check_status(response.status, response.content_type, response.body)
        known: pbatch.Known = {}
        if not memo:
            replies = pbatch.decode_batch(response.body, batch)
        else:
            # Only the entries that are not in the last two answers are decoded.
            replies, known = pbatch.decode_batch_reusing(
                response.body, batch, *[answer[2] for answer in answers]
            )
        if not all(reply.error is None for reply in replies):
            return replies, None
        if memo:
            if body not in self._last_reply and len(self._last_reply) >= 8:
                self._last_reply.clear()
            self._last_reply[body] = ((response.body, replies, known), *answers[:1])
        return replies, response.body

    # --- session ----------------------------------------------------------------------

    def login(self, *, manual: bool = False, deadline: Optional[float] = None) -> Flow[None]:
        """Send Login. Raises the device's error (CredentialsError, LockedOutError...) if refused.

        Sends nothing while the session forbids a login (account safety).
        """
        reason = self.session.login_refusal(self.now, manual=manual)
        if reason is not None:
            raise LockedOutError(f"login not sent: {reason}", cmd="Login", rsp_code=None)
        if self.session.token is not None:
            # Renewing: give the old session back first so the device's small session table
            # never fills up with our own stale tokens (-5 max session).
            yield from self.logout(deadline=deadline)
        sent_before = self.requests_sent
        try:
            replies, _ = yield from self._post(
                [commands.build_login(self.config.username, self.config.password)], None, deadline
            )
            token = parsers.parse_login(replies[0])
        except ApiError as error:
            action = codes.action_of(error)
            locked_for = error.unlock_seconds if isinstance(error, LockedOutError) else None
            retry_at = self.session.on_login_refused(
                action, str(error), self.now, locked_for=locked_for
            )
            self.log.warning(
                "login refused (%s); next automatic login in %.0f s", error, retry_at - self.now
            )
            raise
        finally:
            # A Login whose connection was refused never reached the device: not counted.
            self.logins_sent += self.requests_sent - sent_before
        self.session.on_login_ok(token, self.now)
        self.blacklist.clear()
        self._lone_timeouts.clear()
        self.log.debug("logged in (lease %d s)", token.lease_time)

    def logout(self, *, deadline: Optional[float] = None) -> Flow[None]:
        """Send Logout for the current token (if any) and forget it, whatever the answer."""
        token = self.session.token
        self.session.on_logout()
        if token is None:
            return
        try:
            replies, _ = yield from self._post([commands.build_logout()], token, deadline)
            parsers.parse_ok(replies[0])
        except ReolinkError as error:
            self.log.debug("logout: %s", error)

    def ensure_session(self, deadline: Optional[float] = None) -> Flow[str]:
        """A usable token, logging in first when the session says so (and allows it)."""
        grant = self.session.authorize(self.now)
        if grant.token is not None:
            return grant.token
        if grant.refused is not None:
            raise LockedOutError(f"not logged in: {grant.refused}", cmd="Login", rsp_code=None)
        yield from self.login(deadline=deadline)
        token = self.session.token
        assert token is not None
        return token

    # --- commands ---------------------------------------------------------------------

    def call(
        self,
        batch: Sequence[Command],
        *,
        deadline: Optional[float] = None,
        repeatable: Optional[bool] = None,
    ) -> Flow[List[CommandReply]]:
        """Send commands (any number; chunked at 35) and return one reply per command, in order.

        ``repeatable`` defaults to "every command is a Get*"; the automatic PTZ Stop passes True.
        """
        replies, _ = yield from self.call_parts(
            None, batch, deadline=deadline, repeatable=repeatable
        )
        return replies

    def call_parts(
        self,
        parts: Optional[Parts],
        batch: Sequence[Command],
        *,
        deadline: Optional[float] = None,
        repeatable: Optional[bool] = None,
        memo: bool = False,
    ) -> Flow[Tuple[List[CommandReply], Optional[Tuple[bytes, ...]]]]:
        """Like :meth:`call`, with pre-encoded ``parts`` (a poll plan's) when given.

        Also returns the response bodies when every part was answered in full without error
        (a value the poller compares with last cycle's), else None. ``memo``: a batch sent
        again and again (the poll's): its answers are kept (see ``_last_reply``).
        """
        if self.blacklist:
            replies = yield from self._call_without_left_out(batch, deadline, repeatable)
            return replies, None
        if parts is None:
            parts = pbatch.encode_parts(batch)
        if len(parts) == 1:
            part, body = parts[0]
            replies, answered = yield from self._call_chunk(part, deadline, body, repeatable, memo)
            return replies, (answered,) if answered is not None else None
        combined: List[CommandReply] = []
        bodies: List[Optional[bytes]] = []
        for part, body in parts:
            part_replies, answered = yield from self._call_chunk(
                part, deadline, body, repeatable, memo
            )
            combined.extend(part_replies)
            bodies.append(answered)
        if any(b is None for b in bodies):
            return combined, None
        return combined, tuple(b for b in bodies if b is not None)

    def _call_without_left_out(
        self, batch: Sequence[Command], deadline: Optional[float], repeatable: Optional[bool]
    ) -> Flow[List[CommandReply]]:
        """Blacklisted commands are answered locally with a LeftOutError and not sent."""
        replies: List[Optional[CommandReply]] = [None] * len(batch)
        todo = []
        for index, command in enumerate(batch):
            cmd, channel = _key(command)
            if (cmd, channel) in self.blacklist:
                replies[index] = CommandReply(
                    cmd=cmd,
                    error=LeftOutError(
                        f"{cmd} (channel {channel}) left out: it kept timing out alone, so it "
                        "is not sent again until the next login",
                        cmd=cmd,
                        rsp_code=-8,
                        detail="timeout",
                        channel=channel,
                    ),
                )
            else:
                todo.append(index)
        for chunk in pbatch.chunk(todo) if todo else []:
            part = [batch[i] for i in chunk]
            chunk_replies, _ = yield from self._call_chunk(part, deadline, None, repeatable)
            for index, reply in zip(chunk, chunk_replies):
                replies[index] = reply
        return [r for r in replies if r is not None]

    def _call_chunk(
        self,
        batch: Sequence[Command],
        deadline: Optional[float],
        body: Optional[bytes] = None,
        repeatable: Optional[bool] = None,
        memo: bool = False,
    ) -> Flow[Tuple[List[CommandReply], Optional[bytes]]]:
        # The token in hand (every poll but a login's) is taken without the detour through
        # ensure_session's generator; ensure_session decides everything else.
        token = self.session.authorize(self.now).token
        if token is None:
            token = yield from self.ensure_session(deadline)
        try:
            replies, answered = yield from self._post(
                batch, token, deadline, body, repeatable, memo
            )
        except BatchShapeError as error:
            self.log.info("%s; retrying %d commands one by one", error, len(batch))
            if len(batch) == 1:
                raise
            alone = []
            for command in batch:
                alone.append((yield from self._call_alone(command, deadline)))
            return alone, None
        # An all-success answer (``answered``) has no refused token: skip the scan.
        refused = [] if answered is not None else _refused_indexes(replies)
        if refused:
            replies = list(replies)
            again = yield from self._after_token_refused(batch, replies, refused, deadline)
            if not again:
                return replies, None
            answered = None
        self.session.on_request_ok(self.now)
        return replies, answered

    def _after_token_refused(
        self,
        batch: Sequence[Command],
        replies: List[CommandReply],
        refused: List[int],
        deadline: Optional[float],
    ) -> Flow[bool]:
        """The token was refused (-6...): the device did not run those commands. Log in once
        and send them once more, if the session allows. True when the retry was accepted."""
        if not self.session.on_auth_error(self.now):
            return False
        self.log.info("token refused (%s); logging in again", replies[refused[0]].error)
        token = yield from self.ensure_session(deadline)
        retried, _ = yield from self._post([batch[i] for i in refused], token, deadline)
        for index, reply in zip(refused, retried):
            replies[index] = reply
        if any(_token_refused(r) for r in retried):
            # Refused again with a brand-new token: the session backs off (no storm).
            self.session.on_auth_error(self.now)
            return False
        return True

    def _call_alone(self, command: Command, deadline: Optional[float]) -> Flow[CommandReply]:
        key = _key(command)
        try:
            replies, _ = yield from self._call_chunk([command], deadline)
            reply = replies[0]
        except (Timeout, BatchShapeError) as error:
            reply = CommandReply(
                cmd=key[0],
                error=codes.error_from_entry(
                    {"cmd": key[0], "code": 1, "error": {"rspCode": -8, "detail": "timeout"}},
                    channel=key[1],
                ),
            )
            self.log.debug("%s alone failed: %s", key[0], error)
        timed_out = isinstance(reply.error, ApiError) and reply.error.rsp_code in (-8, -10)
        if timed_out:
            self._lone_timeouts[key] = self._lone_timeouts.get(key, 0) + 1
            if self._lone_timeouts[key] >= BLACKLIST_AFTER:
                self.log.warning(
                    "%s (channel %s) keeps timing out; leaving it out for this session",
                    key[0],
                    key[1],
                )
                self.blacklist.add(key)
        else:
            self._lone_timeouts.pop(key, None)
        return reply

    def snapshot(
        self, channel: int, *, deadline: Optional[float] = None, nonce: str = ""
    ) -> Flow[Tuple[bytes, str]]:
        """Fetch a JPEG; re-login once if the token was refused. Returns (bytes, content type).

        ``nonce``: Snap's anti-cache ``rs``, drawn outside the core (the host thread's
        CommandQueued.nonce); without one, snapshots are numbered - the core reads no random
        source.
        """
        self._snaps += 1
        rs = nonce or f"snap{self._snaps:x}"
        for attempt in (1, 2):
            token = yield from self.ensure_session(deadline)
            response = yield from self.exchange(
                "GET",
                commands.snap_target(channel, rs=rs, token=token),
                None,
                deadline=deadline,
                max_body=DEFAULT_MAX_IMAGE_BYTES,
                repeatable=True,
                what="Snap",
            )
            try:
                image = snap.parse_snap(
                    response.status, response.content_type, response.body, channel=channel
                )
            except (AuthError, RemoteProtocolError) as error:
                # Older firmware serves its web page instead of the JSON error on a bad token.
                refused = isinstance(error, AuthError) or snap.is_web_page_rejection(error)
                if attempt == 1 and refused and self.session.on_auth_error(self.now):
                    self.log.info("snapshot refused (%s); logging in again", error)
                    continue
                raise
            self.session.on_request_ok(self.now)
            return image, response.content_type or "image/jpeg"
        raise AssertionError("unreachable")  # pragma: no cover


def _refused_indexes(replies: Sequence[CommandReply]) -> List[int]:
    return [i for i, r in enumerate(replies) if r.error is not None and _token_refused(r)]


def _token_refused(reply: CommandReply) -> bool:
    """-6 please login first, -21 error token...: log in again (not wrong credentials)."""
    error = reply.error
    return isinstance(error, AuthError) and not isinstance(
        error, (CredentialsError, LockedOutError)
    )
