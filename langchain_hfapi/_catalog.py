"""The seed's helpers: `get_model`, `get_models`, `get_mapping`, `calculate_length`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from langchain_hfapi._aliases import FALLBACK_MODELS, resolve_alias, split_route, validate_repo_id
from langchain_hfapi._async_client import AsyncHFClient
from langchain_hfapi._auth import find_token
from langchain_hfapi._client import HFClient
from langchain_hfapi._client_core import DEFAULT_HUB_URL, DEFAULT_ROUTER_URL, ClientSettings
from langchain_hfapi._messages import calculate_length
from langchain_hfapi._state import ProcessStore
from langchain_hfapi.errors import HuggingFaceAPIError

__all__ = [
    "aget_mapping",
    "aget_models",
    "calculate_length",
    "get_mapping",
    "get_model",
    "get_models",
]

logger = logging.getLogger("langchain_hfapi")

CATALOG_TIMEOUT = 15.0  # seconds for /v1/models and mapping lookups


def get_model(model: str, aliases: Mapping[str, str] | None = None) -> str:
    """Resolves an alias and checks the result is a Hub repo id.

    Args:
        model: An alias, a repo id, or either with a ":provider" suffix.
        aliases: Extra aliases over the built-in table.

    Returns:
        The repo id, with the suffix kept when one was given.

    Raises:
        ValueError: If the result is not a valid repo id.

    Example:
        >>> get_model("qwen-2.5-72b:together")
        'Qwen/Qwen2.5-72B-Instruct:together'
    """
    name, route = split_route(model)
    repo_id = validate_repo_id(resolve_alias(name, aliases))
    return f"{repo_id}:{route}" if route else repo_id


def _settings(api_key: str | None, router_url: str, hub_url: str | None) -> ClientSettings:
    token = api_key or find_token()
    return ClientSettings(
        api_key=SecretStr(token) if token else None,
        router_url=router_url,
        hub_url=hub_url or os.environ.get("HF_ENDPOINT") or DEFAULT_HUB_URL,
        timeout=CATALOG_TIMEOUT,
        token_required=False,
    )


def _model_ids(data: Any) -> list[str]:
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        msg = "/v1/models answer has no 'data' list"
        raise HuggingFaceAPIError(msg)
    return [str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")]


def _fallback(err: HuggingFaceAPIError) -> list[str]:
    logger.warning("Could not list router models (%s); using the built-in list", err)
    return list(FALLBACK_MODELS)


def get_models(*, api_key: str | None = None, router_url: str = DEFAULT_ROUTER_URL) -> list[str]:
    """Lists the chat models the router serves (`GET /v1/models`).

    When the router cannot be reached or answers with an error, logs a warning
    and returns the built-in list instead.

    Args:
        api_key: Token to send; defaults to `HF_TOKEN` or the saved login.
        router_url: The router's base URL.

    Returns:
        Hub repo ids.

    Example:
        >>> models = get_models()  # doctest: +SKIP
        >>> "meta-llama/Llama-3.3-70B-Instruct" in models  # doctest: +SKIP
        True
    """
    url = router_url.rstrip("/") + "/v1/models"
    with HFClient(_settings(api_key, router_url, None)) as client:
        try:
            return _model_ids(client.get_json(url))
        except HuggingFaceAPIError as err:
            return _fallback(err)


async def aget_models(
    *, api_key: str | None = None, router_url: str = DEFAULT_ROUTER_URL
) -> list[str]:
    """Async twin of `get_models`."""
    url = router_url.rstrip("/") + "/v1/models"
    async with AsyncHFClient(_settings(api_key, router_url, None)) as client:
        try:
            return _model_ids(await client.get_json(url))
        except HuggingFaceAPIError as err:
            return _fallback(err)


def get_mapping(
    model: str, *, api_key: str | None = None, hub_url: str | None = None
) -> list[dict[str, Any]]:
    """Fetches which providers serve a model, in the user's preference order.

    Args:
        model: An alias or Hub repo id.
        api_key: Token to send (orders the list by your settings); defaults to
            `HF_TOKEN` or the saved login.
        hub_url: The Hub's base URL; defaults to `$HF_ENDPOINT` or huggingface.co.

    Returns:
        One dict per provider: `provider`, `provider_id`, `status`, `task`.

    Raises:
        ModelNotSupportedError: If the Hub does not know the model.
        HuggingFaceAPIError: If the Hub cannot be reached.

    Example:
        >>> get_mapping("llama-3.3-70b")[0]["provider"]  # doctest: +SKIP
        'together'
    """
    repo_id = validate_repo_id(resolve_alias(split_route(model)[0]))
    fresh = ProcessStore()  # a look-up of the Hub's current answer, not of the cache
    with HFClient(_settings(api_key, DEFAULT_ROUTER_URL, hub_url), store=fresh) as client:
        return [entry.as_dict() for entry in client.fetch_mapping(repo_id)]


async def aget_mapping(
    model: str, *, api_key: str | None = None, hub_url: str | None = None
) -> list[dict[str, Any]]:
    """Async twin of `get_mapping`."""
    repo_id = validate_repo_id(resolve_alias(split_route(model)[0]))
    settings = _settings(api_key, DEFAULT_ROUTER_URL, hub_url)
    async with AsyncHFClient(settings, store=ProcessStore()) as client:
        return [entry.as_dict() for entry in await client.fetch_mapping(repo_id)]
