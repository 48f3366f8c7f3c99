"""Tests for provider mappings: parsing, selection and the cache (`_mapping`)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from langchain_hfapi._mapping import (
    DEFAULT_MAPPING_TTL,
    NOT_FOUND_TTL,
    MappingCache,
    ProviderMapping,
    cache_key,
    parse_mapping,
    select_providers,
)
from langchain_hfapi.errors import (
    APIConnectionError,
    AuthenticationError,
    ModelNotSupportedError,
    ProviderError,
)

# Real Hub answer (recording stream-together.yaml, 2025-02-13), dict shape with staging.
RECORDED_DICT = {
    "_id": "661f97d0b00f5f1f620c4f25",
    "id": "meta-llama/Meta-Llama-3-8B-Instruct",
    "inferenceProviderMapping": {
        "fireworks-ai": {
            "status": "staging",
            "providerId": "accounts/fireworks/models/llama-v3-8b-instruct",
            "task": "conversational",
        },
        "together": {
            "status": "live",
            "providerId": "meta-llama/Meta-Llama-3-8B-Instruct-Turbo",
            "task": "conversational",
        },
        "hf-inference": {
            "status": "live",
            "providerId": "meta-llama/Meta-Llama-3-8B-Instruct",
            "task": "conversational",
        },
    },
}
REPO = "meta-llama/Meta-Llama-3-8B-Instruct"


def entry(provider: str, status: str = "live", task: str = "conversational") -> ProviderMapping:
    return ProviderMapping(provider, f"id-{provider}", status, task)


# --- parse_mapping --------------------------------------------------------------------


def test_parse_dict_shape_keeps_order_and_fields() -> None:
    parsed = parse_mapping(RECORDED_DICT)
    assert [m.provider for m in parsed] == ["fireworks-ai", "together", "hf-inference"]
    assert parsed[1] == ProviderMapping(
        "together", "meta-llama/Meta-Llama-3-8B-Instruct-Turbo", "live", "conversational"
    )
    assert parsed[0].status == "staging"


def test_parse_accepts_the_bare_mapping_value() -> None:
    assert parse_mapping(RECORDED_DICT["inferenceProviderMapping"]) == parse_mapping(RECORDED_DICT)


def test_parse_list_shape_with_extra_keys() -> None:
    novita = {"provider": "novita", "providerId": "n/m", "status": "live", "task": "conversational"}
    groq = {"provider": "groq", "providerId": "g/m", "status": "error", "task": "conversational"}
    data = {
        "inferenceProviderMapping": [{**novita, "adapter": "lora", "type": "single-model"}, groq]
    }
    assert parse_mapping(data) == [
        ProviderMapping("novita", "n/m", "live", "conversational"),
        ProviderMapping("groq", "g/m", "error", "conversational"),
    ]
    assert parse_mapping(data["inferenceProviderMapping"]) == parse_mapping(data)


def test_parse_skips_malformed_entries() -> None:
    data = [
        "together",
        None,
        {"providerId": "no-provider"},
        {"provider": 7, "status": "live"},
        {"provider": "ok", "providerId": 123},
    ]
    assert parse_mapping(data) == [ProviderMapping("ok", None, "", "")]
    as_dict = {"a": "live", "b": None, "c": {"status": "live", "task": "conversational"}}
    assert parse_mapping(as_dict) == [ProviderMapping("c", None, "live", "conversational")]


@pytest.mark.parametrize(
    "data", [None, "x", 3, [], {}, {"id": REPO, "inferenceProviderMapping": None}, {"_id": "a"}]
)
def test_parse_unusable_input_is_empty(data: object) -> None:
    assert parse_mapping(data) == []


def test_parse_entry_as_dict_round_trip() -> None:
    assert entry("a").as_dict() == {
        "provider": "a",
        "provider_id": "id-a",
        "status": "live",
        "task": "conversational",
    }


def test_parse_full_model_info_without_mapping_is_empty() -> None:
    model_info = {
        "_id": "6698d8a0653e4babe21e1e7d",
        "id": "meta-llama/Llama-3.1-8B-Instruct",
        "pipeline_tag": "text-generation",
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "cardData": {"language": ["en", "de"], "license": "llama3.1"},
        "safetensors": {"parameters": {"BF16": 8030261248}, "total": 8030261248},
    }
    assert parse_mapping(model_info) == []


# --- select_providers ------------------------------------------------------------------


def test_select_keeps_live_chat_providers_in_mapping_order() -> None:
    chosen = select_providers(REPO, parse_mapping(RECORDED_DICT))
    assert [m.provider for m in chosen] == ["together", "hf-inference"]


def test_select_skips_staging_error_and_other_tasks() -> None:
    mapping = [
        entry("a", status="staging"),
        entry("b", status="error"),
        entry("c", task="text-generation"),
        entry("d"),
    ]
    assert select_providers(REPO, mapping) == [entry("d")]


def test_select_passes_providers_unknown_to_the_package() -> None:
    mapping = [entry("brand-new-provider"), entry("together")]
    assert [m.provider for m in select_providers(REPO, mapping)] == [
        "brand-new-provider",
        "together",
    ]


def test_select_follows_the_requested_order() -> None:
    mapping = [entry("a"), entry("b"), entry("c")]
    chosen = select_providers(REPO, mapping, ["c", "missing", "a"])
    assert [m.provider for m in chosen] == ["c", "a"]


def test_select_staging_only_explains_why() -> None:
    mapping = [entry("fireworks-ai", status="staging")]
    with pytest.raises(ModelNotSupportedError) as info:
        select_providers(REPO, mapping)
    assert info.value.message == (
        f"No provider serves {REPO} live for chat; the mapping lists: "
        "fireworks-ai (staging, conversational)"
    )


def test_select_empty_mapping_explains_why() -> None:
    with pytest.raises(ModelNotSupportedError, match="its provider mapping is empty"):
        select_providers(REPO, [])


def test_select_requested_provider_not_usable_explains_why() -> None:
    mapping = [entry("together"), entry("groq", task="text-generation")]
    with pytest.raises(ModelNotSupportedError) as info:
        select_providers(REPO, mapping, ["groq", "sambanova"])
    assert info.value.message == (
        f"None of the requested providers ['groq', 'sambanova'] serves {REPO} live for chat; "
        "the mapping lists: together (live, conversational), groq (live, text-generation)"
    )


# --- cache -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Counts calls; returns or raises the scripted results in turn."""

    def __init__(self, *results: object, delay: float = 0.0) -> None:
        self.results = list(results)
        self.calls = 0
        self.delay = delay

    def next(self) -> list[ProviderMapping]:
        self.calls += 1
        result = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[return-value]

    def __call__(self) -> list[ProviderMapping]:
        time.sleep(self.delay)
        return self.next()

    async def aload(self) -> list[ProviderMapping]:
        await asyncio.sleep(self.delay)
        return self.next()


KEY = cache_key("https://huggingface.co", "hf_secret_token", REPO)
FIRST = [entry("a")]
SECOND = [entry("b")]


def test_cache_serves_fresh_entry_then_reloads_after_ttl() -> None:
    clock = Clock()
    cache = MappingCache(ttl=300, clock=clock)
    load = Loader(FIRST, SECOND)
    assert cache.fetch(KEY, load) == FIRST
    clock.now = 299.9
    assert cache.fetch(KEY, load) == FIRST
    assert load.calls == 1
    clock.now = 300.0
    assert cache.fetch(KEY, load) == SECOND
    assert load.calls == 2


def test_cache_default_ttl() -> None:
    assert MappingCache().ttl == DEFAULT_MAPPING_TTL == 300.0


def test_cache_keys_are_independent() -> None:
    cache = MappingCache(clock=Clock())
    other = cache_key("https://huggingface.co", "hf_secret_token", "org/other")
    assert cache.fetch(KEY, Loader(FIRST)) == FIRST
    assert cache.fetch(other, Loader(SECOND)) == SECOND


def test_cache_sync_single_flight_with_many_threads() -> None:
    cache = MappingCache(clock=Clock())
    load = Loader(FIRST, delay=0.05)
    barrier = threading.Barrier(16)
    results: list[list[ProviderMapping]] = []

    def worker() -> None:
        barrier.wait()
        results.append(cache.fetch(KEY, load))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert load.calls == 1
    assert results == [FIRST] * 16


def test_cache_async_single_flight_with_many_coroutines() -> None:
    cache = MappingCache(clock=Clock())
    load = Loader(FIRST, delay=0.02)

    async def main() -> list[list[ProviderMapping]]:
        return await asyncio.gather(*(cache.afetch(KEY, load.aload) for _ in range(50)))

    assert asyncio.run(main()) == [FIRST] * 50
    assert load.calls == 1
    assert asyncio.run(cache.afetch(KEY, load.aload)) == FIRST  # fresh: no new load
    assert load.calls == 1


def test_cache_async_failure_reaches_every_waiter_and_is_not_kept() -> None:
    cache = MappingCache(clock=Clock())
    load = Loader(APIConnectionError("down"), FIRST, delay=0.01)

    async def main() -> list[object]:
        calls = (cache.afetch(KEY, load.aload) for _ in range(5))
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    assert all(isinstance(r, APIConnectionError) for r in results)
    assert load.calls == 1
    assert asyncio.run(cache.afetch(KEY, load.aload)) == FIRST


@pytest.mark.parametrize("mode", ["sync", "async"], ids=["sync", "async"])
def test_cache_remembers_404_for_30_seconds(mode: str) -> None:
    clock = Clock()
    cache = MappingCache(clock=clock)
    missing = ModelNotSupportedError("Model org/x not found", status_code=404)
    load = Loader(missing, FIRST)

    def fetch() -> list[ProviderMapping]:
        if mode == "sync":
            return cache.fetch(KEY, load)
        return asyncio.run(cache.afetch(KEY, load.aload))

    for now in (0.0, 10.0, NOT_FOUND_TTL - 0.1):
        clock.now = now
        with pytest.raises(ModelNotSupportedError):
            fetch()
    assert load.calls == 1
    clock.now = NOT_FOUND_TTL
    assert fetch() == FIRST
    assert load.calls == 2


def traceback_depth(error: BaseException) -> int:
    depth, tb = 0, error.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    return depth


def test_cache_remembered_404_does_not_grow_its_traceback() -> None:
    cache = MappingCache(clock=Clock())
    load = Loader(ModelNotSupportedError("Model org/x not found", status_code=404))
    depths = []
    for _ in range(50):
        with pytest.raises(ModelNotSupportedError) as info:
            cache.fetch(KEY, load)
        depths.append(traceback_depth(info.value))
    assert load.calls == 1
    assert depths[-1] == depths[1]


@pytest.mark.parametrize(
    "error", [APIConnectionError("refused"), ProviderError("bad gateway", status_code=502)]
)
@pytest.mark.parametrize("mode", ["sync", "async"], ids=["sync", "async"])
def test_cache_serves_stale_entry_on_hub_outage_with_warning(
    mode: str, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    cache = MappingCache(ttl=300, clock=clock)
    load = Loader(FIRST, error)
    cache.fetch(KEY, load)
    clock.now = 420.0
    with caplog.at_level(logging.WARNING, logger="langchain_hfapi"):
        if mode == "sync":
            value = cache.fetch(KEY, load)
        else:
            value = asyncio.run(cache.afetch(KEY, load.aload))
    assert value == FIRST
    assert load.calls == 2
    [record] = [r for r in caplog.records if r.name == "langchain_hfapi"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert type(error).__name__ in message
    assert REPO in message
    assert "cached 420 s ago" in message


@pytest.mark.parametrize("mode", ["sync", "async"], ids=["sync", "async"])
def test_cache_outage_without_stale_entry_raises(mode: str) -> None:
    cache = MappingCache(clock=Clock())
    load = Loader(APIConnectionError("refused"))
    with pytest.raises(APIConnectionError):
        if mode == "sync":
            cache.fetch(KEY, load)
        else:
            asyncio.run(cache.afetch(KEY, load.aload))


def test_cache_does_not_serve_stale_on_auth_error() -> None:
    clock = Clock()
    cache = MappingCache(ttl=300, clock=clock)
    load = Loader(FIRST, AuthenticationError("bad token", status_code=401))
    cache.fetch(KEY, load)
    clock.now = 400.0
    with pytest.raises(AuthenticationError):
        cache.fetch(KEY, load)


def test_cache_key_never_contains_the_token() -> None:
    token = "hf_secret_token"
    key = cache_key("https://huggingface.co", token, REPO)
    assert all(token not in part for part in key)
    assert token not in repr(key)
    assert key[0] == "https://huggingface.co" and key[2] == REPO
    assert key == cache_key("https://huggingface.co", token, REPO)
    assert key != cache_key("https://huggingface.co", "hf_other", REPO)
    assert cache_key("https://huggingface.co", None, REPO) == cache_key(
        "https://huggingface.co", "", REPO
    )
