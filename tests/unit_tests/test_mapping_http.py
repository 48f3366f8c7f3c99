"""The mapping cache over HTTP: one Hub request per model, 404 memory, stale on outage."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from langchain_hfapi import ChatHuggingFaceAPI, ModelNotSupportedError
from tests.helpers import MakeLLM
from tests.router_server import RouterServer, Step


def test_concurrent_sync_calls_fetch_the_mapping_once(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm()
    router.script_hub("meta-llama/Llama-3.3-70B-Instruct", Step.delay(0.3))
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: llm.invoke("hi").content, range(16)))
    assert answers == ["Hello from together."] * 16
    assert router.hub_requests == 1


async def test_concurrent_async_calls_fetch_the_mapping_once(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm()
    router.script_hub("meta-llama/Llama-3.3-70B-Instruct", Step.delay(0.3))
    answers = await asyncio.gather(*(llm.ainvoke("hi") for _ in range(32)))
    assert {a.content for a in answers} == {"Hello from together."}
    assert router.hub_requests == 1


def test_mapping_is_refetched_after_its_ttl(make_llm: MakeLLM, router: RouterServer) -> None:
    llm = make_llm(mapping_ttl=0.2)
    llm.invoke("hi")
    llm.invoke("hi")
    assert router.hub_requests == 1
    time.sleep(0.25)
    llm.invoke("hi")
    assert router.hub_requests == 2


def test_unknown_model_is_remembered_for_a_while(make_llm: MakeLLM, router: RouterServer) -> None:
    llm = make_llm(model="nobody/nothing")
    for _ in range(3):
        with pytest.raises(ModelNotSupportedError):
            llm.invoke("hi")
    assert router.hub_requests == 1


def test_hub_outage_serves_the_stale_mapping_with_a_warning(
    make_llm: MakeLLM, router: RouterServer, caplog: pytest.LogCaptureFixture
) -> None:
    llm = make_llm(mapping_ttl=0.1)
    llm.invoke("hi")
    time.sleep(0.15)
    router.script_hub("meta-llama/Llama-3.3-70B-Instruct", Step.error(503), Step.reset())
    with caplog.at_level(logging.WARNING, logger="langchain_hfapi"):
        assert llm.invoke("hi").content == "Hello from together."
    assert "Hub unreachable" in caplog.text
    assert router.hub_requests == 2


def test_each_model_instance_keeps_its_own_mapping_cache(router: RouterServer) -> None:
    def llm(token: str) -> ChatHuggingFaceAPI:
        return ChatHuggingFaceAPI(api_key=token, router_url=router.url, hub_url=router.url)

    one = llm("hf_one")
    one.invoke("hi")
    one.invoke("hi")
    assert router.hub_requests == 1
    llm("hf_two").invoke("hi")  # another model instance, another cache
    assert router.hub_requests == 2
