"""Save a JPEG snapshot of every online channel of a camera or NVR to files.

Try it against the emulator:  reolink emulate --profile nvr --port 8080
then  python examples/save_snapshots.py --out snapshots
"""

from __future__ import annotations

import argparse
import base64
import os
import re

from reolink import ReolinkDriver, ReolinkError


def main() -> int:
    parser = argparse.ArgumentParser(description="Snapshot every channel to DIR/<id>-<name>.jpg")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", default="8080")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--out", default="snapshots", help="directory for the JPEG files")
    args = parser.parse_args()

    driver = ReolinkDriver(
        {
            "ip": args.ip,
            "port": args.port,
            "username": args.username,
            "password": os.environ.get("REOLINK_PASSWORD", "admin123"),
        }
    )
    if not driver.connect():
        print(f"cannot connect: {driver.last_error}")
        driver.disconnect()
        return 1
    failures = 0
    try:
        os.makedirs(args.out, exist_ok=True)
        for channel in driver.command("get_channels"):
            if not channel["online"]:
                print(f"channel {channel['id']} ({channel['name']}): offline, skipped")
                continue
            try:
                shot = driver.command("snapshot", {"address": str(channel["id"])})
            except ReolinkError as error:
                print(f"channel {channel['id']}: {error}")
                failures += 1
                continue
            safe_name = re.sub(r"[^A-Za-z0-9_-]+", "_", channel["name"]) or "channel"
            path = os.path.join(args.out, f"{channel['id']}-{safe_name}.jpg")
            with open(path, "wb") as file:
                file.write(base64.b64decode(shot["base64"]))
            print(f"channel {channel['id']} ({channel['name']}): {shot['length']} bytes -> {path}")
    finally:
        driver.disconnect()
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
