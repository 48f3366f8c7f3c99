"""Preferences refused before any request, cost totals, catalog profiles, the
catalog and measured speeds shared through Redis, and the command line's
catalog columns, against the loopback router."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
from langchain_core.tools import tool

from langchain_hfapi import ChatHuggingFaceAPI, ProcessStore, RedisStore, get_cost_callback
from langchain_hfapi._cli import main
from langchain_hfapi._error_bodies import error_from_response
from langchain_hfapi.errors import InvalidRequestError, ParameterNotSupportedError
from tests.conftest import TOKEN
from tests.helpers import MODES, run
from tests.redis_server import RedisServer
from tests.router_server import RouterServer

REPO = "meta-llama/Llama-3.3-70B-Instruct"


@tool
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"provider_sort": "cheapest"}, "provider_sort"),
        ({"max_price": {"output": math.nan}}, "max_price['output']"),
        ({"max_price": {"output": math.inf}}, "max_price['output']"),
        ({"max_price": {"input": -1}}, "max_price['input']"),
        ({"max_price": {"total": 1}}, "'input' and 'output' only"),
        ({"max_price": {}}, "max_price"),
        ({"ignore_providers": "together"}, "ignore_providers"),
        ({"catalog_ttl": math.inf}, "catalog_ttl"),
    ],
)
def test_invalid_preferences_are_refused_at_construction(
    router: RouterServer, options: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named.replace("[", r"\[").replace("]", r"\]")):
        ChatHuggingFaceAPI(model=REPO, api_key=TOKEN, router_url=router.url, **options)
    assert router.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_per_call_preference_is_refused_before_any_request(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    with pytest.raises(ValueError, match="finite"):
        await run(make_llm(), mode, "hi", max_price={"output": math.nan})
    assert router.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_preferences_with_a_routing_policy_are_refused_before_any_request(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    with pytest.raises(ValueError, match="':fastest'"):
        await run(make_llm(provider="fastest", provider_sort="price"), mode, "hi")
    assert router.requests == []


def test_parameter_unsupported_is_classified_from_real_bodies_only() -> None:
    bodies = [  # tests/corpus/pydantic_ai.jsonl
        b'{"error": {"code": "unsupported_value", "message": "Unsupported value: \'none\' is '
        b'not supported with the \'o3-2025-04-16\' model.", "param": "reasoning.effort", '
        b'"type": "invalid_request_error"}}',
        b'{"error": {"code": null, "message": "Web search options not supported with this '
        b'model.", "param": "web_search_options", "type": "invalid_request_error"}}',
    ]
    for body in bodies:
        assert type(error_from_response(400, {}, body)) is ParameterNotSupportedError
    other = b'{"error":{"message":"you must provide a model parameter","type":"x"}}'
    assert type(error_from_response(400, {}, other)) is InvalidRequestError


@pytest.mark.parametrize("mode", MODES)
async def test_cost_callback_totals_cost_and_tokens_across_calls(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.set_offer(REPO, "together", pricing={"input": 1.0, "output": 2.0})
    llm = make_llm()
    with get_cost_callback() as cb:
        first = await run(llm, mode, "hi")
        second = await run(llm, mode, "hello again")
        await run(make_llm(provider="fireworks-ai"), mode, "unpriced")
    costs = [m.response_metadata["cost"]["total"] for m in (first, second)]
    assert cb.calls == 3
    assert cb.calls_without_cost == 1
    assert cb.total_cost == pytest.approx(sum(costs))
    assert cb.total_cost == pytest.approx(cb.input_cost + cb.output_cost)
    tokens = sum(m.usage_metadata["total_tokens"] for m in (first, second))
    assert cb.usage_metadata[REPO]["total_tokens"] > tokens  # the unpriced call counts too


async def test_profile_is_built_from_the_catalog_for_the_providers_tried(
    make_llm: Any, router: RouterServer
) -> None:
    router.set_offer(REPO, "together", context_length=8192, pricing={"input": 9, "output": 9})
    router.set_offer(
        REPO,
        "novita",
        context_length=32768,
        supports_tools=False,
        pricing={"input": 1, "output": 2},
    )
    router.set_offer(REPO, "fireworks-ai", supports_structured_output=False)
    llm = make_llm()
    assert llm.profile is not None and llm.profile["max_input_tokens"] == 131072  # built-in
    assert router.requests == []  # never fetched at construction
    profile = llm.load_profile()
    assert profile is not None
    assert profile["max_input_tokens"] == 8192
    assert profile["tool_calling"] is True  # together, fireworks-ai and cerebras have tools
    capped = make_llm(max_price={"output": 5}, provider=["together", "novita"])
    assert capped.profile is not None  # the cached catalog serves new models at once
    assert capped.profile["max_input_tokens"] == 32768  # together is over the cap
    assert capped.profile["tool_calling"] is False  # novita alone is left
    assert router.catalog_requests == 1
    assert await make_llm(provider="novita").aload_profile() == make_llm(provider="novita").profile


async def test_profile_falls_back_to_the_built_in_table_when_the_catalog_is_unreachable(
    make_llm: Any, router: RouterServer
) -> None:
    from tests.router_server import Step

    router.script_catalog(Step.error(503))
    llm = make_llm()
    built_in = dict(llm.profile or {})
    assert llm.load_profile() == built_in


@pytest.mark.parametrize("mode", MODES)
async def test_catalog_and_measured_speeds_are_shared_through_redis(
    make_llm: Any, router: RouterServer, redis_server: RedisServer, mode: str
) -> None:
    router.set_offer(REPO, "together", pricing={"input": 1.0, "output": 1.0})
    stores = [RedisStore(redis_server.url, fallback=ProcessStore()) for _ in range(2)]
    first, second = (make_llm(state=s, provider_sort="latency") for s in stores)
    answers = [await run(first, mode, "hi"), await run(second, mode, "hi")]
    assert router.catalog_requests == 1  # the second process found it in Redis
    assert all("cost" in a.response_metadata for a in answers)
    measured = second.client.health.measured(REPO, ["together"])
    for store in stores:  # sockets closed before the test ends (leaks are errors here)
        store._connect().connection_pool.disconnect()
    assert measured["together"].latency_count == 2  # both processes' answers


def test_mapping_and_models_show_the_catalog_columns_sorted(router: RouterServer) -> None:
    router.set_offer(REPO, "together", pricing={"input": 0.88, "output": 0.88})
    router.set_offer(REPO, "novita", pricing={"input": 0.13, "output": 0.39})
    router.set_offer(REPO, "cerebras", first_token_latency_ms=200, throughput=2000.0)
    out = io.StringIO()
    urls = ["--hub-url", router.url, "--router-url", router.url]
    assert main(["mapping", "llama-3.3-70b", *urls, "--sort", "price"], out=out) == 0
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert rows[0][:5] == ["provider", "status", "task", "in/1M", "out/1M"]
    assert [r[0] for r in rows[1:3]] == ["novita", "together"]
    assert rows[1][3:5] == ["0.13", "0.39"]
    out = io.StringIO()
    assert main(["models", "--router-url", router.url, "--sort", "throughput"], out=out) == 0
    llama = [line.split() for line in out.getvalue().splitlines() if line.startswith(REPO)]
    assert llama[0][1] == "cerebras" and llama[0][-1] == "2000.0"


def test_chat_command_takes_sort_and_max_price(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    router.set_offer(REPO, "together", pricing={"input": 0.88, "output": 0.88})
    router.set_offer(REPO, "novita", pricing={"input": 0.13, "output": 0.39})
    out, err = io.StringIO(), io.StringIO()
    urls = ["--hub-url", router.url, "--router-url", router.url, "--model", REPO]
    assert main(["chat", "hi", *urls, "--sort", "price"], out=out, err=err) == 0
    assert out.getvalue() == "Hello from novita.\n"
    out, err = io.StringIO(), io.StringIO()
    assert main(["chat", "hi", *urls, "--max-price", "output=0.1"], out=out, err=err) == 1
    assert "max_price={'output': 0.1}" in err.getvalue()
    with pytest.raises(SystemExit):
        main(["chat", "hi", *urls, "--max-price", "output=nan"], out=out, err=io.StringIO())
    assert len(router.chat_requests()) == 1


def test_tool_binding_is_a_capability_need(make_llm: Any, router: RouterServer) -> None:
    router.set_offer(REPO, "together", supports_tools=False)
    answer = make_llm().bind_tools([add], tool_choice="none").invoke("hi")
    assert answer.response_metadata["provider"] == "together"  # tools offered, never called
