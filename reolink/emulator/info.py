"""Handlers of the mostly static getters: device info, abilities, network, per-channel config."""

from __future__ import annotations

import time
from typing import Any, Dict, List

from .device import CmdError, Device
from .profiles import abilities
from .registry import Result, ok, register

__all__: List[str] = []


# ---------------------------------------------------------------------- device-wide getters
@register("GetDevInfo", channel=False)
def _dev_info(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    prof = dev.profile
    info: Dict[str, Any] = {
        "B485": 0,
        "IOInputNum": 0,
        "IOOutputNum": 0,
        "audioNum": 1,
        "buildDay": prof.build_day,
        "cfgVer": "v3.1.0.0",
        "channelNum": len(prof.channels),
        "detail": f"{prof.hard_ver}_{prof.build_day.split()[-1]}_E",
        "diskNum": prof.disk_num,
        "firmVer": prof.firm_ver,
        "hardVer": prof.hard_ver,
        "model": prof.model,
        "name": prof.channels[0].name if not prof.is_nvr else f"{prof.model} Recorder",
        "serial": prof.serial,
        "type": "NVR" if prof.is_nvr else "IPC",
        "wifi": 0,
    }
    if prof.exact_type is not None:
        info["exactType"] = prof.exact_type
    if prof.framework_ver is not None:
        info["frameworkVer"] = prof.framework_ver
    if prof.pak_suffix is not None:
        info["pakSuffix"] = prof.pak_suffix
    return {"DevInfo": dict(sorted(info.items()))}, None, None


@register("GetAbility", channel=False)
def _ability(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    live = [state.online for state in dev.channels]
    if live != [spec.online for spec in dev.profile.channels]:  # a channel came or went
        return {"Ability": abilities(dev.profile, live)}, None, None
    return {"Ability": dev.ability}, None, None


@register("GetChannelstatus", channel=False)
def _channel_status(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    status = []
    for i, (spec, state) in enumerate(zip(dev.profile.channels, dev.channels)):
        status.append(
            {
                "channel": i,
                "name": state.name,
                "online": 1 if state.online else 0,
                "sleep": 1 if state.online and state.sleeping else 0,
                "typeInfo": spec.model if state.online else "",
                "uid": spec.uid if state.online else "",
            }
        )
    return {"count": len(status), "status": status}, None, None


@register("GetLocalLink", channel=False)
def _local_link(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return (
        {
            "LocalLink": {
                "activeLink": "LAN",
                "dns": {"auto": 1, "dns1": "192.168.1.1", "dns2": "0.0.0.0"},  # noqa: S104 - a reported setting, not a bind
                "mac": "ec:71:db:00:00:%02x" % (len(dev.profile.name) * 7 % 256),
                "type": "DHCP",
                "static": {"gateway": "192.168.1.1", "ip": "192.168.1.50", "mask": "255.255.255.0"},
            }
        },
        None,
        None,
    )


@register("GetNetPort", channel=False)
def _net_port(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return (
        {
            "NetPort": {
                "httpEnable": 1,
                "httpPort": 80,
                "httpsEnable": 1,
                "httpsPort": 443,
                "mediaPort": 9000,
                "onvifEnable": 1,
                "onvifPort": 8000,
                "rtmpEnable": 1,
                "rtmpPort": 1935,
                "rtspEnable": 1,
                "rtspPort": 554,
            }
        },
        None,
        None,
    )


@register("GetP2p", channel=False)
def _p2p(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return {"P2p": {"enable": 1, "uid": dev.profile.uid}}, None, None


@register("GetHddInfo", channel=False)
def _hdd(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    disks = [
        {
            "capacity": 3815447,
            "format": 1,
            "mount": 1,
            "number": i,
            "size": 2815447,
            "storageType": 1 if dev.profile.is_nvr else 2,
        }
        for i in range(dev.profile.disk_num)
    ]
    return {"HddInfo": disks}, None, None


@register("GetUser", channel=False)
def _user(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return {"User": [{"level": "admin", "userName": dev.username}]}, None, None


@register("GetNtp", channel=False)
def _ntp(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return (
        {"Ntp": {"enable": 1, "interval": 1440, "port": 123, "server": "pool.ntp.org"}},
        None,
        None,
    )


@register("GetTime", channel=False)
def _time(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    now = time.localtime()
    return (
        {
            "Dst": {"enable": 0, "offset": 1},
            "Time": {
                "day": now.tm_mday,
                "hour": now.tm_hour,
                "hourFmt": 0,
                "min": now.tm_min,
                "mon": now.tm_mon,
                "sec": now.tm_sec,
                "timeFmt": "DD/MM/YYYY",
                "timeZone": -(now.tm_gmtoff or 0),
                "year": now.tm_year,
            },
        },
        None,
        None,
    )


@register("GetPushCfg", channel=False)
def _push_cfg(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return {"PushCfg": {"enable": 1}}, None, None


@register("GetOnline", channel=False)
def _online(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return (
        {
            "User": [
                {
                    "canbeDisconn": 0,
                    "ip": "127.0.0.1",
                    "level": "admin",
                    "sessionId": 1000 + i,
                    "userName": s.user,
                }
                for i, s in enumerate(dev.sessions.values())
            ]
        },
        None,
        None,
    )


@register("Reboot", channel=False)
def _reboot(dev: Device, _ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return ok()


# ---------------------------------------------------------------------- per-channel getters
@register("GetChnTypeInfo")
def _chn_type(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    spec = dev.profile.channels[ch]
    return (
        {"boardInfo": spec.board, "channel": ch, "firmVer": spec.firm_ver, "typeInfo": spec.model},
        None,
        None,
    )


@register("GetEnc")
def _enc(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    def stream(w: int, h: int, rate: int, fps: int) -> Dict[str, Any]:
        return {
            "bitRate": rate,
            "frameRate": fps,
            "gop": 2,
            "height": h,
            "profile": "High",
            "size": f"{w}*{h}",
            "vType": "h264",
            "width": w,
        }

    return (
        {
            "Enc": {
                "audio": 1,
                "channel": ch,
                "mainStream": stream(3840, 2160, 6144, 20),
                "subStream": stream(640, 360, 256, 7),
            }
        },
        None,
        None,
    )


@register("GetRtspUrl")
def _rtsp_url(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    base = "rtsp://192.168.1.50:554"
    return (
        {
            "rtspUrl": {
                "channel": ch,
                "mainStream": f"{base}/Preview_{ch + 1:02d}_main",
                "subStream": f"{base}/Preview_{ch + 1:02d}_sub",
            }
        },
        None,
        None,
    )


@register("GetOsd")
def _osd(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return (
        {
            "Osd": {
                "bgcolor": 0,
                "channel": ch,
                "osdChannel": {"enable": 1, "name": dev.channels[ch].name, "pos": "Lower Right"},
                "osdTime": {"enable": 1, "pos": "Top Center"},
                "watermark": 1,
            }
        },
        None,
        None,
    )


@register("GetIrLights")
def _ir(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return {"IrLights": {"channel": ch, "state": dev.channels[ch].ir}}, None, None


@register("SetIrLights")
def _set_ir(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    state = param.get("IrLights", {}).get("state")
    if state not in ("Auto", "On", "Off"):
        raise CmdError(-4)
    dev.channels[ch].ir = state
    return ok()


@register("GetMdAlarm")
def _md_alarm(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    if dev.profile.schedule_version < 1:
        raise CmdError(-9)
    return (
        {
            "MdAlarm": {
                "channel": ch,
                "scope": {
                    "cols": 120,
                    "rows": 67,
                    "table": ("1" if dev.channels[ch].motion_area else "0") * 8040,
                },
                "useNewSens": 1,
                "newSens": {
                    "sensDef": 41,
                    "sens": [
                        {
                            "beginHour": 0,
                            "beginMin": 0,
                            "enable": 1,
                            "endHour": 23,
                            "endMin": 59,
                            "id": 0,
                            "priority": 0,
                            "sensitivity": 41,
                        }
                    ],
                },
            }
        },
        None,
        None,
    )


@register("GetAudioAlarmV20")
def _audio_alarm_v20(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    if dev.profile.schedule_version < 1 or not dev.profile.channels[ch].siren:
        raise CmdError(-9)
    return (
        {"Audio": {"enable": 1, "schedule": {"channel": ch, "table": {"MD": "1" * 168}}}},
        None,
        None,
    )


@register("GetAudioAlarm")
def _audio_alarm(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    if not dev.profile.channels[ch].siren:
        raise CmdError(-9)
    return {"Audio": {"schedule": {"channel": ch, "enable": 1, "table": "1" * 168}}}, None, None


@register("GetBatteryInfo")
def _battery(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    if not dev.profile.channels[ch].battery:
        raise CmdError(-9)
    return (
        {
            "Battery": {
                "adapterStatus": "none",
                "batteryPercent": 87,
                "batteryVersion": 2,
                "channel": ch,
                "chargeStatus": "none",
                "current": 0,
                "temperature": 21,
                "voltage": 7900,
            }
        },
        None,
        None,
    )
