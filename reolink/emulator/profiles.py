"""Device profiles: which model the emulator pretends to be, and what each channel can do.

Shapes follow /work/shared/reolink-api.md (the API digest): GetDevInfo §3, GetChannelstatus §3,
GetAbility §3 (``{"permit","ver"}`` leaves plus ``abilityChn``), firmware differences §6.

* ``camera`` -- RLC-811A-like IPC: AI people/vehicle/dog_cat/face, spotlight, siren, GetEvents.
* ``ptz`` -- RLC-823A-like PTZ IPC: presets, patrol, zoom/focus, siren, no spotlight.
* ``nvr`` -- RLN16-410-like NVR, 8 channels by default; channels 5 and 7 offline; channels >= 4
  are cameras without AI (GetAbility ``supportAi*`` ver 0): 4, 8, 12... on firmware that answers
  GetAiState with ``support:0``, the others on firmware older than GetAiState, for which the NVR
  answers ``{"cmd":"Unknown","code":1,"error":{"detail":"not support","rspcode":-9}}`` (lower-case
  ``rspcode``, digest §1); channel 1 is a PTZ; GetEvents unknown (clients fall back to
  GetMdState + GetAiState).
* ``legacy`` -- RLC-822A on pre-2021 firmware: no GetEvents, flat GetAiState
  (``people_state``/``vehicle_state``), old GetDevInfo (no exactType/frameworkVer/pakSuffix,
  firmVer without the leading "v"), scheduleVersion 0.
* ``hub`` -- Home Hub with battery cameras: channel 0 asleep (``sleep:1``), channel 1 a battery
  doorbell (visitor + package), channel 3 empty; Snap needs a token (koush/scrypted#2088).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

__all__ = ["PROFILES", "ChannelSpec", "Profile", "abilities", "build_profile"]

AI_TYPES = ("dog_cat", "face", "people", "vehicle")
PROFILES = ("camera", "ptz", "nvr", "legacy", "hub")


@dataclass(frozen=True)
class ChannelSpec:
    """What one channel (camera) is and can do."""

    name: str
    model: str
    ai_types: Tuple[str, ...] = ()
    ptz: bool = False
    spotlight: bool = False
    siren: bool = False
    battery: bool = False
    doorbell: bool = False
    online: bool = True
    sleeping: bool = False
    uid: str = ""
    firm_ver: str = ""
    board: str = ""
    #: The camera's firmware predates GetAiState (2021): the NVR answers GetAiState for this
    #: channel with ``{"cmd": "Unknown", "code": 1, "error": {"detail": "not support",
    #: "rspcode": -9}}`` -- ``rspcode`` in lower case -- as RLN8-410 / RLN16-410 class NVRs do
    #: for a channel whose camera has no AI (digest §1 "Batching").
    ai_state_unknown: bool = False


@dataclass(frozen=True)
class Profile:
    """The device as a whole."""

    name: str
    model: str
    dev_type: str
    exact_type: Optional[str]
    firm_ver: str
    hard_ver: str
    build_day: str
    framework_ver: Optional[int]
    pak_suffix: Optional[str]
    serial: str
    uid: str
    channels: Tuple[ChannelSpec, ...]
    known_cmds: FrozenSet[str]
    ai_format: str = "nested"  # "nested" (alarm_state/support per type) or "flat" (legacy)
    schedule_version: int = 1
    snap_inline_auth: bool = True
    disk_num: int = 0
    #: webhook slots per channel (GetWebHook/SetWebHook/TestWebHook); 0 = no webhook (-9)
    webhook_slots: int = 0
    presets: Tuple[Tuple[int, str], ...] = field(
        default=((1, "Gate"), (2, "Driveway"), (3, "Home"))
    )

    @property
    def is_nvr(self) -> bool:
        return self.dev_type in ("NVR", "HOMEHUB")


# Commands every profile knows; each profile adds its own.
_BASE_CMDS = frozenset(
    {
        "Login",
        "Logout",
        "GetDevInfo",
        "GetAbility",
        "GetLocalLink",
        "GetNetPort",
        "GetP2p",
        "GetHddInfo",
        "GetUser",
        "GetNtp",
        "GetTime",
        "GetChnTypeInfo",
        "GetEnc",
        "GetRtspUrl",
        "GetMdState",
        "GetOsd",
        "GetIrLights",
        "SetIrLights",
        "Reboot",
        "Snap",
        "GetOnline",
        "GetWhiteLed",
        "SetWhiteLed",
        "AudioAlarmPlay",
        "PtzCtrl",
        "GetPtzPreset",
        "SetPtzPreset",
        "GetPtzPatrol",
        "GetPtzGuard",
        "GetPtzCurPos",
        "GetZoomFocus",
        "StartZoomFocus",
        "GetMdAlarm",
        "GetAudioAlarmV20",
        "GetPushCfg",
        # detection setup (reolink.emulator.setup_cmds)
        "GetAlarm",
        "GetPirInfo",
        "GetAiCfg",
        "GetAiAlarm",
    }
)
_NEW_FW_CMDS = _BASE_CMDS | {"GetAiState", "GetEvents"}
# Newer firmware: the webhook and GetPushV20 (older firmware has GetPush only).
_WEBHOOK_CMDS = frozenset({"GetWebHook", "SetWebHook", "TestWebHook", "GetPushV20", "GetPush"})
_WEBHOOK_SLOTS = 5


def _camera() -> Profile:
    ch = ChannelSpec(
        "Front Yard",
        "RLC-811A",
        AI_TYPES,
        spotlight=True,
        siren=True,
        firm_ver="v3.1.0.2368_23062508",
        board="IPC_523SD10",
    )
    return Profile(
        name="camera",
        model="RLC-811A",
        dev_type="IPC",
        exact_type="IPC",
        firm_ver="v3.1.0.2368_23062508",
        hard_ver="IPC_523SD10",
        build_day="build 23062508",
        framework_ver=1,
        pak_suffix="pak|paks",
        serial="00000000000001",
        uid="95270000EMU0001A",
        channels=(ch,),
        known_cmds=_NEW_FW_CMDS | _WEBHOOK_CMDS,
        disk_num=1,
        webhook_slots=_WEBHOOK_SLOTS,
    )


def _ptz() -> Profile:
    ch = ChannelSpec(
        "Driveway PTZ",
        "RLC-823A",
        ("people", "vehicle"),
        ptz=True,
        siren=True,
        firm_ver="v3.0.0.2356_23062000",
        board="IPC_5238M8MP",
    )
    return Profile(
        name="ptz",
        model="RLC-823A",
        dev_type="IPC",
        exact_type="IPC",
        firm_ver="v3.0.0.2356_23062000",
        hard_ver="IPC_5238M8MP",
        build_day="build 23062000",
        framework_ver=1,
        pak_suffix="pak|paks",
        serial="00000000000002",
        uid="95270000EMU0002B",
        channels=(ch,),
        known_cmds=_NEW_FW_CMDS | _WEBHOOK_CMDS,
        disk_num=1,
        webhook_slots=_WEBHOOK_SLOTS,
    )


_NVR_CAMS: Tuple[Tuple[str, str, Tuple[str, ...], Dict[str, bool]], ...] = (
    (
        "Front Door",
        "RLC-811A",
        ("dog_cat", "people", "vehicle"),
        {"spotlight": True, "siren": True},
    ),
    ("Driveway", "RLC-823A", ("people", "vehicle"), {"ptz": True, "siren": True}),
    ("Garden", "RLC-810A", ("dog_cat", "people", "vehicle"), {"siren": True}),
    ("Garage", "RLC-820A", ("people", "vehicle"), {}),
)


def _nvr(channels: int) -> Profile:
    specs: List[ChannelSpec] = []
    for i in range(channels):
        uid = f"95270000NVRCH{i:03d}"
        if i < len(_NVR_CAMS):
            name, model, ai, extra = _NVR_CAMS[i]
            specs.append(
                ChannelSpec(
                    name,
                    model,
                    ai,
                    uid=uid,
                    firm_ver="v3.0.0.2356_23062000",
                    board="IPC_523128M8MP",
                    **extra,
                )
            )
        elif i % 4 == 0:
            # A camera without AI on firmware that knows GetAiState: every type support 0.
            specs.append(
                ChannelSpec(
                    f"Camera {i + 1:02d}",
                    "RLC-520",
                    uid=uid,
                    firm_ver="v3.0.0.136_20121102",
                    board="IPC_51516M5M",
                )
            )
        else:
            # Older cameras without AI whose firmware predates GetAiState: the NVR answers it
            # in the RLN8-410 shape; 5 and 7 have nothing connected.
            specs.append(
                ChannelSpec(
                    f"Camera {i + 1:02d}",
                    "RLC-410",
                    uid=uid,
                    online=i not in (5, 7),
                    firm_ver="v2.0.0.1441_19032101",
                    board="IPC_51516M5M",
                    ai_state_unknown=True,
                )
            )
    return Profile(
        name="nvr",
        model="RLN16-410",
        dev_type="NVR",
        exact_type="NVR",
        firm_ver="v3.3.0.226_23031645",
        hard_ver="N7MB01",
        build_day="build 23031645",
        framework_ver=1,
        pak_suffix="pak|paks",
        serial="00000000000016",
        uid="95270000EMUNVR16",
        channels=tuple(specs),
        known_cmds=_BASE_CMDS | {"GetChannelstatus", "GetAiState"} | _WEBHOOK_CMDS,
        disk_num=1,
        webhook_slots=_WEBHOOK_SLOTS,
    )


def _legacy() -> Profile:
    ch = ChannelSpec(
        "Porch",
        "RLC-822A",
        ("people", "vehicle"),
        firm_ver="3.0.0.177_20121100",
        board="IPC_51516M5M",
    )
    return Profile(
        name="legacy",
        model="RLC-822A",
        dev_type="IPC",
        exact_type=None,
        firm_ver="3.0.0.177_20121100",
        hard_ver="IPC_51516M5M",
        build_day="build 20121100",
        framework_ver=None,
        pak_suffix=None,
        serial="00000000000003",
        uid="95270000EMU0003C",
        channels=(ch,),
        known_cmds=_BASE_CMDS | {"GetAiState", "GetAudioAlarm", "GetPush"},
        ai_format="flat",
        schedule_version=0,
        disk_num=1,
    )


def _hub(channels: int) -> Profile:
    base = (
        ChannelSpec(
            "Back Garden",
            "Argus 4 Pro",
            ("dog_cat", "people", "vehicle"),
            spotlight=True,
            siren=True,
            battery=True,
            sleeping=True,
        ),
        ChannelSpec(
            "Front Door Bell",
            "Reolink Video Doorbell Battery",
            ("dog_cat", "people", "vehicle", "package"),
            battery=True,
            doorbell=True,
        ),
        ChannelSpec("Shed", "Argus Eco Ultra", ("people", "vehicle"), battery=True),
        ChannelSpec("Camera 04", "", online=False),
    )
    specs = [
        replace(
            spec, uid=f"95270000HUBCH{i:03d}", firm_ver="v3.0.0.3744_24062000", board="BIPC_560SD5"
        )
        for i, spec in enumerate(base[:channels])
    ]
    specs += [ChannelSpec(f"Camera {i + 1:02d}", "", online=False) for i in range(4, channels)]
    return Profile(
        name="hub",
        model="Reolink Home Hub",
        dev_type="HOMEHUB",
        exact_type="HOMEHUB",
        firm_ver="v3.3.0.375_24061200",
        hard_ver="HUB_01",
        build_day="build 24061200",
        framework_ver=1,
        pak_suffix="pak|paks",
        serial="00000000000099",
        uid="95270000EMUHUB01",
        channels=tuple(specs),
        known_cmds=_NEW_FW_CMDS | {"GetChannelstatus", "GetBatteryInfo"} | _WEBHOOK_CMDS,
        snap_inline_auth=False,
        disk_num=1,
        webhook_slots=_WEBHOOK_SLOTS,
    )


def build_profile(name: str, channels: Optional[int] = None) -> Profile:
    """The named profile; ``channels`` sizes the nvr (default 8) and hub (default 4) profiles.

    The single-camera profiles (camera, ptz, legacy) have one channel: another count is a
    ValueError, never silently ignored.
    """
    if name in _SINGLE and channels is not None and channels != 1:
        raise ValueError(
            f"--channels {channels}: the {name} profile is a single-channel camera (1 channel); "
            "--channels sizes the nvr and hub profiles"
        )
    if name == "camera":
        return _camera()
    if name == "ptz":
        return _ptz()
    if name == "legacy":
        return _legacy()
    if name == "nvr":
        return _nvr(8 if channels is None else _check_channels(channels))
    if name == "hub":
        return _hub(4 if channels is None else _check_channels(channels))
    raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")


#: Profiles of one camera: one channel, whatever is asked.
_SINGLE = frozenset({"camera", "ptz", "legacy"})


def _check_channels(channels: int) -> int:
    if not 1 <= channels <= 64:
        raise ValueError("channels must be 1..64")
    return channels


def _leaf(ver: int, permit: int = 7) -> Dict[str, int]:
    return {"permit": permit if ver else 0, "ver": ver}


def abilities(profile: Profile, online: Optional[Sequence[bool]] = None) -> Dict[str, Any]:
    """``value.Ability`` of GetAbility: global leaves plus ``abilityChn`` (index = channel).

    ``online``: each channel's live state (default: the profile's); an offline NVR channel
    reports its camera's abilities as 0, as firmware does."""
    nvr = profile.is_nvr
    ability: Dict[str, Any] = {
        "devInfo": _leaf(1, 4),
        "reboot": _leaf(1, 1),
        "upgrade": _leaf(2, 1),
        "restore": _leaf(1, 1),
        "log": _leaf(1, 4),
        "time": _leaf(1),
        "ntp": _leaf(1),
        "localLink": _leaf(1),
        "http": _leaf(1),
        "https": _leaf(1),
        "rtsp": _leaf(1),
        "rtmp": _leaf(1),
        "onvif": _leaf(1),
        "p2p": _leaf(1),
        "upnp": _leaf(1),
        "email": _leaf(1),
        "push": _leaf(1),
        "pushSchedule": _leaf(1),
        "ftp": _leaf(1),
        "wifi": _leaf(0),
        "hddInfo": _leaf(1 if profile.disk_num else 0),
        "user": _leaf(1),
        "scheduleVersion": _leaf(profile.schedule_version, 6),
        "performance": _leaf(0),
        "exportCfg": _leaf(1),
        "importCfg": _leaf(1),
        "autoMaint": _leaf(1),
        "supportBuzzer": _leaf(1 if nvr else 0),
    }
    chans: List[Dict[str, Any]] = []
    for number, spec in enumerate(profile.channels):
        ai = set(spec.ai_types)
        up = spec.online if online is None else online[number]
        chans.append(
            {
                "ptzType": _leaf(2 if spec.ptz else 0),
                "ptzCtrl": _leaf(1 if spec.ptz else 0),
                "ptzPreset": _leaf(1 if spec.ptz else 0),
                "ptzPatrol": _leaf(1 if spec.ptz else 0),
                "ptzDirection": _leaf(0),
                "supportPtzCheck": _leaf(1 if spec.ptz else 0),
                "supportPtzSpeed": _leaf(1 if spec.ptz else 0),
                "floodLight": _leaf(1 if spec.spotlight else 0),
                "supportFLswitch": _leaf(1 if spec.spotlight else 0),
                "supportFLBrightness": _leaf(1 if spec.spotlight else 0),
                "supportFLIntelligent": _leaf(1 if spec.spotlight else 0),
                "supportFLSchedule": _leaf(1 if spec.spotlight else 0),
                "alarmAudio": _leaf(1 if spec.siren else 0),
                "supportAudioAlarm": _leaf(1 if spec.siren else 0),
                "supportAi": _leaf(1 if ai else 0),
                "supportAiPeople": _leaf(1 if "people" in ai else 0),
                "supportAiVehicle": _leaf(1 if "vehicle" in ai else 0),
                "supportAiDogCat": _leaf(1 if "dog_cat" in ai else 0),
                "supportAiFace": _leaf(1 if "face" in ai else 0),
                "alarmMd": _leaf(1 if up else 0),
                "supportMd": _leaf(1 if up else 0),
                "snap": _leaf(1 if up else 0),
                "battery": _leaf(1 if spec.battery else 0),
                "ledControl": _leaf(1 if up and not spec.battery else 0),
                "mask": _leaf(1 if up else 0),
                "osd": _leaf(1 if up else 0),
                "enc": _leaf(1 if up else 0),
                "recCfg": _leaf(1 if up else 0),
                "supportDoorbellLight": _leaf(1 if spec.doorbell else 0),
                "mdWithPir": _leaf(1 if spec.battery else 0),
                "supportAiSensitivity": _leaf(1 if ai else 0),
                "supportWebhook": _leaf(1 if up and profile.webhook_slots else 0),
            }
        )
    ability["abilityChn"] = chans
    return ability
