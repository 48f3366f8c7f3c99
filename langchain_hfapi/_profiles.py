"""Model profiles (`model.profile`) for the models behind the built-in aliases.

Values describe the model as published by its authors; a provider may serve a
shorter context. Models not listed here get no profile (`None`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.model_profile import ModelProfile

__all__ = ["PROFILES", "model_profile"]


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
