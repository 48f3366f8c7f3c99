"""CPU cost per streamed chunk: ChatHuggingFaceAPI against a minimal chat model.

A server in a child process streams the same SSE body (N content chunks in the
router's format) to each model over loopback; this process measures its own CPU
time (`time.process_time`) while consuming `model.stream(...)`. The minimal
model is the floor: httpx `iter_lines`, one `json.loads`, one `AIMessageChunk`
per event. ChatOpenAI is measured too when `langchain-openai` is installed.

Run: `.venv/bin/python benchmarks/stream_cpu.py [--chunks 2000] [--rounds 5]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from langchain_hfapi import ChatHuggingFaceAPI

MODEL = "meta-llama/Llama-3.3-70B-Instruct"


def sse_body(chunks: int) -> bytes:
    """Builds a router-style stream: role chunk, N tokens, finish, usage, [DONE]."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    events += [
        {**base, "choices": [{"index": 0, "delta": {"content": f" tok{i}"}, "finish_reason": None}]}
        for i in range(chunks)
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 5, "completion_tokens": chunks, "total_tokens": chunks + 5}
    events.append({**base, "choices": [], "usage": usage})
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


# The router's catalog (`GET /v1/models`) in its real shape: the model served by
# "together", with prices, so that a call pays for routing by it and for its cost.
CATALOG = json.dumps(
    {
        "object": "list",
        "data": [
            {
                "id": MODEL,
                "object": "model",
                "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
                "providers": [
                    {
                        "provider": "together",
                        "status": "live",
                        "context_length": 131072,
                        "pricing": {"input": 0.88, "output": 0.88},
                        "supports_tools": True,
                        "supports_structured_output": True,
                        "first_token_latency_ms": 611,
                        "throughput": 40.1,
                    }
                ],
            }
        ],
    }
).encode()


def serve(port: int, body: bytes, mapping: bytes) -> None:
    """Serves the stream (POST), the catalog and a mapping (GET) forever, keep-alive."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                return
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            post = head.startswith(b"POST")
            payload, kind = (body, b"text/event-stream") if post else (mapping, b"application/json")
            if head.startswith(b"GET /v1/models"):
                payload = CATALOG
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\nx-inference-provider: "
                b"together\r\ncontent-length: " + str(len(payload)).encode() + b"\r\n\r\n"
            )
            writer.write(payload)
            await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class MinimalChat(BaseChatModel):
    """The floor: raw httpx SSE lines to AIMessageChunks, nothing else."""

    url: str

    @property
    def _llm_type(self) -> str:
        return "minimal"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kw: Any) -> ChatResult:
        raise NotImplementedError

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with httpx.Client() as client, client.stream("POST", self.url, json=body) as response:
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[6:])
                choices = event.get("choices")
                text = (choices[0].get("delta") or {}).get("content") if choices else None
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text or ""))
                if run_manager:
                    run_manager.on_llm_new_token(text or "", chunk=chunk)
                yield chunk


def cpu_per_chunk(models: dict[str, BaseChatModel], chunks: int, rounds: int) -> dict[str, float]:
    """Returns each model's median CPU microseconds per content chunk over `rounds` streams.

    Rounds are interleaved (A, B, C, A, B, C, ...) so that a slow spell of a
    noisy machine falls on every model alike rather than on one of them.
    """
    for model in models.values():
        list(model.stream("hi"))  # warm-up: connection, imports, caches
    samples: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.process_time()
            count = sum(1 for _ in model.stream("hi"))
            samples[name].append((time.process_time() - start) / chunks * 1e6)
            assert count >= chunks
    return {name: statistics.median(values) for name, values in samples.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(body: bytes) -> tuple[str, multiprocessing.Process]:
    """Starts `serve` in a child process on a free loopback port; returns its URL."""
    port = free_port()
    mapping = json.dumps(
        {
            "id": MODEL,
            "inferenceProviderMapping": {
                "together": {"status": "live", "providerId": "x", "task": "conversational"}
            },
        }
    ).encode()
    proc = multiprocessing.Process(target=serve, args=(port, body, mapping), daemon=True)
    proc.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}", proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url, proc = start_server(sse_body(args.chunks))
    models: dict[str, BaseChatModel] = {
        "minimal BaseChatModel": MinimalChat(url=f"{url}/v1/chat/completions"),
        "ChatHuggingFaceAPI": ChatHuggingFaceAPI(
            model=MODEL, api_key="hf_bench", router_url=url, hub_url=url
        ),
    }
    try:
        from langchain_openai import ChatOpenAI

        models["ChatOpenAI"] = ChatOpenAI(model=MODEL, api_key="x", base_url=f"{url}/v1")
    except ImportError:
        pass
    results = cpu_per_chunk(models, args.chunks, args.rounds)
    floor = results["minimal BaseChatModel"]
    for name, value in results.items():
        print(f"{name:<24} {value:8.1f} us/chunk  ({value / floor:4.2f}x minimal)")
    proc.terminate()


if __name__ == "__main__":
    main()
