"""Finds the Hugging Face token the way `huggingface_hub` does (no network)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from langchain_hfapi._input_checks import normalize_token

__all__ = ["MISSING_TOKEN_HELP", "find_token", "secret_token_from_env", "token_path"]

MISSING_TOKEN_HELP = (
    "No Hugging Face token found. Create one with the 'Make calls to Inference "  # noqa: S105
    "Providers' permission at https://huggingface.co/settings/tokens, then set "
    "the HF_TOKEN environment variable (export HF_TOKEN=hf_...) or pass "
    "api_key= to ChatHuggingFaceAPI."
)


def token_path(env: Mapping[str, str] | None = None) -> Path:
    """Returns the path of the token file `huggingface-cli login` writes.

    Args:
        env: Environment to read; defaults to `os.environ`.

    Returns:
        `$HF_TOKEN_PATH`, else `$HF_HOME/token`, else
        `$XDG_CACHE_HOME/huggingface/token`, else `~/.cache/huggingface/token`.
    """
    env = os.environ if env is None else env
    if env.get("HF_TOKEN_PATH"):
        return Path(env["HF_TOKEN_PATH"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "token"
    cache = env.get("XDG_CACHE_HOME") or str(Path("~/.cache"))
    return Path(cache).expanduser() / "huggingface" / "token"


def find_token(env: Mapping[str, str] | None = None) -> str | None:
    r"""Looks for a token in the environment, then in the token file.

    Order: `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the file from
    `token_path`. Whitespace is stripped; empty values count as missing.

    Args:
        env: Environment to read; defaults to `os.environ`.

    Returns:
        The token, or `None` when there is none.

    Raises:
        ValueError: If the token found holds a control or non-ASCII character
            (the message names where it was found, never the token).

    Example:
        >>> find_token({"HF_TOKEN": " hf_abc\n"})
        'hf_abc'
    """
    env = os.environ if env is None else env
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = normalize_token(env.get(name, ""), name)
        if value:
            return value
    path = token_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return normalize_token(text, f"the token file {path}")


def secret_token_from_env() -> SecretStr | None:
    """Returns the token `find_token` discovers, as a `SecretStr` (the `api_key` default)."""
    token = find_token()
    return SecretStr(token) if token else None
