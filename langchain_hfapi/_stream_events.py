"""Chat-completion stream events, from body bytes to checked event objects (no I/O).

The sync and async drivers feed the bytes they read to an `EventReader`; it
decodes the server-sent events, raises the typed error of an error event, and
at the end of the body checks that the stream was complete. A whole answer
sent where a stream was asked for becomes one event (`completion_events`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from langchain_hfapi._body_limits import DEFAULT_LIMITS, BodyDecoder, BodyLimits
from langchain_hfapi._completions import read_reasoning, read_text
from langchain_hfapi._error_bodies import error_from_event, excerpt
from langchain_hfapi._sse import SSEDecoder
from langchain_hfapi._tool_call_wire import as_call_list
from langchain_hfapi.errors import HuggingFaceAPIError, MalformedResponseError

__all__ = [
    "Answer",
    "EventReader",
    "completion_events",
    "first_choice",
    "has_content",
    "parse_event",
]


Answer = dict[str, Any] | list[dict[str, Any]]
"""A whole answer: the decoded completion, or the events of a server that streamed anyway."""


def parse_event(data: bytes) -> dict[str, Any] | None:
    """Decodes one stream event with one JSON parse.

    Args:
        data: The event's data payload.

    Returns:
        The event object (empty for an empty keep-alive `data:`), or `None` for
        the `[DONE]` terminator.

    Raises:
        MalformedResponseError: If the payload is not a JSON object.
        HuggingFaceAPIError: The typed error of an `{"error": ...}` event.
    """
    if data.startswith(b"[DONE]"):
        return None
    try:
        event = json.loads(data.decode())  # SSE is UTF-8: no encoding detection
    except (ValueError, RecursionError):
        if not data.strip():  # checked only here: a copy per event otherwise
            return {}
        event = None
    if type(event) is not dict:
        text = data.decode("utf-8", errors="replace")
        msg = f"stream event is not a JSON object: {excerpt(text, 120)}"
        raise MalformedResponseError(msg)
    if event.get("error") is not None or "error_type" in event:
        raise error_from_event(event)
    return event


def first_choice(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """Returns an event's first choice, or `None` when it has none.

    Raises:
        MalformedResponseError: If `choices` or its first item has the wrong type.
    """
    choices = event.get("choices")
    if not choices:
        return None
    if type(choices) is not list or type(choices[0]) is not dict:
        msg = f"event choices are not a list of objects: {excerpt(repr(choices), 120)}"
        raise MalformedResponseError(msg)
    return choices[0]


def has_content(event: Mapping[str, Any]) -> bool:
    """Checks whether an event carries something the user sees.

    Args:
        event: A decoded stream event.

    Returns:
        True for answer text, reasoning text or tool-call fragments.

    Raises:
        MalformedResponseError: If the event's choices, delta, text,
            reasoning or tool calls have the wrong type, so that a provider
            sending such events is failed over before anything is delivered.
    """
    choice = first_choice(event)
    if choice is None:
        return False
    delta = choice.get("delta")
    if not delta:
        return False
    if type(delta) is not dict:
        msg = f"event delta is not an object: {excerpt(repr(delta), 120)}"
        raise MalformedResponseError(msg)
    return bool(read_text(delta) or read_reasoning(delta) or as_call_list(delta.get("tool_calls")))


class EventReader:
    r"""Reads the events of one stream and checks that it ended properly.

    A stream is complete when it sent `[DONE]`, or when it ended after a
    `finish_reason` (Cerebras and old TGI versions send no `[DONE]`). One that
    simply stops is an incomplete answer, never taken as a whole one. An error
    event or an unreadable event stops the reading; `check` raises it once the
    events before it were handed over, so nothing sent before it is lost.

    Example:
        >>> reader = EventReader()
        >>> list(reader.feed(b'data: {"choices": []}\n\ndata: [DONE]\n\n'))
        [{'choices': []}]
        >>> reader.stopped
        True
        >>> reader.check()
    """

    __slots__ = ("_body", "_decoder", "_error", "done", "finished", "stopped")

    def __init__(self, content_encoding: str = "", limits: BodyLimits = DEFAULT_LIMITS) -> None:
        self._body = BodyDecoder(content_encoding, limits.stream, "max_stream_bytes")
        self._decoder = SSEDecoder(limits.event)
        self._error: HuggingFaceAPIError | None = None
        self.done = False  # `[DONE]` arrived
        self.finished = False  # a `finish_reason` arrived
        self.stopped = False  # `[DONE]` or an error: nothing more is read

    def feed(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        """Decodes the next bytes of the body, as read from the connection.

        Events are parsed one at a time as they are taken, so a large read
        never holds hundreds of decoded events alive at once (which would
        cost garbage-collection passes over all of them).

        Args:
            chunk: Raw bytes (still compressed, if the body is).

        Yields:
            The events this chunk completed, up to `[DONE]` or an error.
        """
        try:
            for piece in self._body.feed(chunk):
                yield from self._parse(self._decoder.feed(piece))
                if self.stopped:
                    return
        except HuggingFaceAPIError as err:
            self._error, self.stopped = err, True

    def finish(self) -> Iterator[dict[str, Any]]:
        """Yields the event still pending when the body ended, if any."""
        if self.stopped:
            return
        try:
            yield from self._parse(self._decoder.finish())
        except HuggingFaceAPIError as err:
            self._error, self.stopped = err, True

    def _parse(self, payloads: list[bytes]) -> Iterator[dict[str, Any]]:
        """Parses event payloads, up to `[DONE]`.

        TGI 1.4 separated its last events with a single newline, which makes
        them one event of several data lines; line-based clients read them
        one by one, and so does this reader when the whole is not one object.
        """
        for data in payloads:
            try:
                event = parse_event(data)
            except MalformedResponseError:
                lines = data.split(b"\n")
                if len(lines) == 1:
                    raise
                yield from self._parse(lines)
                if self.stopped:
                    return
                continue
            if event is None:
                self.done = self.stopped = True
                return
            if not self.finished and (choice := first_choice(event)) is not None:
                self.finished = bool(choice.get("finish_reason"))
            yield event

    def check(self) -> None:
        """Raises what ended the stream badly, after its events were handed over.

        Raises:
            HuggingFaceAPIError: The typed error of an error event, or
                `MalformedResponseError` for an unreadable event or a stream
                that ended without `[DONE]` and without any `finish_reason`.
        """
        if self._error is not None:
            raise self._error
        if not (self.done or self.finished):
            msg = "stream ended without [DONE] and without a finish_reason: answer incomplete"
            raise MalformedResponseError(msg)


def completion_events(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Turns a whole answer, sent where a stream was asked for, into one event.

    Args:
        body: A checked chat completion (`choices[0].message` is an object).

    Returns:
        One `chat.completion.chunk`-shaped event holding the whole message as
        its delta, with the answer's finish reason, usage and id.
    """
    choice = body["choices"][0]
    delta = dict(choice["message"])
    calls = delta.get("tool_calls")
    if type(calls) is list:
        delta["tool_calls"] = [
            {"index": i, **call} if type(call) is dict and "index" not in call else call
            for i, call in enumerate(calls)
        ]
    event: dict[str, Any] = {
        key: body[key] for key in ("id", "model", "system_fingerprint", "usage") if key in body
    }
    event["choices"] = [
        {
            "index": 0,
            "delta": delta,
            "finish_reason": choice.get("finish_reason"),
            "logprobs": choice.get("logprobs"),
        }
    ]
    return [event]
