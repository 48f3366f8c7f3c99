"""Fault scenarios not covered elsewhere, each in all four call modes."""

from __future__ import annotations

import email.utils
import time

import pytest

from tests.helpers import MODES, MakeLLM, run
from tests.router_server import RouterServer, Step

BIG_TOKEN = "x" * 5000
BIG_ANSWER = " ".join([BIG_TOKEN] * 1000)  # ~5 MB in 1,000 tokens


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_as_an_http_date_is_honoured(
    make_llm: MakeLLM, router: RouterServer, fast_retries: list[float], mode: str
) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    router.script("together", Step.error(429, headers={"Retry-After": when}))
    message = await run(make_llm(), mode)
    assert message.content == "Hello from together."
    assert message.response_metadata["attempts"] == [
        {"provider": "together", "error": "RateLimitError", "status_code": 429}
    ]
    assert len(fast_retries) == 1
    assert 1.0 <= fast_retries[0] <= 3.0  # the date, not the default backoff


@pytest.mark.parametrize("mode", MODES)
async def test_a_five_megabyte_answer_arrives_whole_and_once(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.text(BIG_ANSWER))
    message = await run(make_llm(timeout=60), mode)
    assert len(message.content) == len(BIG_ANSWER)
    assert message.content == BIG_ANSWER


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])  # streams: test_stream_wire.py
async def test_a_whole_answer_trickled_one_byte_at_a_time_is_intact(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.text("héllo 日本語 🎉 done", trickle=True))
    message = await run(make_llm(), mode)
    assert message.content == "héllo 日本語 🎉 done"


@pytest.mark.parametrize("mode", MODES)
async def test_a_reset_inside_the_body_before_any_token_is_retried(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.reset_after(40))
    message = await run(make_llm(), mode)
    assert message.content == "Hello from together."
    assert message.response_metadata["attempts"] == [
        {"provider": "together", "error": "APIConnectionError", "status_code": None}
    ]
