"""State shared through a real Redis: worker processes, restarts, stalls.

Every test runs against the tests' own redis-server on 127.0.0.1 (skipped
when `redis-server` is not installed) and the loopback router. Worker
processes are spawned once per module and make real model calls.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
import redis

from langchain_hfapi import ChatHuggingFaceAPI, RedisStore
from langchain_hfapi import _redis_link as link
from langchain_hfapi._state import PROCESS_STORE
from tests.conftest import TOKEN
from tests.redis_server import RedisServer
from tests.router_server import RouterServer, Step
from tests.state_workers import REPO, calls

MakeLLM = Callable[..., ChatHuggingFaceAPI]
WORKERS = 3


def _warm(seconds: float) -> int:
    import os

    import langchain_hfapi  # noqa: F401  (the import is the warm-up)

    time.sleep(seconds)
    return os.getpid()


@pytest.fixture(scope="module")
def workers(redis_session: RedisServer) -> Iterator[ProcessPoolExecutor]:
    """Three spawned worker processes, warmed up (imports done)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        pids = list(pool.map(_warm, [0.5] * WORKERS))
        assert len(set(pids)) == WORKERS
        yield pool


def in_every_worker(
    pool: ProcessPoolExecutor, router: RouterServer, state: str | None, count: int, **kw: Any
) -> list[dict[str, Any]]:
    start_at = time.time() + 0.3
    futures = [
        pool.submit(calls, router.url, state, count, start_at=start_at, **kw)
        for _ in range(WORKERS)
    ]
    results = [item for future in futures for item in future.result(60)]
    assert len({r["pid"] for r in results}) == WORKERS
    return results


def one_worker_after_another(
    pool: ProcessPoolExecutor, router: RouterServer, state: str | None, count: int
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for _ in range(WORKERS + 1):
        results += pool.submit(calls, router.url, state, count).result(60)
    return results


def failed_requests(router: RouterServer) -> int:
    return len(router.chat_requests("together"))


def test_worker_processes_one_after_another_share_an_outage(
    workers: ProcessPoolExecutor, router: RouterServer, redis_server: RedisServer
) -> None:
    router.set_failure_rate("together", 1.0)
    alone = one_worker_after_another(workers, router, None, 2)
    assert all(r["provider"] == "fireworks-ai" for r in alone)
    assert failed_requests(router) == 2 * (WORKERS + 1)  # each process finds it by itself
    router.reset()
    router.set_failure_rate("together", 1.0)
    shared = one_worker_after_another(workers, router, redis_server.url, 2)
    assert all(r["provider"] == "fireworks-ai" for r in shared)
    assert failed_requests(router) == 2  # provider_failures, across all processes


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_concurrent_worker_processes_share_an_outage(
    workers: ProcessPoolExecutor, router: RouterServer, redis_server: RedisServer, mode: str
) -> None:
    router.set_failure_rate("together", 1.0)
    results = in_every_worker(workers, router, redis_server.url, 4, mode=mode)
    assert all(r.get("provider") == "fireworks-ai" for r in results), results
    # provider_failures, plus at most one per other worker whose first call was
    # already on its way when the threshold was reached (no probe: cooldown 30 s)
    assert failed_requests(router) <= 2 + WORKERS - 1


def test_worker_processes_fetch_the_mapping_once(
    workers: ProcessPoolExecutor, router: RouterServer, redis_server: RedisServer
) -> None:
    router.script_hub(REPO, Step.delay(0.3))  # the first fetch is slow: others must wait
    results = in_every_worker(workers, router, redis_server.url, 2)
    assert all(r.get("provider") == "together" for r in results), results
    assert router.hub_requests == 1


def test_worker_processes_fetch_the_mapping_again_once_per_ttl(
    workers: ProcessPoolExecutor, router: RouterServer, redis_server: RedisServer
) -> None:
    # A TTL that a whole round of calls fits in, even on a loaded 2-core machine.
    in_every_worker(workers, router, redis_server.url, 2, mapping_ttl=3.0)
    assert router.hub_requests == 1
    time.sleep(3.0)  # the mapping expires in Redis
    in_every_worker(workers, router, redis_server.url, 2, mapping_ttl=3.0)
    assert router.hub_requests == 2


def test_without_redis_each_worker_fetches_the_mapping(
    workers: ProcessPoolExecutor, router: RouterServer
) -> None:
    in_every_worker(workers, router, None, 2)
    assert router.hub_requests == WORKERS


def make_redis_llm(router: RouterServer, store: RedisStore, **kwargs: Any) -> ChatHuggingFaceAPI:
    options: dict[str, Any] = {
        "model": REPO,
        "api_key": TOKEN,
        "router_url": router.url,
        "hub_url": router.url,
        "timeout": 10,
        "max_retries": 0,
        "state": store,
        **kwargs,
    }
    return ChatHuggingFaceAPI(**options)


@pytest.fixture
def store(redis_server: RedisServer) -> RedisStore:
    return RedisStore(redis_server.url)


def test_sync_async_and_two_event_loops_share_health_in_redis(
    router: RouterServer, redis_server: RedisServer, store: RedisStore
) -> None:
    router.set_failure_rate("together", 1.0)
    answers = [make_redis_llm(router, store, provider_failures=2).invoke("hi")]
    for _ in range(2):  # two loops, one after the other, each on its own thread
        llm = make_redis_llm(router, store, provider_failures=2)
        thread = threading.Thread(
            target=lambda llm=llm: answers.append(asyncio.run(llm.ainvoke("hi")))
        )
        thread.start()
        thread.join(10)
        PROCESS_STORE.clear()  # what is shared must come from Redis
    answers.append(make_redis_llm(router, store, provider_failures=2).invoke("hi"))
    assert [a.response_metadata["provider"] for a in answers] == ["fireworks-ai"] * 4
    assert failed_requests(router) == 2
    client = redis.Redis.from_url(redis_server.url)
    (key,) = client.keys("hfapi:v1:health:*")
    assert int(client.hget(key, "failures") or 0) == 2


def test_redis_stopped_and_restarted_mid_run_fails_no_call(
    router: RouterServer, redis_server: RedisServer, store: RedisStore, monkeypatch: Any
) -> None:
    monkeypatch.setattr(link, "RETRY_FIRST", 0.1)
    monkeypatch.setattr(link, "RETRY_MAX", 0.2)
    router.set_failure_rate("together", 1.0)
    outcomes: list[tuple[str, float]] = []
    stop = threading.Event()

    def sync_calls() -> None:
        while not stop.is_set():
            began = time.monotonic()
            try:
                make_redis_llm(router, store, provider_failures=2).invoke("hi")
                outcomes.append(("ok", time.monotonic() - began))
            except Exception as err:
                outcomes.append((repr(err), time.monotonic() - began))

    async def async_calls() -> None:
        while not stop.is_set():
            began = time.monotonic()
            try:
                await make_redis_llm(router, store, provider_failures=2).ainvoke("hi")
                outcomes.append(("ok", time.monotonic() - began))
            except Exception as err:
                outcomes.append((repr(err), time.monotonic() - began))

    make_redis_llm(router, store, provider_failures=2).invoke("hi")  # warm up: the first
    asyncio.run(make_redis_llm(router, store, provider_failures=2).ainvoke("hi"))  # calls of
    threads = [threading.Thread(target=sync_calls) for _ in range(2)]  # a process are slower
    threads.append(threading.Thread(target=lambda: asyncio.run(async_calls())))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        redis_server.stop()
        time.sleep(0.6)
        redis_server.start()
        deadline = time.monotonic() + 3
        back = redis.Redis.from_url(redis_server.url)
        while not back.keys("hfapi:v1:*") and time.monotonic() < deadline:
            time.sleep(0.05)  # Redis is tried again after the back-off and used again
        time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(10)
    assert outcomes and all(kind == "ok" for kind, _ in outcomes), [
        o for o in outcomes if o[0] != "ok"
    ][:3]
    # Refused connections cost nothing; the bound is 50 ms, the rest is scheduling
    # noise of three calling threads and the router on a small machine.
    assert max(seconds for _, seconds in outcomes) < 0.3
    assert back.keys("hfapi:v1:*")  # in use again after the restart
    assert store.available()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stalled_redis_delays_a_call_by_its_timeout_at_most(
    router: RouterServer, redis_server: RedisServer, store: RedisStore, mode: str
) -> None:
    def call() -> float:
        llm = make_redis_llm(router, store)
        began = time.monotonic()
        if mode == "sync":
            llm.invoke("hi")
        else:
            asyncio.run(llm.ainvoke("hi"))
        return time.monotonic() - began

    baseline = statistics.median(call() for _ in range(5))
    redis_server.pause()  # connections stay open, nothing is answered
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            PROCESS_STORE.clear()  # the mapping must be looked up in (stalled) Redis
            stalled = [call() for _ in range(3)]
    finally:
        redis_server.resume()
    assert not store.available()
    assert max(stalled) - baseline < 0.05 + 0.1  # the 50 ms bound, plus scheduling noise
    assert sum("unavailable" in str(w.message) for w in caught) <= 1


def test_an_unreachable_redis_warns_once_and_calls_succeed(router: RouterServer) -> None:
    store = RedisStore("redis://127.0.0.1:9/0")  # discard port: nothing listens
    with pytest.warns(UserWarning, match="unavailable") as caught:
        for _ in range(3):
            assert make_redis_llm(router, store).invoke("hi").content == "Hello from together."
        time.sleep(link.RETRY_FIRST + 0.05)
        make_redis_llm(router, store).invoke("hi")  # tried again, still down: no new warning
    assert len([w for w in caught if "unavailable" in str(w.message)]) == 1


def test_the_half_open_probe_is_claimed_by_one_process(redis_server: RedisServer) -> None:
    stores = [RedisStore(redis_server.url) for _ in range(4)]  # as if in four processes
    key = ("http://router", REPO, "together")
    for _ in range(2):
        stores[0].health_book().record_failure(key, 2, 0.2, None)
    assert not stores[1].health_book().admits(key, 2, 0.2)
    time.sleep(0.25)
    barrier = threading.Barrier(16)
    admitted: list[bool] = []

    def try_it(index: int) -> None:
        barrier.wait()
        admitted.append(stores[index % 4].health_book().admits(key, 2, 0.2))

    threads = [threading.Thread(target=try_it, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert admitted.count(True) == 1


def test_a_retry_after_pause_is_shared(redis_server: RedisServer) -> None:
    first, second = RedisStore(redis_server.url), RedisStore(redis_server.url)
    key = ("http://router", REPO, "together")
    first.health_book().record_failure(key, 3, 30.0, 0.3)
    assert not second.health_book().admits(key, 3, 30.0)
    time.sleep(0.35)
    assert second.health_book().admits(key, 3, 30.0)
    second.health_book().record_success(key)
    assert not redis.Redis.from_url(redis_server.url).exists(second.health_key(key))


def test_keys_are_namespaced_and_hold_no_token(
    router: RouterServer, redis_server: RedisServer, store: RedisStore
) -> None:
    router.set_failure_rate("together", 1.0)
    make_redis_llm(router, store).invoke("hi")
    client = redis.Redis.from_url(redis_server.url)
    keys = client.keys("*")
    kinds = {key.decode().split(":")[2] for key in keys}
    assert kinds == {"health", "mapping", "catalog", "speed"}
    assert all(key.startswith(b"hfapi:v1:") for key in keys)
    dumped = b" ".join(keys + [client.dump(key) or b"" for key in keys])
    assert TOKEN.encode() not in dumped
    assert router.url.encode() not in dumped  # URLs only as hashes
    ttl = client.pttl(next(k for k in keys if b":mapping:" in k))
    assert 0 < ttl <= 300_000


def test_a_model_with_a_redis_store_pickles_and_copies(
    router: RouterServer, store: RedisStore
) -> None:
    llm = make_redis_llm(router, store)
    llm.invoke("hi")
    clone = pickle.loads(pickle.dumps(llm))
    assert isinstance(clone.state, RedisStore) and clone.state.url == store.url
    assert clone.invoke("hi").content == "Hello from together."
    assert llm.model_copy(deep=True).state is store
    assert "redis://" not in repr(llm)  # the store (its URL) is not in the model's repr


def test_a_redis_url_setting_uses_one_store_per_url(
    router: RouterServer, redis_server: RedisServer
) -> None:
    first = make_redis_llm(router, redis_server.url)  # type: ignore[arg-type]
    second = make_redis_llm(router, redis_server.url)  # type: ignore[arg-type]
    first.invoke("hi")
    assert first.client.store is second.client.store
    assert isinstance(first.client.store, RedisStore)


def test_a_stalled_redis_never_blocks_the_event_loop_of_an_async_call(
    router: RouterServer, redis_server: RedisServer
) -> None:
    # A long command timeout makes a blocked loop obvious: each health command
    # sent from the loop itself would stall every task for up to 0.6 s.
    store = RedisStore(redis_server.url, timeout=1.2)
    llm = make_redis_llm(router, store)

    async def main() -> tuple[str, float]:
        gaps: list[float] = []
        done = asyncio.Event()

        async def tick() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        await llm.ainvoke("hi")  # mapping cached, Redis connections open
        redis_server.pause()
        try:
            text = "".join([str(c.content) async for c in llm.astream("hi")])
        finally:
            redis_server.resume()
            done.set()
            await ticker
        return text, max(gaps)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Redis state store unavailable"
        text, worst_gap = asyncio.run(main())
    assert text == "Hello from together."
    assert worst_gap < 0.3  # the call waited on Redis; the loop did not
