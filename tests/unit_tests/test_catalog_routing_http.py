"""Routing by the router's catalog, over real HTTP against the loopback router.

The fake router serves `/v1/models` in the real shape (hf-router-facts §2.3)
with per-provider prices, capabilities and probe figures set by each test.
Every scenario runs in the four modes and checks what the user sees: who
served, the recorded attempts, the cost, and which requests were sent.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.tools import tool

from langchain_hfapi.errors import NoProviderMatchesError, ParameterNotSupportedError
from tests.helpers import MODES, STREAMING, collect, run
from tests.router_server import RouterServer, Step

REPO = "meta-llama/Llama-3.3-70B-Instruct"
PROMPT = "Say hello to me"

# A real 400 body (tests/corpus/pydantic_ai.jsonl, OpenAI pass-through).
UNSUPPORTED_VALUE = {
    "error": {
        "code": "unsupported_value",
        "message": (
            "Unsupported value: 'messages[0].role' does not support 'developer' with this model."
        ),
        "param": "messages[0].role",
        "type": "invalid_request_error",
    }
}

PRICES = {  # USD per million tokens (input, output)
    "together": (0.88, 0.88),
    "fireworks-ai": (0.90, 0.90),
    "novita": (0.13, 0.39),
    "cerebras": (0.85, 1.20),
}


@tool
def get_weather(city: str) -> str:
    """Returns the weather of a city."""
    return f"sunny in {city}"


def attempt(provider: str, error: str, status: int | None) -> dict[str, Any]:
    return {"provider": provider, "error": error, "status_code": status}


def served_by(router: RouterServer) -> list[str | None]:
    return [r.provider for r in router.chat_requests()]


def set_prices(router: RouterServer) -> None:
    for provider, (inp, out) in PRICES.items():
        router.set_offer(REPO, provider, pricing={"input": inp, "output": out})


def expected_cost(provider: str, usage: Any) -> dict[str, float]:
    inp, out = PRICES[provider]
    part_in = usage["input_tokens"] * inp / 1e6
    part_out = usage["output_tokens"] * out / 1e6
    return {"input": part_in, "output": part_out, "total": part_in + part_out}


@pytest.mark.parametrize("mode", MODES)
async def test_tool_request_skips_a_provider_without_tools_then_fails_over_to_a_capable_one(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.set_offer(REPO, "together", supports_tools=False)
    router.script("fireworks-ai", Step.error(503))
    llm = make_llm(max_retries=0).bind_tools([get_weather])
    msg = await run(llm, mode, "What is the weather in Paris?")
    assert msg.response_metadata["provider"] == "novita"
    assert msg.response_metadata["attempts"] == [
        attempt("together", "unsupported_tools", None),
        attempt("fireworks-ai", "ProviderError", 503),
    ]
    assert served_by(router) == ["fireworks-ai", "novita"]


@pytest.mark.parametrize("mode", MODES)
async def test_request_without_tools_still_goes_to_a_provider_without_tools(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.set_offer(REPO, "together", supports_tools=False)
    msg = await run(make_llm(), mode, PROMPT)
    assert msg.response_metadata["provider"] == "together"
    assert msg.response_metadata["attempts"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_json_schema_request_skips_providers_without_structured_output(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.set_offer(REPO, "together", supports_structured_output=False)
    router.set_offer(REPO, "fireworks-ai", status="error")
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    msg = await run(make_llm(), mode, PROMPT, response_format=fmt)
    assert msg.response_metadata["provider"] == "novita"
    assert msg.response_metadata["attempts"] == [
        attempt("together", "unsupported_structured_output", None),
        attempt("fireworks-ai", "status_error", None),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_input_over_a_providers_context_skips_it_and_unknown_context_is_not_trusted(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.set_offer(REPO, "together", context_length=1000)
    router.set_offer(REPO, "fireworks-ai", context_length=None)
    long_prompt = "word " * 2000  # 10 000 bytes: about 2 500 tokens
    msg = await run(make_llm(), mode, long_prompt)
    assert msg.response_metadata["provider"] == "fireworks-ai"
    assert msg.response_metadata["attempts"] == [attempt("together", "context_too_long", None)]


@pytest.mark.parametrize("mode", MODES)
async def test_a_400_saying_a_parameter_is_unsupported_moves_on_to_the_next_provider(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.error(400, UNSUPPORTED_VALUE))
    msg = await run(make_llm(), mode, PROMPT)
    assert msg.response_metadata["provider"] == "fireworks-ai"
    assert msg.response_metadata["attempts"] == [
        attempt("together", "ParameterNotSupportedError", 400)
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_a_parameter_unsupported_everywhere_raises_the_providers_error(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    llm = make_llm(provider="together")
    router.script("together", Step.error(400, UNSUPPORTED_VALUE))
    with pytest.raises(ParameterNotSupportedError, match="Unsupported value"):
        await run(llm, mode, PROMPT)


@pytest.mark.parametrize("mode", MODES)
async def test_price_order_tries_the_cheapest_first_and_fails_over_in_price_order(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    router.script("novita", Step.error(503))
    llm = make_llm(provider_sort="price", max_retries=0)
    msg = await run(llm, mode, PROMPT)
    # by output price: novita 0.39, together 0.88, fireworks-ai 0.90, cerebras 1.20
    assert served_by(router) == ["novita", "together"]
    assert msg.response_metadata["provider"] == "together"


@pytest.mark.parametrize("mode", MODES)
async def test_price_cap_skips_providers_over_it(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    llm = make_llm(max_price={"output": 0.89})
    msg = await run(llm, mode, PROMPT)
    assert msg.response_metadata["provider"] == "together"
    assert msg.response_metadata["attempts"] == [
        attempt("fireworks-ai", "over_max_price", None),
        attempt("cerebras", "over_max_price", None),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_price_cap_excluding_every_provider_names_the_cap_before_any_chat_request(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    llm = make_llm(provider_sort="price")
    with pytest.raises(NoProviderMatchesError) as info:
        await run(llm, mode, PROMPT, max_price={"input": 0.1, "output": 0.3})
    text = str(info.value)
    assert "max_price={'input': 0.1, 'output': 0.3}" in text
    assert "novita 0.13 in / 0.39 out" in text
    assert router.chat_requests() == []


@pytest.mark.parametrize("mode", MODES)
async def test_ignored_providers_are_never_tried(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("fireworks-ai", Step.error(503))
    llm = make_llm(ignore_providers=["together", "novita"], max_retries=0)
    msg = await run(llm, mode, PROMPT)
    assert served_by(router) == ["fireworks-ai", "cerebras"]
    assert msg.response_metadata["provider"] == "cerebras"


@pytest.mark.parametrize("mode", MODES)
async def test_measured_latency_overtakes_the_catalog_order_after_slow_answers(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.set_offer(REPO, "together", first_token_latency_ms=50)
    router.set_offer(REPO, "fireworks-ai", first_token_latency_ms=250)
    router.script("together", *[Step.delay(0.5)] * 4)
    llm = make_llm(provider_sort="latency")
    served = []
    for _ in range(4):
        msg = await run(llm, mode, PROMPT)
        served.append(msg.response_metadata["provider"])
    # The probe says together is 5x faster; after one or two answers of 0.5 s
    # the measured average leads, and fireworks-ai is tried first from then on.
    assert served[0] == "together"
    switch = served.index("fireworks-ai")
    assert switch in (1, 2)
    assert served[switch:] == ["fireworks-ai"] * (4 - switch)
    assert served[:switch] == ["together"] * switch


@pytest.mark.parametrize("mode", MODES)
async def test_cost_is_on_every_answer_from_the_serving_providers_price(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    msg = await run(make_llm(), mode, PROMPT)
    usage = msg.usage_metadata
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert msg.response_metadata["cost"] == pytest.approx(expected_cost("together", usage))


@pytest.mark.parametrize("mode", STREAMING)
async def test_cost_is_on_the_last_chunk_only_so_summed_chunks_give_it_once(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    chunks, error = await collect(make_llm(), mode, PROMPT)
    assert error is None
    with_cost = [i for i, c in enumerate(chunks) if "cost" in c.response_metadata]
    assert with_cost == [len(chunks) - 1]
    summed = sum(chunks[1:], chunks[0])
    expected = expected_cost("together", summed.usage_metadata)
    assert summed.response_metadata["cost"] == pytest.approx(expected)


@pytest.mark.parametrize("mode", MODES)
async def test_cost_after_a_failover_uses_the_price_of_the_provider_that_served(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    router.script("together", Step.error(503))
    msg = await run(make_llm(max_retries=0), mode, PROMPT)
    assert msg.response_metadata["provider"] == "fireworks-ai"
    expected = expected_cost("fireworks-ai", msg.usage_metadata)
    assert msg.response_metadata["cost"] == pytest.approx(expected)


@pytest.mark.parametrize("mode", MODES)
async def test_cost_is_absent_when_the_price_is_unknown(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.set_offer(REPO, "together", pricing={"input": 0.5})  # no output price
    msg = await run(make_llm(), mode, PROMPT)
    assert msg.usage_metadata["output_tokens"] > 0
    assert "cost" not in msg.response_metadata


@pytest.mark.parametrize("mode", MODES)
async def test_unreachable_catalog_keeps_calls_working_and_warns_once_naming_what_is_off(
    make_llm: Any, router: RouterServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    set_prices(router)
    router.script_catalog(Step.error(503), Step.error(503))
    llm = make_llm(provider_sort="price")
    with caplog.at_level(logging.WARNING, logger="langchain_hfapi"):
        first = await run(llm, mode, PROMPT)
        second = await run(llm, mode, PROMPT)
    for msg in (first, second):
        assert msg.response_metadata["provider"] == "together"  # the Hub's order
        assert "cost" not in msg.response_metadata
    warnings = [r.getMessage() for r in caplog.records if "catalog" in r.getMessage()]
    assert len(warnings) == 1
    assert "cost" in warnings[0] and "provider_sort='price'" in warnings[0]
    assert router.catalog_requests == 1  # not asked again while it is down


@pytest.mark.parametrize("mode", MODES)
async def test_catalog_is_fetched_on_first_call_only_and_never_at_construction(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    llm = make_llm()
    other = make_llm(provider_sort="price")
    assert router.requests == []
    for model in (llm, other, llm):
        msg = await run(model, mode, PROMPT)
        assert "cost" in msg.response_metadata
    assert router.catalog_requests == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_routing_policy_keeps_working_and_is_priced_by_the_serving_provider(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    set_prices(router)
    msg = await run(make_llm(provider="fastest"), mode, PROMPT)
    provider = msg.response_metadata["provider"]
    assert [r.json["model"] for r in router.chat_requests()] == [f"{REPO}:fastest"]
    expected = expected_cost(provider, msg.usage_metadata)
    assert msg.response_metadata["cost"] == pytest.approx(expected)
