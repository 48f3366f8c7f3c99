"""Converts chat-completion answers (whole or streamed) into LangChain messages.

`completion_to_message` reads a whole answer; `StreamConverter` reads a stream
event by event. Both put the same keys in `response_metadata`, so adding the
chunks of a stream gives the metadata `invoke` gives. Strings are placed on
exactly one chunk, because LangChain concatenates strings when adding chunks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers.openai_tools import (
    make_invalid_tool_call,
    parse_tool_call,
)
from langchain_core.outputs import ChatGenerationChunk

from langchain_hfapi._error_bodies import excerpt
from langchain_hfapi.errors import MalformedResponseError

__all__ = [
    "MODEL_PROVIDER",
    "StreamConverter",
    "aemit_chunk",
    "check_completion",
    "completion_to_message",
    "emit_chunk",
    "to_usage",
]

MODEL_PROVIDER = "huggingface"  # response_metadata["model_provider"], ls_provider


def to_usage(usage: Mapping[str, Any]) -> UsageMetadata:
    """Converts an OpenAI `usage` object into LangChain usage metadata.

    Args:
        usage: `{"prompt_tokens", "completion_tokens", "total_tokens", ...}`,
            optionally with `prompt_tokens_details.cached_tokens` and
            `completion_tokens_details.reasoning_tokens`.

    Returns:
        `UsageMetadata` with token details where the provider reported them.
    """
    inp = int(usage.get("prompt_tokens") or 0)
    out = int(usage.get("completion_tokens") or 0)
    result = UsageMetadata(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=int(usage.get("total_tokens") or inp + out),
    )
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        result["input_token_details"] = InputTokenDetails(cache_read=int(cached))
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning is not None:
        result["output_token_details"] = OutputTokenDetails(reasoning=int(reasoning))
    return result


def _arguments(function: Mapping[str, Any]) -> str:
    """Returns tool-call arguments as a JSON string (older TGI sends a dict)."""
    args = function.get("arguments")
    if args is None:
        return ""
    if isinstance(args, str):
        return args
    return json.dumps(args, ensure_ascii=False)


def _tool_calls(raw_calls: list[Any]) -> tuple[list[Any], list[Any]]:
    """Parses OpenAI tool calls into (tool_calls, invalid_tool_calls)."""
    calls: list[Any] = []
    invalid: list[Any] = []
    for raw in raw_calls:
        function = dict(raw.get("function") or {})
        args = _arguments(function)
        function["arguments"] = "{}" if args.strip() in ("", "null") else args
        fixed = {**raw, "function": function}
        try:
            calls.append(parse_tool_call(fixed, return_id=True))
        except Exception as err:
            invalid.append(make_invalid_tool_call(fixed, str(err)))
    return calls, invalid


def _reasoning(fields: Mapping[str, Any]) -> str | None:
    value = fields.get("reasoning_content") or fields.get("reasoning")
    return value if isinstance(value, str) and value else None


def check_completion(body: Any) -> dict[str, Any]:
    """Checks that a whole answer has `choices[0].message`.

    The client calls it before accepting an answer, so an answer without one is
    retried and failed over like any other provider failure.

    Args:
        body: The decoded JSON answer.

    Returns:
        `body`, unchanged.

    Raises:
        MalformedResponseError: If there is no `choices[0].message` object.
    """
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices[0], dict):
        msg = "answer has no choices: " + excerpt(json.dumps(body), 120)
        raise MalformedResponseError(msg, status_code=200)
    if not isinstance(choices[0].get("message"), dict):
        msg = "answer choice has no message: " + excerpt(json.dumps(body), 120)
        raise MalformedResponseError(msg, status_code=200)
    return dict(body)


def completion_to_message(body: Any, metadata: Mapping[str, Any]) -> AIMessage:
    """Converts a whole chat completion into an `AIMessage`.

    Args:
        body: The decoded JSON answer.
        metadata: Attribution for `response_metadata` (model name, provider,
            request id, attempts).

    Returns:
        The message, with tool calls, reasoning, usage and metadata.

    Raises:
        MalformedResponseError: If the answer has no `choices[0].message`.
    """
    choice = check_completion(body)["choices"][0]
    message = choice["message"]
    response_metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER, **metadata}
    _add_final_metadata(response_metadata, body, choice.get("finish_reason"))
    if choice.get("logprobs") is not None:
        response_metadata["logprobs"] = choice["logprobs"]
    additional: dict[str, Any] = {}
    reasoning = _reasoning(message)
    if reasoning:
        additional["reasoning_content"] = reasoning
    calls, invalid = _tool_calls(message.get("tool_calls") or [])
    usage = body.get("usage")
    return AIMessage(
        content=message.get("content") or "",
        additional_kwargs=additional,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=to_usage(usage) if usage else None,
        response_metadata=response_metadata,
    )


def _add_final_metadata(
    metadata: dict[str, Any], body: Mapping[str, Any], finish_reason: Any
) -> None:
    """Adds the keys that a stream reports once, on its last chunk."""
    if body.get("id"):
        metadata["id"] = body["id"]
    if finish_reason:
        metadata["finish_reason"] = finish_reason
    if body.get("system_fingerprint"):
        metadata["system_fingerprint"] = body["system_fingerprint"]


class StreamConverter:
    """Converts the events of one stream into `AIMessageChunk`s.

    `start` gives the first chunk (attribution, like the seed's `ProviderInfo`),
    `convert` one chunk per event with content, and `finish` the last chunk
    (finish reason, id and usage, which appears exactly once whether the
    provider sent it on the last chunk, on every chunk or in a separate one).

    Args:
        metadata: Attribution for the first chunk.
    """

    __slots__ = ("_body", "_finish_reason", "_metadata", "_usage")

    def __init__(self, metadata: Mapping[str, Any]) -> None:
        self._metadata = metadata
        self._usage: Mapping[str, Any] | None = None
        self._finish_reason: Any = None
        self._body: dict[str, Any] = {}

    def start(self) -> AIMessageChunk:
        """Returns the first chunk: no content, the provider attribution."""
        return AIMessageChunk(
            content="",
            response_metadata={"model_provider": MODEL_PROVIDER, **self._metadata},
        )

    def convert(self, event: Mapping[str, Any]) -> AIMessageChunk | None:
        """Converts one decoded stream event.

        Args:
            event: A `chat.completion.chunk` object.

        Returns:
            A chunk when the event carries content, reasoning, tool-call
            fragments or log probabilities; `None` otherwise.
        """
        usage = event.get("usage")
        if usage:
            self._usage = usage  # running totals: the last one wins
        if "id" not in self._body and event.get("id"):
            self._body["id"] = event["id"]
        if event.get("system_fingerprint"):
            self._body["system_fingerprint"] = event["system_fingerprint"]
        choices = event.get("choices")
        if not choices:
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        content = delta.get("content") or ""
        reasoning = _reasoning(delta)
        raw_calls = delta.get("tool_calls")
        logprobs = choice.get("logprobs")
        if not (content or reasoning or raw_calls or logprobs):
            return None
        metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
        if logprobs:
            metadata["logprobs"] = logprobs
        return AIMessageChunk(
            content=content,
            additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
            tool_call_chunks=_tool_call_chunks(raw_calls) if raw_calls else [],
            response_metadata=metadata,
        )

    def finish(self) -> AIMessageChunk:
        """Returns the last chunk: finish reason, response id and usage."""
        metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
        _add_final_metadata(metadata, self._body, self._finish_reason)
        return AIMessageChunk(
            content="",
            response_metadata=metadata,
            usage_metadata=to_usage(self._usage) if self._usage else None,
            chunk_position="last",
        )

    @property
    def finish_reason(self) -> Any:
        """The finish reason seen so far, if any."""
        return self._finish_reason


def _tool_call_chunks(raw_calls: list[Any]) -> list[Any]:
    chunks = []
    for position, raw in enumerate(raw_calls):
        function = raw.get("function") or {}
        args = function.get("arguments")
        if args == "null":  # a tool without arguments; summed chunks must parse
            args = "{}"
        chunks.append(
            tool_call_chunk(
                name=function.get("name"),
                args=args if isinstance(args, str) or args is None else json.dumps(args),
                id=raw.get("id"),
                index=raw.get("index", position),
            )
        )
    return chunks


def emit_chunk(
    chunk: AIMessageChunk, run_manager: CallbackManagerForLLMRun | None
) -> ChatGenerationChunk:
    """Wraps a chunk for LangChain and reports its token to the callbacks."""
    generation = ChatGenerationChunk(message=chunk)
    if run_manager is not None:
        text = chunk.content if isinstance(chunk.content, str) else chunk.text
        run_manager.on_llm_new_token(text, chunk=generation)
    return generation


async def aemit_chunk(
    chunk: AIMessageChunk, run_manager: AsyncCallbackManagerForLLMRun | None
) -> ChatGenerationChunk:
    """Async twin of `emit_chunk`."""
    generation = ChatGenerationChunk(message=chunk)
    if run_manager is not None:
        text = chunk.content if isinstance(chunk.content, str) else chunk.text
        await run_manager.on_llm_new_token(text, chunk=generation)
    return generation
