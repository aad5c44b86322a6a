"""Coverage-guided fuzzing of the reply parsers with atheris (a longer run than CI's hypothesis).

Not collected by pytest (the name does not start with ``test_``). Run it by hand::

    pip install atheris
    python tests/fuzz/run_atheris.py -max_total_time=600      # libFuzzer options pass through

Without a corpus directory argument, the recorded replies in ``tests/data/replies`` seed a
temporary corpus (libFuzzer writes new inputs into its corpus directory, so never pass the
seed folder itself).

Every input is tried as raw reply bytes against the batch decoder, each parser and the Snap
parser. The contract: parse, or raise RemoteProtocolError / ApiError. Anything else (a
KeyError, TypeError, RecursionError...) is a crash, and libFuzzer saves the input that caused it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from reolink.errors import ApiError, RemoteProtocolError
    from reolink.protocol import (
        build_get_ai_state,
        build_get_events,
        build_get_md_state,
        decode_batch,
        parse_ability,
        parse_ai_state,
        parse_channel_status,
        parse_dev_info,
        parse_events,
        parse_login,
        parse_md_state,
        parse_ok,
        parse_ptz_presets,
        parse_snap,
        parse_white_led,
    )

ALLOWED = (RemoteProtocolError, ApiError)
BATCH = [build_get_md_state(0), build_get_ai_state(0), build_get_events(0)]
PARSERS = (
    parse_login,
    parse_ok,
    parse_dev_info,
    parse_channel_status,
    parse_ability,
    lambda r: parse_md_state(r, 0),
    lambda r: parse_ai_state(r, 0),
    lambda r: parse_events(r, 0),
    lambda r: parse_ptz_presets(r, 0),
    lambda r: parse_white_led(r, 0),
)


def one_input(data: bytes) -> None:
    for size in (1, len(BATCH)):
        try:
            replies = decode_batch(data, BATCH[:size])
        except ALLOWED:
            continue
        for reply in replies:
            for parser in PARSERS:
                try:
                    parser(reply)
                except ALLOWED:
                    pass
    for content_type in ("image/jpeg", "text/html"):
        try:
            parse_snap(200, content_type, data, channel=0)
        except ALLOWED:
            pass


def main() -> None:
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        corpus = tempfile.mkdtemp(prefix="reolink-fuzz-")
        for seed in (Path(__file__).resolve().parent.parent / "data" / "replies").iterdir():
            if seed.is_file():
                shutil.copy(seed, corpus)
        argv.append(corpus)
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
