"""The recorded corpus (`tests/corpus/`) and what each recording should give a user.

Expectations are computed here with a few lines of parsing of our own, never
with the package's code, so that a replay test compares two readings of the
same bytes. The rules follow the OpenAI wire format plus the quirks named in
the package's docs (TGI tool-call shapes, usage as running totals, streams
without ``[DONE]`` that end after a ``finish_reason``).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["Expected", "Record", "expect", "load_corpus", "sse_payloads"]

CORPUS = Path(__file__).parent / "corpus"
_LEAKED = ("<|eot_id|>", "<|eom_id|>", "<|im_end|>", "</s>")


@dataclass(frozen=True)
class Record:
    """One recorded exchange of the corpus (see `tests/corpus/README.md`)."""

    id: str
    source: str
    provider: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def is_stream(self) -> bool:
        return "event-stream" in self.content_type


@dataclass
class Expected:
    """What the user should get: an answer, or an error (maybe after a partial answer)."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    invalid_calls: int = 0
    finish_reason: str | None = None
    usage: tuple[int, int, int] | None = None
    error_status: int | None = None  # set when the user must get an error
    error_message: str | None = None
    error_kind: str | None = None  # "http", "event", "incomplete", "malformed"


@cache
def load_corpus() -> tuple[Record, ...]:
    """Reads every record of every `*.jsonl` file in the corpus."""
    records = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            response = raw["response"]
            body = (
                base64.b64decode(response["body_base64"])
                if "body_base64" in response
                else response["body"].encode("utf-8")
            )
            records.append(
                Record(
                    id=raw["id"],
                    source=path.stem,
                    provider=raw.get("provider") or "unknown",
                    status=response["status"],
                    headers={k.lower(): v for k, v in response["headers"].items()},
                    body=body,
                )
            )
    return tuple(records)


def sse_payloads(body: bytes) -> list[str]:
    """Splits an event-stream body into its events' data, as the SSE spec says."""
    text = body.decode("utf-8", errors="replace").removeprefix("\ufeff")
    payloads, data = [], []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line:
            if data:
                payloads.append("\n".join(data))
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "data":
            data.append("")
    if data:
        payloads.append("\n".join(data))
    return payloads


def _text(fields: dict[str, Any]) -> str:
    content = fields.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def _reasoning(fields: dict[str, Any]) -> str:
    value = fields.get("reasoning_content") or fields.get("reasoning")
    if isinstance(value, str):
        return value
    thinking = [p.get("thinking") for p in fields.get("content") or [] if isinstance(p, dict)]
    return "".join(
        t if isinstance(t, str) else "".join(x.get("text", "") for x in t) for t in thinking if t
    )


def _usage(usage: Any) -> tuple[int, int, int] | None:
    if not isinstance(usage, dict) or "prompt_tokens" not in usage:
        return None
    inp, out = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    return inp, out, usage.get("total_tokens") or inp + out


def _args_text(call: dict[str, Any]) -> str:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    args = function.get("arguments")
    if args is None:
        args = function.get("parameters")
    return args if isinstance(args, str) else "" if args is None else json.dumps(args)


def _name(call: dict[str, Any]) -> str | None:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    return function.get("name") or None


def _finish_call(exp: Expected, name: str | None, args: str) -> None:
    """Reads one whole call the way the docs promise: strict JSON object arguments."""
    args = args.strip()
    for token in _LEAKED:
        args = args.removesuffix(token).strip()
    if name is None and not args:
        return  # a lone leaked end token (old TGI) is no call
    try:
        parsed = json.loads(args, strict=False) if args not in ("", "null") else {}
    except ValueError:
        parsed = None
    wrapped = parsed.get("function") if isinstance(parsed, dict) and len(parsed) == 1 else None
    if name is None and isinstance(wrapped, dict) and "_name" in wrapped:
        name, parsed = wrapped["_name"], {k: v for k, v in wrapped.items() if k != "_name"}
    if name is None or not isinstance(parsed, dict):
        exp.invalid_calls += 1
    else:
        exp.tool_calls.append((name, parsed))


def _as_list(calls: Any) -> list[Any]:
    return [calls] if isinstance(calls, dict) else list(calls or [])


def _error_message(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        for value in (error, body.get("detail"), body.get("message")):
            if isinstance(value, str):
                return value
    return None


def _expect_whole(body: bytes) -> Expected:
    try:
        data = json.loads(body)
        message = data["choices"][0]["message"]
        assert isinstance(message, dict)
    except (ValueError, KeyError, IndexError, TypeError, AssertionError):
        return Expected(error_status=200, error_kind="malformed")
    choice = data["choices"][0]
    exp = Expected(text=_text(message), reasoning=_reasoning(message))
    for call in _as_list(message.get("tool_calls")):
        _finish_call(exp, _name(call), _args_text(call))
    exp.finish_reason = choice.get("finish_reason") or None
    exp.usage = _usage(data.get("usage"))
    return exp


def _events(body: bytes) -> list[Any]:
    """Decodes the events ([DONE] as None, a bad payload as "bad", then stop).

    Old TGI (1.4) separated its last events with one newline: a payload of
    several data lines that are each JSON is read as several events, as
    line-based clients such as huggingface_hub read it.
    """
    events: list[Any] = []
    for payload in sse_payloads(body):
        if payload.startswith("[DONE]"):
            return [*events, None]
        if not payload.strip():
            continue
        try:
            events.append(json.loads(payload))
        except ValueError:
            try:
                events.extend(json.loads(line) for line in payload.split("\n"))
            except ValueError:
                return [*events, "bad"]
    return events


def _expect_stream(body: bytes) -> Expected:
    exp = Expected()
    calls: dict[int, list[Any]] = {}  # index -> [name, args pieces]
    done = False
    for event in _events(body):
        if event is None:
            done = True
            break
        if not isinstance(event, dict):
            exp.error_kind = "malformed"
            break
        if event.get("error") is not None or "error_type" in event:
            exp.error_kind, exp.error_message = "event", _error_message(event)
            break
        exp.usage = _usage(event.get("usage")) or exp.usage
        if not event.get("choices"):
            continue
        choice = event["choices"][0]
        delta = choice.get("delta") or {}
        exp.text += _text(delta)
        exp.reasoning += _reasoning(delta)
        for position, call in enumerate(_as_list(delta.get("tool_calls"))):
            index = call.get("index") if isinstance(call.get("index"), int) else position
            entry = calls.setdefault(index, [None, []])
            entry[0] = entry[0] or _name(call)
            entry[1].append(_args_text(call))
        exp.finish_reason = choice.get("finish_reason") or exp.finish_reason
    for name, pieces in calls.values():
        _finish_call(exp, name, "".join(pieces))
    if exp.error_kind is None and not done and exp.finish_reason is None:
        exp.error_kind = "incomplete"
    if exp.error_kind is not None:
        exp.error_status = 500 if exp.error_kind == "event" else 200
    return exp


def expect(record: Record) -> Expected:
    """Computes what the user should get from a recording."""
    if record.status >= 400:
        try:
            message = _error_message(json.loads(record.body))
        except ValueError:
            message = record.body.decode("utf-8", errors="replace").strip() or None
        return Expected(error_status=record.status, error_message=message, error_kind="http")
    if record.is_stream:
        return _expect_stream(record.body)
    return _expect_whole(record.body)
