from __future__ import annotations

from rebook.channels.errors import NETWORK_MESSAGE, TIMEOUT_MESSAGE
from rebook.messaging.outcomes import gave_up


class TestGaveUp:
    def test_a_final_failure_promises_no_retry(self) -> None:
        assert gave_up(NETWORK_MESSAGE, 5) == (
            "Gave up after 5 attempts: The provider could not be reached."
        )
        assert "retried" not in gave_up(TIMEOUT_MESSAGE, 2)

    def test_a_reason_without_the_promise_is_kept_as_it_is(self) -> None:
        assert gave_up("Mailbox full.", 3) == "Gave up after 3 attempts: Mailbox full."
