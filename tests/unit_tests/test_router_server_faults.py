"""Tests of the fake router server: fault injection, connections, state, lifecycle and CLI."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.router_server import DEFAULT_MODELS, RouterServer, Step
from tests.unit_tests.router_server_helpers import (
    CHAT,
    LLAMA,
    chat_body,
    dechunk,
    post_chat,
    raw_exchange,
    sse_data,
    stream_chat,
    stream_until_reset,
)


@pytest.fixture
def router_server() -> Iterator[RouterServer]:
    with RouterServer.running(models=DEFAULT_MODELS) as server:
        yield server


# -------------------------------------------------------------- fault injection
def test_reset_before_headers_raises_transport_error(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.reset())

    with pytest.raises(httpx.TransportError):
        post_chat(router_server)
    assert post_chat(router_server).status_code == 200


def test_stream_reset_mid_body_closes_connection_after_n_bytes(
    router_server: RouterServer,
) -> None:
    events = [{"choices": [{"index": 0, "delta": {"content": str(i)}}]} for i in range(5)]
    full = "".join(f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events)
    router_server.script("together", Step.stream(events, reset_after_bytes=70))

    status, received = stream_until_reset(router_server)

    assert status == 200
    assert received == full.encode()[:70]


def test_default_stream_reset_after_bytes_also_truncates(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.reset_after(100, trickle=True))

    _, received = stream_until_reset(router_server)

    assert len(received) == 100
    assert received.startswith(b'data: {"id":"chatcmpl-1"')


def test_fixed_body_reset_after_bytes_sends_truncated_json(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.reset_after(10))

    with pytest.raises(httpx.RemoteProtocolError):
        post_chat(router_server)


def test_trickle_sends_one_byte_chunks_that_reassemble_multibyte_text(
    router_server: RouterServer,
) -> None:
    answer = "héllo wörld 世界 🎉"
    router_server.script("together", Step.text(answer, trickle=True))
    router_server.script("together", Step.text(answer, trickle=True))

    _, text = stream_chat(router_server)
    body = json.dumps(chat_body(stream=True)).encode()
    raw = raw_exchange(
        router_server.port,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )

    chunks = sse_data(text)[:-1]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == (answer)
    head, _, chunked = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    pieces = dechunk(chunked)
    assert len(pieces) > 500
    assert all(len(piece) == 1 for piece in pieces)
    assert "🎉".encode() in b"".join(pieces)


def test_first_byte_delay_triggers_client_read_timeout(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.delay(0.5), Step.delay(0.05))

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            router_server.url + CHAT,
            json=chat_body(),
            timeout=httpx.Timeout(5, read=0.1),
        )
    started = time.monotonic()
    assert post_chat(router_server).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_event_delay_spaces_out_sse_events(router_server: RouterServer) -> None:
    router_server.script("together", Step(event_delay=0.03))

    with httpx.stream(
        "POST", router_server.url + CHAT, json=chat_body(stream=True), timeout=5
    ) as response:
        arrivals = [time.monotonic() for line in response.iter_lines() if line.startswith("data:")]

    assert len(arrivals) == 6  # role, 3 tokens, finish, [DONE]
    assert arrivals[-1] - arrivals[0] >= 5 * 0.03 * 0.9


# ----------------------------------------------------------- connections, state
def test_keep_alive_reuses_one_connection_and_connection_close_does_not(
    router_server: RouterServer,
) -> None:
    with httpx.Client(base_url=router_server.url, timeout=5) as client:
        client.post(CHAT, json=chat_body())
        text = client.post(CHAT, json=chat_body(stream=True)).text
        closing = client.post(CHAT, json=chat_body(), headers={"Connection": "close"})
        client.post(CHAT, json=chat_body())

    assert sse_data(text)[-1] == "[DONE]"
    assert closing.headers["connection"] == "close"
    conns = [r.connection for r in router_server.requests]
    assert conns[0] == conns[1] == conns[2]
    assert conns[3] != conns[2]


def test_recorded_requests_capture_method_path_headers_and_body(
    router_server: RouterServer,
) -> None:
    httpx.post(
        router_server.url + CHAT + "?x=1",
        json=chat_body(temperature=0.5),
        headers={"Authorization": "Bearer hf_abc", "X-Custom": "Yes"},
    )

    (record,) = router_server.chat_requests("together")
    assert record.method == "POST"
    assert record.path == CHAT
    assert record.query == {"x": ["1"]}
    assert record.headers["authorization"] == "Bearer hf_abc"
    assert record.headers["x-custom"] == "Yes"
    assert json.loads(record.body) == record.json
    assert record.json["temperature"] == 0.5
    assert record.route == "chat"
    assert router_server.chat_requests("novita") == []


def test_reset_clears_scripts_requests_and_counters(
    router_server: RouterServer,
) -> None:
    router_server.script("together", Step.error(500), Step.error(500))
    router_server.script_hub(LLAMA, Step.error(500))
    router_server.set_failure_rate("together", 1.0)
    post_chat(router_server)
    httpx.get(f"{router_server.url}/api/models/{LLAMA}")

    router_server.reset()

    assert router_server.requests == []
    assert router_server.hub_requests == 0
    assert router_server.pending_steps("together") == 0
    response = post_chat(router_server)
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-1"
    assert httpx.get(f"{router_server.url}/api/models/{LLAMA}").status_code == 200


def test_stop_closes_open_streams_and_idle_connections() -> None:
    before = {t for t in threading.enumerate() if t.name == "fake-router"}
    server = RouterServer().start()
    server.script("together", Step(event_delay=5))
    client = httpx.Client(base_url=server.url, timeout=5)
    errors: list[BaseException] = []
    started = threading.Event()

    def consume() -> None:
        try:
            with client.stream("POST", CHAT, json=chat_body(stream=True)) as response:
                for _ in response.iter_raw():
                    started.set()
        except httpx.TransportError as exc:
            errors.append(exc)

    with httpx.Client(base_url=server.url) as idle:
        idle.get("/v1/models")  # leaves an idle keep-alive connection behind
        thread = threading.Thread(target=consume)
        thread.start()
        assert started.wait(5)
        begun = time.monotonic()
        server.stop()
        thread.join(5)
    client.close()

    assert time.monotonic() - begun < 2
    assert len(errors) == 1
    assert {t for t in threading.enumerate() if t.name == "fake-router"} <= before
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/v1/models")


async def test_two_hundred_concurrent_async_streams_complete() -> None:
    with RouterServer.running() as server:
        server.script("cerebras", *[Step(event_delay=0.005)] * 50)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=10) as client:

            async def one(index: int) -> str:
                provider = ("together", "cerebras", "novita", "fireworks-ai")[index % 4]
                body = chat_body(model=f"{LLAMA}:{provider}", stream=True)
                async with client.stream("POST", CHAT, json=body) as response:
                    assert response.status_code == 200
                    text = "".join([part async for part in response.aiter_text()])
                chunks = sse_data(text)
                assert chunks[-1] == "[DONE]"
                return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])

            answers = await asyncio.gather(*(one(i) for i in range(200)))

        assert len(server.chat_requests()) == 200
        assert len({r.connection for r in server.requests}) == 200
    assert answers.count("Hello from cerebras.") == 50
    assert answers.count("Hello from together.") == 50


def test_cli_runs_in_foreground_and_prints_listening_line() -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.router_server", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("fake router listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert httpx.post(url + CHAT, json=chat_body()).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)  # like Ctrl-C
        process.wait(5)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0


def test_bug_in_fake_answers_500_instead_of_hanging(
    router_server: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr("tests.router_payloads.catalogue", boom)

    response = httpx.get(router_server.url + "/v1/models", timeout=5)

    assert response.status_code == 500
    assert "fake router bug: KeyError('oops')" in response.json()["error"]
