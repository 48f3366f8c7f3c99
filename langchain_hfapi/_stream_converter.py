"""Converts the events of a chat-completion stream into `AIMessageChunk`s.

`StreamConverter` gives the first chunk (attribution, like the seed's
`ProviderInfo`), one chunk per event with content, and the last chunk (finish
reason, id and usage). Strings are placed on exactly one chunk, because
LangChain concatenates strings when adding chunks. The converter also keeps
what it delivered, cheaply, so that an error after the first token can carry
the partial answer (`partial_message`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    InvalidToolCall,
    ToolCall,
    ToolCallChunk,
)
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from langchain_hfapi._completions import (
    MODEL_PROVIDER,
    add_final_metadata,
    completion_to_message,
    read_reasoning,
    read_text,
    to_usage,
)
from langchain_hfapi._error_bodies import excerpt
from langchain_hfapi._stream_events import Answer, first_choice
from langchain_hfapi._tool_call_wire import (
    arguments_text,
    as_call_list,
    call_id,
    call_name,
    is_empty_call,
    parse_call,
    strip_leaked_tokens,
)
from langchain_hfapi.errors import HuggingFaceAPIError, MalformedResponseError

__all__ = [
    "StreamConverter",
    "aemit_chunk",
    "answer_to_message",
    "emit_chunk",
    "events_to_message",
]


class _CallState:
    """What a stream sent so far for one tool call (one `index`)."""

    __slots__ = ("args", "deferred", "id", "name")

    def __init__(self, name: str | None) -> None:
        self.name = name
        self.id: str | None = None
        self.args: list[str] = []
        # TGI 2.x-3.1 sends no name: the call is read whole at the end.
        self.deferred = name is None


class StreamConverter:
    """Converts the events of one stream into `AIMessageChunk`s.

    `start` gives the first chunk, `convert` one chunk per event with content,
    and `finish` the last chunk (usage appears exactly once, whether the
    provider sent it on the last chunk, on every chunk as a running total or
    in a separate chunk).

    Args:
        metadata: Attribution for the first chunk.
    """

    __slots__ = ("_body", "_calls", "_finish_reason", "_metadata", "_reasoning", "_text", "_usage")

    def __init__(self, metadata: Mapping[str, Any]) -> None:
        self._metadata = metadata
        self._usage: Any = None
        self._finish_reason: Any = None
        self._body: dict[str, Any] = {}
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _CallState] = {}

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
            fragments or log probabilities; `None` otherwise. Attribution is
            on the first and last chunks only: a chunk in between carries
            `response_metadata` only for its `logprobs`.

        Raises:
            MalformedResponseError: If the event's choices, delta, content,
                reasoning or tool calls have the wrong type.
        """
        usage = event.get("usage")
        if usage:
            self._usage = usage  # running totals: the last one wins
        if "id" not in self._body and event.get("id"):
            self._body["id"] = event["id"]
        if event.get("system_fingerprint"):
            self._body["system_fingerprint"] = event["system_fingerprint"]
        choice = first_choice(event)
        if choice is None:
            return None
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        if type(delta) is not dict:
            raise MalformedResponseError(f"event delta is not an object: {excerpt(repr(delta))}")
        text = delta.get("content")
        if (  # the common case, a piece of text and nothing else: checked cheaply
            type(text) is str
            and not delta.get("reasoning_content")
            and not delta.get("reasoning")
            and not delta.get("tool_calls")
            and type(choice.get("logprobs")) is not dict
        ):
            if not text:
                return None
            self._text.append(text)
            return AIMessageChunk(content=text)
        return self._full_chunk(choice, delta)

    def _full_chunk(self, choice: dict[str, Any], delta: dict[str, Any]) -> AIMessageChunk | None:
        """Converts a delta with reasoning, tool calls, log probabilities or content parts."""
        content = read_text(delta)
        reasoning = read_reasoning(delta)
        raw_calls = delta.get("tool_calls")
        calls = self._call_chunks(raw_calls) if raw_calls else []
        logprobs = choice.get("logprobs")
        if type(logprobs) is not dict:
            logprobs = None
        if not (content or reasoning or calls or logprobs):
            return None
        if content:
            self._text.append(content)
        if reasoning:
            self._reasoning.append(reasoning)
        return AIMessageChunk(
            content=content,
            additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
            tool_call_chunks=calls,
            response_metadata={"logprobs": logprobs} if logprobs else {},
        )

    def _call_chunks(self, raw_calls: Any) -> list[ToolCallChunk]:
        """Records tool-call fragments; returns the chunks to send now."""
        chunks: list[ToolCallChunk] = []
        for position, raw in enumerate(as_call_list(raw_calls)):
            if type(raw) is not dict:
                msg = f"tool call fragment is not an object: {excerpt(repr(raw), 120)}"
                raise MalformedResponseError(msg)
            index = raw.get("index")
            index = index if type(index) is int else position
            name = call_name(raw)
            state = self._calls.get(index)
            if state is None:
                if is_empty_call(name, arguments_text(raw)) and call_id(raw) is None:
                    continue
                state = self._calls[index] = _CallState(name)
            elif name and state.name is None:
                state.name = name
            else:
                name = None  # sent once: LangChain concatenates names
            id_ = call_id(raw)
            if id_ is not None and state.id is None:
                state.id = id_
            else:
                id_ = None
            args = arguments_text(raw)
            if args == "null":
                args = "{}"  # a tool without arguments: the summed chunks must parse
            elif args is not None and args.strip() and not strip_leaked_tokens(args):
                args = None  # older TGI sent "<|eot_id|>" as a last fragment
            if args:
                state.args.append(args)
            if not state.deferred and (name or id_ or args):
                chunks.append(tool_call_chunk(name=name, args=args, id=id_, index=index))
        return chunks

    def finish(self) -> AIMessageChunk:
        """Returns the last chunk: finish reason, id, usage and deferred calls."""
        metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
        add_final_metadata(metadata, self._body, self._finish_reason)
        calls = []
        for index, state in self._calls.items():
            if state.deferred and not is_empty_call(state.name, "".join(state.args)):
                call = parse_call(state.name, "".join(state.args), state.id)
                args = "".join(state.args) if call["type"] == "invalid_tool_call" else None
                calls.append(
                    tool_call_chunk(
                        name=call["name"],
                        args=args if args is not None else _dumps(call["args"]),
                        id=call["id"],
                        index=index,
                    )
                )
        return AIMessageChunk(
            content="",
            tool_call_chunks=calls,
            response_metadata=metadata,
            usage_metadata=to_usage(self._usage),
            chunk_position="last",
        )

    def partial_message(self) -> AIMessage:
        """Returns what was delivered so far, as one message.

        Tool calls are parsed strictly: a call cut inside its arguments is an
        invalid tool call, never a shorter valid one.
        """
        calls: list[ToolCall] = []
        invalid: list[InvalidToolCall] = []
        for state in self._calls.values():
            if is_empty_call(state.name, "".join(state.args)):
                continue
            call = parse_call(state.name, "".join(state.args), state.id)
            if call["type"] == "invalid_tool_call":
                invalid.append(call)
            else:
                calls.append(call)
        reasoning = "".join(self._reasoning)
        return AIMessage(
            content="".join(self._text),
            additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
            tool_calls=calls,
            invalid_tool_calls=invalid,
            usage_metadata=to_usage(self._usage),
            response_metadata={"model_provider": MODEL_PROVIDER, **self._metadata},
        )

    def add_partial(self, err: HuggingFaceAPIError) -> None:
        """Puts the answer delivered before a stream broke, and its context, on `err`.

        Args:
            err: The error that ended the stream after its first chunk.
        """
        err.with_context(
            provider=self._metadata.get("provider"),
            model=self._metadata.get("model_name"),
            request_id=self._metadata.get("request_id"),
        )
        err.partial_message = self.partial_message()

    @property
    def finish_reason(self) -> Any:
        """The finish reason seen so far, if any."""
        return self._finish_reason


def _dumps(args: Any) -> str:
    return json.dumps(args, ensure_ascii=False)


def events_to_message(events: list[dict[str, Any]], metadata: Mapping[str, Any]) -> AIMessage:
    """Converts the events of a whole stream into one message.

    Used when a server streams an answer that was asked for whole.

    Args:
        events: The decoded events, in order.
        metadata: Attribution for `response_metadata`.

    Returns:
        The message the summed chunks give.
    """
    converter = StreamConverter(metadata)
    merged = converter.start()
    for event in events:
        chunk = converter.convert(event)
        if chunk is not None:
            merged += chunk
    merged += converter.finish()
    return AIMessage(
        content=merged.content,
        additional_kwargs=merged.additional_kwargs,
        tool_calls=merged.tool_calls,
        invalid_tool_calls=merged.invalid_tool_calls,
        usage_metadata=merged.usage_metadata,
        response_metadata=merged.response_metadata,
        id=merged.id,
    )


def answer_to_message(answer: Answer, metadata: Mapping[str, Any]) -> AIMessage:
    """Converts a whole answer, or the events of a server that streamed anyway.

    Args:
        answer: A decoded chat completion, or a list of stream events.
        metadata: Attribution for `response_metadata`.

    Returns:
        The message.
    """
    if isinstance(answer, list):
        return events_to_message(answer, metadata)
    return completion_to_message(answer, metadata)


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
