"""Pure reply builders for the fake router in tests (no I/O).

Deterministic Hub/OpenAI-style payloads: chat completions and their SSE chunks,
Hub model info and mappings, the ``/v1/models`` catalogue, error replies, and the
`Reply` a scripted `Step` asks for. The data types live in `tests.router_script`;
`tests.router_server` writes these replies on the wire.
"""

from __future__ import annotations

import hashlib
import json as jsonlib
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from tests import router_answers as ra
from tests.router_script import (
    CONVERSATIONAL,
    JsonBody,
    ProviderEntry,
    Reply,
    SseEvent,
    Step,
    reason_phrase,
)

DONE = b"data: [DONE]\n\n"
ROUTER_CHAT = "/v1/chat/completions"
HUB_PREFIX = "/api/models/"
POLICIES = frozenset({"fastest", "cheapest", "preferred"})


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
        if status == "live" and task == CONVERSATIONAL
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
    models: Mapping[str, list[ProviderEntry]],
    vision_models: frozenset[str],
    offers: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The router's ``GET /v1/models`` body (models with a chat provider only).

    Provider entries have the real shape (hf-router-facts §2.3): ``status``,
    ``context_length``, ``supports_tools``, ``supports_structured_output``, and
    whatever ``offers[repo][provider]`` adds (``pricing``, probe figures...).
    """
    data = []
    for repo, entries in models.items():
        extra = (offers or {}).get(repo, {})
        providers = [
            {
                "provider": provider,
                "status": "live" if status == "staging" else status,
                "context_length": 131072,
                "supports_tools": True,
                "supports_structured_output": True,
                "is_model_author": False,
                **extra.get(provider, {}),
            }
            for provider, _, status, task in entries
            if task == CONVERSATIONAL
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
    realistic: bool = True,
) -> Reply:
    """The default chat answer (JSON completion or SSE stream) for ``request``.

    With ``realistic``, a request binding tools gets a tool call, and one with
    ``response_format`` gets matching JSON (see `tests.router_answers`).

    Args:
        request: The OpenAI chat request body.
        text: Answer text before ``stop``/``max_tokens`` are applied.
        number: Request counter, used for the ``chatcmpl-<n>`` id.
        model: Model name reported in the payload.
        style: Streaming usage style.
        force_json: Answer a stream request with a JSON completion.
        realistic: Answer tools and JSON schemas as a model would (else ``text``).
    """
    prompt = count_prompt_words(request.get("messages"))
    cid = f"chatcmpl-{number}"
    call = ra.chosen_tool_call(request) if realistic else None
    if call is not None:
        return _tool_call_reply(request, call, cid, model, prompt, force_json=force_json)
    if realistic:
        text = ra.tool_result_text(request) or ra.json_answer(request, text) or text
    tokens, finish = apply_limits(text, request)
    if request.get("stream") is not True or force_json:
        return json_reply(200, completion_json(cid, model, tokens, finish, prompt))
    options = request.get("stream_options")
    include = isinstance(options, dict) and bool(options.get("include_usage"))
    chunks = stream_chunks(cid, model, tokens, finish, prompt, style=style, include_usage=include)
    pieces = [sse(chunk) for chunk in chunks] + [DONE]
    return Reply(200, "text/event-stream", pieces, chunked=True)


def _tool_call_reply(
    request: Mapping[str, Any],
    call: ra.ToolCall,
    cid: str,
    model: str,
    prompt: int,
    *,
    force_json: bool,
) -> Reply:
    """A whole answer or a stream calling one tool (``finish_reason: tool_calls``)."""
    spent = len(call[1].split())
    if request.get("stream") is not True or force_json:
        body = completion_json(cid, model, [], "tool_calls", prompt)
        body["choices"][0]["message"] = ra.tool_call_message(call, int(cid.split("-")[-1]))
        body["usage"] = usage(prompt, spent)
        return json_reply(200, body)
    chunks = stream_chunks(cid, model, [], "tool_calls", prompt)
    deltas = ra.tool_call_deltas(call, int(cid.split("-")[-1]))
    middle = [
        {**chunks[0], "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    chunks[-1]["usage"] = usage(prompt, spent)
    events = [chunks[0], *middle, chunks[-1]]
    return Reply(200, "text/event-stream", [sse(e) for e in events] + [DONE], chunked=True)


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
