"""Model aliases and model-name validation (data and pure functions, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_VISION_MODEL",
    "FALLBACK_MODELS",
    "MODEL_ALIASES",
    "POLICIES",
    "VISION_MODELS",
    "resolve_alias",
    "split_route",
    "validate_model_name",
    "validate_provider",
    "validate_repo_id",
]

DEFAULT_MODEL = "meta-llama/Llama-3.3-70B-Instruct"  # used when no model is named
DEFAULT_VISION_MODEL = "google/gemma-3-27b-it"  # used for images with no model named

POLICIES = frozenset({"fastest", "cheapest", "preferred"})  # router-side choices

MODEL_ALIASES: Mapping[str, str] = {
    "llama-3.3-70b": "meta-llama/Llama-3.3-70B-Instruct",
    "llama-3.1-8b": "meta-llama/Llama-3.1-8B-Instruct",
    "llama-3.2-11b-vision": "meta-llama/Llama-3.2-11B-Vision-Instruct",
    "llama-4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "llama-4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "qwen-2.5-72b": "Qwen/Qwen2.5-72B-Instruct",
    "qwen-2.5-coder-32b": "Qwen/Qwen2.5-Coder-32B-Instruct",
    "qwen-2.5-vl-7b": "Qwen/Qwen2.5-VL-7B-Instruct",
    "qwen-3-32b": "Qwen/Qwen3-32B",
    "qwen-3-235b": "Qwen/Qwen3-235B-A22B",
    "qwq-32b": "Qwen/QwQ-32B",
    "deepseek-r1": "deepseek-ai/DeepSeek-R1",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3-0324",
    "gemma-3-27b": "google/gemma-3-27b-it",
    "gpt-oss-120b": "openai/gpt-oss-120b",
    "gpt-oss-20b": "openai/gpt-oss-20b",
    "mistral-nemo": "mistralai/Mistral-Nemo-Instruct-2407",
    "command-r-plus": "CohereLabs/c4ai-command-r-plus-08-2024",
    "phi-4": "microsoft/phi-4",
    "kimi-k2": "moonshotai/Kimi-K2-Instruct",
    "glm-4.5": "zai-org/GLM-4.5",
}

VISION_MODELS = (
    "google/gemma-3-27b-it",
    "meta-llama/Llama-3.2-11B-Vision-Instruct",
    "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "Qwen/Qwen2.5-VL-7B-Instruct",
)

FALLBACK_MODELS = tuple(dict.fromkeys(MODEL_ALIASES.values()))  # offline list

_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
_ROUTE = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def resolve_alias(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Replaces a short model alias with its Hub repo id.

    Names that are not aliases pass through unchanged, as in the seed.

    Args:
        name: An alias such as "llama-3.3-70b", or any other model name.
        aliases: Extra aliases, consulted before the built-in table.

    Returns:
        The repo id the alias stands for, or `name` itself.

    Example:
        >>> resolve_alias("llama-3.3-70b")
        'meta-llama/Llama-3.3-70B-Instruct'
    """
    if aliases and name in aliases:
        return aliases[name]
    return MODEL_ALIASES.get(name, name)


def split_route(model: str) -> tuple[str, str | None]:
    """Splits "repo:provider" (or "repo:policy") into its two parts.

    Args:
        model: A model name with or without a ":route" suffix.

    Returns:
        (name, route); route is `None` when there is no suffix.

    Raises:
        ValueError: If the suffix is empty or not a valid provider slug.
    """
    name, sep, route = model.rpartition(":")
    if not sep:
        return model, None
    if not _ROUTE.fullmatch(route):
        msg = f"Invalid provider or policy {route!r} in model {model!r}"
        raise ValueError(msg)
    return name, route


def validate_provider(slug: str) -> str:
    """Checks a provider slug or policy name ("together", "fireworks-ai", "fastest").

    Args:
        slug: The name to check.

    Returns:
        `slug` unchanged.

    Raises:
        ValueError: If it is not lower-case letters, digits, "-", "_" and ".".
    """
    if not _ROUTE.fullmatch(slug):
        msg = f"Invalid provider {slug!r}: expected a slug such as 'together' or 'fastest'"
        raise ValueError(msg)
    return slug


def validate_repo_id(repo_id: str) -> str:
    """Checks that a name is a Hub repo id ("org/name") before it goes on the wire.

    Rejects URLs, paths with "..", whitespace and control characters, so the
    token is never sent with a crafted model name.

    Args:
        repo_id: The resolved model name.

    Returns:
        `repo_id` unchanged.

    Raises:
        ValueError: If it is not of the form "org/name" with letters, digits and
            "-", "_", ".".

    Example:
        >>> validate_repo_id("Qwen/Qwen2.5-72B-Instruct")
        'Qwen/Qwen2.5-72B-Instruct'
    """
    if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id or repo_id.endswith((".", "-")):
        msg = (
            f"{repo_id!r} is not a Hugging Face model id: expected 'org/name' made "
            "of letters, digits, '-', '_' and '.' (or a known alias such as "
            "'llama-3.3-70b'). To call another server, set base_url."
        )
        raise ValueError(msg)
    return repo_id


def validate_model_name(name: str) -> str:
    """Checks a `base_url` model name: non-empty, no whitespace or controls.

    Args:
        name: The model name sent to an OpenAI-compatible server.

    Returns:
        `name` unchanged.

    Raises:
        ValueError: If it is empty or holds whitespace or control characters.
    """
    if not name or _CONTROL.search(name):
        msg = f"Invalid model name {name!r}: empty or contains whitespace/controls"
        raise ValueError(msg)
    return name
