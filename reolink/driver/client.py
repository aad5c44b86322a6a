"""The device's I/O edge: sends protocol-layer envelopes over the transport. Device thread only.

This is the one place where the transport and the protocol layer meet. It keeps the
:class:`~reolink.protocol.session.Session` informed of every outcome (login, auth errors,
transport failures) and applies the retry rules:

* connect failures may be retried for any command (the request never reached the device);
  a read timeout only for read-only ``Get*`` batches (a PTZ move or siren may already have run);
  only tenacity retries, and every wait is cut short by the stop event;
* a batch answered short, or with one global error, is retried command by command; a command
  that keeps timing out alone is left out of later batches for the rest of the session;
* an auth error on a command (-6 please login first...) logs in again once and retries once.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import tenacity

from ..errors import (
    ApiError,
    AuthError,
    BatchShapeError,
    ConnectError,
    CredentialsError,
    LeftOutError,
    LockedOutError,
    RemoteProtocolError,
    ReolinkError,
    Timeout,
    TLSError,
    TransportError,
)
from ..protocol import batch as pbatch
from ..protocol import codes, commands, envelope, parsers, snap
from ..protocol.results import CommandReply
from ..protocol.session import Session, SessionState
from ..redact import redact_target
from ..transport import (
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_JSON_BYTES,
    Request,
    Response,
    Transport,
)
from .config import DeviceConfig

__all__ = ["DeviceClient"]

log = logging.getLogger(__name__)

Command = Mapping[str, object]
#: after this many lone timeouts a (cmd, channel) pair is left out of batches for the session.
BLACKLIST_AFTER = 2
_JSON_HEADERS = {"Content-Type": "application/json"}


def _key(command: Command) -> Tuple[str, Optional[int]]:
    return str(command.get("cmd")), pbatch.command_channel(command)


def _read_only(batch: Sequence[Command]) -> bool:
    return all(str(c.get("cmd", "")).startswith("Get") for c in batch)


class DeviceClient:
    """Sends commands to one device and keeps its session. Not thread-safe by design."""

    def __init__(
        self,
        config: DeviceConfig,
        transport: Transport,
        session: Session,
        *,
        clock: Callable[[], float],
        stop: threading.Event,
    ) -> None:
        self.config = config
        self.transport = transport
        self.session = session
        self._clock = clock
        self._stop = stop
        #: (cmd, channel) pairs left out of batches for this session (they keep timing out).
        self.blacklist: Set[Tuple[str, Optional[int]]] = set()
        self._lone_timeouts: Dict[Tuple[str, Optional[int]], int] = {}
        self.requests_sent = 0
        self.logins_sent = 0
        self._retry_reads = False
        self._retry_deadline: Optional[float] = None
        # Encoded bodies of recent batches (id -> (batch, body); the batch is kept so its
        # id cannot be reused) and the last chunked batch: polls repeat the same batch.
        self._bodies: Dict[int, Tuple[Sequence[Command], bytes]] = {}
        self._chunked: Tuple[Optional[Sequence[Command]], List[List[Command]]] = (None, [])
        # The last all-success reply per batch: id -> (batch, body bytes, replies).
        self._last_reply: Dict[int, Tuple[Sequence[Command], bytes, List[CommandReply]]] = {}
        self._last_combined: Tuple[List[List[CommandReply]], List[CommandReply]] = ([], [])
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(2) | tenacity.stop_when_event_set(stop),
            wait=tenacity.wait_fixed(0.05),
            retry=tenacity.retry_if_exception(self._retryable),
            sleep=tenacity.nap.sleep_using_event(stop),
            reraise=True,
        )

    # --- raw requests -----------------------------------------------------------------

    def _timeouts(self, deadline: Optional[float]) -> Tuple[float, float]:
        budget = self.config.request_timeout
        if deadline is not None:
            budget = min(budget, deadline - self._clock())
        if budget <= 0:
            raise Timeout(f"{self.config.label}: no time left for the request (request_timeout)")
        return budget, budget

    def _send(self, request: Request) -> Response:
        self.requests_sent += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s: %s %s", self.config.label, request.method, redact_target(request.target)
            )
        return self.transport.send(request)

    def _post(
        self, batch: Sequence[Command], token: Optional[str], deadline: Optional[float]
    ) -> List[CommandReply]:
        first = str(batch[0].get("cmd")) if len(batch) == 1 else None
        # The poll batch is the same list object cycle after cycle: encode it once.
        cached = self._bodies.get(id(batch))
        if cached is not None and cached[0] is batch:
            body = cached[1]
        else:
            body = pbatch.encode_body(batch)
            if len(self._bodies) >= 8:
                self._bodies.clear()
            self._bodies[id(batch)] = (batch, body)
        response = self.exchange(
            "POST",
            commands.api_target(cmd=first, token=token),
            body,
            deadline=deadline,
            max_body=DEFAULT_MAX_JSON_BYTES,
            read_only=_read_only(batch),
        )
        last_batch, last_body, last_replies = self._last_reply.get(id(batch), (None, b"", []))
        if last_batch is batch and response.status == 200 and response.body == last_body:
            # Byte-for-byte the answer this batch got last time (the steady state of polling:
            # nothing changed): the same, already validated replies.
            return last_replies
        try:
            envelope.check_status(response.status, response.content_type, response.body)
            replies = pbatch.decode_batch(response.body, batch)
        except RemoteProtocolError as error:
            # Garbage in place of a reply counts as a failed exchange (the device is not
            # usable), so a device that only answers HTML pages is shown offline.
            self.session.on_transport_failed(str(error), self._clock())
            raise
        if all(reply.error is None for reply in replies):
            if len(self._last_reply) >= 8:
                self._last_reply.clear()
            self._last_reply[id(batch)] = (batch, response.body, replies)
        return replies

    def exchange(
        self,
        method: str,
        target: str,
        body: Optional[bytes],
        *,
        deadline: Optional[float],
        max_body: int,
        read_only: bool,
    ) -> Response:
        """One HTTP exchange under the retry policy; transport failures are fed to the session.

        A connect failure is retried once (nothing reached the device). A read timeout is
        retried only for read-only commands, and only within the caller's deadline: a poll has
        none (the next cycle is its retry) and a command's retry gets only what is left of
        its request_timeout.
        """

        def attempt() -> Response:
            connect_timeout, read_timeout = self._timeouts(deadline)
            request = Request(
                method,
                target,
                body,
                headers=_JSON_HEADERS if body is not None else {},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                max_body=max_body,
            )
            return self._send(request)

        self._retry_reads = read_only and deadline is not None
        self._retry_deadline = deadline
        try:
            return self._attempt_with_retry(attempt)
        except TransportError as error:
            self.session.on_transport_failed(str(error), self._clock())
            raise

    def _attempt_with_retry(self, attempt: Callable[[], Response]) -> Response:
        try:
            # The first try runs bare: the retry machinery costs more than a loopback request
            # and is only needed after a failure. tenacity then decides, replaying that failure
            # as its first attempt: what is retryable, the wait, stopping on disconnect.
            return attempt()
        except TransportError as error:
            if not self._retryable(error):
                raise
            first: List[BaseException] = [error]

        def replayed() -> Response:
            if first:
                raise first.pop()
            log.debug("%s: retrying once", self.config.label)
            return attempt()

        return self._retrying(replayed)

    def _retryable(self, error: BaseException) -> bool:
        """Connect failures always (nothing reached the device); read timeouts only for
        read-only commands with time left before their deadline."""
        if isinstance(error, TLSError):
            return False
        if isinstance(error, Timeout):
            deadline = self._retry_deadline
            return self._retry_reads and deadline is not None and deadline > self._clock()
        return isinstance(error, ConnectError)

    # --- session ----------------------------------------------------------------------

    def login(self, *, manual: bool = False, deadline: Optional[float] = None) -> None:
        """Send Login. Raises the device's error (CredentialsError, LockedOutError...) if refused.

        Refuses to send anything while the account-safety rule forbids a login.
        """
        now = self._clock()
        reason = self.session.login_allowed(now)
        if reason is not None:
            raise LockedOutError(f"login not sent: {reason}", cmd="Login", rsp_code=None)
        if (
            not manual
            and self.session.retry_at > now
            and self.session.state is SessionState.LOCKED_OUT
        ):
            raise LockedOutError(
                f"login not sent: automatic logins are paused ({self.session.reason})",
                cmd="Login",
                rsp_code=None,
            )
        if self.session.token is not None:
            # Renewing: give the old session back first so the device's small session table
            # never fills up with our own stale tokens (-5 max session).
            self.logout(deadline=deadline)
        self.logins_sent += 1
        try:
            replies = self._post(
                [commands.build_login(self.config.username, self.config.password)], None, deadline
            )
            token = parsers.parse_login(replies[0])
        except ApiError as error:
            action = codes.classify("Login", error.rsp_code, error.detail)
            retry_at = self.session.on_login_refused(action, str(error), self._clock())
            log.warning(
                "%s: login refused (%s); next automatic login in %.0f s",
                self.config.label,
                error,
                retry_at - self._clock(),
            )
            raise
        self.session.on_login_ok(token, self._clock())
        self.blacklist.clear()
        self._lone_timeouts.clear()
        log.debug("%s: logged in (lease %d s)", self.config.label, token.lease_time)

    def logout(self, *, deadline: Optional[float] = None) -> None:
        """Send Logout for the current token (if any) and forget it, whatever the answer."""
        token = self.session.token
        self.session.on_logout()
        if token is None:
            return
        try:
            replies = self._post([commands.build_logout()], token, deadline)
            parsers.parse_ok(replies[0])
        except ReolinkError as error:
            log.debug("%s: logout: %s", self.config.label, error)

    def ensure_session(self, deadline: Optional[float] = None) -> str:
        """Return a usable token, logging in first if the session needs it (and may)."""
        now = self._clock()
        self.session.tick(now)
        token = self.session.token
        if token is not None and self.session.state in (
            SessionState.READY,
            SessionState.BACKING_OFF,
        ):
            return token
        if self.session.state is SessionState.LOCKED_OUT:
            raise LockedOutError(
                f"not logged in: {self.session.reason or 'logins are paused'}",
                cmd="Login",
                rsp_code=None,
            )
        self.login(deadline=deadline)
        assert self.session.token is not None
        return self.session.token

    # --- commands ---------------------------------------------------------------------

    def call(
        self, batch: Sequence[Command], *, deadline: Optional[float] = None
    ) -> List[CommandReply]:
        """Send commands (any number; chunked at 35) and return one reply per command, in order.

        Blacklisted commands are answered locally with a CommandError and not sent.
        """
        if not self.blacklist:
            if len(batch) <= pbatch.MAX_BATCH:
                return self._call_chunk(batch, deadline)
            if batch is not self._chunked[0]:
                self._chunked = (batch, pbatch.chunk(batch))
            parts = [self._call_chunk(part, deadline) for part in self._chunked[1]]
            previous, combined = self._last_combined
            if len(parts) == len(previous) and all(a is b for a, b in zip(parts, previous)):
                return combined  # every chunk answered as last time: the same list again
            combined = [reply for part_replies in parts for reply in part_replies]
            self._last_combined = (parts, combined)
            return combined
        replies: List[Optional[CommandReply]] = [None] * len(batch)
        todo = []
        for index, command in enumerate(batch):
            if _key(command) in self.blacklist:
                cmd, channel = _key(command)
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
            chunk_replies = self._call_chunk([batch[i] for i in chunk], deadline)
            for index, reply in zip(chunk, chunk_replies):
                replies[index] = reply
        return [r for r in replies if r is not None]

    def _call_chunk(
        self, batch: Sequence[Command], deadline: Optional[float]
    ) -> List[CommandReply]:
        token = self.ensure_session(deadline)
        try:
            replies = self._post(batch, token, deadline)
        except BatchShapeError as error:
            log.info(
                "%s: %s; retrying %d commands one by one", self.config.label, error, len(batch)
            )
            if len(batch) == 1:
                raise
            return [self._call_alone(command, deadline) for command in batch]
        auth_failed = [i for i, r in enumerate(replies) if _token_refused(r)]
        if auth_failed:
            if not self.session.on_auth_error(self._clock()):
                return replies
            log.info(
                "%s: token refused (%s); logging in again",
                self.config.label,
                replies[auth_failed[0]].error,
            )
            token = self.ensure_session(deadline)
            retried = self._post([batch[i] for i in auth_failed], token, deadline)
            for index, reply in zip(auth_failed, retried):
                replies[index] = reply
            if any(_token_refused(r) for r in retried):
                # Refused again with a brand-new token: the session backs off (no storm).
                self.session.on_auth_error(self._clock())
                return replies
        self.session.on_request_ok(self._clock())
        return replies

    def _call_alone(self, command: Command, deadline: Optional[float]) -> CommandReply:
        key = _key(command)
        try:
            reply = self._call_chunk([command], deadline)[0]
        except (Timeout, BatchShapeError) as error:
            reply = CommandReply(
                cmd=key[0],
                error=codes.error_from_entry(
                    {"cmd": key[0], "code": 1, "error": {"rspCode": -8, "detail": "timeout"}},
                    channel=key[1],
                ),
            )
            log.debug("%s: %s alone failed: %s", self.config.label, key[0], error)
        timed_out = isinstance(reply.error, ApiError) and reply.error.rsp_code in (-8, -10)
        if timed_out:
            self._lone_timeouts[key] = self._lone_timeouts.get(key, 0) + 1
            if self._lone_timeouts[key] >= BLACKLIST_AFTER:
                log.warning(
                    "%s: %s (channel %s) keeps timing out; leaving it out for this session",
                    self.config.label,
                    key[0],
                    key[1],
                )
                self.blacklist.add(key)
        else:
            self._lone_timeouts.pop(key, None)
        return reply

    def snapshot(self, channel: int, *, deadline: Optional[float] = None) -> Tuple[bytes, str]:
        """Fetch a JPEG; re-login once if the token was refused. Returns (bytes, content type)."""
        for attempt in (1, 2):
            token = self.ensure_session(deadline)
            response = self.exchange(
                "GET",
                commands.snap_target(channel, rs=secrets.token_hex(8), token=token),
                None,
                deadline=deadline,
                max_body=DEFAULT_MAX_IMAGE_BYTES,
                read_only=True,
            )
            try:
                image = snap.parse_snap(
                    response.status, response.content_type, response.body, channel=channel
                )
            except (AuthError, RemoteProtocolError) as error:
                # Older firmware serves its web page instead of the JSON error on a bad token.
                refused = isinstance(error, AuthError) or snap.is_web_page_rejection(error)
                if attempt == 1 and refused and self.session.on_auth_error(self._clock()):
                    log.info(
                        "%s: snapshot refused (%s); logging in again", self.config.label, error
                    )
                    continue
                raise
            self.session.on_request_ok(self._clock())
            return image, response.content_type or "image/jpeg"
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.transport.close()


def _token_refused(reply: CommandReply) -> bool:
    """-6 please login first, -21 error token...: log in again (not wrong credentials)."""
    error = reply.error
    return isinstance(error, AuthError) and not isinstance(
        error, (CredentialsError, LockedOutError)
    )
