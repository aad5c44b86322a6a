"""``reolink doctor``: walk the driver page's setup and troubleshooting tables against a device.

Read-only: it sends one Login (never a second one, whatever the answer), then only ``Get*``
reads, and Logout. With ``--test-push`` the device is also asked to call a temporary listener
once (TestWebHook: no setting changes). Each line is ✓ (fine), ✗ (a problem, with its fix) or
? (could not be checked). Exit status: 0 when nothing blocks events, 1 when something does
(unreachable, refused, or a setup finding that stops events), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import threading
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

import attrs

from ..driver.config import DeviceConfig, parse_channel, parse_device
from ..errors import (
    ApiError,
    AuthError,
    ConfigError,
    CredentialsError,
    LockedOutError,
    RemoteProtocolError,
    ReolinkError,
    SessionLimitError,
    TransportError,
)
from ..protocol import batch as pbatch
from ..protocol import commands, envelope, parsers, setup, webhook
from ..protocol.results import Ability, ChannelList, CommandReply, DeviceInfo
from ..transport import Request, Transport
from .connection import (
    EXIT_FAILED,
    EXIT_OK,
    SecretBook,
    UsageError,
    add_connection_arguments,
    configure_logging,
    device_attributes,
    read_password,
    usage,
)

__all__ = ["Check", "Doctor", "add_doctor_command", "run_doctor"]

MARKS = {"ok": "✓", "fail": "✗", "unknown": "?"}
#: How long --test-push waits for the device's call.
TEST_PUSH_WAIT = 5.0
_HEADERS = {"Content-Type": "application/json"}
_NOT_CHECKABLE = (
    ("per-phone push switch", "the Reolink app's notification switch on each phone is not "
     "readable over the API: check it in the app"),
    ("privacy mode", "not readable over the API: a camera in privacy mode detects nothing"),
    ("webhook body", "not documented; the driver only uses the call as a wake-up"),
)


@attrs.frozen
class Check:
    """One line of the checklist. ``blocks``: a ✗ that stops events from reaching the host."""

    status: str  # "ok", "fail" or "unknown"
    subject: str
    detail: str
    fix: str = ""
    blocks: bool = False
    code: str = ""
    channel: Optional[int] = None

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.subject}: {self.detail}"
        return text + (f"\n    fix: {self.fix}" if self.fix else "")


def add_doctor_command(sub: Any) -> None:
    """Add ``doctor`` to the ``reolink`` subparsers."""
    text = (
        "Check a device read-only against the driver page's setup and troubleshooting tables: "
        "reachability, credentials (one Login), channels, detection setup, push. Exit 0 when "
        "nothing blocks events, 1 when something does, 2 for bad usage."
    )
    parser = sub.add_parser("doctor", help="check why events might not reach the host",
                            description=text)
    parser.add_argument(
        "--zones", metavar="0,1,...", help="channels to check (default: every channel)"
    )
    parser.add_argument(
        "--ai-types",
        metavar="LIST",
        help="the zones' ai_types (people,vehicle,dog_cat,face): checked against what each "
        "channel can detect (default: every type the channel reports)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--status-interval",
        metavar="MS",
        help="the driver's status_interval, for the doorbell check (default 5000)",
    )
    parser.add_argument(
        "--test-push",
        action="store_true",
        help="make the device call a temporary listener on this host once (TestWebHook)",
    )
    parser.add_argument("--push-host", metavar="ADDRESS",
                        help="--test-push: this host's address the device calls "
                        "(default: the local address of the connection)")
    add_connection_arguments(parser)
    parser.set_defaults(run=run_doctor)


def _zones(text: Optional[str]) -> Optional[List[int]]:
    if text is None or not text.strip():
        return None
    try:
        return sorted({parse_channel(part.strip()) for part in text.split(",")})
    except ConfigError as error:
        raise UsageError(f"--zones: {error}") from None


def run_doctor(args: argparse.Namespace) -> int:
    """Run the checklist; print it; return the exit status."""
    secrets = SecretBook()
    configure_logging(args.verbose, secrets)
    try:
        zones = _zones(args.zones)
        attributes = device_attributes(args, "placeholder")
        if args.status_interval is not None:
            attributes["status_interval"] = args.status_interval
        # The zones' ai_types are checked like the driver's zone attribute.
        zone = {"0": {"ai_types": args.ai_types or ""}}
        parse_device(attributes, zone)  # every option checked before the password is asked
        password = read_password(args)
        secrets.values.append(password)
        config = parse_device({**attributes, "password": password}, zone)
    except (ConfigError, UsageError) as error:
        return usage(f"doctor: {error}")
    doctor = Doctor(
        config,
        zones,
        ai_types=config.zones[0].ai_types,
        test_push=args.test_push,
        push_host=args.push_host,
    )
    secrets.sources.append(lambda: doctor.token)
    checks = doctor.run()
    blocking = [c for c in checks if c.status == "fail" and c.blocks]
    status = EXIT_FAILED if blocking else EXIT_OK
    if args.json:
        result = {
            "device": doctor.device,
            "checks": [attrs.asdict(c) for c in checks],
            "blocking": len(blocking),
            "exit": status,
        }
        print(json.dumps(result, indent=2, ensure_ascii=False), flush=True)
    else:
        for check in checks:
            print(check.line())
        summary = (
            f"{len(blocking)} problem(s) stop events from reaching the host"
            if blocking
            else "nothing found that stops events from reaching the host"
        )
        slowing = sum(1 for c in checks if c.status == "fail" and not c.blocks)
        if slowing:
            summary += f"; {slowing} more make(s) them slower or limited"
        print(summary, flush=True)
    return status


class _Stop(Exception):
    """The checklist cannot go on (unreachable, refused): what was found so far stands."""


class Doctor:
    """The checks, in the order of the driver page (one object per run)."""

    def __init__(
        self,
        config: DeviceConfig,
        zones: Optional[Sequence[int]],
        *,
        ai_types: Optional[FrozenSet[str]] = None,
        test_push: bool = False,
        push_host: Optional[str] = None,
        transport: Optional[Transport] = None,
    ) -> None:
        self.config = config
        self.zones = zones
        self.ai_types = ai_types
        self.test_push = test_push
        self.push_host = push_host
        self.checks: List[Check] = []
        self.device: Dict[str, Any] = {
            "host": config.ip, "port": config.port, "protocol": config.protocol,
        }
        self.token: Optional[str] = None
        self.logins = 0
        self._transport = transport

    def add(self, status: str, subject: str, detail: str, fix: str = "", *, blocks: bool = False,
            code: str = "", channel: Optional[int] = None) -> None:
        self.checks.append(Check(status, subject, detail, fix, blocks, code, channel))

    def run(self) -> List[Check]:
        try:
            self._reachable()
            transport = self._transport or self._open()
            try:
                self._checklist(transport)
            finally:
                self._logout(transport)
                transport.close()
        except _Stop:
            pass
        return self.checks

    # --- the network ------------------------------------------------------------------

    def _reachable(self) -> None:
        if self._transport is not None:
            return  # an in-memory device: nothing to reach
        config = self.config
        where = f"{config.label} ({config.protocol})"
        try:
            sock = socket.create_connection((config.ip, config.port), config.request_timeout)
        except OSError as error:
            fix = "check the IP address and --port"
            if config.protocol == "http" and _tls_on(config.ip, 443, config.request_timeout):
                fix = "newer firmware ships with HTTP off: use --protocol https (port 443)"
            self.add("fail", "reachable", f"cannot connect to {where}: {error}", fix,
                     blocks=True, code="unreachable")
            raise _Stop from None
        with sock:
            if config.protocol != "https":
                self.add("ok", "reachable", f"{where}: port open")
                return
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # cameras use self-signed certificates
            try:
                with context.wrap_socket(sock, server_hostname=config.ip) as tls:
                    version, cipher = tls.version(), (tls.cipher() or ("?",))[0]
            except (ssl.SSLError, OSError) as error:
                self.add("fail", "reachable", f"{where}: TLS handshake failed: {error}",
                         "if the port speaks plain HTTP, use --protocol http",
                         blocks=True, code="tls_failed")
                raise _Stop from None
        self.device["tls"] = {"version": version, "cipher": cipher}
        self.add("ok", "reachable", f"{where}: TLS {version}, cipher {cipher}")

    def _open(self) -> Transport:
        from transports import open_transport  # the CLI's edge: the only place doctor does I/O

        config = self.config
        return open_transport(scheme=config.protocol, host=config.ip, port=config.port,
                              tls=config.tls)

    def _post(self, transport: Transport, batch: Sequence[Dict[str, Any]],
              cmd: Optional[str] = None) -> List[CommandReply]:
        replies: List[CommandReply] = []
        for part in pbatch.chunk(list(batch)):
            timeout = self.config.request_timeout
            request = Request(
                "POST",
                commands.api_target(cmd=cmd or str(part[0]["cmd"]), token=self.token),
                pbatch.encode_body(part),
                headers=_HEADERS,
                connect_timeout=timeout,
                read_timeout=timeout,
                # The request-safety rule's facts, as the driver's client gives them: only a
                # batch of reads may be repeated (TestWebHook and Logout are not).
                repeatable=pbatch.is_read_only(part),
                changes_state=pbatch.changes_state(part),
            )
            response = transport.send(request)
            envelope.check_status(response.status, response.content_type, response.body)
            replies += pbatch.decode_batch(response.body, part)
        return replies

    # --- the checklist ------------------------------------------------------------------

    def _checklist(self, transport: Transport) -> None:
        self._login(transport)
        info, ability, channels = self._identify(transport)
        wanted = self._channels(info, channels)
        if wanted:
            self._setup(transport, info, ability, wanted)
            self._push(transport, ability, wanted)
        for subject, detail in _NOT_CHECKABLE:
            self.add("unknown", subject, detail)

    def _login(self, transport: Transport) -> None:
        config = self.config
        self.logins += 1  # one attempt, never more: a wrong password must not lock the account
        try:
            (reply,) = self._post(transport, [commands.build_login(config.username,
                                                                   config.password)], "Login")
            token = parsers.parse_login(reply)
        except TransportError as error:
            fix = "check --port and --protocol"
            if config.protocol == "http" and self._transport is None and _tls_on(
                config.ip, config.port, config.request_timeout
            ):
                fix = "the port expects HTTPS: use --protocol https"
            self.add("fail", "JSON API", f"no answer to Login: {error}", fix, blocks=True,
                     code="no_api")
            raise _Stop from None
        except RemoteProtocolError as error:
            self.add("fail", "JSON API", f"the answer to Login is not the JSON API: {error}",
                     "the port may serve only the web page (wrong port, or firmware without "
                     "the JSON API)", blocks=True, code="no_api")
            raise _Stop from None
        except ApiError as error:
            self.add("ok", "JSON API", "alive (Login answered with a JSON envelope)")
            self._login_refused(error)
            raise _Stop from None
        self.token = token.name
        self.add("ok", "JSON API", "alive")
        self.add("ok", "credentials", f"accepted for {config.username} (one Login)")
        self.add("ok", "account", "not locked")

    def _login_refused(self, error: ApiError) -> None:
        if isinstance(error, SessionLimitError):
            self.add("fail", "account", f"session table full: {error}",
                     "close other apps or clients logged in to the device", blocks=True,
                     code="max_session")
        elif isinstance(error, LockedOutError):
            self.add("fail", "account", f"locked: {error}",
                     "wait several minutes before any further attempt, then confirm the "
                     "username and password in the Reolink app", blocks=True, code="locked")
        elif isinstance(error, CredentialsError):
            self.add("fail", "credentials", f"refused: {error}",
                     "confirm the username and password in the Reolink mobile app (repeated "
                     "bad attempts lock the account)", blocks=True, code="credentials")
        else:
            self.add("fail", "credentials", f"Login refused: {error}", blocks=True,
                     code="login_refused")

    def _identify(
        self, transport: Transport
    ) -> Tuple[DeviceInfo, Optional[Ability], Optional[ChannelList]]:
        batch = [commands.build_get_dev_info(), commands.build_get_ability(""),
                 commands.build_get_channel_status()]
        try:
            info_reply, ability_reply, status_reply = self._post(transport, batch)
            if isinstance(info_reply.error, AuthError):
                self.token = None  # refused: nothing to log out
                self.add("fail", "other clients", "another client is racing on Login: the "
                         f"device refused our brand-new token ({info_reply.error})",
                         "stop the other client using this account, or give each client its "
                         "own account", blocks=True, code="login_race")
                raise _Stop
            info = parsers.parse_dev_info(info_reply)
        except (TransportError, ApiError, RemoteProtocolError) as error:
            self.add("fail", "device", f"GetDevInfo failed: {error}", blocks=True,
                     code="identify_failed")
            raise _Stop from None
        self.add("ok", "other clients", "no -6 right after our Login")
        ability: Optional[Ability] = None
        try:
            ability = parsers.parse_ability(ability_reply)
        except (ApiError, RemoteProtocolError) as error:
            self.add("unknown", "abilities", f"GetAbility unusable: {error}")
        channel_list: Optional[ChannelList] = None
        if info.is_multichannel:
            try:
                channel_list = parsers.parse_channel_status(status_reply)
            except (ApiError, RemoteProtocolError) as error:
                self.add("unknown", "channels", f"GetChannelstatus unusable: {error}")
        self.device.update(model=info.model, firmware=info.firmware,
                           channel_count=info.channel_count)
        self.add("ok", "device", f"model {info.model}, firmware {info.firmware}, "
                 f"{info.channel_count} channel(s)")
        return info, ability, channel_list

    def _channels(self, info: DeviceInfo, listed: Optional[ChannelList]) -> List[int]:
        wanted = self.zones if self.zones is not None else list(range(info.channel_count))
        status = {c.channel: c for c in listed.channels} if listed is not None else {}
        usable = []
        for channel in wanted:
            entry = status.get(channel)
            subject = f"channel {channel}"
            if channel >= info.channel_count:
                self.add("fail", subject, f"does not exist (the device has "
                         f"{info.channel_count})", "use addresses 0.."
                         f"{info.channel_count - 1}", blocks=True, code="no_channel",
                         channel=channel)
            elif entry is not None and not entry.online:
                self.add("fail", subject, "offline", "check the camera's power and cable",
                         blocks=self.zones is not None, code="offline", channel=channel)
            elif entry is not None and entry.sleeping:
                self.add("ok", subject, "asleep (battery camera: it wakes on motion)",
                         channel=channel)
            else:
                name = f" ({entry.name})" if entry is not None and entry.name else ""
                self.add("ok", subject, f"online{name}", channel=channel)
                usable.append(channel)
        return usable

    def _setup(self, transport: Transport, info: DeviceInfo, ability: Optional[Ability],
               channels: List[int]) -> None:
        context = setup.SetupContext(
            channels=tuple(channels), ai_types={c: self.ai_types for c in channels},
            ability=ability,
            model=info.model, device_type=info.type,
            status_interval=self.config.status_interval,
        )
        judge = setup.SetupJudge(context)  # read as the driver reads it: a channel a request
        try:
            for part in setup.setup_parts(setup.plan_setup(context)):
                judge.add(part, self._post(transport, part))
        except (TransportError, RemoteProtocolError) as error:
            self.add("unknown", "detection setup", f"could not be read: {error}")
            return
        report = judge.report()
        no_events = [c for c in channels if ("GetEvents", c) in report.unsupported]
        for channel in [*channels, None]:  # per channel, then device-wide
            subject = "device" if channel is None else f"channel {channel}"
            for where, what in report.fine:
                if where == channel:
                    self.add("ok", subject, what, channel=channel)
            for finding in report.findings:
                if finding.channel == channel:
                    self.add("fail", subject, finding.cause, finding.fix,
                             blocks=finding.blocks_events, code=finding.code, channel=channel)
            for unknown in report.unknowns:
                # GetEvents missing is said by the GetMdState line below.
                if unknown.channel == channel and not (
                    channel in no_events and unknown.cmd == "GetEvents"
                ):
                    self.add("unknown", subject, f"{unknown.what}: {unknown.why}",
                             channel=channel)
        if no_events:
            self._state_fallback(transport, no_events)

    def _state_fallback(self, transport: Transport, channels: List[int]) -> None:
        """Channels without GetEvents: does GetMdState answer?"""
        batch = [commands.build_get_md_state(c) for c in channels]
        try:
            replies = self._post(transport, batch)
        except (TransportError, RemoteProtocolError) as error:
            self.add("unknown", "state polling", f"GetMdState could not be read: {error}")
            return
        for channel, reply in zip(channels, replies):
            if reply.error is None:
                self.add("ok", f"channel {channel}", "motion state polls with GetMdState "
                         "(no GetEvents)", channel=channel)
            else:
                self.add("fail", f"channel {channel}", f"motion state cannot be polled: "
                         f"{reply.error}", "update the firmware", blocks=True,
                         code="state_unreadable", channel=channel)

    def _push(self, transport: Transport, ability: Optional[Ability],
              channels: List[int]) -> None:
        hooked = [c for c in channels if ability is not None and webhook.supports_webhook(
            ability, c)]
        if not hooked:
            self.add("fail", "push", "no webhook on this device's firmware (GetAbility "
                     "supportWebhook): events are found by polling every status_interval",
                     code="no_webhook")
            return
        batch = [webhook.build_get_webhook(c) for c in hooked]
        try:
            replies = self._post(transport, batch)
        except (TransportError, RemoteProtocolError) as error:
            self.add("unknown", "push", f"GetWebHook could not be read: {error}")
            return
        for channel, reply in zip(hooked, replies):
            try:
                table = webhook.parse_webhooks(reply, channel)
            except (ApiError, RemoteProtocolError) as error:
                self.add("unknown", f"channel {channel}", f"webhook slots: {error}",
                         channel=channel)
                continue
            free = sum(1 for slot in table.slots if slot.free)
            if free:
                self.add("ok", f"channel {channel}", f"webhook: {free} of {len(table.slots)} "
                         "slot(s) free", channel=channel)
            else:
                self.add("fail", f"channel {channel}", "every webhook slot holds another "
                         "system's URL: no push for this driver",
                         "free a slot (another client's webhook) in the Reolink app",
                         code="no_free_slot", channel=channel)
        if self.test_push:
            self._test_push(transport, hooked[0])
        else:
            self.add("unknown", "device -> this host", "not tested (use --test-push)")

    def _test_push(self, transport: Transport, channel: int) -> None:
        from ..push import PushListener  # only with --test-push

        called = threading.Event()
        host = self.push_host or _local_address(transport) or ""
        with PushListener() as listener:
            registration = listener.register(called.set, label=self.config.label)
            url = registration.url(host)
            where = f"{host}:{listener.port}"
            try:
                (reply,) = self._post(transport, [webhook.build_test_webhook(channel, url)])
                if reply.error is not None:
                    raise reply.error
            except ReolinkError as error:
                self.add("unknown", "device -> this host", f"TestWebHook failed: {error}")
                return
            if called.wait(TEST_PUSH_WAIT):
                self.add("ok", "device -> this host", f"the device called {where}")
            else:
                self.add("fail", "device -> this host", f"no call to {where} within "
                         f"{TEST_PUSH_WAIT:.0f} s", "open that TCP port to the device, or set "
                         "--push-host (push_host) to an address the device can reach",
                         code="push_unreachable")

    def _logout(self, transport: Transport) -> None:
        if self.token is None:
            return
        try:
            self._post(transport, [commands.build_logout()])
        except ReolinkError:
            pass
        self.token = None


def _tls_on(host: str, port: int, timeout: float) -> bool:
    from transports import speaks_tls

    return speaks_tls(host, port, min(timeout, 2.0))


def _local_address(transport: Transport) -> Optional[str]:
    method = getattr(transport, "local_address", None)
    address = method() if callable(method) else None
    return address if isinstance(address, str) else None
