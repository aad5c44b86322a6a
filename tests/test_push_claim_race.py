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


def _claimed_again_twice(slot: int = 1) -> PushControl:
    """Push control whose claim was lost and chosen again twice (CLAIM_AGAIN times), now
    verifying its third claim (webhook ``slot`` on channel 0)."""
    control = _verifying()
    for _ in range(2):
        control.wake(0.1)
        assert control.claim_again(0.2, {})
        control.take_listen()
        control.listening(URL, "127.0.0.1:8123")
        control.registering()
        control.verifying(0.3, {0: slot})
    return control


def test_a_slot_lost_before_the_test_call_is_claimed_again() -> None:
    control = _verifying()
    assert control.claim_again(0.2, {})
    assert control.phase is PushPhase.LISTEN and control.source != "push"


def test_claiming_again_is_bounded() -> None:
    control = _claimed_again_twice()
    control.wake(0.4)
    assert not control.claim_again(0.5, {})  # CLAIM_AGAIN times per identification, then kept


# --- the late and periodic reads of our slots (a writer that writes after our read-backs) ----


def _active() -> PushControl:
    control = _verifying()
    control.wake(0.1)
    assert control.phase is PushPhase.ACTIVE and control.source == "push"
    return control


def test_our_slots_are_read_recheck_after_the_claim_then_every_reverify() -> None:
    control = _active()
    timing = control.timing
    assert control.next_wakeup(1.0) == timing.recheck
    assert not control.check_due(timing.recheck - 0.1)
    assert control.take_check(timing.recheck - 0.1) == {}
    assert control.take_check(timing.recheck) == {0: 1}
    assert control.take_check(timing.recheck) == {}  # taken once: the read is running
    assert not control.checked(timing.recheck + 0.1, {0: 1}, {0: 1}, [])
    assert control.source == "push" and control.slots == {0: 1}
    assert control.next_wakeup(20.0) == timing.recheck + 0.1 + timing.reverify


def test_a_slot_another_system_took_gives_up_push_and_the_slot() -> None:
    control = _active()
    slots = control.take_check(10.0)
    assert control.checked(10.1, slots, {}, [0])
    assert control.phase is PushPhase.LISTEN and control.slots == {}  # never freed: not ours
    assert control.source == "poll"
    assert control.reason.startswith("push not verified: another system took our webhook slot")
    assert control.take_check(1000.0) == {}


def test_an_unreadable_table_is_no_loss_and_a_failed_read_is_tried_again_soon() -> None:
    control = _active()
    slots = control.take_check(10.0)
    assert not control.checked(10.1, slots, {}, [])  # the channel's table could not be read
    assert control.source == "push" and control.slots == {0: 1}
    slots = control.take_check(control.timing.reverify + 10.1)
    control.check_failed(400.0)  # no answer at all
    assert control.check_at == 400.0 + control.timing.recheck
    assert control.source == "push" and control.slots == slots


def test_our_url_found_in_another_slot_is_still_ours() -> None:
    control = _active()
    slots = control.take_check(10.0)
    assert not control.checked(10.1, slots, {0: 3}, [])
    assert control.slots == {0: 3} and control.source == "push"


def test_a_read_that_ends_after_push_moved_on_changes_nothing() -> None:
    control = _active()
    slots = control.take_check(10.0)
    control.lost()  # the device went offline meanwhile
    assert not control.checked(10.1, slots, {}, [0])
    assert control.phase is PushPhase.IDLE and control.slots == {0: 1}


def test_no_read_while_no_slot_is_held() -> None:
    control = _verifying()
    control.failed(1.0, "registration failed: test")
    assert control.phase is PushPhase.FALLBACK
    assert control.take_check(1000.0) == {}
    assert control.next_wakeup(2.0) == control.retry_at


def test_claims_exhausted_with_no_slot_left_fall_back_instead_of_claiming_push() -> None:
    control = _claimed_again_twice()
    control.wake(0.4)
    assert not control.claim_again(0.5, {})
    # Before: push stayed claimed with no slot at all (the device called someone else).
    assert control.phase is PushPhase.FALLBACK and control.source == "poll"
    assert control.reason.startswith("registration failed: other systems took our webhook slot")
    assert control.retry_at == 0.5 + control.timing.retry


def test_a_claim_that_held_may_be_chosen_again_in_full_later() -> None:
    control = _claimed_again_twice(slot=2)
    control.wake(0.4)
    slots = control.take_check(20.0)
    assert not control.checked(20.1, slots, {0: 2}, [])  # the late read: the claim held
    slots = control.take_check(20.1 + control.timing.reverify)
    assert control.checked(400.0, slots, {}, [0])  # hours later, the app overwrote it
    assert control.phase is PushPhase.LISTEN


def test_with_claims_exhausted_a_partial_loss_keeps_the_other_channels_slots() -> None:
    control = PushControl("auto", 5.0, PushTiming())
    control.identified(0.0, [0, 1])
    for claim in range(3):  # CLAIM_AGAIN + 1 claims
        control.take_listen()
        control.listening(URL, "127.0.0.1:8123")
        control.registering()
        control.verifying(0.1, {0: 1, 1: 1})
        control.wake(0.2)
        if claim < 2:
            assert control.claim_again(0.3, {0: 1})
    slots = control.take_check(10.1)
    assert control.checked(10.2, slots, {1: 1}, [0])
    assert control.phase is PushPhase.ACTIVE and control.slots == {1: 1}
    assert control.check_at == 10.2 + control.timing.reverify
