"""Helpers shared by the tests of the fake router/Hub server (plain httpx over loopback)."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

from tests.router_server import RouterServer

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
QWEN = "Qwen/Qwen2.5-72B-Instruct"
CHAT = "/v1/chat/completions"
MAPPING_QUERY = {"expand[]": "inferenceProviderMapping"}


def chat_body(model: str = LLAMA, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": "Say hello to me"}]
    return {"model": model, "messages": messages, **extra}


def post_chat(
    server: RouterServer,
    path: str = CHAT,
    *,
    client: httpx.Client | None = None,
    **body: Any,
) -> httpx.Response:
    if client is not None:
        return client.post(server.url + path, json=chat_body(**body))
    return httpx.post(server.url + path, json=chat_body(**body), timeout=5)


def sse_data(text: str) -> list[Any]:
    """Parse ``data:`` events of an SSE body (JSON decoded, ``[DONE]`` kept)."""
    events: list[Any] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data:"):
                payload = line[5:].strip()
                events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def stream_chat(server: RouterServer, **body: Any) -> tuple[httpx.Response, str]:
    with httpx.stream(
        "POST", server.url + CHAT, json=chat_body(stream=True, **body), timeout=5
    ) as response:
        return response, response.read().decode()


def stream_until_reset(server: RouterServer) -> tuple[int, bytes]:
    """Stream a chat answer raw until the server resets; return status and bytes read."""
    status, received = 0, b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", server.url + CHAT, json=chat_body(stream=True), timeout=5) as response,
    ):
        status = response.status_code
        for chunk in response.iter_raw():
            received += chunk
    return status, received


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def dechunk(body: bytes) -> list[bytes]:
    """Split a chunked-encoded body into its chunks (terminator excluded)."""
    chunks: list[bytes] = []
    while True:
        size_line, body = body.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]
