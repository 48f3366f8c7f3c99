"""What callbacks and traces see of a call: `llm_output` and the traced model name.

`llm_output` follows `ChatOpenAI`: `token_usage` (OpenAI key names), `model_name`
(the repo id that answered) and `provider` (who served it). Usage counters built on
callbacks read `LLMResult.llm_output["token_usage"]`.

The traced model (`ls_model_name`) is computed by LangChain before the model sees
the messages, so the input's images are remembered here when LangChain converts
the input (`remember_input`), and read back once (`input_had_images`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from langchain_core.language_models import LangSmithParams
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatResult

from langchain_hfapi._completions import MODEL_PROVIDER
from langchain_hfapi._messages import has_images

__all__ = [
    "combine_llm_outputs",
    "input_had_images",
    "llm_output",
    "ls_params",
    "remember_input",
    "token_usage",
    "with_llm_output",
    "with_token_usage",
]

_INPUT_IMAGES: ContextVar[tuple[int, bool] | None] = ContextVar(
    "langchain_hfapi_input_images", default=None
)


def remember_input(owner: int, messages: Sequence[BaseMessage]) -> None:
    """Records whether the input a model just converted has images.

    Args:
        owner: `id()` of the model that converted the input.
        messages: The converted input.
    """
    _INPUT_IMAGES.set((owner, has_images(messages)))


def input_had_images(owner: int) -> bool:
    """Reads, and forgets, what `remember_input` recorded for this model.

    Args:
        owner: `id()` of the model asking.

    Returns:
        True if the input this model converted last, in this context, had
        images; False when nothing was recorded (e.g. a direct `generate` call).
    """
    recorded = _INPUT_IMAGES.get()
    _INPUT_IMAGES.set(None)
    return recorded is not None and recorded[0] == owner and recorded[1]


def ls_params(model: str, stop: list[str] | None, params: Mapping[str, Any]) -> LangSmithParams:
    """Builds the LangSmith parameters of a call.

    Args:
        model: The repo id that will be requested.
        stop: The stop sequences of the call or the model.
        params: The call's sampling parameters (model defaults, then per call).

    Returns:
        Provider, model name and type, and temperature, max tokens and stop
        sequences when they are set.
    """
    result = LangSmithParams(ls_provider=MODEL_PROVIDER, ls_model_name=model, ls_model_type="chat")
    if params.get("temperature") is not None:
        result["ls_temperature"] = params["temperature"]
    if params.get("max_tokens") is not None:
        result["ls_max_tokens"] = params["max_tokens"]
    if stop:
        result["ls_stop"] = stop
    return result


def token_usage(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Converts LangChain usage metadata into OpenAI's `usage` key names.

    Args:
        usage: An `AIMessage.usage_metadata`, or None.

    Returns:
        `prompt_tokens`, `completion_tokens`, `total_tokens`, and the cached and
        reasoning token details when known; empty when `usage` is None.
    """
    if not usage:
        return {}
    result: dict[str, Any] = {
        "prompt_tokens": usage.get("input_tokens", 0),
        "completion_tokens": usage.get("output_tokens", 0),
        "total_tokens": usage.get("total_tokens", 0),
    }
    cached = (usage.get("input_token_details") or {}).get("cache_read")
    if cached is not None:
        result["prompt_tokens_details"] = {"cached_tokens": cached}
    reasoning = (usage.get("output_token_details") or {}).get("reasoning")
    if reasoning is not None:
        result["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return result


def llm_output(message: BaseMessage) -> dict[str, Any]:
    """Builds the `ChatResult.llm_output` of one answer.

    Args:
        message: The answer (an `AIMessage`, or a stream's chunks summed).

    Returns:
        `{"token_usage": ..., "model_name": ..., "provider": ...}`.
    """
    meta = message.response_metadata
    return {
        "token_usage": token_usage(getattr(message, "usage_metadata", None)),
        "model_name": meta.get("model_name"),
        "provider": meta.get("provider"),
    }


def with_llm_output(result: ChatResult) -> ChatResult:
    """Adds `llm_output` to a result built from a stream (`streaming=True`).

    Args:
        result: The result of `generate_from_stream`.

    Returns:
        The same generations with `llm_output` set.
    """
    message = result.generations[0].message
    return ChatResult(generations=result.generations, llm_output=llm_output(message))


def with_token_usage(last: AIMessageChunk) -> AIMessageChunk:
    """Puts `token_usage` on a stream's last chunk.

    LangChain copies `llm_output` into the `response_metadata` of an `invoke`
    answer; this keeps a summed stream's metadata equal to it.

    Args:
        last: The stream's last chunk (the one with the usage).

    Returns:
        The same chunk.
    """
    last.response_metadata["token_usage"] = token_usage(last.usage_metadata)
    return last


def _add(total: dict[str, Any], usage: Mapping[str, Any]) -> None:
    for key, value in usage.items():
        if isinstance(value, Mapping):
            _add(total.setdefault(key, {}), value)
        elif isinstance(value, int):
            total[key] = total.get(key, 0) + value


def combine_llm_outputs(outputs: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Combines the `llm_output` of a batch, as `generate` returns it.

    Args:
        outputs: One `llm_output` per prompt (None for a cached answer).

    Returns:
        The summed `token_usage`, and the `model_name` and `provider` of the
        first answer that names them.
    """
    usage: dict[str, Any] = {}
    combined: dict[str, Any] = {"token_usage": usage, "model_name": None, "provider": None}
    for output in outputs:
        if not output:
            continue
        _add(usage, output.get("token_usage") or {})
        for key in ("model_name", "provider"):
            if combined[key] is None:
                combined[key] = output.get(key)
    return combined
