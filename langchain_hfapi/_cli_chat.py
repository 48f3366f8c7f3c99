"""The `chat` command: one question (text or JSON), or an interactive session.

Answers go to standard output; the attribution line (provider, model, request
id, failovers) and errors go to standard error, so `chat q > answer.txt` keeps
only the answer.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk, HumanMessage

from langchain_hfapi._auth import MISSING_TOKEN_HELP
from langchain_hfapi._cli_errors import EXIT_OK, Servers, describe_failure
from langchain_hfapi._provider_info import ProviderInfo
from langchain_hfapi.chat_models import ChatHuggingFaceAPI
from langchain_hfapi.errors import HuggingFaceAPIError, MissingAuthError

__all__ = ["AnswerCutError", "Session", "ask", "describe"]

SESSION_HELP = (
    "Commands: /model NAME, /provider NAME (auto: the Hub mapping order), /exit. "
    "Ctrl-C stops an answer; Ctrl-D, or Ctrl-C at the prompt, ends the session."
)


class AnswerCutError(Exception):
    """Raised when a streamed answer fails after some of it was printed.

    Attributes:
        error: The error that cut the answer.
        provider: The provider that was streaming it ("unknown" if not named).
    """

    def __init__(self, error: HuggingFaceAPIError, provider: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.provider = provider


def describe(info: ProviderInfo) -> str:
    """Formats the attribution line of an answer.

    Args:
        info: Who served the answer.

    Returns:
        `[provider: ... | model: ... | request id: ... | skipped: ... | failed over
        from: ...]`; providers passed over unsent (a catalog reason such as
        `unsupported_tools`, or `cooling_down`) are "skipped".
    """
    parts = [f"provider: {info.provider or 'unknown'}", f"model: {info.model}"]
    if info.request_id:
        parts.append(f"request id: {info.request_id}")
    skipped = [a for a in info.attempts if a.get("status_code") is None and a["error"].islower()]
    failed = [a for a in info.attempts if a not in skipped]
    for label, records in (("skipped", skipped), ("failed over from", failed)):
        if records:
            named = ", ".join(f"{a['provider']} ({a['error']})" for a in records)
            parts.append(f"{label}: {named}")
    return "[" + " | ".join(parts) + "]"


def _stream_text(chunks: Iterable[BaseMessageChunk], out: TextIO, err: TextIO) -> None:
    """Prints a stream's text on `out` as it arrives, and its attribution on `err`.

    Args:
        chunks: The stream.
        out: Where the text goes (flushed after each chunk).
        err: Where the attribution line goes.

    Raises:
        AnswerCutError: If the stream fails after text was printed (the
            partial answer is ended with a newline first).
        HuggingFaceAPIError: If it fails before any text.
    """
    provider, started = "unknown", False
    try:
        for chunk in chunks:
            if "model_name" in chunk.response_metadata:
                info = ProviderInfo.from_message(chunk)
                provider = info.provider or provider
                err.write(describe(info) + "\n")
                err.flush()
            out.write(chunk.text)
            out.flush()
            started = started or bool(chunk.text)
    except HuggingFaceAPIError as exc:
        if not started:
            raise
        out.write("\n")
        out.flush()
        raise AnswerCutError(exc, provider) from exc
    out.write("\n")


def _as_json(message: BaseMessage) -> str:
    info = ProviderInfo.from_message(message)
    usage = getattr(message, "usage_metadata", None)
    return json.dumps(
        {
            "text": message.text,
            "provider": info.provider,
            "model": info.model,
            "provider_model_id": info.provider_model_id,
            "request_id": info.request_id,
            "finish_reason": message.response_metadata.get("finish_reason"),
            "usage": dict(usage) if usage else None,
            "attempts": [dict(a) for a in info.attempts],
        },
        ensure_ascii=False,
    )


def ask(
    llm: ChatHuggingFaceAPI,
    question: str,
    *,
    stream: bool,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> None:
    """Answers one question: the answer on `out`, the attribution on `err`.

    Args:
        llm: The chat model.
        question: The user message.
        stream: Whether to stream (print tokens as they arrive, unless `as_json`).
        as_json: Whether to print one JSON object instead of text.
        out: Where the answer (or the JSON object) goes.
        err: Where the attribution line goes.

    Raises:
        AnswerCutError: If a streamed answer fails after some of it was printed.
        HuggingFaceAPIError: If the request fails before any answer.
    """
    if as_json:
        message: BaseMessage = _sum(llm.stream(question)) if stream else llm.invoke(question)
        out.write(_as_json(message) + "\n")
    elif stream:
        _stream_text(llm.stream(question), out, err)
    else:
        message = llm.invoke(question)
        err.write(describe(ProviderInfo.from_message(message)) + "\n")
        err.flush()
        # Line by line: a broken pipe then fails a write, where one large write can
        # end short without an error.
        out.writelines((message.text + "\n").splitlines(keepends=True))


def _sum(chunks: Iterable[BaseMessageChunk]) -> BaseMessageChunk:
    collected = list(chunks)
    if not collected:
        msg = "the stream ended without an answer"
        raise HuggingFaceAPIError(msg)
    first, *rest = collected
    return first + rest if rest else first  # one merge of all chunks


@dataclass
class Session:
    """An interactive multi-turn chat on a terminal.

    Attributes:
        options: `ChatHuggingFaceAPI` keyword arguments; `/model` and
            `/provider` change them.
        servers: Where requests go, to name what failed.
        out: Where answers go.
        err: Where attributions, notices and errors go.
        read_line: Reads one line after a prompt (`input`).
    """

    options: dict[str, Any]
    servers: Servers
    out: TextIO
    err: TextIO
    read_line: Callable[[str], str] = input
    history: list[BaseMessage] = field(default_factory=list)

    def run(self) -> int:
        """Runs turns until `/exit`, Ctrl-D, or Ctrl-C at the prompt.

        Returns:
            The exit status (0).

        Raises:
            ValueError: If the initial options are invalid.
            MissingAuthError: If no token is found and no `base_url` is set.
        """
        llm = ChatHuggingFaceAPI(**self.options)
        if llm.api_key is None and llm.base_url is None:
            raise MissingAuthError(MISSING_TOKEN_HELP)  # say so now, not at every turn
        with contextlib.suppress(ImportError):  # line editing and history where available
            import readline  # noqa: F401
        self.err.write(f"Chatting with {llm.model}. {SESSION_HELP}\n")
        while True:
            try:
                line = self.read_line("> ").strip()
            except (EOFError, KeyboardInterrupt):
                self.out.write("\n")
                return EXIT_OK
            if not line:
                continue
            if line.startswith("/"):
                if line.split()[0] == "/exit":
                    return EXIT_OK
                llm = self._command(line, llm)
            else:
                self._turn(llm, line)

    def _command(self, line: str, llm: ChatHuggingFaceAPI) -> ChatHuggingFaceAPI:
        name, _, value = line.partition(" ")
        value = value.strip()
        if name not in ("/model", "/provider") or not value:
            self.err.write(f"{SESSION_HELP}\n")
            return llm
        key = name[1:]
        options = {**self.options, key: None if value == "auto" and key == "provider" else value}
        try:
            switched = ChatHuggingFaceAPI(**options)
        except ValueError as exc:
            self.err.write(f"error: {describe_failure(exc, self.servers)[1]}\n")
            return llm
        self.options = options
        self.err.write(f"{key}: {value}\n")
        return switched

    def _turn(self, llm: ChatHuggingFaceAPI, question: str) -> None:
        self.history.append(HumanMessage(question))
        printed: list[str] = []

        def chunks() -> Iterable[BaseMessageChunk]:
            for chunk in llm.stream(self.history):
                printed.append(chunk.text)
                yield chunk

        try:
            _stream_text(chunks(), self.out, self.err)
        except KeyboardInterrupt:
            self.out.write("\n")
            self.err.write("[answer interrupted]\n")
        except (AnswerCutError, HuggingFaceAPIError, ValueError) as exc:
            cut = exc.provider if isinstance(exc, AnswerCutError) else None
            error = exc.error if isinstance(exc, AnswerCutError) else exc
            self.err.write(f"error: {describe_failure(error, self.servers, cut_provider=cut)[1]}\n")
        answer = "".join(printed)
        if answer:
            self.history.append(AIMessage(answer))  # what was shown, even if cut
        else:
            self.history.pop()  # no answer: forget the question too
