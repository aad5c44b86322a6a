"""Decoding a poll's answer entry by entry, reusing the entries of the last answers.

``batch.decode_batch_reusing`` must give what ``batch.decode_batch`` gives - the same replies,
or the same error type with the same message - for firmware's replies and for varied, hostile
ones (thousands of random bodies per run, from fixed seeds, so a failure is repeatable), with
and without earlier answers to reuse, including earlier answers to other commands. Then the
client: an answer that changed in one channel decodes only that channel's entries, and a
reply that changed is never read from a stale memo.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from reolink.errors import ReolinkError
from reolink.protocol import batch, envelope
from reolink.protocol.results import CommandReply

REPLIES = Path(__file__).parent / "data" / "replies"


def _pretty(entries: Any) -> bytes:
    """As firmware prints a reply: tab-indented, ``" : "`` between name and value."""
    return json.dumps(entries, indent="\t", separators=(",", " : ")).encode()


def _view(reply: CommandReply) -> Tuple[Any, ...]:
    error = reply.error
    shown = None if error is None else (type(error).__name__, str(error), vars(error))
    return (reply.cmd, reply.value, shown, reply.raw)


def _outcome(decode: Any, *args: Any) -> Any:
    try:
        result = decode(*args)
    except ReolinkError as error:
        return ("error", type(error).__name__, str(error))
    replies = result[0] if isinstance(result, tuple) else result
    return ("ok", [_view(r) for r in replies])


def _commands(count: int, rng: random.Random) -> List[Dict[str, Any]]:
    names = ["GetMdState", "GetAiState", "GetEvents", "GetChannelstatus"]
    return [
        {"cmd": rng.choice(names), "action": 0, "param": {"channel": rng.randrange(4)}}
        for _ in range(count)
    ]


def _entry(rng: random.Random, cmd: str) -> Any:
    roll = rng.random()
    if roll < 0.55:
        return {"cmd": cmd, "code": 0, "value": {"state": rng.randrange(2)}}
    if roll < 0.65:
        nested = [{"a": rng.randrange(3)}, {"b": [{"c": 1}]}]  # objects one tab deeper, too
        return {"cmd": cmd, "code": 0, "value": {"list": nested}}
    if roll < 0.75:
        return {"cmd": "Unknown", "code": 1, "error": {"detail": "not support", "rspCode": -9}}
    if roll < 0.8:
        return {"cmd": cmd, "code": 0, "value": {"text": rng.choice(["<html>", "a,\tb", "}"])}}
    if roll < 0.85:
        return {"cmd": cmd, "code": 0, "value": None}
    if roll < 0.9:
        return [1, 2]
    return {"cmd": cmd, "code": rng.choice([0, 1, "0", True]), "value": {"x": 1.5}}


_CUTS = [b",\n\t{", b"\n\t}", b"[", b"]", b"{", b"<", b"\xff", b"\xef\xbb\xbf", b" ", b"\n"]
_CUTS += [b"\x0b", b"\x0c"]  # whitespace to str.strip(), not to JSON


def _body(rng: random.Random, commands: Sequence[Dict[str, Any]]) -> bytes:
    entries = [_entry(rng, c["cmd"]) for c in commands]
    if rng.random() < 0.1:
        entries = entries[: rng.randrange(len(entries) + 1)]  # a short answer
    raw = _pretty(entries)
    if rng.random() < 0.1:
        raw = json.dumps(entries).encode()  # compact: decoded whole
    if rng.random() < 0.35:  # broken: something inserted, cut or dropped somewhere
        at = rng.randrange(len(raw) + 1)
        kind = rng.random()
        if kind < 0.5:
            raw = raw[:at] + rng.choice(_CUTS) + raw[at:]
        elif kind < 0.75:
            raw = raw[:at]
        else:
            raw = raw[:at] + raw[at + rng.randrange(1, 6):]
    return raw


def test_firmware_replies_decode_the_same() -> None:
    bodies = [p.read_bytes() for p in sorted(REPLIES.glob("*.json"))]
    assert len(bodies) > 20
    for raw in bodies:
        count = len(json.loads(raw)) if raw.lstrip().startswith(b"[") else 1
        commands = [{"cmd": "GetMdState", "action": 0, "param": {"channel": 0}}] * count
        plain = _outcome(batch.decode_batch, raw, commands)
        assert _outcome(batch.decode_batch_reusing, raw, commands) == plain
        _, known = batch.decode_batch_reusing(raw, commands)
        assert _outcome(batch.decode_batch_reusing, raw, commands, known) == plain


@pytest.mark.parametrize("seed", range(4))
def test_random_answers_decode_the_same(seed: int) -> None:
    rng = random.Random(seed)
    outcomes = {"ok": 0, "error": 0}
    reused = 0
    earlier: List[batch.Known] = []
    commands = _commands(3, rng)
    for _ in range(1500):
        if rng.random() < 0.2:  # mostly the same poll again, as a device is polled
            commands = _commands(rng.randrange(1, 6), rng)
        raw = _body(rng, commands)
        plain = _outcome(batch.decode_batch, raw, commands)
        if rng.random() < 0.7:  # the last two answers, as the client passes them
            maps = earlier[-2:][::-1]
        else:
            maps = rng.sample(earlier, min(len(earlier), rng.randrange(3)))
        assert _outcome(batch.decode_batch_reusing, raw, commands, *maps) == plain, raw
        outcomes[plain[0]] += 1
        try:
            _, known = batch.decode_batch_reusing(raw, commands, *maps)
        except ReolinkError:
            continue
        reused += sum(1 for text in known for m in maps if text in m)
        earlier = [*earlier, known][-6:]
    # The random bodies cover both outcomes and entries that were reused.
    assert min(outcomes.values()) > 150 and reused > 200, (outcomes, reused)


def test_a_cut_inside_an_entry_decodes_the_whole_body() -> None:
    """``,\\n\\t{`` one level deeper (an array of objects printed with one tab) cuts an entry
    in two: neither piece is a whole value, so the body is decoded whole."""
    raw = b'[\n\t{"cmd" : "GetMdState", "code" : 0, "value" : {"l" : [1,\n\t{"x" : 2}]}}\n]'
    commands = [{"cmd": "GetMdState", "param": {"channel": 0}}]
    replies, known = batch.decode_batch_reusing(raw, commands)
    assert replies[0].value == {"l": [1, {"x": 2}]} and known == {}


def test_a_reply_reused_for_another_command_name_is_made_anew() -> None:
    raw = _pretty([{"cmd": "GetMdState", "code": 0, "value": {"state": 1}}])
    md = [{"cmd": "GetMdState", "param": {"channel": 0}}]
    ai = [{"cmd": "GetAiState", "param": {"channel": 0}}]
    _, known = batch.decode_batch_reusing(raw, md)
    replies, _ = batch.decode_batch_reusing(raw, ai, known)
    assert replies[0].cmd == "GetAiState"


def test_only_new_entries_are_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """8 channels, one changed: one entry decoded; a motion edge back: none."""
    commands = [{"cmd": "GetMdState", "action": 0, "param": {"channel": c}} for c in range(8)]
    states = [0] * 8

    def answer() -> bytes:
        return _pretty([{"cmd": "GetMdState", "code": 0, "value": {"state": s}} for s in states])

    decoded: List[bytes] = []
    real = envelope.load_entry_text

    def counting(text: bytes) -> object:
        decoded.append(text)
        return real(text)

    monkeypatch.setattr(batch, "load_entry_text", counting)
    _, quiet = batch.decode_batch_reusing(answer(), commands)
    assert len(decoded) == 8
    states[3] = 1
    replies, motion = batch.decode_batch_reusing(answer(), commands, quiet)
    assert len(decoded) == 9 and replies[3].value == {"state": 1}
    states[3] = 0
    replies, _ = batch.decode_batch_reusing(answer(), commands, motion, quiet)
    assert len(decoded) == 9 and replies[3].value == {"state": 0}


def test_a_body_without_its_closing_bracket_fails_as_decoded_whole() -> None:
    """The last character is cut off as the array's ``]``: only when it is one."""
    entry = b'{"cmd" : "GetMdState", "code" : 0, "value" : {"state" : 1}}'
    commands = [{"cmd": "GetMdState", "param": {"channel": 0}}]
    for raw in (b"[\n\t" + entry + b"}", b"[\n\t" + entry + b"}\n", b"[\n\t" + entry + b"]]"):
        plain = _outcome(batch.decode_batch, raw, commands)
        assert plain[0] == "error"
        assert _outcome(batch.decode_batch_reusing, raw, commands) == plain


def test_the_driver_decodes_only_the_entries_a_motion_edge_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An 8-channel NVR on simulated time: motion on channel 3 and off again, twice, reach the
    host with the first poll after each edge; of all those answers, one entry is decoded:
    channel 3's with motion, the first time (without motion, it is the one of two answers
    before)."""
    from simdevice import SimHarness

    h = SimHarness({str(ch): {} for ch in range(8)}, emulator={"profile": "nvr", "channels": 8})
    assert h.run_until(lambda: h.core.setup.reads >= 1 and h.value("motion", "3") == 0, 120)
    decoded: List[bytes] = []
    real = envelope.load_entry_text
    monkeypatch.setattr(batch, "load_entry_text", lambda text: decoded.append(text) or real(text))
    for on in (1, 0, 1, 0):
        h.emu.set_motion(3, bool(on))
        start = h.cycles()
        assert h.run_until(lambda on=on: h.value("motion", "3") == on, 60)
        assert h.cycles() == start + 1  # the first poll after the edge brought it
    assert len(decoded) == 1 and b'"state" : 1' in decoded[0], decoded


def test_the_poller_does_not_parse_a_reply_it_read_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once channel 3 has shown motion and none, more edges parse no GetMdState reply: each
    is one of the last two replies read for that command and channel (the same object,
    handed out again for the same entry text). Every edge still reaches the host."""
    from simdevice import SimHarness

    from reolink.protocol import parsers

    h = SimHarness({str(ch): {} for ch in range(8)}, emulator={"profile": "nvr", "channels": 8})
    assert h.run_until(lambda: h.core.setup.reads >= 1 and h.value("motion", "3") == 0, 120)

    def edges(*states: int) -> None:
        for on in states:
            h.emu.set_motion(3, bool(on))
            assert h.run_until(lambda on=on: h.value("motion", "3") == on, 60)

    edges(1, 0)
    parsed: List[Any] = []
    real = parsers.md_state_motion
    monkeypatch.setattr(parsers, "md_state_motion", lambda r: parsed.append(r) or real(r))
    seen = len(h.history("motion", "3"))
    edges(1, 0, 1, 0)
    assert h.history("motion", "3")[seen:] == [1, 0, 1, 0]
    assert parsed == []


def test_an_answer_of_the_two_before_is_not_decoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once channel 3 has shown motion and none, the poll's answer alternates between two
    texts: each edge brings back the answer before the last one, and the client hands out
    the replies it made for it - no answer is decoded, not even entry by entry. An answer not
    among the last two (motion on channel 2 as well) is decoded, and so is the one it pushed
    out when it comes back; an answer that came back counts as the newest. Every edge reaches
    the host."""
    from simdevice import SimHarness

    h = SimHarness({str(ch): {} for ch in range(8)}, emulator={"profile": "nvr", "channels": 8})
    assert h.run_until(lambda: h.core.setup.reads >= 1 and h.value("motion", "3") == 0, 120)

    def edge(channel: int, on: int) -> None:
        h.emu.set_motion(channel, bool(on))
        start = h.cycles()
        assert h.run_until(lambda: h.value("motion", str(channel)) == on, 60)
        assert h.cycles() == start + 1  # the first poll after the edge brought it

    edge(3, 1)
    edge(3, 0)
    decoded: List[bytes] = []
    real = batch.decode_batch_reusing
    monkeypatch.setattr(
        batch, "decode_batch_reusing", lambda raw, *rest: decoded.append(raw) or real(raw, *rest)
    )
    seen = len(h.history("motion", "3"))
    for on in (1, 0, 1, 0):
        edge(3, on)
    assert h.history("motion", "3")[seen:] == [1, 0, 1, 0]
    assert decoded == []
    edge(3, 1)
    edge(2, 1)  # a third answer: decoded; the memo now holds it and channel 3's motion
    assert len(decoded) == 1
    edge(2, 0)  # back to channel 3's motion alone: among the last two
    assert len(decoded) == 1
    edge(3, 0)  # no motion: pushed out by the third answer, so decoded again
    assert len(decoded) == 2
    edge(3, 1)  # the answer that came back went first: "no motion" pushed out the other
    assert len(decoded) == 2
    assert [h.value("motion", str(ch)) for ch in (2, 3)] == [0, 1]


def test_a_body_of_separators_is_not_cut_into_pieces() -> None:
    """2 MB of ``,\\n\\t{`` (the most pieces a body under the JSON cap could make) for a batch
    of 8: counted, not split (a list of 500,000 pieces took 4 MB more), then decoded whole."""
    import tracemalloc

    raw = b"[\n\t" + b",\n\t{" * 500_000 + b"]"
    commands = [{"cmd": "GetMdState", "param": {"channel": ch}} for ch in range(8)]
    tracemalloc.start()
    try:
        outcome = _outcome(batch.decode_batch_reusing, raw, commands)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome == _outcome(batch.decode_batch, raw, commands) and outcome[0] == "error"
    assert peak < 3 * len(raw) // 2, peak  # the whole body's text, decoded once
