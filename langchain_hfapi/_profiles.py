"""Model profiles (`model.profile`): from the router's catalog, else a built-in table.

The built-in values describe the model as published by its authors; a
provider may serve a shorter context. `catalog_profile` builds a profile for
the providers that will actually be tried, from the router's catalog.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.model_profile import ModelProfile

from langchain_hfapi._offers import ModelOffers, ProviderOffer
from langchain_hfapi._preferences import ProviderPrefs

__all__ = ["PROFILES", "catalog_profile", "model_profile", "warn_unknown_profile_keys"]

_DECLARED_KEYS = ModelProfile.__required_keys__ | ModelProfile.__optional_keys__


def warn_unknown_profile_keys(profile: Any) -> None:
    """Warns about keys `ModelProfile` does not declare (a version mismatch, a typo).

    Args:
        profile: A profile given by the user.
    """
    extra = sorted(set(profile) - _DECLARED_KEYS) if isinstance(profile, dict) else []
    if extra:
        msg = (
            f"Unrecognized keys in model profile: {extra}. This may indicate a version "
            "mismatch between langchain-core and langchain-hfapi."
        )
        warnings.warn(msg, stacklevel=4)


def _profile(
    context: int,
    *,
    tools: bool = True,
    images: bool = False,
    reasoning: bool = False,
    structured: bool | None = None,
    **extra: Any,
) -> ModelProfile:
    profile = ModelProfile(
        max_input_tokens=context,
        text_inputs=True,
        text_outputs=True,
        image_inputs=images,
        image_url_inputs=images,
        tool_calling=tools,
        tool_choice=tools,
        tool_call_streaming=tools,
        structured_output=tools if structured is None else structured,
        reasoning_output=reasoning,
        open_weights=True,
        temperature=True,
    )
    profile.update(extra)  # type: ignore[typeddict-item]
    return profile


PROFILES: dict[str, ModelProfile] = {
    "meta-llama/Llama-3.3-70B-Instruct": _profile(131072),
    "meta-llama/Llama-3.1-8B-Instruct": _profile(131072),
    "meta-llama/Llama-3.2-11B-Vision-Instruct": _profile(131072, tools=False, images=True),
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": _profile(131072, images=True),
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": _profile(131072, images=True),
    "Qwen/Qwen2.5-72B-Instruct": _profile(32768),
    "Qwen/Qwen2.5-Coder-32B-Instruct": _profile(32768),
    "Qwen/Qwen2.5-VL-7B-Instruct": _profile(32768, tools=False, images=True),
    "Qwen/Qwen3-32B": _profile(32768, reasoning=True),
    "Qwen/Qwen3-235B-A22B": _profile(32768, reasoning=True),
    "Qwen/QwQ-32B": _profile(32768, reasoning=True),
    "deepseek-ai/DeepSeek-R1": _profile(131072, tools=False, reasoning=True, structured=True),
    "deepseek-ai/DeepSeek-V3-0324": _profile(131072),
    "google/gemma-3-27b-it": _profile(131072, tools=False, images=True, structured=True),
    "openai/gpt-oss-120b": _profile(
        131072, reasoning=True, reasoning_effort_levels=["low", "medium", "high"]
    ),
    "openai/gpt-oss-20b": _profile(
        131072, reasoning=True, reasoning_effort_levels=["low", "medium", "high"]
    ),
    "mistralai/Mistral-Nemo-Instruct-2407": _profile(131072),
    "CohereLabs/c4ai-command-r-plus-08-2024": _profile(131072),
    "microsoft/phi-4": _profile(16384, tools=False, structured=True),
    "moonshotai/Kimi-K2-Instruct": _profile(131072),
    "zai-org/GLM-4.5": _profile(131072, reasoning=True),
}


def model_profile(repo_id: str) -> ModelProfile | None:
    """Looks up the profile of a model.

    Args:
        repo_id: A Hub repo id (aliases already resolved, no ":provider").

    Returns:
        A copy of the profile, or `None` for a model without one.

    Example:
        >>> model_profile("openai/gpt-oss-120b")["reasoning_output"]
        True
    """
    profile = PROFILES.get(repo_id)
    return ModelProfile(**profile) if profile is not None else None


def _within_cap(offer: ProviderOffer, prefs: ProviderPrefs) -> bool:
    for key, cap in prefs.max_price:
        price = offer.input_price if key == "input" else offer.output_price
        if price is None or price > cap:
            return False
    return True


def catalog_profile(
    offers: ModelOffers,
    providers: Sequence[str] | None = None,
    prefs: ProviderPrefs | None = None,
) -> ModelProfile:
    """Builds a model's profile for the providers that will be tried.

    The providers are the catalog's for the model, narrowed to `providers`
    (a provider choice), without ignored ones, those in error and those over
    the price cap. Starting from the built-in profile (or a text-only one):

    - `max_input_tokens`: the smallest context among them;
    - `tool_calling` / `structured_output`: true when one of them supports it
      (capability routing sends such requests only there);
    - `image_inputs`: from the model's input modalities.

    Args:
        offers: The model's catalog entry.
        providers: Provider slugs the model is restricted to, if any.
        prefs: The provider preferences.

    Returns:
        The profile.

    Example:
        >>> from langchain_hfapi._offers import parse_catalog
        >>> cat = parse_catalog(
        ...     {
        ...         "data": [
        ...             {
        ...                 "id": "a/b",
        ...                 "providers": [
        ...                     {"provider": "x", "context_length": 8192, "supports_tools": False}
        ...                 ],
        ...             }
        ...         ]
        ...     }
        ... )
        >>> catalog_profile(cat.model("a/b"))["max_input_tokens"]
        8192
    """
    prefs = prefs or ProviderPrefs()
    profile = model_profile(offers.repo_id) or ModelProfile(text_inputs=True, text_outputs=True)
    chosen = [
        o
        for name, o in offers.providers.items()
        if (providers is None or name in providers)
        and name not in prefs.ignore
        and o.status != "error"
        and _within_cap(o, prefs)
    ]
    if not chosen:
        return profile
    contexts = [o.context_length for o in chosen if o.context_length]
    if contexts:
        profile["max_input_tokens"] = min(contexts)
    tools = [o.supports_tools for o in chosen if o.supports_tools is not None]
    if tools:
        profile["tool_calling"] = profile["tool_choice"] = any(tools)
        profile["tool_call_streaming"] = any(tools)
    structured = [
        o.supports_structured_output for o in chosen if o.supports_structured_output is not None
    ]
    if structured:
        profile["structured_output"] = any(structured)
    if offers.input_modalities:
        images = "image" in offers.input_modalities
        profile["image_inputs"] = profile["image_url_inputs"] = images
    return profile
