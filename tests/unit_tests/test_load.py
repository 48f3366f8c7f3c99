"""A small load run in CI: concurrent streams while one provider fails at random.

`benchmarks/load.py` runs the same check by hand with large numbers.
"""

from __future__ import annotations

import pytest

from benchmarks.load import ANSWER, FAILING, is_sound, make_llm, merge, run_round
from tests.router_server import RouterServer, Step

STREAMS = 150  # concurrent streams per round
ROUNDS = 2


@pytest.mark.load
@pytest.mark.parametrize("failure", ["status", "reset"])
async def test_concurrent_streams_with_a_failing_provider_lose_and_repeat_nothing(
    router: RouterServer, fast_retries: list[float], failure: str
) -> None:
    providers = {p for entries in router.models.values() for p, *_ in entries}
    router.answers = {p: ANSWER.format(provider=p) for p in providers}
    # "reset" cuts the connection a few tokens into the answer: those streams must
    # raise a typed error without repeating anything (no failover after a token).
    step = Step.reset_after(600) if failure == "reset" else None
    router.set_failure_rate(FAILING, 0.3, status=503, seed=7, step=step)
    llm = make_llm(router.url)
    try:
        reports = [await run_round(llm, STREAMS) for _ in range(ROUNDS)]
    finally:
        router.answers = {}
    total = merge(reports)
    stats = router.stats()
    assert is_sound(total), total
    assert total.wrong_contents == 0
    assert total.completed + total.typed_errors == STREAMS * ROUNDS
    assert stats["failures_injected"] > 0.2 * STREAMS  # faults really happened
    assert stats["hub_requests"] == 1  # single flight, then cached
    assert total.served_by.get(FAILING, 0) > 0
    if failure == "reset":
        assert total.errors_by_class.get("APIConnectionError", 0) > 0  # cut mid-answer
