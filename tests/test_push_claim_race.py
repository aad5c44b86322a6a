"""Two drivers claiming slots at once: the read after the test call finds our slot taken even
when the device's test call already arrived (push went active first). Push must not stay
claimed on a slot another writer holds: the claim is given up and made again."""

from __future__ import annotations

from reolink.driver.pushcontrol import Phase as PushPhase
from reolink.driver.pushcontrol import PushControl, PushTiming

URL = "http://127.0.0.1:8123/reolink/push/SECRETsecretSECRETsecretSECRET00"


def _verifying() -> PushControl:
    control = PushControl("auto", 5.0, PushTiming())
    control.identified(0.0, [0])
    control.take_listen()
    control.listening(URL, "127.0.0.1:8123")
    control.registering()
    assert control.verifying(0.0, {0: 1})
    return control


def test_a_slot_lost_after_the_test_call_arrived_is_claimed_again() -> None:
    control = _verifying()
    control.wake(0.1)  # the test call came before the read after the test
    assert control.phase is PushPhase.ACTIVE and control.source == "push"
    assert control.claim_again(0.2, {})  # that read found the slot taken
    assert control.phase is PushPhase.LISTEN
    assert control.source == "poll" and "another writer" in control.reason


def test_a_slot_lost_before_the_test_call_is_claimed_again() -> None:
    control = _verifying()
    assert control.claim_again(0.2, {})
    assert control.phase is PushPhase.LISTEN and control.source != "push"


def test_claiming_again_is_bounded() -> None:
    control = _verifying()
    for _ in range(2):
        control.wake(0.1)
        assert control.claim_again(0.2, {})
        control.take_listen()
        control.listening(URL, "127.0.0.1:8123")
        control.registering()
        control.verifying(0.2, {0: 1})
    control.wake(0.3)
    assert not control.claim_again(0.2, {})  # CLAIM_AGAIN times per identification, then kept
