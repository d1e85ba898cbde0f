from routing.decision import NO_BOT, Decision, decide

ACK = "thanks"


def test_a_new_conversation_is_acknowledged_and_queued_for_a_human() -> None:
    assert decide("bot", opened_now=True, ack_text=ACK) == Decision(
        status="queued", reply=ACK, handoff_reason=NO_BOT
    )


def test_a_bot_conversation_that_was_not_just_opened_is_queued_without_a_second_ack() -> None:
    assert decide("bot", opened_now=False, ack_text=ACK) == Decision(
        status="queued", reply=None, handoff_reason=NO_BOT
    )


def test_once_a_human_is_involved_the_bot_stays_silent() -> None:
    for status in ("queued", "assigned"):
        assert decide(status, opened_now=False, ack_text=ACK) == Decision(status=status)
