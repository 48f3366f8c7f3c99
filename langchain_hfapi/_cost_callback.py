"""Totals of cost and tokens across calls: a callback handler and a context manager.

`CostCallbackHandler` adds up, per model, the `response_metadata["cost"]`
and the `usage_metadata` of every answer it sees (sync or async, invoke or
stream: LangChain hands it the whole answer once). `get_cost_callback` is
its context manager, like LangChain's `get_usage_metadata_callback`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGeneration, LLMResult

__all__ = ["CostCallbackHandler", "get_cost_callback"]


class CostCallbackHandler(BaseCallbackHandler):
    """Adds up cost (USD) and tokens across chat calls.

    Attributes:
        total_cost: USD of every answer whose cost is known.
        input_cost: Its input part.
        output_cost: Its output part.
        calls: Answers seen.
        calls_without_cost: Answers without a known cost (price or usage
            unknown); their tokens are counted, their cost is not.
        usage_metadata: Model -> summed `usage_metadata`.
        cost_by_model: Model -> summed cost in USD.

    Example:
        ```python
        from langchain_hfapi import CostCallbackHandler

        handler = CostCallbackHandler()
        llm.invoke("Hello", config={"callbacks": [handler]})
        handler.total_cost
        ```
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.total_cost = 0.0
        self.input_cost = 0.0
        self.output_cost = 0.0
        self.calls = 0
        self.calls_without_cost = 0
        self.usage_metadata: dict[str, UsageMetadata] = {}
        self.cost_by_model: dict[str, float] = {}

    def __repr__(self) -> str:
        return (
            f"CostCallbackHandler(total_cost={self.total_cost!r}, calls={self.calls}, "
            f"calls_without_cost={self.calls_without_cost})"
        )

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Adds the answer's cost and tokens to the totals."""
        for generations in response.generations:
            for generation in generations:
                if isinstance(generation, ChatGeneration) and isinstance(
                    generation.message, AIMessage
                ):
                    self._add(generation.message)

    def _add(self, message: AIMessage) -> None:
        meta = message.response_metadata
        model = str(meta.get("model_name") or "unknown")
        cost = meta.get("cost")
        usage = message.usage_metadata
        with self._lock:
            self.calls += 1
            if usage:
                known = self.usage_metadata.get(model)
                self.usage_metadata[model] = usage if known is None else add_usage(known, usage)
            if not isinstance(cost, dict) or "total" not in cost:
                self.calls_without_cost += 1
                return
            self.total_cost += cost["total"]
            self.input_cost += cost.get("input", 0.0)
            self.output_cost += cost.get("output", 0.0)
            self.cost_by_model[model] = self.cost_by_model.get(model, 0.0) + cost["total"]


@contextmanager
def get_cost_callback(name: str = "hfapi_cost_callback") -> Iterator[CostCallbackHandler]:
    """Totals the cost and tokens of every chat call made inside the block.

    Args:
        name: The name of the context variable the handler is registered under.

    Yields:
        The `CostCallbackHandler`, whose totals grow as calls end.

    Example:
        ```python
        from langchain_hfapi import get_cost_callback

        with get_cost_callback() as cb:
            llm.invoke("Hello")
            llm.invoke("Hello again")
        print(f"${cb.total_cost:.6f} for {cb.calls} calls")
        ```
    """
    from langchain_core.tracers.context import register_configure_hook  # heavy: on first use

    var: ContextVar[CostCallbackHandler | None] = ContextVar(name, default=None)
    register_configure_hook(var, inheritable=True)
    handler = CostCallbackHandler()
    token = var.set(handler)
    try:
        yield handler
    finally:
        var.reset(token)
