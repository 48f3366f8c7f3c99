"""Connections come back to the pool after a stream ends at `[DONE]`.

A loopback server counts the connections it accepts, and ends its streams in
the ways real servers do: a `Content-Length` body, a chunked body whose
terminating chunk comes with `[DONE]` or a little later, and a body held open
after `[DONE]` (which must not hold the caller for long).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from langchain_hfapi import APITimeoutError, ChatHuggingFaceAPI
from langchain_hfapi._stream_end import END_WAIT
from tests.loopback_http import RequestHandler, serving

WORDS = ["Hello", " from", " the", " server", "."]


def _sse() -> bytes:
    base = {"id": "c1", "object": "chat.completion.chunk", "model": "m"}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": word}}]}
        for word in WORDS
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


WHOLE = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(WORDS)},
                "finish_reason": "stop",
            }
        ],
    }
).encode()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ending: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ending = ending
        self.connections = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(RequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def answer(self, body: bytes) -> None:
        stream = json.loads(body).get("stream", False)
        ending = self.server.ending
        payload = _sse() if stream else WHOLE
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
        if ending == "length" or not stream:
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()
        if ending == "late":
            time.sleep(0.03)  # the terminating chunk in a later packet
        elif ending == "held":
            time.sleep(END_WAIT * 20)  # never within the wait
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    made = _Server(request.param)
    with serving(made):
        yield made


def _model(server: _Server, **kwargs: Any) -> ChatHuggingFaceAPI:
    return ChatHuggingFaceAPI(model="m", base_url=server.url, max_retries=0, **kwargs)


async def _texts(llm: ChatHuggingFaceAPI, mode: str, calls: int) -> list[str]:
    texts = []
    for _ in range(calls):
        if mode == "stream":
            texts.append("".join(str(c.content) for c in llm.stream("hi")))
        elif mode == "astream":
            texts.append("".join([str(c.content) async for c in llm.astream("hi")]))
        elif mode == "invoke":
            texts.append(str(llm.invoke("hi").content))
        else:
            texts.append(str((await llm.ainvoke("hi")).content))
    return texts


@pytest.mark.parametrize("server", ["length", "chunked", "late"], indirect=True)
@pytest.mark.parametrize("mode", ["stream", "astream", "invoke", "ainvoke"])
async def test_calls_in_a_row_share_one_connection(server: _Server, mode: str) -> None:
    texts = await _texts(_model(server), mode, 5)
    assert texts == ["".join(WORDS)] * 5
    assert server.connections == 1


@pytest.mark.parametrize("server", ["held"], indirect=True)
@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_a_body_held_open_after_done_delays_the_end_by_at_most_the_wait(
    server: _Server, mode: str
) -> None:
    llm = _model(server)
    started = time.monotonic()
    texts = await _texts(llm, mode, 2)
    took = time.monotonic() - started
    assert texts == ["".join(WORDS)] * 2
    assert took < 2 * END_WAIT + 1.0  # not the server's 2 s hold, twice
    assert server.connections == 2  # the held connection was not reused


class _LabelledHttp2(httpx.HTTPTransport):
    """A real HTTP/1.1 transport whose responses say HTTP/2.

    The watchdog leaves an HTTP/2 socket alone (other streams may share it),
    so only the attempt's own time limit can end the wait.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.extensions["http_version"] = b"HTTP/2"
        return response


class _Stalled(RequestHandler):
    def answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"d\r\n: keep-alive\n\r\n")  # a comment, no token, then silence
        self.wfile.flush()
        time.sleep(3)


def test_first_token_timeout_bounds_a_sync_wait_on_an_http_2_client() -> None:
    stalled = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stalled)
    stalled.daemon_threads = True
    with serving(stalled), httpx.Client(transport=_LabelledHttp2()) as client:
        llm = ChatHuggingFaceAPI(
            model="m",
            base_url=f"http://127.0.0.1:{stalled.server_address[1]}/v1",
            http_client=client,
            first_token_timeout=0.3,
            max_retries=0,
        )
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"first_token_timeout=0\.3"):
            list(llm.stream("hi"))
        assert time.monotonic() - started < 1.5


def test_streams_from_many_threads_each_end_with_the_whole_answer() -> None:
    made = _Server("late")
    with serving(made):
        llm = _model(made)
        results: list[str] = []

        def run() -> None:
            results.extend("".join(str(c.content) for c in llm.stream("hi")) for _ in range(5))

        threads = [threading.Thread(target=run) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert results == ["".join(WORDS)] * 40
    assert made.connections <= 8  # each thread's connection came back for its next call


def test_async_streams_on_one_loop_share_the_pool() -> None:
    made = _Server("chunked")

    async def main(llm: ChatHuggingFaceAPI) -> list[str]:
        async def one() -> str:
            return "".join([str(c.content) async for c in llm.astream("hi")])

        first = await asyncio.gather(*(one() for _ in range(4)))
        second = await asyncio.gather(*(one() for _ in range(4)))
        return [*first, *second]

    with serving(made):
        texts = asyncio.run(main(_model(made)))
    assert texts == ["".join(WORDS)] * 8
    assert made.connections <= 4
