"""The router's catalog (`GET /v1/models`): what each provider offers per model.

For each model the router lists its providers with `status`, `context_length`,
`pricing.input`/`pricing.output` (USD per million tokens), `supports_tools`,
`supports_structured_output`, `first_token_latency_ms` and `throughput` (from
the router's latest validation probe), and the model's input modalities. Every
provider field but `provider` and `status` is optional: an absent figure is
`None` here, never a guess. Parsing does no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelOffers", "ProviderOffer", "RouterCatalog", "cost_of", "parse_catalog"]

PER_TOKENS = 1_000_000  # catalog prices are USD per million tokens


def _number(value: Any) -> float | None:
    """A finite, non-negative number, else None (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


@dataclass(frozen=True)
class ProviderOffer:
    """One provider's entry for a model in the router's catalog.

    Attributes:
        provider: The provider slug.
        status: "live" or "error" (as the router says).
        context_length: Most tokens (input and output) the provider accepts.
        input_price: USD per million input tokens.
        output_price: USD per million output tokens.
        supports_tools: Whether the provider accepts `tools`.
        supports_structured_output: Whether it accepts a `json_schema` format.
        first_token_latency_ms: The router's probe of the time to first token.
        throughput: The router's probe of output tokens per second.
    """

    provider: str
    status: str = ""
    context_length: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    supports_tools: bool | None = None
    supports_structured_output: bool | None = None
    first_token_latency_ms: float | None = None
    throughput: float | None = None

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> ProviderOffer | None:
        """Reads one provider entry; None when it names no provider."""
        name = item.get("provider")
        if not isinstance(name, str) or not name:
            return None
        pricing = item.get("pricing")
        prices = pricing if isinstance(pricing, Mapping) else {}
        context = _number(item.get("context_length"))
        return cls(
            provider=name,
            status=str(item.get("status") or ""),
            context_length=int(context) if context else None,
            input_price=_number(prices.get("input")),
            output_price=_number(prices.get("output")),
            supports_tools=_flag(item.get("supports_tools")),
            supports_structured_output=_flag(item.get("supports_structured_output")),
            first_token_latency_ms=_number(item.get("first_token_latency_ms")),
            throughput=_number(item.get("throughput")),
        )


@dataclass(frozen=True)
class ModelOffers:
    """One model in the catalog: its input modalities and its providers.

    Attributes:
        repo_id: The Hub repo id.
        input_modalities: E.g. ("text", "image").
        providers: Provider slug -> offer, in the catalog's order.
    """

    repo_id: str
    input_modalities: tuple[str, ...] = ()
    providers: Mapping[str, ProviderOffer] = field(default_factory=dict)

    def offer(self, provider: str | None) -> ProviderOffer | None:
        """Returns a provider's offer, or None when the catalog does not list it."""
        return self.providers.get(provider) if provider else None


class RouterCatalog:
    """The router's catalog: repo id -> `ModelOffers`, each read when first asked for.

    The answer lists hundreds of models and a call needs one, so a model's
    entry is parsed on its first look-up and kept (a process parses each
    model at most once per fetched catalog).

    Args:
        items: Repo id -> the model's raw `/v1/models` entry.

    Example:
        >>> cat = parse_catalog({"data": [{"id": "a/b", "providers": [{"provider": "x"}]}]})
        >>> cat.model("a/b").offer("x").status
        ''
    """

    __slots__ = ("_items", "_parsed")

    def __init__(self, items: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._items = dict(items or {})
        self._parsed: dict[str, ModelOffers | None] = {}

    def __len__(self) -> int:
        return len(self._items)

    def model(self, repo_id: str) -> ModelOffers | None:
        """Returns a model's offers, or None when the catalog does not list it."""
        try:
            return self._parsed[repo_id]
        except KeyError:
            pass
        item = self._items.get(repo_id)
        found = _model(item) if item is not None else None
        self._parsed[repo_id] = found  # a race parses twice, the same result
        return found

    @property
    def models(self) -> dict[str, ModelOffers]:
        """Every model's offers, in the catalog's order (parses them all)."""
        found = {repo: self.model(repo) for repo in self._items}
        return {repo: offers for repo, offers in found.items() if offers is not None}

    def to_json(self) -> dict[str, Any]:
        """Returns the catalog as plain JSON data (for a shared state store)."""
        return {"data": list(self._items.values())}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RouterCatalog:
        """Reads what `to_json` wrote.

        Raises:
            ValueError: If `data` was not written by `to_json`.
        """
        return parse_catalog(data)


def _model(item: Any) -> ModelOffers | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        return None
    arch = item.get("architecture")
    modalities = arch.get("input_modalities") if isinstance(arch, Mapping) else None
    inputs = tuple(m for m in modalities or () if isinstance(m, str))
    raw = item.get("providers")
    offers = (
        [ProviderOffer.parse(p) for p in raw if isinstance(p, Mapping)]
        if isinstance(raw, list)
        else []
    )
    providers = {o.provider: o for o in offers if o is not None}
    return ModelOffers(item["id"], inputs, providers)


def parse_catalog(data: Any) -> RouterCatalog:
    """Parses the router's `/v1/models` answer.

    Args:
        data: The decoded JSON: `{"object": "list", "data": [...]}`.

    Returns:
        The catalog; malformed entries are left out.

    Raises:
        ValueError: If the answer has no `data` list.

    Example:
        >>> body = {
        ...     "data": [{"id": "a/b", "providers": [{"provider": "x", "pricing": {"input": 1}}]}]
        ... }
        >>> parse_catalog(body).model("a/b").offer("x").input_price
        1.0
    """
    items = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        msg = "/v1/models answer has no 'data' list"
        raise ValueError(msg)
    return RouterCatalog(
        {
            item["id"]: item
            for item in items
            if isinstance(item, Mapping) and isinstance(item.get("id"), str)
        }
    )


def cost_of(
    offer: ProviderOffer | None, usage: Mapping[str, Any] | None
) -> dict[str, float] | None:
    """Prices one answer from the serving provider's offer and its reported usage.

    Args:
        offer: The provider's catalog entry.
        usage: LangChain `usage_metadata` (`input_tokens`, `output_tokens`).

    Returns:
        `{"input": ..., "output": ..., "total": ...}` in USD, or None when a
        price or a token count is unknown (a cost is never guessed).

    Example:
        >>> offer = ProviderOffer("x", input_price=1.0, output_price=2.0)
        >>> cost_of(offer, {"input_tokens": 1000, "output_tokens": 500})
        {'input': 0.001, 'output': 0.001, 'total': 0.002}
    """
    if offer is None or offer.input_price is None or offer.output_price is None or not usage:
        return None
    tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
    if not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
        return None
    part_in = tokens_in * offer.input_price / PER_TOKENS
    part_out = tokens_out * offer.output_price / PER_TOKENS
    return {"input": part_in, "output": part_out, "total": part_in + part_out}
