"""Scripting data types and pure reply builders for the fake router in tests.

`Step` describes how the fake server answers one request (fault injection);
`RecordedRequest` is what the server remembers about each request it saw; `Reply`
is a response about to be written. The remaining functions build deterministic
Hub/OpenAI-style payloads and do no I/O (see `tests.router_server` for that).
"""

from __future__ import annotations

import hashlib
import json as jsonlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

ProviderEntry = tuple[str, str, str, str]
"""One mapping entry: ``(provider, providerId, status, task)``."""

UsageStyle = Literal["last", "running", "separate", "none"]
MappingShape = Literal["dict", "list"]
JsonBody = str | bytes | dict[str, Any] | list[Any]
SseEvent = dict[str, Any] | str

_CONV = "conversational"

DEFAULT_MODELS: dict[str, list[ProviderEntry]] = {
    "meta-llama/Llama-3.3-70B-Instruct": [
        ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "live", _CONV),
        (
            "fireworks-ai",
            "accounts/fireworks/models/llama-v3p3-70b-instruct",
            "live",
            _CONV,
        ),
        ("novita", "meta-llama/llama-3.3-70b-instruct", "live", _CONV),
        ("cerebras", "llama-3.3-70b", "live", _CONV),
        ("hf-inference", "meta-llama/Llama-3.3-70B-Instruct", "staging", _CONV),
    ],
    "Qwen/Qwen2.5-72B-Instruct": [
        ("together", "Qwen/Qwen2.5-72B-Instruct-Turbo", "live", _CONV),
        ("nebius", "Qwen/Qwen2.5-72B-Instruct-fast", "live", _CONV),
    ],
    "openai/gpt-oss-120b": [
        ("groq", "openai/gpt-oss-120b", "live", _CONV),
        ("cerebras", "gpt-oss-120b", "live", _CONV),
    ],
    "google/gemma-3-27b-it": [
        ("featherless-ai", "google/gemma-3-27b-it", "live", _CONV),
        ("scaleway", "gemma-3-27b-it", "live", _CONV),
    ],
    "sentence-transformers/all-MiniLM-L6-v2": [
        (
            "hf-inference",
            "sentence-transformers/all-MiniLM-L6-v2",
            "live",
            "feature-extraction",
        ),
    ],
    "meta-llama/Llama-3.2-11B-Vision-Instruct": [
        ("together", "meta-llama/Llama-3.2-11B-Vision-Instruct-Turbo", "live", _CONV),
    ],
}
"""Default Hub catalogue: repo id -> provider mapping entries."""

DEFAULT_VISION_MODELS: frozenset[str] = frozenset(
    {"google/gemma-3-27b-it", "meta-llama/Llama-3.2-11B-Vision-Instruct"}
)
"""Models advertised with ``image`` input modality on ``GET /v1/models``."""


@dataclass(frozen=True)
class Step:
    """How the fake server answers one scripted request.

    Precedence: ``first_byte_delay`` is slept first; then ``reset_before_headers``
    aborts the socket; then ``events`` (custom SSE stream), ``json`` (custom
    JSON body), ``body``/non-200 ``status`` (fixed body) are served; otherwise the
    default answer is served (optionally with ``answer`` overriding its text).
    ``headers`` are added to any response; ``reset_after_bytes``, ``trickle`` and
    ``event_delay`` shape how the body bytes are written.

    Attributes:
        status: HTTP status code.
        body: Fixed body; dicts/lists are JSON-encoded.
        headers: Extra response headers (override defaults, case-insensitively).
        content_type: Content-Type override.
        reset_before_headers: Abort the socket without sending anything.
        reset_after_bytes: Send headers and this many body bytes, then abort.
        first_byte_delay: Seconds to sleep before sending the status line.
        event_delay: Seconds to sleep between SSE events.
        trickle: Write the body one byte per write (one chunk per byte if
            chunked), draining after each.
        events: Custom SSE stream: dicts are sent as ``data: <json>`` events
            (compact JSON, blank-line terminated), strings are sent verbatim.
        done: Append a ``data: [DONE]`` event after ``events``.
        json: Custom JSON body (served with ``status``, 200 by default).
        answer: Override the default answer text for this request.
        stream_json_for_stream: Answer a stream request with a plain JSON
            completion instead of SSE.
    """

    status: int = 200
    body: JsonBody | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    reset_before_headers: bool = False
    reset_after_bytes: int | None = None
    first_byte_delay: float = 0.0
    event_delay: float = 0.0
    trickle: bool = False
    events: Sequence[SseEvent] | None = None
    done: bool = True
    json: dict[str, Any] | None = None
    answer: str | None = None
    stream_json_for_stream: bool = False

    @classmethod
    def error(
        cls,
        status: int,
        body: JsonBody | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> Step:
        """An error response, e.g. ``Step.error(429, {"error": "slow down"})``."""
        if body is None:
            body = {"error": reason_phrase(status)}
        return cls(
            status=status,
            body=body,
            headers=dict(headers or {}),
            content_type=content_type,
            **kwargs,
        )

    @classmethod
    def html(cls, status: int, html: str, **kwargs: Any) -> Step:
        """An HTML error page (as served by load balancers/CDNs)."""
        return cls(status=status, body=html, content_type="text/html", **kwargs)

    @classmethod
    def reset(cls, *, delay: float = 0.0) -> Step:
        """Close the connection abruptly before sending any byte."""
        return cls(reset_before_headers=True, first_byte_delay=delay)

    @classmethod
    def reset_after(cls, n_bytes: int, **kwargs: Any) -> Step:
        """Send headers and the first ``n_bytes`` of the body, then abort."""
        return cls(reset_after_bytes=n_bytes, **kwargs)

    @classmethod
    def delay(cls, seconds: float, **kwargs: Any) -> Step:
        """Sleep ``seconds`` before the status line, then answer normally."""
        return cls(first_byte_delay=seconds, **kwargs)

    @classmethod
    def stream(cls, events: Sequence[SseEvent], *, done: bool = True, **kwargs: Any) -> Step:
        """A fully custom SSE stream (see `Step.events`)."""
        return cls(events=list(events), done=done, **kwargs)

    @classmethod
    def completion(cls, payload: dict[str, Any], *, status: int = 200, **kwargs: Any) -> Step:
        """A fully custom non-streaming JSON body."""
        return cls(json=payload, status=status, **kwargs)

    @classmethod
    def text(cls, answer: str, **kwargs: Any) -> Step:
        """The default answer format, with ``answer`` as the text."""
        return cls(answer=answer, **kwargs)


@dataclass
class RecordedRequest:
    """A request as seen by the fake server.

    Attributes:
        method: HTTP method.
        path: URL path (not decoded).
        query: Parsed query string (``parse_qs`` style, blanks kept).
        headers: Request headers with lower-cased names.
        body: Raw body bytes.
        json: Parsed JSON body, or None if absent/invalid.
        connection: Id of the TCP connection (equal ids = keep-alive reuse).
        route: ``"hub"``, ``"models"``, ``"chat"`` or ``"other"``.
        provider: Provider that served a chat request (``"custom"`` for
            base_url routes), None if routing failed or not a chat request.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any
    connection: int
    route: str = "other"
    provider: str | None = None


def dumps(payload: Any) -> bytes:
    """Compact JSON encoding used for every JSON body and SSE event."""
    return jsonlib.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def encode_body(body: JsonBody | None, content_type: str | None) -> tuple[bytes, str]:
    """Encode a `Step` body and pick its default content type."""
    if isinstance(body, dict | list):
        return dumps(body), content_type or "application/json"
    if isinstance(body, str):
        return body.encode(), content_type or "text/plain; charset=utf-8"
    return body or b"", content_type or "application/octet-stream"


def sse(event: SseEvent) -> bytes:
    """Encode one SSE event: dicts as ``data: <json>``, strings verbatim."""
    if isinstance(event, str):
        return event.encode()
    return b"data: " + dumps(event) + b"\n\n"


def tokenize(text: str) -> list[str]:
    """Split on spaces, keeping the spaces with the following token."""
    return re.findall(r" *[^ ]+| +$", text)


def count_prompt_words(messages: Any) -> int:
    """Count whitespace-separated words in all message (text) contents."""
    total = 0
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content.split())
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"].split())
    return total


def apply_limits(text: str, request: Mapping[str, Any]) -> tuple[list[str], str]:
    """Apply ``stop`` and ``max_tokens`` to an answer.

    Returns:
        The answer tokens and the finish reason (``"stop"`` or ``"length"``).
    """
    stop = request.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    cuts = [text.find(s) for s in stops if isinstance(s, str) and s and s in text]
    tokens = tokenize(text[: min(cuts)] if cuts else text)
    limit = request.get("max_tokens", request.get("max_completion_tokens"))
    if isinstance(limit, int) and not isinstance(limit, bool) and limit < len(tokens):
        return tokens[: max(limit, 0)], "length"
    return tokens, "stop"


def usage(prompt: int, completion: int) -> dict[str, int]:
    """An OpenAI usage object."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_json(
    cid: str, model: str, tokens: list[str], finish: str, prompt: int
) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` body."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(tokens)},
                "finish_reason": finish,
            }
        ],
        "usage": usage(prompt, len(tokens)),
    }


def stream_chunks(
    cid: str,
    model: str,
    tokens: list[str],
    finish: str,
    prompt: int,
    *,
    style: str = "last",
    include_usage: bool = False,
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` events of a default streaming answer.

    Args:
        cid: Completion id shared by all chunks.
        model: Model name reported in every chunk.
        tokens: Answer tokens (one content chunk each).
        finish: Finish reason of the final chunk.
        prompt: Prompt token count for usage objects.
        style: Usage style: ``last``, ``running``, ``separate`` or ``none``.
        include_usage: Whether the request asked ``stream_options.include_usage``.
    """
    created = int(time.time())
    deltas: list[tuple[dict[str, Any], str | None]] = [({"role": "assistant"}, None)]
    deltas += [({"content": tok}, None) for tok in tokens]
    deltas.append(({}, finish))
    chunks: list[dict[str, Any]] = []
    for index, (delta, reason) in enumerate(deltas):
        chunk: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
        }
        if style == "running":
            chunk["usage"] = usage(prompt, min(index, len(tokens)))
        elif style == "last" and reason is not None:
            chunk["usage"] = usage(prompt, len(tokens))
        elif style == "separate" and include_usage:
            chunk["usage"] = None
        chunks.append(chunk)
    if style == "separate" and include_usage:
        chunks.append({**chunks[-1], "choices": [], "usage": usage(prompt, len(tokens))})
    return chunks


@dataclass
class Reply:
    """A response about to be written, shaped on the wire by ``step``.

    Attributes:
        status: HTTP status code.
        content_type: Content-Type header value.
        pieces: Body pieces; with ``chunked`` each is one SSE event/chunk.
        chunked: Use ``Transfer-Encoding: chunked`` instead of Content-Length.
        headers: Extra headers (override the framing ones case-insensitively).
        step: The step whose delays/resets/trickling apply.
    """

    status: int
    content_type: str
    pieces: list[bytes]
    chunked: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    step: Step = field(default_factory=Step)


DONE = b"data: [DONE]\n\n"
ROUTER_CHAT = "/v1/chat/completions"
HUB_PREFIX = "/api/models/"
POLICIES = frozenset({"fastest", "cheapest", "preferred"})


def reason_phrase(status: int) -> str:
    """The HTTP reason phrase for ``status`` (``"HTTP <n>"`` if unknown)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(status, "application/json", [dumps(payload)], headers=headers or {})


def phrase_reply(status: int, headers: dict[str, str] | None = None) -> Reply:
    """A ``{"error": "<reason phrase>"}`` reply, e.g. ``Service Unavailable``."""
    return json_reply(status, {"error": reason_phrase(status)}, headers)


def merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """Overlay ``extra`` headers on ``base``, matching names case-insensitively."""
    lowered = {k.lower() for k in extra}
    merged = {k: v for k, v in base.items() if k.lower() not in lowered}
    merged.update(extra)
    return merged


def step_reply(step: Step, headers: dict[str, str], default: Callable[[], Reply]) -> Reply:
    """The reply for ``step``: its custom stream/JSON/body, else ``default()``."""
    if step.events is not None:
        pieces = [sse(event) for event in step.events] + ([DONE] if step.done else [])
        ctype = step.content_type or "text/event-stream"
        reply = Reply(step.status, ctype, pieces, chunked=True)
    elif step.json is not None:
        ctype = step.content_type or "application/json"
        reply = Reply(step.status, ctype, [dumps(step.json)])
    elif step.body is not None or step.status != 200:
        data, ctype = encode_body(step.body, step.content_type)
        reply = Reply(step.status, ctype, [data])
    else:
        reply = default()
    reply.headers = merge_headers(merge_headers(headers, reply.headers), step.headers)
    reply.step = step
    return reply


def not_supported(model: str, provider: str | None) -> Reply:
    """The router's 400 ``model_not_supported`` error."""
    who = f"provider '{provider}'" if provider else "any provider you have enabled"
    error = {
        "message": f"The requested model '{model}' is not supported by {who}.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_supported",
    }
    return json_reply(400, {"error": error})


def resolve_model(models: Mapping[str, list[ProviderEntry]], model: str) -> tuple[str, str] | Reply:
    """Map ``org/name[:provider|policy]`` to ``(provider, providerId)`` or an error.

    Policies (and a bare repo id, meaning ``:fastest``) pick the first ``live``
    ``conversational`` provider of the mapping.
    """
    repo, sep, suffix = model.rpartition(":")
    if not sep:
        repo, suffix = model, "fastest"
    entries = models.get(repo)
    live = [
        (provider, provider_id)
        for provider, provider_id, status, task in entries or []
        if status == "live" and task == _CONV
    ]
    if entries is None or (suffix in POLICIES and not live):
        return not_supported(repo, None)
    if suffix in POLICIES:
        return live[0]
    match = next((entry for entry in live if entry[0] == suffix), None)
    return match if match is not None else not_supported(repo, suffix)


def mapping_json(entries: list[ProviderEntry], shape: str) -> Any:
    """The Hub ``inferenceProviderMapping`` value, dict- or list-shaped."""
    items = [(p, {"status": s, "providerId": pid, "task": t}) for p, pid, s, t in entries]
    if shape == "list":
        return [{"provider": p, **fields} for p, fields in items]
    return dict(items)


def catalogue(
    models: Mapping[str, list[ProviderEntry]], vision_models: frozenset[str]
) -> dict[str, Any]:
    """The router's ``GET /v1/models`` body (models with a chat provider only)."""
    data = []
    for repo, entries in models.items():
        providers = [
            {
                "provider": provider,
                "status": status,
                "context_length": 131072,
                "supports_tools": True,
                "supports_structured_output": True,
            }
            for provider, _, status, task in entries
            if task == _CONV
        ]
        inputs = ["text", "image"] if repo in vision_models else ["text"]
        modalities = {"input_modalities": inputs, "output_modalities": ["text"]}
        if providers:
            data.append(
                {
                    "id": repo,
                    "object": "model",
                    "owned_by": repo.split("/")[0],
                    "architecture": modalities,
                    "providers": providers,
                }
            )
    return {"object": "list", "data": data}


def chat_reply(
    request: Mapping[str, Any],
    text: str,
    *,
    number: int,
    model: str,
    style: str = "last",
    force_json: bool = False,
) -> Reply:
    """The default chat answer (JSON completion or SSE stream) for ``request``.

    Args:
        request: The OpenAI chat request body.
        text: Answer text before ``stop``/``max_tokens`` are applied.
        number: Request counter, used for the ``chatcmpl-<n>`` id.
        model: Model name reported in the payload.
        style: Streaming usage style.
        force_json: Answer a stream request with a JSON completion.
    """
    tokens, finish = apply_limits(text, request)
    prompt = count_prompt_words(request.get("messages"))
    cid = f"chatcmpl-{number}"
    if request.get("stream") is not True or force_json:
        return json_reply(200, completion_json(cid, model, tokens, finish, prompt))
    options = request.get("stream_options")
    include = isinstance(options, dict) and bool(options.get("include_usage"))
    chunks = stream_chunks(cid, model, tokens, finish, prompt, style=style, include_usage=include)
    pieces = [sse(chunk) for chunk in chunks] + [DONE]
    return Reply(200, "text/event-stream", pieces, chunked=True)


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Parse a request head into method, target, version and lower-cased headers.

    Raises:
        ValueError: If the head is malformed.
    """
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in filter(None, lines[1:]):
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


def route_of(path: str) -> str:
    """Classify a request path: ``chat``, ``hub``, ``models`` or ``other``."""
    if path in (ROUTER_CHAT, "/chat/completions") or (
        path.endswith(ROUTER_CHAT) and len(path) > len(ROUTER_CHAT) + 1
    ):
        return "chat"
    if path.startswith(HUB_PREFIX):
        return "hub"
    return "models" if path == "/v1/models" else "other"


def hub_reply(
    repo: str,
    entries: list[ProviderEntry] | None,
    query: Mapping[str, list[str]],
    *,
    shape: str,
    url: str,
) -> Reply:
    """The Hub's model-info reply (``404 RepoNotFound`` for unknown repos).

    ``inferenceProviderMapping`` is only included when the query asks for it
    with ``expand[]=inferenceProviderMapping`` (or ``expand=...``), as on the
    real Hub.
    """
    if entries is None:
        message = f"Repository Not Found for url: {url}."
        return json_reply(404, {"error": message}, {"X-Error-Code": "RepoNotFound"})
    payload: dict[str, Any] = {
        "_id": hashlib.sha256(repo.encode()).hexdigest()[:24],
        "id": repo,
    }
    if "inferenceProviderMapping" in [*query.get("expand[]", ()), *query.get("expand", ())]:
        payload["inferenceProviderMapping"] = mapping_json(entries, shape)
    return json_reply(200, payload)
