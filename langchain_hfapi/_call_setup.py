"""One chat call's set-up and follow-up around the clients.

Before sending: `prepare_call` builds the request body and resolves the target
(sending nothing); `route_call` / `aroute_call` attach the router's catalog
entry, the request's needs and the provider preferences to the target, so
that candidates are filtered and ordered (`_preferences`).

After the answer: `add_cost` puts `response_metadata["cost"]` on a whole
answer, and `finish_stream` on a stream's last chunk, where it also adds the
stream's measured throughput to the provider's speed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from langchain_hfapi._aliases import DEFAULT_VISION_MODEL
from langchain_hfapi._async_client import AsyncHFClient
from langchain_hfapi._catalog_access import afetch_catalog, fetch_catalog
from langchain_hfapi._client import HFClient
from langchain_hfapi._client_core import RequestBody
from langchain_hfapi._health import ProviderHealth
from langchain_hfapi._messages import has_images, to_openai_messages, trim_to_length
from langchain_hfapi._offers import RouterCatalog, cost_of
from langchain_hfapi._preferences import ProviderPrefs, Routing, check_prefs, needs_of
from langchain_hfapi._routing import Target

__all__ = [
    "PREF_FIELDS",
    "PreparedCall",
    "add_cost",
    "aroute_call",
    "finish_stream",
    "prepare_call",
    "route_call",
]

PREF_FIELDS = ("provider_sort", "max_price", "ignore_providers")


@dataclass(frozen=True)
class PreparedCall:
    """A call ready to route: target, request body and extra metadata.

    Attributes:
        target: The resolved model and provider choice.
        payload: The request without `model`.
        extra: Metadata added to the answer (e.g. `input_trimmed`).
        prefs: The provider preferences (the model's, overridden per call).
    """

    target: Target
    payload: dict[str, Any]
    extra: dict[str, Any]
    prefs: ProviderPrefs


def _prefs(llm: Any, kwargs: dict[str, Any]) -> ProviderPrefs:
    values = {name: kwargs.pop(name, getattr(llm, name)) for name in PREF_FIELDS}
    return check_prefs(values["provider_sort"], values["max_price"], values["ignore_providers"])


def prepare_call(
    llm: Any,
    messages: list[BaseMessage],
    stop: list[str] | None,
    *,
    stream: bool,
    kwargs: dict[str, Any],
) -> PreparedCall:
    """Builds one call's target, body and metadata, sending nothing.

    Args:
        llm: The `ChatHuggingFaceAPI`.
        messages: The input.
        stop: Stop sequences of the call.
        stream: Whether the answer is streamed.
        kwargs: Per-call options (`model`, `provider`, preferences, request
            fields and bound tools); consumed.

    Returns:
        The prepared call.

    Raises:
        ValueError: For an invalid model, provider choice, preference or
            request field, or preferences with a routing policy or `base_url`.
    """
    model = kwargs.pop("model", None)
    if model is None:
        use_vision = "model" not in llm.model_fields_set and has_images(messages)
        model = DEFAULT_VISION_MODEL if use_vision else llm.model
    target = llm._target(model, kwargs.pop("provider", llm.provider))
    prefs = _prefs(llm, kwargs)
    if prefs.active and (target.policy is not None or target.base_url is not None):
        where = f"':{target.policy}'" if target.policy else "base_url"
        msg = (
            f"provider_sort, max_price and ignore_providers choose among the providers on "
            f"this side; with {where} there is no choice to make: drop one or the other"
        )
        raise ValueError(msg)
    extra: dict[str, Any] = {}
    if llm.max_input_chars is not None:
        messages, info = trim_to_length(messages, llm.max_input_chars)
        if info is not None:
            extra["input_trimmed"] = info
    payload: dict[str, Any] = {
        "messages": to_openai_messages(messages),
        **llm._default_params,
        **kwargs,  # per-call options and bound tools, sent as they are
    }
    if stop:
        payload["stop"] = stop
    payload["stream"] = stream
    if stream and llm.stream_usage:
        payload["stream_options"] = {"include_usage": True}
    if llm.extra_body:
        payload.update(llm.extra_body)
    llm._check_payload(payload)
    return PreparedCall(target, payload, extra, prefs)


def _features(call: PreparedCall) -> list[str]:
    """Names what the catalog serves in this call (for the unreachable warning)."""
    named = ["cost", "capability routing"]
    if call.prefs.sort == "price":
        named.append("provider_sort='price'")
    if call.prefs.max_price:
        named.append(f"{call.prefs.cap_text()} (not enforced)")
    return named


def _check(call: PreparedCall) -> None:
    """Refuses a body that cannot be sent before the catalog is asked for (a miss only)."""
    RequestBody(call.payload)


def _routed(call: PreparedCall, catalog: RouterCatalog | None, health: ProviderHealth) -> Target:
    offers = catalog.model(call.target.repo_id) if catalog is not None else None
    routing = Routing(call.prefs, needs_of(call.payload), offers, health.measured)
    return replace(call.target, routing=routing)


def route_call(call: PreparedCall, client: HFClient, ttl: float) -> Target:
    """Attaches the catalog entry and preferences to the call's target.

    Args:
        call: From `prepare_call`.
        client: The sync client (its store caches the catalog).
        ttl: Seconds a fetched catalog stays fresh.

    Returns:
        The target to send (unchanged for a `base_url` server).
    """
    if call.target.base_url is not None:
        return call.target
    catalog = fetch_catalog(client, ttl, _features(call), lambda: _check(call))
    return _routed(call, catalog, client.health)


async def aroute_call(call: PreparedCall, client: AsyncHFClient, ttl: float) -> Target:
    """Async twin of `route_call`."""
    if call.target.base_url is not None:
        return call.target
    catalog = await afetch_catalog(client, ttl, _features(call), lambda: _check(call))
    return _routed(call, catalog, client.health)


def _cost(target: Target, metadata: Mapping[str, Any], usage: Any) -> dict[str, float] | None:
    offers = target.routing.offers if target.routing is not None else None
    if offers is None:
        return None
    return cost_of(offers.offer(metadata.get("provider")), usage)


def add_cost(message: AIMessage, target: Target) -> AIMessage:
    """Puts the answer's cost in `response_metadata["cost"]` when it is known.

    Args:
        message: A whole answer, with its provider and usage.
        target: The routed target (its catalog entry has the prices).

    Returns:
        The same message.
    """
    cost = _cost(target, message.response_metadata, message.usage_metadata)
    if cost is not None:
        message.response_metadata["cost"] = cost
    return message


def finish_stream(
    last: AIMessageChunk,
    metadata: Mapping[str, Any],
    target: Target,
    health: ProviderHealth,
    first_token_at: float,
) -> AIMessageChunk:
    """Completes a stream's last chunk: its cost, once, and the measured throughput.

    Args:
        last: The stream's last chunk (the one with the usage).
        metadata: The stream's attribution (`provider`, `model_name`).
        target: The routed target.
        health: The client's provider health (measured speeds are kept there).
        first_token_at: `time.monotonic()` when the first token arrived.

    Returns:
        The same chunk.
    """
    cost = _cost(target, metadata, last.usage_metadata)
    if cost is not None:
        last.response_metadata["cost"] = cost
    usage, provider = last.usage_metadata, metadata.get("provider")
    elapsed = time.monotonic() - first_token_at
    if usage and provider and target.base_url is None and elapsed > 0:
        tokens = usage.get("output_tokens", 0)
        if tokens > 1:
            health.record_provider_speed(target.repo_id, provider, None, tokens / elapsed)
    return last
