"""Helpers shared by the unit tests: call modes, answer builders and sent requests."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any, TypeVar

from langchain_core.runnables import Runnable

from langchain_hfapi import ChatHuggingFaceAPI
from tests.router_server import RouterServer, Step

MakeLLM = Callable[..., ChatHuggingFaceAPI]
"""The type of the `make_llm` fixture (a chat model pointed at the loopback router)."""

MODES = ("invoke", "ainvoke", "stream", "astream")
STREAMING = ("stream", "astream")
HEAD = {"id": "c1", "created": 1, "model": "x"}

T = TypeVar("T")


def total(outputs: Sequence[T]) -> T:
    """Sums stream outputs (message chunks, parsed pieces) in order with `+`."""
    return reduce(operator.add, outputs)


async def run(
    runnable: Runnable[Any, Any], mode: str, inp: Any = "hi", *, last: bool = False, **kwargs: Any
) -> Any:
    """Runs one call in `mode`; a stream gives its outputs summed, or its last one if `last`."""
    if mode == "invoke":
        return runnable.invoke(inp, **kwargs)
    if mode == "ainvoke":
        return await runnable.ainvoke(inp, **kwargs)
    if mode == "stream":
        outputs = list(runnable.stream(inp, **kwargs))
    else:
        outputs = [o async for o in runnable.astream(inp, **kwargs)]
    return outputs[-1] if last else total(outputs)


async def collect(
    llm: Runnable[Any, Any], mode: str, prompt: Any
) -> tuple[list[Any], Exception | None]:
    """Collects stream chunks until the stream ends or raises (the error is returned)."""
    chunks: list[Any] = []
    try:
        if mode == "stream":
            for c in llm.stream(prompt):
                chunks.append(c)  # noqa: PERF402 - keep chunks seen before an error
        else:
            async for c in llm.astream(prompt):
                chunks.append(c)  # noqa: PERF401 - keep chunks seen before an error
    except Exception as err:
        return chunks, err
    return chunks, None


def completion(
    message: dict[str, Any], finish: str | None = "stop", **extra: Any
) -> dict[str, Any]:
    """A whole `chat.completion` answer; `extra` fields go into its one choice."""
    choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
    return {**HEAD, "object": "chat.completion", "choices": [{**choice, **extra}]}


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One `chat.completion.chunk` event; `extra` fields go into its one choice."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish, **extra}
    return {**HEAD, "object": "chat.completion.chunk", "choices": [choice]}


def script_answer(
    router: RouterServer, mode: str, whole: dict[str, Any], events: list[Any]
) -> None:
    """Scripts together's next answer: `whole` for invoke modes, `events` for stream modes."""
    step = Step.stream(events) if mode in STREAMING else Step.completion(whole)
    router.script("together", step)


def sent_body(router: RouterServer, index: int = -1) -> dict[str, Any]:
    """The JSON body of a chat request the router got (the last one by default)."""
    sent = router.chat_requests()[index].json
    assert isinstance(sent, dict)
    return sent
