"""Shared fixtures: the loopback router server and chat models pointed at it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_hfapi import ChatHuggingFaceAPI
from langchain_hfapi._catalog_access import forget_failures
from langchain_hfapi._state import PROCESS_STORE
from tests.redis_server import RedisServer, redis_server_path
from tests.router_server import RouterServer

TOKEN = "hf_loopback_secret_0123456789"


@pytest.fixture(scope="session")
def router_session() -> Iterator[RouterServer]:
    with RouterServer.running() as server:
        yield server


@pytest.fixture
def router(router_session: RouterServer) -> Iterator[RouterServer]:
    """The loopback fake router/Hub, reset before each test.

    Garbage is collected after each test, so that a socket left open by the
    package is reported (as a ResourceWarning, an error here) by that test.
    """
    router_session.reset()
    router_session.require_token = None
    yield router_session
    router_session.reset()
    gc.collect()


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of the tests' own on 127.0.0.1 (skips without one)."""
    if redis_server_path() is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(redis_session: RedisServer) -> Iterator[RedisServer]:
    """The test Redis, running and empty at the start of each test."""
    if redis_session.process is None:
        redis_session.start()
    redis_session.resume()
    redis_session.flush()
    yield redis_session
    if redis_session.process is None:
        redis_session.start()
    redis_session.resume()


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Starts each test with no provider health and no cached mapping.

    Both are process-wide (shared by every model, as in production); the
    loopback router keeps one URL for the session, so a test would otherwise
    see the providers another test tripped and the mappings it fetched.
    """
    PROCESS_STORE.clear()
    forget_failures()
    yield
    PROCESS_STORE.clear()
    forget_failures()


@pytest.fixture(autouse=True)
def _no_real_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Keeps a developer's real token out of every test."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Scales retry waits down 100x and records the unscaled ones.

    The backoff arithmetic itself is tested on its own (test_retry.py); here
    only the waiting is shortened so failover tests stay fast.
    """
    import langchain_hfapi._failover as failover

    waits: list[float] = []
    real = failover.backoff_delay

    def scaled(retry: int, retry_after: float | None = None, rand: Any = None) -> float:
        delay = real(retry, retry_after) if rand is None else real(retry, retry_after, rand)
        waits.append(delay)
        return delay / 100

    monkeypatch.setattr(failover, "backoff_delay", scaled)
    return waits


@pytest.fixture
def make_llm(router: RouterServer, fast_retries: list[float]) -> Callable[..., ChatHuggingFaceAPI]:
    """Builds a chat model that talks to the loopback server."""

    def make(**kwargs: Any) -> ChatHuggingFaceAPI:
        options: dict[str, Any] = {
            "model": "meta-llama/Llama-3.3-70B-Instruct",
            "api_key": TOKEN,
            "router_url": router.url,
            "hub_url": router.url,
            "timeout": 10,
            **kwargs,
        }
        return ChatHuggingFaceAPI(**options)

    return make


def pytest_collection_finish(session: pytest.Session) -> None:
    """Moves everything imported so far out of the collector's sight (faster gc)."""
    gc.collect()
    gc.freeze()
