"""Provider preferences and capability routing over the router's catalog (no I/O).

`ProviderPrefs` holds the user's `provider_sort`, `max_price` and
`ignore_providers`; `RequestNeeds` what one request needs of a provider
(tools, structured output, room for its input). A `Routing` joins both with
the model's catalog entry and the measured speeds, and `arrange` turns the
mapping's candidates into the order to try them:

1. ignored providers are dropped;
2. providers whose catalog entry says they cannot serve the request, or whose
   price is over the cap, are marked skipped with a reason (recorded in the
   answer's `attempts`);
3. the rest are sorted (stable: ties keep the mapping's order; a provider
   without the figure goes last).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_hfapi._aliases import validate_provider
from langchain_hfapi._failover import Candidate
from langchain_hfapi._offers import ModelOffers, ProviderOffer
from langchain_hfapi._speeds import Speed, blend
from langchain_hfapi.errors import NoProviderMatchesError

__all__ = [
    "SORTS",
    "ProviderPrefs",
    "RequestNeeds",
    "Routing",
    "check_prefs",
    "needs_of",
]

SORTS = ("price", "latency", "throughput")
BYTES_PER_TOKEN = 4  # input estimate: errs towards too few tokens for non-English text

SpeedsOf = Callable[[str, list[str]], Mapping[str, Speed]]


@dataclass(frozen=True)
class ProviderPrefs:
    """How to choose among providers.

    Attributes:
        sort: "price", "latency", "throughput", or None (the mapping's order).
        max_price: Caps in USD per million tokens: `{"input": ..., "output": ...}`.
        ignore: Provider slugs never tried.
    """

    sort: str | None = None
    max_price: tuple[tuple[str, float], ...] = ()
    ignore: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """Checks whether any preference is set."""
        return bool(self.sort or self.max_price or self.ignore)

    def cap_text(self) -> str:
        """Names the price cap as the user wrote it, e.g. "max_price={'output': 1.0}"."""
        return f"max_price={dict(self.max_price)!r}"


def _price_cap(max_price: Any) -> tuple[tuple[str, float], ...]:
    if max_price is None:
        return ()
    if not isinstance(max_price, Mapping) or not max_price:
        msg = "max_price must be a dict such as {'input': 1.0, 'output': 2.0} (USD per 1M tokens)"
        raise ValueError(msg)
    caps = []
    for key, value in max_price.items():
        if key not in ("input", "output"):
            msg = "max_price keys are 'input' and 'output' only"
            raise ValueError(msg)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = f"max_price[{key!r}] must be a number of USD per million tokens"
            raise ValueError(msg)
        if not math.isfinite(value) or value < 0:
            msg = f"max_price[{key!r}] must be a finite number >= 0"
            raise ValueError(msg)
        caps.append((key, float(value)))
    return tuple(sorted(caps))


def check_prefs(sort: Any = None, max_price: Any = None, ignore: Any = None) -> ProviderPrefs:
    """Validates provider preferences.

    Args:
        sort: "price", "latency", "throughput" or None.
        max_price: None or `{"input": x, "output": y}` (either key), USD per
            million tokens, finite and >= 0.
        ignore: None or a list of provider slugs.

    Returns:
        The preferences.

    Raises:
        ValueError: For any other value.

    Example:
        >>> check_prefs("price", {"output": 1}).cap_text()
        "max_price={'output': 1.0}"
    """
    if sort is not None and sort not in SORTS:
        msg = f"provider_sort must be one of {', '.join(SORTS)} (or None)"
        raise ValueError(msg)
    if ignore is None:
        names: tuple[str, ...] = ()
    elif isinstance(ignore, str) or not isinstance(ignore, Sequence):
        msg = "ignore_providers must be a list of provider names"
        raise ValueError(msg)
    else:
        names = tuple(dict.fromkeys(validate_provider(str(name)) for name in ignore))
    return ProviderPrefs(sort, _price_cap(max_price), names)


@dataclass(frozen=True)
class RequestNeeds:
    """What one request needs of a provider.

    Attributes:
        tools: Tools are bound (and `tool_choice` is not "none").
        structured: The response format is a `json_schema`.
        input_tokens: An estimate of the input's tokens (text only).
    """

    tools: bool = False
    structured: bool = False
    input_tokens: int = 0


def _text_bytes(value: Any) -> int:
    """UTF-8 bytes of the text in messages (image data is not text)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", errors="replace"))
    if isinstance(value, Mapping):
        if value.get("type") == "image_url":
            return 0
        return sum(_text_bytes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_text_bytes(v) for v in value)
    return 0


def needs_of(payload: Mapping[str, Any]) -> RequestNeeds:
    """Reads what a chat request needs of a provider.

    The input is estimated at `BYTES_PER_TOKEN` bytes of text per token:
    about right for English, too few tokens for most other text, so a
    provider is skipped only when the input is clearly over its context.

    Args:
        payload: The request body (OpenAI shape).

    Returns:
        The needs.

    Example:
        >>> needs_of({"messages": [{"role": "user", "content": "abcdefgh"}], "tools": [{}]})
        RequestNeeds(tools=True, structured=False, input_tokens=3)
    """
    tools = bool(payload.get("tools")) and payload.get("tool_choice") != "none"
    fmt = payload.get("response_format")
    structured = isinstance(fmt, Mapping) and fmt.get("type") == "json_schema"
    size = _text_bytes(payload.get("messages")) + _text_bytes(payload.get("tools"))
    return RequestNeeds(tools, structured, math.ceil(size / BYTES_PER_TOKEN))


def unfit(offer: ProviderOffer | None, needs: RequestNeeds) -> str | None:
    """Names why the catalog says a provider cannot serve the request, or None."""
    if offer is None:
        return None  # not in the catalog: nothing is known, nothing is assumed
    if offer.status == "error":
        return "status_error"
    if needs.tools and offer.supports_tools is False:
        return "unsupported_tools"
    if needs.structured and offer.supports_structured_output is False:
        return "unsupported_structured_output"
    if offer.context_length is not None and needs.input_tokens > offer.context_length:
        return "context_too_long"
    return None


def _over_cap(offer: ProviderOffer | None, prefs: ProviderPrefs) -> bool:
    for key, cap in prefs.max_price:
        price = (
            None if offer is None else offer.input_price if key == "input" else offer.output_price
        )
        if price is None or price > cap:
            return True  # an unknown price is not known to be under the cap
    return False


def _price_text(offer: ProviderOffer | None) -> str:
    if offer is None or offer.input_price is None or offer.output_price is None:
        return "price unknown"
    return f"{offer.input_price:g} in / {offer.output_price:g} out"


@dataclass(frozen=True)
class Routing:
    """Preferences, needs, catalog entry and speeds for one call.

    Attributes:
        prefs: The provider preferences.
        needs: What the request needs.
        offers: The model's catalog entry, or None when unknown or unreachable.
        speeds_of: Reads measured speeds: (model, providers) -> provider -> `Speed`.
    """

    prefs: ProviderPrefs = field(default_factory=ProviderPrefs)
    needs: RequestNeeds = field(default_factory=RequestNeeds)
    offers: ModelOffers | None = None
    speeds_of: SpeedsOf | None = None

    def _offer(self, cand: Candidate) -> ProviderOffer | None:
        return self.offers.offer(cand.route) if self.offers is not None else None

    def arrange(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """Orders candidates by the preferences; marks those to skip, with why.

        Args:
            candidates: The mapping's usable providers, in its order.

        Returns:
            The skipped candidates (`skip` set) first, then the ones to try.

        Raises:
            NoProviderMatchesError: If no candidate is left to try; the message
                names the price cap, the ignored providers or each reason.
        """
        repo = candidates[0].repo_id if candidates else "the model"
        kept = [c for c in candidates if c.route not in self.prefs.ignore]
        if not kept:
            msg = f"ignore_providers={list(self.prefs.ignore)} leaves no provider of {repo}"
            raise NoProviderMatchesError(msg, model=repo)
        skipped: list[Candidate] = []
        usable: list[Candidate] = []
        for cand in kept:
            reason = unfit(self._offer(cand), self.needs)
            if reason is None and self.prefs.max_price and self.offers is not None:
                reason = "over_max_price" if _over_cap(self._offer(cand), self.prefs) else None
            if reason is None:
                usable.append(cand)
            else:
                skipped.append(replace(cand, skip=reason))
        if not usable:
            raise NoProviderMatchesError(self._none_left(repo, skipped), model=repo)
        return skipped + self._sorted(usable)

    def _none_left(self, repo: str, skipped: list[Candidate]) -> str:
        if all(c.skip == "over_max_price" for c in skipped):
            prices = ", ".join(f"{c.label} {_price_text(self._offer(c))}" for c in skipped)
            return (
                f"No provider of {repo} is within {self.prefs.cap_text()} "
                f"(USD per million tokens): {prices}"
            )
        why = ", ".join(f"{c.label} ({c.skip})" for c in skipped)
        return f"No provider of {repo} can serve this request, says the router's catalog: {why}"

    def _sorted(self, usable: list[Candidate]) -> list[Candidate]:
        sort = self.prefs.sort
        if sort is None or len(usable) < 2:
            return usable
        measured: Mapping[str, Speed] = {}
        if sort != "price" and self.speeds_of is not None:
            measured = self.speeds_of(usable[0].repo_id, [c.label for c in usable])
        keys = [self._key(c.label, measured.get(c.label)) for c in usable]
        order = sorted(range(len(usable)), key=lambda i: keys[i])
        return [usable[i] for i in order]

    def _key(self, provider: str, speed: Speed | None) -> tuple[float, ...]:
        """The sort key: unknown figures last; price by output, then input price."""
        offer = self.offers.offer(provider) if self.offers is not None else None
        if self.prefs.sort == "price":
            if offer is None or offer.output_price is None or offer.input_price is None:
                return (1.0,)
            return (0.0, offer.output_price, offer.input_price)
        value = self.figure(provider, speed)
        if value is None:
            return (1.0,)
        return (0.0, value if self.prefs.sort == "latency" else -value)

    def figure(self, provider: str, speed: Speed | None) -> float | None:
        """Returns the blended figure a provider is sorted by.

        Args:
            provider: The provider slug.
            speed: Its measured speed, if any.

        Returns:
            latency: blended seconds to the first token; throughput: blended
            tokens per second; price: USD per million output tokens. None when
            unknown.
        """
        offer = self.offers.offer(provider) if self.offers is not None else None
        sort = self.prefs.sort
        if sort == "price":
            return offer.output_price if offer is not None else None
        if sort == "latency":
            probe = offer.first_token_latency_ms if offer is not None else None
            got = speed or Speed()
            return blend(None if probe is None else probe / 1000, got.latency, got.latency_count)
        probe = offer.throughput if offer is not None else None
        got = speed or Speed()
        return blend(probe, got.throughput, got.throughput_count)
