"""Process-wide state: every model instance shares pools, mappings and health.

Against the loopback router: fresh instances share the Hub mapping and the
provider health, clients follow the current settings, copies and pickles work
after a call, first use raced from many threads builds one client, pools of
closed event loops are released, and the caches stay bounded.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import multiprocessing
import os
import pickle
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from langchain_hfapi import ChatHuggingFaceAPI
from langchain_hfapi._health import LocalHealthBook
from langchain_hfapi._mapping import MappingCache, ProviderMapping, cache_key
from langchain_hfapi._pools import close_all, open_async_pools, ssl_context, sync_pool
from langchain_hfapi._state import PROCESS_STORE, ProcessStore
from tests.conftest import TOKEN
from tests.router_server import RouterServer, Step

MakeLLM = Callable[..., ChatHuggingFaceAPI]
REPO = "meta-llama/Llama-3.3-70B-Instruct"


def settled_fds(expected: int) -> int:
    """Counts open descriptors once background closes from earlier tests have landed.

    A leak stays (each leaked loop or pool holds 2-3 descriptors for good); a
    socket another test's abandoned attempt is still closing goes within a second.
    """
    deadline = time.monotonic() + 2.0
    while open_fds() > expected and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    return open_fds()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_fresh_instances_fetch_the_mapping_once(make_llm: MakeLLM, router: RouterServer) -> None:
    for _ in range(5):
        assert make_llm().invoke("hi").content == "Hello from together."
    assert router.hub_requests == 1


async def test_sync_and_async_instances_share_the_mapping(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    make_llm().invoke("hi")
    await make_llm().ainvoke("hi")
    assert router.hub_requests == 1


def test_fresh_instances_share_provider_health(make_llm: MakeLLM, router: RouterServer) -> None:
    router.set_failure_rate("together", 1.0)
    for _ in range(5):
        llm = make_llm(provider_failures=2, max_retries=0)
        assert llm.invoke("hi").response_metadata["provider"] == "fireworks-ai"
    assert len(router.chat_requests("together")) == 2


def test_health_is_kept_per_router(make_llm: MakeLLM, router: RouterServer) -> None:
    router.set_failure_rate("together", 1.0)
    for _ in range(2):
        make_llm(provider_failures=1, max_retries=0).invoke("hi")
    with RouterServer.running() as other:
        llm = make_llm(provider_failures=1, max_retries=0, router_url=other.url)
        assert llm.invoke("hi").response_metadata["provider"] == "together"
    assert len(router.chat_requests("together")) == 1


def test_retry_after_pauses_the_provider_for_other_calls(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    router.script("together", Step.error(429, headers={"Retry-After": "30"}))
    first = make_llm(max_retries=0).invoke("hi")
    assert first.response_metadata["provider"] == "fireworks-ai"
    second = make_llm(max_retries=0).invoke("hi")  # another instance: together still paused
    assert second.response_metadata["provider"] == "fireworks-ai"
    assert second.response_metadata["attempts"][0]["error"] == "cooling_down"
    assert len(router.chat_requests("together")) == 1


def test_health_transitions_are_logged_at_debug(
    make_llm: MakeLLM, router: RouterServer, caplog: pytest.LogCaptureFixture
) -> None:
    router.set_failure_rate("together", 1.0)
    with caplog.at_level(logging.DEBUG, logger="langchain_hfapi"):
        make_llm(provider_failures=1, max_retries=0).invoke("hi")
    opened = [r.getMessage() for r in caplog.records if "open after" in r.getMessage()]
    assert opened and "together" in opened[0] and REPO in opened[0]


def test_instances_share_one_sync_pool_and_one_ssl_context(make_llm: MakeLLM) -> None:
    first, second = make_llm(), make_llm()
    assert first.client.http is second.client.http
    assert first.client.http is sync_pool()
    assert isinstance(sync_pool(), httpx.HTTPTransport)
    assert ssl_context() is ssl_context()


def test_a_given_http_client_is_used_and_left_open(make_llm: MakeLLM) -> None:
    with httpx.Client() as given:
        llm = make_llm(http_client=given)
        assert llm.invoke("hi").content == "Hello from together."
        assert llm.client.http is given
        assert not given.is_closed


def test_model_copy_with_new_router_and_key_after_a_call_uses_them(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    llm = make_llm(provider="together")
    llm.invoke("hi")
    new_token = "hf_other_secret_9876543210"
    with RouterServer.running() as other:
        other.require_token = new_token
        moved = llm.model_copy(update={"router_url": other.url, "api_key": SecretStr(new_token)})
        assert moved.invoke("hi").content == "Hello from together."
        assert other.chat_requests()[0].headers["authorization"] == f"Bearer {new_token}"
    assert len(router.chat_requests()) == 1  # the original server saw only the first call
    llm.invoke("hi")  # the original still uses its own settings
    assert len(router.chat_requests()) == 2


def test_a_field_changed_after_a_call_takes_effect(make_llm: MakeLLM, router: RouterServer) -> None:
    llm = make_llm(provider="together")
    llm.invoke("hi")
    llm.provider_failures = 1
    assert llm.client.health.failures == 1
    with RouterServer.running() as other:
        llm.router_url = other.url
        llm.invoke("hi")
        assert len(other.chat_requests()) == 1


async def test_pickle_and_deepcopy_work_after_a_call(make_llm: MakeLLM) -> None:
    llm = make_llm()
    llm.invoke("hi")
    await llm.ainvoke("hi")
    for clone in (pickle.loads(pickle.dumps(llm)), copy.deepcopy(llm), copy.copy(llm)):
        assert clone._runtime.is_empty()
        assert clone.invoke("hi").content == "Hello from together."
        assert clone.client.store is PROCESS_STORE


def test_first_use_raced_from_many_threads_builds_one_client(make_llm: MakeLLM) -> None:
    llm = make_llm()
    barrier = threading.Barrier(32)
    seen: list[Any] = []

    def first_use() -> None:
        barrier.wait()
        seen.append((llm.client, llm.async_client))

    threads = [threading.Thread(target=first_use) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len({id(sync) for sync, _ in seen}) == 1
    assert len({id(aio) for _, aio in seen}) == 1


def test_a_new_sync_pool_raced_from_many_threads_is_made_once() -> None:
    close_all()  # the next use makes a new pool
    barrier = threading.Barrier(16)
    pools: list[httpx.HTTPTransport] = []

    def first_use() -> None:
        barrier.wait()
        pools.append(sync_pool())

    threads = [threading.Thread(target=first_use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len({id(p) for p in pools}) == 1


def test_pools_of_closed_loops_are_released(make_llm: MakeLLM) -> None:
    llm = make_llm()
    before = open_fds()
    for _ in range(30):  # closed without shutdown_asyncgens()
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(llm.ainvoke("hi")).content == "Hello from together."
        loop.close()
    assert open_async_pools() == 0
    assert settled_fds(before + 2) <= before + 2


def test_pools_of_loops_dropped_unclosed_are_collected_with_them(make_llm: MakeLLM) -> None:
    llm = make_llm()
    before = open_fds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # Python's own: "unclosed event loop"
        for _ in range(10):
            loop = asyncio.new_event_loop()
            assert loop.run_until_complete(llm.ainvoke("hi")).content == "Hello from together."
            del loop
        gc.collect()
    assert open_async_pools() == 0
    assert settled_fds(before + 2) <= before + 2


def test_the_mapping_single_flight_holds_across_event_loops(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    router.script_hub(REPO, Step.delay(0.3))
    barrier = threading.Barrier(6)
    answers: list[str] = []

    def on_own_loop() -> None:
        llm = make_llm()
        barrier.wait()
        answers.append(str(asyncio.run(llm.ainvoke("hi")).content))

    threads = [threading.Thread(target=on_own_loop) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert answers == ["Hello from together."] * 6
    assert router.hub_requests == 1


def test_sync_and_async_callers_share_one_flight() -> None:
    cache = MappingCache()
    key = cache_key("https://hub", "hf_token_x", REPO)
    calls = []
    entry = [ProviderMapping("together", None, "live", "conversational")]

    async def slow() -> list[ProviderMapping]:
        calls.append(1)
        await asyncio.sleep(0.2)
        return entry

    def sync_load() -> list[ProviderMapping]:
        calls.append(1)
        return entry

    results: list[list[ProviderMapping]] = []
    loop_thread = threading.Thread(
        target=lambda: results.append(asyncio.run(cache.afetch(key, slow)))
    )
    loop_thread.start()
    while not cache._flights:
        pass
    results.append(cache.fetch(key, sync_load))
    loop_thread.join(5)
    assert results == [entry, entry]
    assert len(calls) == 1


def test_mapping_cache_keeps_at_most_its_bound() -> None:
    cache = MappingCache(max_entries=3)
    entry = [ProviderMapping("together", None, "live", "conversational")]
    keys = [cache_key("https://hub", "t", f"org/model-{i}") for i in range(10)]
    for key in keys:
        cache.fetch(key, lambda: entry)
    assert len(cache) == 3
    calls = []
    cache.fetch(keys[-1], lambda: calls.append(1) or entry)  # recent: still cached
    cache.fetch(keys[0], lambda: calls.append(1) or entry)  # oldest: evicted
    assert len(calls) == 1
    assert not cache._flights  # no lock or flight left behind


def test_health_book_keeps_at_most_its_bound() -> None:
    book = LocalHealthBook(max_entries=3)
    for i in range(10):
        book.record_failure(("r", f"m{i}", "p"), 3, 30.0)
    assert len(book) == 3


def test_process_store_pickles_as_the_process_store() -> None:
    assert pickle.loads(pickle.dumps(PROCESS_STORE)) is PROCESS_STORE
    assert copy.deepcopy(PROCESS_STORE) is PROCESS_STORE
    other = ProcessStore(max_mappings=2)
    assert isinstance(pickle.loads(pickle.dumps(other)), ProcessStore)


def test_a_private_store_is_not_shared(make_llm: MakeLLM, router: RouterServer) -> None:
    store = ProcessStore()
    make_llm(state=store).invoke("hi")
    make_llm().invoke("hi")
    assert router.hub_requests == 2
    assert len(store.mapping_cache) == 1


def test_an_unknown_state_setting_is_refused_at_construction(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    with pytest.raises(ValueError, match="state must be"):
        make_llm(state="memcached://x")
    assert router.requests == []


def _call_in_child(llm: ChatHuggingFaceAPI, parent_pool: httpx.Client, results: Any) -> None:
    results.put((str(llm.invoke("hi").content), llm.client.http is parent_pool))


def test_a_forked_child_builds_its_own_pool(make_llm: MakeLLM) -> None:
    llm = make_llm()
    parent_pool = llm.client.http
    assert llm.invoke("hi").content == "Hello from together."  # the parent's pool holds a socket
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_call_in_child, args=(llm, parent_pool, results))
    child.start()
    assert results.get(timeout=20) == ("Hello from together.", False)
    child.join(20)
    assert child.exitcode == 0
    assert llm.invoke("hi").content == "Hello from together."  # the parent's pool still works
    assert llm.client.http is parent_pool
    results.close()
    results.join_thread()


def test_the_token_is_hashed_in_cache_keys(make_llm: MakeLLM) -> None:
    make_llm().invoke("hi")
    keys = list(PROCESS_STORE.mapping_cache._entries)
    assert keys and all(TOKEN not in str(key) for key in keys)
