"""CPU per call, side by side: ChatHuggingFaceAPI, a minimal chat model, ChatOpenAI.

Same loopback server as `stream_cpu` (a child process). Measures this
process's CPU time (`time.process_time`), median of interleaved rounds, for:

- a short (5-token) stream on a warm model, sync and async;
- a long (500-chunk) stream, per chunk, async;
- a short stream on a freshly built model (construction included), sync and async.

Run: `.venv/bin/python -m benchmarks.calls_cpu [--calls 200] [--rounds 5]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from benchmarks.stream_cpu import MODEL, MinimalChat, sse_body, start_server
from langchain_hfapi import ChatHuggingFaceAPI

_SYNC = httpx.Client()  # the floor shares its clients, as a well-made model would
_ASYNC: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
_BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}


def _chunk(line: str) -> ChatGenerationChunk | None:
    if not line.startswith("data: ") or line == "data: [DONE]":
        return None
    event = json.loads(line[6:])
    choices = event.get("choices")
    text = (choices[0].get("delta") or {}).get("content") if choices else None
    return ChatGenerationChunk(message=AIMessageChunk(content=text or ""))


class MinimalSharedChat(MinimalChat):
    """The floor: raw httpx SSE lines to AIMessageChunks, on process-wide clients."""

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        with _SYNC.stream("POST", self.url, json=_BODY) as response:
            for line in response.iter_lines():
                if (chunk := _chunk(line)) is not None:
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        client = _ASYNC.get(loop) or _ASYNC.setdefault(loop, httpx.AsyncClient())
        async with client.stream("POST", self.url, json=_BODY) as response:
            async for line in response.aiter_lines():
                if (chunk := _chunk(line)) is not None:
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk


def _median_cpu(runs: dict[str, Callable[[], None]], calls: int, rounds: int) -> dict[str, float]:
    """Returns each runner's median CPU microseconds per call.

    Rounds are interleaved (A, B, C, A, B, C, ...) so that a slow spell of a
    noisy machine falls on every model alike rather than on one of them.
    """
    for run in runs.values():
        run()  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.process_time()
            for _ in range(calls):
                run()
            samples[name].append((time.process_time() - start) / calls * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def _sync(make: Callable[[], BaseChatModel], fresh: bool) -> Callable[[], None]:
    model = make()

    def run() -> None:
        for _ in (make() if fresh else model).stream("hi"):
            pass

    return run


_LOOP = asyncio.new_event_loop()  # one loop, as in an application (ChatOpenAI's pool needs it)


def _async(make: Callable[[], BaseChatModel], fresh: bool) -> Callable[[], None]:
    loop = _LOOP
    model = make()

    async def one() -> None:
        async for _ in (make() if fresh else model).astream("hi"):
            pass

    return lambda: loop.run_until_complete(one())


def model_makers(url: str) -> dict[str, Callable[[], BaseChatModel]]:
    makers: dict[str, Callable[[], BaseChatModel]] = {
        "minimal": lambda: MinimalSharedChat(url=f"{url}/v1/chat/completions"),
        "ChatHuggingFaceAPI": lambda: ChatHuggingFaceAPI(
            model=MODEL, api_key="hf_bench", router_url=url, hub_url=url
        ),
    }
    try:
        from langchain_openai import ChatOpenAI

        makers["ChatOpenAI"] = lambda: ChatOpenAI(model=MODEL, api_key="x", base_url=f"{url}/v1")
    except ImportError:
        pass
    return makers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    short_url, short = start_server(sse_body(5))
    long_url, long = start_server(sse_body(500))
    cases: list[tuple[str, str, Callable[..., Callable[[], None]], bool, int]] = [
        ("short stream, sync", short_url, _sync, False, args.calls),
        ("short stream, async", short_url, _async, False, args.calls),
        ("fresh model, sync", short_url, _sync, True, args.calls),
        ("fresh model, async", short_url, _async, True, args.calls),
        ("per chunk (500), async", long_url, _async, False, max(args.calls // 20, 5)),
    ]
    try:
        for title, url, runner, fresh, calls in cases:
            runs = {name: runner(make, fresh) for name, make in model_makers(url).items()}
            results = _median_cpu(runs, calls, args.rounds)
            if title.startswith("per chunk"):
                results = {name: value / 500 for name, value in results.items()}
            floor = results["minimal"]
            row = "  ".join(f"{n} {v:8.1f} us ({v / floor:4.2f}x)" for n, v in results.items())
            print(f"{title:<24} {row}")
    finally:
        short.terminate()
        long.terminate()


if __name__ == "__main__":
    main()
