"""First-token deadline, provider health and stream clean-up, over loopback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from langchain_hfapi import APITimeoutError, ChatHuggingFaceAPI
from tests.helpers import MODES, STREAMING, MakeLLM, run
from tests.router_server import RouterServer, Step


def _slow_token(delay: float) -> Step:
    """Headers and a keep-alive comment at once, the first token only after `delay`."""
    token = {"choices": [{"index": 0, "delta": {"content": "late"}, "finish_reason": None}]}
    return Step.stream([": keep-alive\n\n", token], event_delay=delay)


@pytest.mark.parametrize("mode", MODES)
async def test_first_token_timeout_abandons_a_silent_provider(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.delay(3.0))
    llm = make_llm(first_token_timeout=0.5, max_retries=0)
    started = time.monotonic()
    message = await run(llm, mode)
    assert time.monotonic() - started < 2.5
    assert message.content == "Hello from fireworks-ai."
    assert message.response_metadata["attempts"] == [
        {"provider": "together", "error": "APITimeoutError", "status_code": None}
    ]


@pytest.mark.parametrize("mode", STREAMING)
async def test_first_token_timeout_abandons_a_stream_that_only_keeps_alive(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", _slow_token(3.0))
    llm = make_llm(first_token_timeout=0.5, max_retries=0)
    started = time.monotonic()
    message = await run(llm, mode)
    assert time.monotonic() - started < 2.5
    assert message.content == "Hello from fireworks-ai."
    assert message.response_metadata["attempts"][0]["error"] == "APITimeoutError"


@pytest.mark.parametrize("mode", STREAMING)
async def test_first_token_timeout_does_not_cut_a_stream_after_its_first_token(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    events: list[dict[str, Any] | str] = [
        {"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
        for word in ("slow", " but", " steady")
    ]
    router.script("together", Step.stream(events, event_delay=0.4))
    message = await run(make_llm(first_token_timeout=0.3), mode)
    assert message.content == "slow but steady"
    assert message.response_metadata["attempts"] == []


def test_first_token_timeout_without_timeout_keeps_waiting(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    router.script("together", Step.delay(0.5))
    assert make_llm().invoke("hi").content == "Hello from together."


@pytest.mark.parametrize("mode", MODES)
async def test_failing_provider_is_skipped_while_cooling_down_then_probed(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    llm = make_llm(provider_failures=3, provider_cooldown=0.5)
    router.script("together", *[Step.error(503)] * 3)
    first = await run(llm, mode)
    assert first.response_metadata["provider"] == "fireworks-ai"
    assert len(router.chat_requests("together")) == 3

    second = await run(llm, mode)
    assert second.response_metadata["provider"] == "fireworks-ai"
    assert second.response_metadata["attempts"] == [
        {"provider": "together", "error": "cooling_down", "status_code": None}
    ]
    assert len(router.chat_requests("together")) == 3  # not contacted

    await asyncio.sleep(0.6)
    third = await run(llm, mode)
    assert third.response_metadata["provider"] == "together"  # the probe succeeded
    assert third.response_metadata["attempts"] == []


async def test_health_is_shared_by_sync_and_async_calls(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm(provider_failures=2, max_retries=1)
    router.script("together", Step.error(429), Step.error(429))
    assert llm.invoke("hi").response_metadata["provider"] == "fireworks-ai"
    message = await llm.ainvoke("hi")
    assert message.response_metadata["attempts"][0]["error"] == "cooling_down"


def test_when_every_provider_cools_down_the_soonest_is_tried(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm(provider="together", provider_failures=1, max_retries=0)
    router.script("together", Step.error(503))
    with pytest.raises(Exception, match="503"):
        llm.invoke("hi")
    message = llm.invoke("hi")  # cooling down, but the only candidate: tried anyway
    assert message.content == "Hello from together."
    assert message.response_metadata["attempts"] == [
        {"provider": "together", "error": "cooling_down", "status_code": None}
    ]


def test_breaking_out_of_a_stream_closes_it(make_llm: MakeLLM, router: RouterServer) -> None:
    llm = make_llm()
    router.script("together", Step.text("word " * 2000, event_delay=0.001))
    for chunk in llm.stream("hi"):
        if chunk.content:
            break
    pool = llm.client.http._pool  # type: ignore[union-attr]
    assert all(not conn.is_connection_dropped() or conn.is_closed() for conn in pool.connections)
    assert llm.invoke("hi").content == "Hello from together."
    for _ in range(20):  # many abandoned streams leave nothing behind
        next(iter(llm.stream("hi")))
    assert len(pool.connections) <= 2


async def test_cancelling_an_async_stream_releases_it(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm()
    router.script("together", Step.text("word " * 2000, event_delay=0.01))
    got_token = asyncio.Event()

    async def consume() -> None:
        async for chunk in llm.astream("hi"):
            if chunk.content:
                got_token.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_token.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stream = llm.astream("hi")
    await stream.__anext__()
    await stream.aclose()  # closing early is clean too
    assert (await llm.ainvoke("hi")).content == "Hello from together."


def test_no_network_or_clients_at_construction(router: RouterServer) -> None:
    llm = ChatHuggingFaceAPI(
        model="llama-3.3-70b", api_key="hf_x", router_url=router.url, hub_url=router.url
    )
    assert llm._runtime.is_empty()
    assert router.requests == []


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("timeout", 0, "timeout must be a positive"),
        ("timeout", -1, "timeout must be a positive"),
        ("first_token_timeout", 0, "first_token_timeout"),
        ("max_tokens", -5, "max_tokens must be a positive"),
        ("max_retries", -1, "max_retries"),
        ("max_input_chars", 0, "max_input_chars"),
    ],
)
def test_bad_settings_are_refused_at_construction(field: str, value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ChatHuggingFaceAPI(api_key="hf_x", **{field: value})


@pytest.mark.parametrize("mode", MODES)
async def test_bad_input_is_refused_before_any_request(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    from langchain_core.messages import ChatMessage, HumanMessage

    llm = make_llm()
    bad_inputs: list[Any] = [
        [],
        [ChatMessage(role="wizard", content="hi")],
        [HumanMessage(content=[{"type": "hologram", "data": "x"}])],
    ]
    for messages in bad_inputs:
        with pytest.raises(ValueError):
            if mode in ("invoke", "stream"):
                getattr(llm, mode)(messages) if mode == "invoke" else list(llm.stream(messages))
            elif mode == "ainvoke":
                await llm.ainvoke(messages)
            else:
                [c async for c in llm.astream(messages)]
    with pytest.raises(ValueError, match="max_tokens"):
        llm.invoke("hi", max_tokens=-1)
    assert router.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_first_token_timeout_on_the_only_provider_raises_a_typed_timeout(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.delay(3.0))
    llm = make_llm(provider="together", first_token_timeout=0.3, max_retries=0)
    with pytest.raises(APITimeoutError) as info:
        await run(llm, mode)
    assert info.value.provider == "together"
    assert "0.3" in str(info.value)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
@pytest.mark.parametrize(
    "answer",
    [{"id": "x", "object": "chat.completion"}, {"id": "x", "choices": [{"index": 0}]}],
    ids=["no-choices", "no-message"],
)
async def test_a_200_answer_without_a_message_fails_over(
    make_llm: MakeLLM, router: RouterServer, mode: str, answer: dict[str, Any]
) -> None:
    router.script("together", Step.completion(answer))
    message = await run(make_llm(max_retries=0), mode)
    assert message.content == "Hello from fireworks-ai."
    assert message.response_metadata["attempts"] == [
        {"provider": "together", "error": "MalformedResponseError", "status_code": 200}
    ]


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_empty_data_events_are_keep_alives(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    token = {"choices": [{"index": 0, "delta": {"content": "kept"}, "finish_reason": None}]}
    router.script("together", Step.stream(["data:\n\n", "data: \n\n", token, "data:\n\n"]))
    message = await run(make_llm(), mode)
    assert message.content == "kept"
    assert message.response_metadata["attempts"] == []
