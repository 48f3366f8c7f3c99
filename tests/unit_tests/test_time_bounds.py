"""Time bounds: `total_timeout`, `first_token_timeout` from the connect on, and the
caps on providers tried and on retry waits."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_hfapi import (
    AllProvidersFailedError,
    APITimeoutError,
    ChatHuggingFaceAPI,
    ProviderError,
)
from langchain_hfapi._client_core import ClientSettings
from langchain_hfapi._deadlines import MAX_PROVIDERS, MAX_RETRY_WAIT, CallClock
from langchain_hfapi._failover import Candidate, FailoverPlan
from langchain_hfapi._sync_deadline import Watchdog
from tests.bomb_server import BombServer
from tests.helpers import MODES, STREAMING, collect, run


@pytest.fixture(scope="module")
def bombs() -> Iterator[BombServer]:
    with BombServer.running(bomb_mib=1) as server:
        yield server


@pytest.mark.parametrize("mode", MODES)
async def test_total_timeout_ends_a_stream_kept_open_by_comments_after_its_first_token(
    bombs: BombServer, mode: str
) -> None:
    llm = ChatHuggingFaceAPI(
        model="m", base_url=f"{bombs.url}/comments_after_token", total_timeout=1.0, streaming=True
    )
    started = time.monotonic()
    if mode in STREAMING:
        chunks, err = await collect(llm, mode, "hi")
        assert "".join(c.text for c in chunks) == "x"
        assert err is not None and err.partial_message.content == "x"  # type: ignore[attr-defined]
    else:
        with pytest.raises(APITimeoutError) as info:
            await run(llm, mode)
        err = info.value
    assert isinstance(err, APITimeoutError)
    assert "total_timeout=1.0" in str(err)
    assert time.monotonic() - started < 2.5


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose listen queue is full: a connect to it waits, unanswered."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue; later handshakes are dropped
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for sock in [*fillers, server]:
        sock.close()


@pytest.mark.parametrize("mode", MODES)
async def test_first_token_timeout_covers_the_connect(unanswered_port: int, mode: str) -> None:
    llm = ChatHuggingFaceAPI(
        model="m",
        base_url=f"http://127.0.0.1:{unanswered_port}",
        first_token_timeout=0.5,
        max_retries=0,
    )
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match=r"first_token_timeout=0\.5"):
        await run(llm, mode)
    assert time.monotonic() - started < 1.5  # the connect timeout alone is 10 s


class _Stream:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> Any:
        return self.sock if name == "socket" else None


class _Response:
    def __init__(self, version: str, sock: socket.socket) -> None:
        self.http_version = version
        self.extensions = {"network_stream": _Stream(sock)}


@pytest.mark.parametrize(("version", "cut"), [("HTTP/1.1", True), ("HTTP/2", False)])
def test_watchdog_shuts_only_an_unshared_http_1_1_socket(version: str, cut: bool) -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        dog = Watchdog(_Response(version, ours), time.monotonic() + 0.05)  # type: ignore[arg-type]
        time.sleep(0.2)
        dog.cancel()
        assert dog.expired()
        peer.setblocking(False)
        try:
            got = peer.recv(1)  # b"" once our side was shut down
        except BlockingIOError:
            got = None
        assert (got == b"") is cut


# --- caps of one call --------------------------------------------------------------------


def _cands(count: int) -> list[Candidate]:
    return [Candidate("m", f"p{i}", "http://x", f"m:p{i}") for i in range(count)]


def test_a_call_tries_at_most_max_providers() -> None:
    plan = FailoverPlan(_cands(100), max_retries=0)
    attempt, tried = plan.first(), []
    with pytest.raises(AllProvidersFailedError) as info:
        while True:
            tried.append(attempt.candidate.route)
            attempt = plan.next_after(attempt, ProviderError("down", provider="x"))
    assert len(tried) == MAX_PROVIDERS
    assert len(info.value.errors) == MAX_PROVIDERS
    assert len(str(info.value)) < 2000


def test_retry_waits_of_a_call_stay_within_max_retry_wait() -> None:
    plan = FailoverPlan(_cands(3), max_retries=1000, rand=lambda: 0.0)
    attempt, waited = plan.first(), 0.0
    with pytest.raises(AllProvidersFailedError):
        while True:
            attempt = plan.next_after(attempt, ProviderError("busy", retry_after=7.0))
            waited += attempt.delay
    assert MAX_RETRY_WAIT - 7.0 < waited <= MAX_RETRY_WAIT


def test_no_retry_starts_past_total_timeout() -> None:
    now = [0.0]
    clock = CallClock(ClientSettings(total_timeout=5.0), clock=lambda: now[0])
    plan = FailoverPlan(_cands(2), max_retries=3, rand=lambda: 0.0, clock=clock)
    attempt = plan.next_after(plan.first(), ProviderError("busy", retry_after=2.0))
    assert attempt.retry == 1 and attempt.delay == 2.0
    now[0] = 2.0  # the wait
    attempt = plan.next_after(attempt, ProviderError("busy", retry_after=4.0))
    assert attempt.candidate.route == "p1"  # a 4 s wait does not fit in the 5 s left
    now[0] = 6.0
    with pytest.raises(APITimeoutError, match=r"total_timeout=5\.0") as info:
        plan.next_after(attempt, ProviderError("busy"))
    assert isinstance(info.value.__cause__, ProviderError)


def test_retries_and_failovers_are_logged_with_provider_status_and_delay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plan = FailoverPlan(_cands(2), max_retries=1, rand=lambda: 0.0)
    with caplog.at_level("INFO", logger="langchain_hfapi"):
        attempt = plan.next_after(
            plan.first(), ProviderError("busy hf_abcdefghijklmnopqrstuvwxyz", status_code=503)
        )
        plan.next_after(attempt, ProviderError("busy", status_code=502))
    retry, failover = (r.getMessage() for r in caplog.records)
    assert retry == "retrying p0 for m after ProviderError 503 in 0.50 s"
    assert failover == "failing over from p0 for m after ProviderError 502 to p1"
    assert "hf_abc" not in caplog.text
