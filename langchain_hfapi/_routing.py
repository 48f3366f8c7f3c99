"""Where a chat request goes: model and provider choice into candidates (no I/O)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from langchain_hfapi._aliases import (
    POLICIES,
    resolve_alias,
    split_route,
    validate_model_name,
    validate_provider,
    validate_repo_id,
)
from langchain_hfapi._failover import Candidate
from langchain_hfapi._mapping import ProviderMapping, select_providers
from langchain_hfapi._preferences import Routing

__all__ = ["ProviderChoice", "Target", "build_candidates", "resolve_target"]

ProviderChoice = str | Sequence[str] | None


@dataclass(frozen=True)
class Target:
    """A resolved model and provider choice.

    Attributes:
        repo_id: The Hub repo id (or, with `base_url`, the model name).
        providers: Provider slugs to restrict the mapping to, in order; `None`
            means every live provider of the mapping.
        policy: "fastest", "cheapest" or "preferred": the router chooses.
        base_url: An OpenAI-compatible server that replaces the router.
        routing: Preferences, needs and catalog entry that order and filter
            the mapping's providers (None: the mapping's order).
    """

    repo_id: str
    providers: tuple[str, ...] | None = None
    policy: str | None = None
    base_url: str | None = None
    routing: Routing | None = field(default=None, repr=False, compare=False)

    @property
    def needs_mapping(self) -> bool:
        """Checks whether the Hub mapping must be fetched for this target."""
        return self.policy is None and self.base_url is None


def _parse_provider(provider: ProviderChoice) -> tuple[tuple[str, ...] | None, str | None]:
    """Splits a provider choice into (provider slugs, policy)."""
    if provider is None or provider == "auto":
        return None, None
    if isinstance(provider, str):
        validate_provider(provider)
        return (None, provider) if provider in POLICIES else ((provider,), None)
    names = tuple(dict.fromkeys(validate_provider(name) for name in provider))
    if not names:
        msg = "provider list must not be empty"
        raise ValueError(msg)
    for name in names:
        if name in POLICIES or name == "auto":
            msg = f"{name!r} is a routing policy, not a provider; pass it alone"
            raise ValueError(msg)
    return names, None


def resolve_target(
    model: str,
    provider: ProviderChoice = None,
    *,
    aliases: Mapping[str, str] | None = None,
    base_url: str | None = None,
) -> Target:
    """Resolves aliases and the provider choice, and validates the model name.

    A ":provider" or ":policy" suffix on the model wins over `provider`.

    Args:
        model: Alias, Hub repo id, "repo:provider" or "repo:policy".
        provider: `None`/"auto", a slug, a list of slugs, or a policy.
        aliases: Extra aliases over the built-in table.
        base_url: An OpenAI-compatible server; skips the Hub and the router.

    Returns:
        The `Target`.

    Raises:
        ValueError: If the model is not a valid repo id (or model name with
            `base_url`), or the provider choice is malformed.

    Example:
        >>> resolve_target("llama-3.3-70b:groq")
        Target(repo_id='meta-llama/Llama-3.3-70B-Instruct', providers=('groq',), policy=None, base_url=None)
    """  # noqa: E501
    choice = provider if provider is None or isinstance(provider, str) else tuple(provider)
    try:  # resolved once per distinct arguments: construction and every call resolve
        return _resolve_once(model, choice, tuple(aliases.items()) if aliases else (), base_url)
    except TypeError:  # a provider list holding something that cannot be hashed
        return _resolve(model, provider, aliases, base_url)


def _resolve(
    model: str, provider: ProviderChoice, aliases: Mapping[str, str] | None, base_url: str | None
) -> Target:
    if base_url is not None:
        return Target(validate_model_name(resolve_alias(model, aliases)), base_url=base_url)
    try:
        name, route = split_route(model)
    except ValueError:
        validate_repo_id(model)  # explains what a model id looks like
        raise
    repo_id = validate_repo_id(resolve_alias(name, aliases))
    providers, policy = _parse_provider(route if route is not None else provider)
    return Target(repo_id, providers, policy)


@functools.lru_cache(maxsize=256)
def _resolve_once(
    model: str, provider: ProviderChoice, aliases: tuple[tuple[str, str], ...], base_url: str | None
) -> Target:
    """`_resolve`, kept per arguments (a `Target` is immutable; errors are not kept)."""
    return _resolve(model, provider, dict(aliases), base_url)


def build_candidates(
    target: Target,
    router_url: str,
    mapping: Sequence[ProviderMapping] | None = None,
) -> list[Candidate]:
    """Lists where to send the request, in the order to try them.

    Args:
        target: From `resolve_target`.
        router_url: The router's base URL.
        mapping: The model's Hub mapping; required when `target.needs_mapping`.

    Returns:
        One candidate per usable provider (or one for a policy or `base_url`);
        with `target.routing`, the ones the catalog rules out first (marked
        `skip`), then the others in the preferred order.

    Raises:
        ModelNotSupportedError: If the mapping has no usable provider.
        NoProviderMatchesError: If the catalog or the preferences leave none.
    """
    if target.base_url is not None:
        url = target.base_url.rstrip("/") + "/chat/completions"
        return [Candidate(target.repo_id, None, url, target.repo_id)]
    url = router_url.rstrip("/") + "/v1/chat/completions"
    if target.policy is not None:
        wire = f"{target.repo_id}:{target.policy}"
        return [Candidate(target.repo_id, target.policy, url, wire)]
    entries = select_providers(target.repo_id, mapping or (), target.providers)
    candidates = [
        Candidate(target.repo_id, e.provider, url, f"{target.repo_id}:{e.provider}", e.provider_id)
        for e in entries
    ]
    return candidates if target.routing is None else target.routing.arrange(candidates)
