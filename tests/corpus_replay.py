"""Replays a corpus record through the chat model and compares with the oracle.

Shared by `tests/unit_tests/test_corpus_replay.py`, the fuzz test and the
`python -m tests.corpus_replay` report, which prints counts per source,
provider and mode.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_hfapi import ChatHuggingFaceAPI, HuggingFaceAPIError
from tests.corpus_oracle import Expected, Record, expect, load_corpus
from tests.helpers import total
from tests.replay_server import ReplayServer, Served

__all__ = ["MODES", "Outcome", "check", "modes_for", "replay", "served"]

MODES = ("invoke", "ainvoke", "stream", "astream", "stream-split", "astream-split")
SPLIT_PIECES = 7  # pieces of 1-7 bytes: lines, events and UTF-8 characters split
# One TLS context for every test client: building one per client loads the CA bundle.
_SSL = ssl.create_default_context()


def modes_for(record: Record) -> tuple[str, ...]:
    """The modes a record is read in: split reads only matter for event streams."""
    return MODES if record.is_stream else MODES[:4]


def served(record: Record) -> Served:
    """The response the replay server sends for a record."""
    return Served(record.status, record.headers, record.body)


@dataclass
class Outcome:
    """What the user got: a message, the chunks seen, and the error raised, if any."""

    message: AIMessage | None = None
    chunks: list[AIMessageChunk] = field(default_factory=list)
    error: BaseException | None = None


def _model(base_url: str, http_client: httpx.Client, aclient: httpx.AsyncClient) -> Any:
    return ChatHuggingFaceAPI(
        model="recorded-model",
        base_url=base_url,
        api_key=None,
        max_retries=0,
        timeout=5,
        http_client=http_client,
        http_async_client=aclient,
    )


async def replay(server: ReplayServer, key: str, mode: str, http_client: httpx.Client) -> Outcome:
    """Reads the response registered under `key` in one mode."""
    pieces = SPLIT_PIECES if mode.endswith("-split") else 0
    outcome = Outcome()
    async with httpx.AsyncClient(verify=_SSL, timeout=5) as aclient:
        llm = _model(server.base_url(key, pieces), http_client, aclient)
        try:
            if mode == "invoke":
                outcome.message = llm.invoke("hi")
            elif mode == "ainvoke":
                outcome.message = await llm.ainvoke("hi")
            elif mode.startswith("stream"):
                for chunk in llm.stream("hi"):
                    outcome.chunks.append(chunk)
            else:
                async for chunk in llm.astream("hi"):
                    outcome.chunks.append(chunk)
        except Exception as err:
            outcome.error = err
    if outcome.chunks and outcome.error is None:
        outcome.message = total(outcome.chunks)
    return outcome


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def _check_error(exp: Expected, out: Outcome, mode: str) -> list[str]:
    err = out.error
    if not isinstance(err, HuggingFaceAPIError):
        return [f"expected a typed error, got {type(err).__name__}: {err!r:.300}"]
    problems = []
    if exp.error_kind == "http" and err.status_code != exp.error_status:
        problems.append(f"status {err.status_code} != recorded {exp.error_status}")
    if exp.error_message and _flat(exp.error_message)[:80] not in _flat(err.message):
        problems.append(f"message {err.message!r:.200} lacks {exp.error_message!r:.120}")
    delivered = "".join(c.text for c in out.chunks)
    if mode.startswith(("stream", "astream")) and exp.error_kind in ("event", "incomplete"):
        if delivered != exp.text:
            problems.append(f"delivered {delivered!r:.120} != {exp.text!r:.120}")
        partial = getattr(err, "partial_message", None)
        if exp.text and (partial is None or partial.content != exp.text):
            problems.append(f"partial message {partial!r:.200} lacks the delivered text")
    return problems


def check(exp: Expected, out: Outcome, mode: str) -> list[str]:
    """Lists how the outcome differs from the expectation (empty: it matches)."""
    if exp.error_kind is not None:
        return _check_error(exp, out, mode)
    if out.error is not None or out.message is None:
        return [f"expected an answer, got {type(out.error).__name__}: {out.error!s:.300}"]
    msg, problems = out.message, []
    if msg.content != exp.text:
        problems.append(f"text {msg.content!r:.150} != {exp.text!r:.150}")
    reasoning = msg.additional_kwargs.get("reasoning_content", "")
    if reasoning != exp.reasoning:
        problems.append(f"reasoning {reasoning!r:.100} != {exp.reasoning!r:.100}")
    calls = [(c["name"], c["args"]) for c in msg.tool_calls]
    if calls != exp.tool_calls or len(msg.invalid_tool_calls) != exp.invalid_calls:
        problems.append(
            f"tool calls {calls!r:.200} (+{len(msg.invalid_tool_calls)} invalid)"
            f" != {exp.tool_calls!r:.200} (+{exp.invalid_calls} invalid)"
        )
    if msg.response_metadata.get("finish_reason") != exp.finish_reason:
        got = msg.response_metadata.get("finish_reason")
        problems.append(f"finish_reason {got!r} != {exp.finish_reason!r}")
    usage = msg.usage_metadata
    got_usage = (
        None
        if usage is None
        else (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"])
    )
    if got_usage != exp.usage:
        problems.append(f"usage {got_usage} != {exp.usage}")
    return problems


async def _report(only: str | None) -> None:
    records = [r for r in load_corpus() if only is None or r.id.startswith(only)]
    tally: Counter[tuple[str, str, str]] = Counter()
    failures: Counter[tuple[str, str, str]] = Counter()
    with ReplayServer.running() as server, httpx.Client(verify=_SSL, timeout=5) as client:
        for number, record in enumerate(records):
            server.add(str(number), served(record))
            exp = expect(record)
            for mode in modes_for(record):
                out = await replay(server, str(number), mode, client)
                problems = check(exp, out, mode)
                for key in (("source", record.source, mode), ("provider", record.provider, mode)):
                    tally[key] += 1
                    failures[key] += bool(problems)
                if problems:
                    print(f"FAIL {record.id} [{mode}]: {problems[0]}")
    for key in sorted(tally):
        print(f"{key[0]:8} {key[1]:28} {key[2]:14} {tally[key] - failures[key]:5}/{tally[key]}")


def main() -> None:
    """Replays the corpus and prints passes per source, provider and mode."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--only", help="replay only records whose id starts with this")
    asyncio.run(_report(parser.parse_args().only))


if __name__ == "__main__":
    main()
