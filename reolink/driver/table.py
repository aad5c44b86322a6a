"""The command table and metadata hints: plain data a host can render without a camera.

Argument validation for every command lives here too, so a bad argument is refused in the
caller's thread before anything is queued or sent. The ranges it checks are the protocol
builders' own objects (:data:`RANGES`: ``reolink.protocol.commands.PTZ_SPEED``, ...), and the
``ptz`` ops are built from ``MOVE_OPS``: one definition each.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional

from ..errors import ArgumentError
from ..protocol.commands import CHANNEL, MOVE_OPS, PTZ_ID, PTZ_SPEED, PUSH_PORT, IntRange
from ..protocol.results import AI_TYPES
from .config import (
    ADDRESS_PATTERN,
    DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_STATUS_INTERVAL_MS,
    MIN_STATUS_INTERVAL_MS,
    REQUEST_TIMEOUT_MS,
)
from .pushcontrol import REASONS

__all__ = [
    "COMMANDS",
    "METADATA",
    "PTZ_DRIVER_OPS",
    "PTZ_DURATION_MS",
    "RANGES",
    "command_table",
    "metadata",
    "validate_args",
]

#: The ops of the ``ptz`` command: every continuous move, and Stop (the driver page's list plus
#: the iris ops; patrols and ToPos have their own paths).
PTZ_DRIVER_OPS = (*MOVE_OPS, "Stop")

#: The ``ptz`` command's automatic Stop delay (ms); defined here only (a driver concept).
PTZ_DURATION_MS = IntRange("duration", 0, 60000)
#: Every int argument's range: the builders' own objects (:mod:`reolink.protocol.commands`),
#: so the table and the builders cannot disagree. The table's ``min``/``max`` come from these.
RANGES: Dict[str, IntRange] = {
    "speed": PTZ_SPEED,
    "preset": PTZ_ID,
    "duration": PTZ_DURATION_MS,
    "address": CHANNEL,
}

_ADDRESS = {
    "name": "address",
    "type": "string",
    "required": True,
    "pattern": f"^({ADDRESS_PATTERN})$",
    "description": 'Channel index of the zone: "0" for a single camera, "0".."N-1" on an NVR.',
}

_SPEED = {
    "name": "speed",
    "type": "int",
    "required": False,
    "default": 32,
    "min": PTZ_SPEED.low,
    "max": PTZ_SPEED.high,
    "description": "Movement speed.",
}

COMMANDS: List[Dict[str, Any]] = [
    {
        "name": "login",
        "args": [],
        "description": "Force a fresh Login and refresh the cached token.",
    },
    {"name": "logout", "args": [], "description": "Invalidate the current token."},
    {
        "name": "get_dev_info",
        "args": [],
        "description": "Device model, firmware, hardware, serial, name, type and channel count.",
    },
    {
        "name": "get_channels",
        "args": [],
        "description": "List channels (id, name, online). Use the ids as zone addresses.",
    },
    {
        "name": "snapshot",
        "args": [_ADDRESS],
        "description": "JPEG snapshot of a channel: {channel, length, contentType, base64}.",
    },
    {
        "name": "get_motion",
        "args": [_ADDRESS],
        "description": "One-shot motion-detection state of a channel: {channel, motion}.",
    },
    {
        "name": "get_ai_state",
        "args": [_ADDRESS],
        "description": "One-shot AI state of a channel ("
        + " / ".join(AI_TYPES)
        + "): {channel, detected, supported}.",
    },
    {
        "name": "ptz",
        "args": [
            _ADDRESS,
            {
                "name": "op",
                "type": "string",
                "required": True,
                "options": list(PTZ_DRIVER_OPS),
                "description": "Movement to start (Stop stops any movement).",
            },
            _SPEED,
            {
                "name": "duration",
                "type": "int",
                "required": False,
                "default": 1000,
                "min": PTZ_DURATION_MS.low,
                "max": PTZ_DURATION_MS.high,
                "description": "Milliseconds before the driver sends Stop by itself "
                "(0: no automatic Stop).",
            },
        ],
        "description": "PTZ control; the driver sends Stop after duration ms.",
    },
    {
        "name": "ptz_preset",
        "args": [
            _ADDRESS,
            {
                "name": "preset",
                "type": "int",
                "required": True,
                "min": PTZ_ID.low,
                "max": PTZ_ID.high,
                "description": "Preset id as the device numbers it (usually 1-64; see get_presets "
                "in the camera app).",
            },
            _SPEED,
        ],
        "description": "Recall a PTZ preset.",
    },
    {
        "name": "spotlight_on",
        "args": [_ADDRESS],
        "description": "Switch the white-light spotlight on (camera must have one).",
    },
    {
        "name": "spotlight_off",
        "args": [_ADDRESS],
        "description": "Switch the white-light spotlight off (camera must have one).",
    },
    {
        "name": "siren",
        "args": [_ADDRESS],
        "description": "One-shot audible alarm (camera must have a siren).",
    },
    {
        "name": "reboot",
        "args": [],
        "description": "Reboot the device; the driver reconnects by itself afterwards.",
    },
]

METADATA: Dict[str, Any] = {
    "driver": "reolink",
    "device_type": "camera",
    "status": "stable",
    "description": "Reolink cameras and NVRs over the LAN JSON API (/cgi-bin/api.cgi): motion and "
    "AI detection polling, snapshots, PTZ, spotlight and siren.",
    "attributes": [
        {
            "name": "ip",
            "type": "string",
            "required": True,
            "secure": False,
            "description": "LAN IP or host name of the camera or NVR.",
        },
        {
            "name": "username",
            "type": "string",
            "required": True,
            "secure": False,
            "description": "Camera / NVR account. Operator-level minimum; admin recommended.",
        },
        {
            "name": "password",
            "type": "string",
            "required": True,
            "secure": True,
            "description": "Camera / NVR account password.",
        },
        {
            "name": "port",
            "type": "int",
            "required": False,
            "default": 80,
            "secure": False,
            "description": "HTTP(S) port (443 is used when protocol is https and no port is set).",
        },
        {
            "name": "protocol",
            "type": "string",
            "required": False,
            "default": "http",
            "options": ["http", "https"],
            "secure": False,
            "description": "http or https. Battery-powered models usually require https.",
        },
        {
            "name": "status_interval",
            "type": "int",
            "required": False,
            "default": DEFAULT_STATUS_INTERVAL_MS,
            "min": MIN_STATUS_INTERVAL_MS,
            "secure": False,
            "description": "Poll period in ms (values below 2000 are raised to 2000).",
        },
        {
            "name": "request_timeout",
            "type": "int",
            "required": False,
            "default": DEFAULT_REQUEST_TIMEOUT_MS,
            "min": REQUEST_TIMEOUT_MS.low,
            "max": REQUEST_TIMEOUT_MS.high,
            "secure": False,
            "description": "Per-request timeout (ms).",
        },
        {
            "name": "tls_fingerprint",
            "type": "string",
            "required": False,
            "default": "",
            "secure": False,
            "description": "HTTPS only: accept only this SHA-256 certificate fingerprint.",
        },
        {
            "name": "tls_verify",
            "type": "string",
            "required": False,
            "default": "",
            "secure": False,
            "description": "HTTPS only: verify the certificate against this CA bundle file.",
        },
        {
            "name": "push",
            "type": "string",
            "required": False,
            "default": "auto",
            "options": ["auto", "off"],
            "secure": False,
            "description": "auto: the device calls this host on motion/AI (webhook) and the "
            "driver polls at once; off: poll only.",
        },
        {
            "name": "push_host",
            "type": "string",
            "required": False,
            "default": "",
            "secure": False,
            "description": "Address of this host the device calls (plain HTTP); empty = the "
            "local address of the driver's connection to the device.",
        },
        {
            "name": "push_port",
            "type": "int",
            "required": False,
            "default": 0,
            "min": PUSH_PORT.low,
            "max": PUSH_PORT.high,
            "secure": False,
            "description": "Port of the push listener (0 = any free port); set one to open it "
            "in a firewall.",
        },
    ],
    "zone_attributes": [
        {
            "name": "ai_types",
            "type": "string",
            "required": False,
            "default": "",
            "options": list(AI_TYPES),
            "description": "Comma-separated AI types to report (people, vehicle, dog_cat, face); "
            "empty = all reported.",
        },
    ],
    "zone_address": 'Channel index as a string: "0" for a camera, "0".."N-1" on an NVR.',
    "polled_attributes": {
        "device": [
            {
                "name": "online",
                "type": "bool",
                "description": "True while the device answers; False with the reason in error.",
            },
            {
                "name": "error",
                "type": "string",
                "description": 'Why the device is offline ("" when online).',
            },
            {"name": "model", "type": "string", "description": "Model name (GetDevInfo)."},
            {"name": "firmware", "type": "string", "description": "Firmware version."},
            {"name": "channel_count", "type": "int", "description": "Number of channels."},
            {
                "name": "event_source",
                "type": "string",
                "options": ["push", "poll"],
                "description": "push: the device's webhook call triggers a poll at once; "
                "poll: events are found every status_interval (event_source_reason says why).",
            },
            {
                "name": "event_source_reason",
                "type": "string",
                "description": 'Why poll ("" with push). Starts with one of: '
                + ", ".join(REASONS)
                + ".",
            },
            {
                "name": "setup",
                "type": "string",
                "description": 'Device-wide detection-setup findings, each "cause: fix" ("" when '
                "none): push switched off, alarm rules the API cannot read. Read after connect and "
                "every 30 min.",
            },
        ],
        "zone": [
            {
                "name": "online",
                "type": "bool",
                "description": "True while the channel can be polled; False with the reason "
                "in error (channel offline, asleep, device offline).",
            },
            {"name": "motion", "type": "int", "options": [0, 1], "description": "1 = motion."},
            {
                "name": "state",
                "type": "string",
                "options": ["motion", "clear"],
                "description": "motion or clear, from motion.",
            },
            {
                "name": "ai_detected",
                "type": "string",
                "options": list(AI_TYPES),
                "description": "Comma-separated AI types detected now, in this order "
                '("" when none), limited to the zone\'s ai_types.',
            },
            {
                "name": "error",
                "type": "string",
                "description": 'Why the zone cannot be polled ("" when fine).',
            },
            {
                "name": "visitor",
                "type": "int",
                "options": [0, 1],
                "description": "Doorbell channels only (GetEvents visitor.support 1): 1 while "
                "the button is pressed.",
            },
            {
                "name": "asleep",
                "type": "bool",
                "description": "NVR and hub channels only (where GetChannelstatus lists the "
                "channels): True while the device lists the channel's battery camera asleep "
                "(online is False then; it wakes on motion), False otherwise and while the "
                "device is offline.",
            },
            {
                "name": "setup",
                "type": "string",
                "description": '"" when nothing found in the channel\'s detection setup stops '
                'events; else "cause: fix" (e.g. motion area is empty: draw a detection area in '
                "the Reolink app), findings joined by \"; \". Read after connect and every 30 min.",
            },
        ],
    },
    "sample_configuration": {
        "attributes": {
            "ip": "192.168.1.20",
            "username": "gem",
            "password": "********",
            "port": "80",
            "protocol": "http",
            "status_interval": "5000",
            "request_timeout": "8000",
        },
        "zones": {"0": {"ai_types": "people,vehicle"}},
    },
}

_BY_NAME = {command["name"]: command for command in COMMANDS}


def command_table() -> List[Dict[str, Any]]:
    """A deep copy of the command table (the host may keep and change it freely)."""
    return copy.deepcopy(COMMANDS)


def metadata() -> Dict[str, Any]:
    """A deep copy of the metadata hints."""
    return copy.deepcopy(METADATA)


def _int_arg(name: str, value: Any, spec: Mapping[str, Any]) -> int:
    if isinstance(value, bool):
        number: Optional[int] = None
    elif isinstance(value, int):
        number = value
    elif (
        isinstance(value, str)
        # isascii: "²" and other Unicode digits pass isdigit() but int() refuses them.
        and value.strip().isascii()
        and value.strip().isdigit()
        and len(value.strip()) <= 9
    ):
        number = int(value.strip())
    else:
        number = None
    allowed = RANGES[name]
    if number is None or number not in allowed:
        raise ArgumentError(
            f"argument {name!r} is {value!r:.60}: allowed is a whole number from "
            f"{allowed.low} to {allowed.high}",
            argument=name,
        )
    return number


def validate_args(command: str, args: Mapping[str, Any]) -> Dict[str, Any]:
    """Check a command's name and arguments; return them normalized (defaults filled in).

    ``address`` stays a string here; the driver checks it against its zones and channels.
    """
    spec = _BY_NAME.get(command)
    if spec is None:
        raise ArgumentError(
            f"unknown command {command!r:.60}; allowed: {', '.join(sorted(_BY_NAME))}",
            argument="command",
        )
    allowed = {arg["name"]: arg for arg in spec["args"]}
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no arguments"
        raise ArgumentError(
            f"{command}: unknown argument(s) {', '.join(repr(u)[:40] for u in unknown)}; "
            f"it takes {takes}",
            argument=unknown[0],
        )
    result: Dict[str, Any] = {}
    for name, arg in allowed.items():
        value = args.get(name)
        if value is None or value == "":
            if arg["required"]:
                raise ArgumentError(f"{command}: argument {name!r} is required", argument=name)
            if "default" in arg:
                result[name] = arg["default"]
            continue
        if arg["type"] == "int":
            result[name] = _int_arg(name, value, arg)
        elif "options" in arg:
            options = arg["options"]
            if not isinstance(value, str) or value not in options:
                raise ArgumentError(
                    f"{command}: argument {name!r} is {value!r:.60}; allowed: {', '.join(options)}",
                    argument=name,
                )
            result[name] = value
        else:
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise ArgumentError(
                    f"{command}: argument {name!r} must be a string, got {type(value).__name__}",
                    argument=name,
                )
            result[name] = value
    return result
