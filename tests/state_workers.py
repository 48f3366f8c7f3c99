"""Worker-process entry points for the cross-process state tests.

Run in spawned processes (`multiprocessing` "spawn" context), so they import
nothing from pytest; each call builds a fresh `ChatHuggingFaceAPI`.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

__all__ = ["calls"]

REPO = "meta-llama/Llama-3.3-70B-Instruct"
TOKEN = "hf_loopback_secret_0123456789"


def calls(
    router_url: str,
    state: str | None,
    count: int,
    *,
    mode: str = "sync",
    provider_failures: int = 2,
    mapping_ttl: float = 300.0,
    start_at: float = 0.0,
) -> list[dict[str, Any]]:
    """Makes `count` calls, each with a fresh model instance, from this process.

    Args:
        router_url: The loopback router (also the Hub).
        state: The models' `state=` setting.
        count: Calls to make, one after the other.
        mode: "sync" (`invoke`) or "async" (`ainvoke`, one `asyncio.run` each).
        provider_failures: The models' `provider_failures`.
        mapping_ttl: The models' `mapping_ttl`.
        start_at: `time.time()` to wait for before the first call (lines
            workers up).

    Returns:
        Per call: the serving provider and the seconds taken, or the error.
    """
    from langchain_hfapi import ChatHuggingFaceAPI, RedisStore
    from langchain_hfapi._state import PROCESS_STORE

    PROCESS_STORE.clear()  # a pooled worker starts as a fresh process would
    # A fresh store per batch (no fallback state carried over from an earlier test), whose
    # commands may take longer than the 50 ms default on a loaded CI machine: these tests
    # are about sharing; the bound on a slow Redis has tests of its own.
    store = RedisStore(state, timeout=1.0) if state else None
    results: list[dict[str, Any]] = []
    time.sleep(max(start_at - time.time(), 0.0))
    for _ in range(count):
        llm = ChatHuggingFaceAPI(
            model=REPO,
            api_key=TOKEN,
            router_url=router_url,
            hub_url=router_url,
            state=store,
            max_retries=0,
            provider_failures=provider_failures,
            mapping_ttl=mapping_ttl,
            timeout=10,
        )
        began = time.monotonic()
        try:
            message = asyncio.run(llm.ainvoke("hi")) if mode == "async" else llm.invoke("hi")
        except Exception as err:  # reported to the test, which fails on it
            results.append({"error": repr(err), "pid": os.getpid()})
            continue
        results.append(
            {
                "provider": message.response_metadata.get("provider"),
                "seconds": time.monotonic() - began,
                "pid": os.getpid(),
            }
        )
    return results
