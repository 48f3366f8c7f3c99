"""Provider mappings from the Hub: parsing, provider selection and caching.

The Hub answers `GET /api/models/{id}?expand=inferenceProviderMapping` with
the mapping either as a dict keyed by provider or as a list of objects with a
`provider` key; both are read. The order is the user's provider preference.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_hfapi._ttl_cache import FLIGHT_WAIT, NOT_FOUND_TTL, Key, TTLCache
from langchain_hfapi.errors import ModelNotSupportedError

__all__ = [
    "DEFAULT_MAPPING_TTL",
    "FLIGHT_WAIT",
    "MAX_MAPPING_ENTRIES",
    "NOT_FOUND_TTL",
    "Key",
    "MappingCache",
    "ProviderMapping",
    "TTLCache",
    "parse_mapping",
    "select_providers",
]

DEFAULT_MAPPING_TTL = 300.0  # seconds a fetched mapping is fresh
MAX_MAPPING_ENTRIES = 1024  # mappings kept, least recently used dropped beyond
CHAT_TASK = "conversational"  # the task chat models are registered under


@dataclass(frozen=True)
class ProviderMapping:
    """One provider entry of a model's mapping.

    Attributes:
        provider: The provider slug, e.g. "together".
        provider_id: The provider's own id for the model.
        status: "live", "staging" or "error".
        task: The task the provider serves the model for, e.g. "conversational".
    """

    provider: str
    provider_id: str | None
    status: str
    task: str

    def as_dict(self) -> dict[str, Any]:
        """Returns the entry as a plain dict (for the CLI and `get_mapping`)."""
        return {
            "provider": self.provider,
            "provider_id": self.provider_id,
            "status": self.status,
            "task": self.task,
        }


def _entry(provider: Any, value: Any) -> ProviderMapping | None:
    if not isinstance(provider, str) or not isinstance(value, dict):
        return None
    provider_id = value.get("providerId")
    return ProviderMapping(
        provider=provider,
        provider_id=provider_id if isinstance(provider_id, str) else None,
        status=str(value.get("status", "")),
        task=str(value.get("task", "")),
    )


def parse_mapping(data: Any) -> list[ProviderMapping]:
    """Parses a Hub model response (or its mapping value) into entries.

    Args:
        data: The decoded JSON of the Hub response, or the value of its
            `inferenceProviderMapping` key, in dict or list shape.

    Returns:
        The entries in the order given; malformed entries are skipped.

    Example:
        >>> parse_mapping({"together": {"status": "live", "task": "conversational"}})
        [ProviderMapping(provider='together', provider_id=None, status='live', task='conversational')]
    """  # noqa: E501
    if isinstance(data, dict) and {"inferenceProviderMapping", "id", "_id"} & data.keys():
        data = data.get("inferenceProviderMapping")  # a whole model answer
    if isinstance(data, dict):
        entries = [_entry(k, v) for k, v in data.items()]
    elif isinstance(data, list):
        entries = [_entry(item.get("provider"), item) for item in data if isinstance(item, dict)]
    else:
        entries = []
    return [e for e in entries if e is not None]


def select_providers(
    repo_id: str,
    mapping: Sequence[ProviderMapping],
    requested: Sequence[str] | None = None,
) -> list[ProviderMapping]:
    """Keeps the live chat providers, in mapping order or in the requested order.

    Args:
        repo_id: The model, for error messages.
        mapping: The model's mapping entries.
        requested: Provider slugs to restrict to, in the order to try them;
            `None` keeps every usable provider in the mapping's order.

    Returns:
        The usable entries, never empty.

    Raises:
        ModelNotSupportedError: If no entry is live and conversational (or none
            of the requested providers is); the message says why.
    """
    usable = [m for m in mapping if m.status == "live" and m.task == CHAT_TASK]
    if requested is not None:
        by_name = {m.provider: m for m in usable}
        usable = [by_name[p] for p in requested if p in by_name]
    if usable:
        return usable
    raise ModelNotSupportedError(_why_unusable(repo_id, mapping, requested))


def _why_unusable(
    repo_id: str, mapping: Sequence[ProviderMapping], requested: Sequence[str] | None
) -> str:
    if not mapping:
        return f"No inference provider serves {repo_id} (its provider mapping is empty)"
    seen = ", ".join(f"{m.provider} ({m.status}, {m.task})" for m in mapping)
    if requested is not None:
        return (
            f"None of the requested providers {list(requested)} serves {repo_id} "
            f"live for chat; the mapping lists: {seen}"
        )
    return f"No provider serves {repo_id} live for chat; the mapping lists: {seen}"


def cache_key(hub_url: str, token: str | None, repo_id: str) -> tuple[str, str, str]:
    """Builds the cache key; it holds a hash of the token, never the token (Redis keys too)."""
    return (hub_url, _token_digest(token or ""), repo_id)


@functools.lru_cache(maxsize=64)  # the tokens `_redact` already holds in memory: no new copy
def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class MappingCache(TTLCache[list[ProviderMapping]]):
    """The TTL cache of provider mappings (see `TTLCache`)."""
