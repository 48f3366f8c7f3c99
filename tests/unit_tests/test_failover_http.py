"""Retries and provider failover over real HTTP against the loopback router.

Every scenario runs through the public LangChain API (`invoke`, `ainvoke`,
`stream`, `astream`) and checks what the user sees: the answer, the provider
that served it, the failed attempts, and the error raised when giving up.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from langchain_hfapi.errors import (
    AllProvidersFailedError,
    APIConnectionError,
    AuthenticationError,
    HuggingFaceAPIError,
    InvalidRequestError,
    ModelNotSupportedError,
    PermissionDeniedError,
    ProviderError,
)
from tests.conftest import TOKEN
from tests.helpers import MODES, STREAMING, collect, run, total
from tests.router_payloads import sse
from tests.router_server import RouterServer, Step

REPO = "meta-llama/Llama-3.3-70B-Instruct"
LIVE = ["together", "fireworks-ai", "novita", "cerebras"]
PROMPT = "Say hello to me"
NOT_SUPPORTED = {
    "error": {
        "message": f"The requested model '{REPO}' is not supported by provider 'together'.",
        "type": "invalid_request_error",
        "code": "model_not_supported",
    }
}


def served_by(router: RouterServer) -> list[str | None]:
    return [r.provider for r in router.chat_requests()]


def attempt(provider: str, error: str, status: int | None) -> dict[str, Any]:
    return {"provider": provider, "error": error, "status_code": status}


def assert_names_context(err: HuggingFaceAPIError, provider: str, status: int | None) -> None:
    text = str(err)
    assert f"provider={provider}" in text
    assert f"model={REPO}" in text
    if status is not None:
        assert f"status={status}" in text
    assert err.request_id is not None
    assert f"request_id={err.request_id}" in text
    assert TOKEN not in text


@pytest.mark.parametrize("mode", MODES)
async def test_429_is_retried_on_the_same_provider_after_retry_after(
    make_llm: Any, router: RouterServer, fast_retries: list[float], mode: str
) -> None:
    router.script("together", Step.error(429, {"error": "slow down"}, headers={"Retry-After": "2"}))
    msg = await run(make_llm(), mode, PROMPT)
    assert msg.content == "Hello from together."
    assert msg.response_metadata["provider"] == "together"
    assert msg.response_metadata["attempts"] == [attempt("together", "RateLimitError", 429)]
    assert fast_retries == [2.0]
    assert served_by(router) == ["together", "together"]


@pytest.mark.parametrize("mode", MODES)
async def test_503_on_every_try_moves_on_after_max_retries(
    make_llm: Any, router: RouterServer, fast_retries: list[float], mode: str
) -> None:
    router.script("together", *[Step.error(503)] * 3)
    msg = await run(make_llm(), mode, PROMPT)
    assert msg.content == "Hello from fireworks-ai."
    assert msg.response_metadata["provider"] == "fireworks-ai"
    assert msg.response_metadata["attempts"] == [attempt("together", "ProviderError", 503)] * 3
    assert served_by(router) == ["together"] * 3 + ["fireworks-ai"]
    assert len(fast_retries) == 2  # two backoff waits between the three tries


@pytest.mark.parametrize("mode", MODES)
async def test_402_moves_to_next_provider_without_retrying(
    make_llm: Any, router: RouterServer, fast_retries: list[float], mode: str
) -> None:
    router.script("together", Step.error(402, {"error": "You have exceeded your credits."}))
    msg = await run(make_llm(), mode, PROMPT)
    assert msg.content == "Hello from fireworks-ai."
    assert msg.response_metadata["provider"] == "fireworks-ai"
    assert msg.response_metadata["attempts"] == [attempt("together", "PaymentRequiredError", 402)]
    assert served_by(router) == ["together", "fireworks-ai"]
    assert fast_retries == []


@pytest.mark.parametrize("mode", MODES)
async def test_model_not_supported_400_moves_to_next_provider(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.error(400, NOT_SUPPORTED))
    msg = await run(make_llm(), mode, PROMPT)
    assert msg.content == "Hello from fireworks-ai."
    assert msg.response_metadata["attempts"] == [attempt("together", "ModelNotSupportedError", 400)]
    assert served_by(router) == ["together", "fireworks-ai"]


OPENAI_400 = {"error": {"message": "temperature: invalid", "type": "invalid_request_error"}}
TGI_422 = {"error": "Input validation error: `top_p` must be > 0.0", "error_type": "validation"}
FATAL = [
    pytest.param(401, {"error": "Invalid username or password."}, AuthenticationError, id="401"),
    pytest.param(403, {"error": "Access to model is restricted."}, PermissionDeniedError, id="403"),
    pytest.param(400, OPENAI_400, InvalidRequestError, id="400-validation"),
    pytest.param(422, TGI_422, InvalidRequestError, id="422-validation"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "body", "cls"), FATAL)
async def test_client_errors_raise_at_once_without_contacting_other_providers(
    make_llm: Any,
    router: RouterServer,
    fast_retries: list[float],
    mode: str,
    status: int,
    body: dict[str, Any],
    cls: type[Exception],
) -> None:
    router.script("together", Step.error(status, body))
    with pytest.raises(cls) as info:
        await run(make_llm(), mode, PROMPT)
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert_names_context(info.value, "together", status)
    assert info.value.request_id == "req-1"
    assert served_by(router) == ["together"]
    assert fast_retries == []


TRANSPORT_FAULTS = [
    pytest.param(Step.reset(), {}, "APIConnectionError", id="reset-before-headers"),
    pytest.param(Step.reset_after(12), {}, "APIConnectionError", id="reset-mid-body"),
    pytest.param(Step.delay(0.5), {"timeout": 0.15}, "APITimeoutError", id="timeout"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("step", "options", "error"), TRANSPORT_FAULTS)
async def test_transport_failure_before_first_token_is_retried(
    make_llm: Any,
    router: RouterServer,
    mode: str,
    step: Step,
    options: dict[str, Any],
    error: str,
) -> None:
    router.script("together", step)
    msg = await run(make_llm(**options), mode, PROMPT)
    assert msg.content == "Hello from together."
    assert msg.response_metadata["provider"] == "together"
    assert msg.response_metadata["attempts"] == [attempt("together", error, None)]
    assert served_by(router) == ["together", "together"]


@pytest.mark.parametrize("mode", MODES)
async def test_connection_reset_on_every_try_raises_connection_error_naming_provider(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", *[Step.reset()] * 3)
    with pytest.raises(APIConnectionError) as info:
        await run(make_llm(provider="together"), mode, PROMPT)
    assert info.value.provider == "together"
    assert info.value.model == REPO
    assert f"provider=together, model={REPO}" in str(info.value)
    assert served_by(router) == ["together"] * 3


@pytest.mark.parametrize("mode", MODES)
async def test_all_live_providers_failing_raises_all_providers_failed_naming_each(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.error(402, {"error": "credits exhausted"}))
    router.script("fireworks-ai", Step.error(400, NOT_SUPPORTED))
    router.script("novita", Step.error(503, {"error": "overloaded"}))
    router.script("cerebras", Step.html(502, "<html><title>502 Bad Gateway</title></html>"))
    with pytest.raises(AllProvidersFailedError) as info:
        await run(make_llm(max_retries=0), mode, PROMPT)
    err = info.value
    assert [e.provider for e in err.errors] == LIVE
    text = str(err)
    assert f"model={REPO}" in text
    assert "together: PaymentRequiredError 402 credits exhausted" in text
    assert "fireworks-ai: ModelNotSupportedError 400" in text
    assert "novita: ProviderError 503 overloaded" in text
    assert "cerebras: ProviderError 502 HTML error page: 502 Bad Gateway" in text
    assert TOKEN not in text
    assert served_by(router) == LIVE  # staging hf-inference is never contacted


@pytest.mark.parametrize("mode", MODES)
async def test_all_providers_failed_message_names_each_request_id(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    for provider in LIVE:
        router.script(provider, Step.error(503))
    with pytest.raises(AllProvidersFailedError) as info:
        await run(make_llm(max_retries=0), mode, PROMPT)
    ids = [e.request_id for e in info.value.errors]
    assert ids == ["req-1", "req-2", "req-3", "req-4"]
    assert all(f"request_id={rid}" in str(info.value) for rid in ids)


@pytest.mark.parametrize("mode", MODES)
async def test_provider_slug_restricts_candidates_and_routes_as_repo_colon_provider(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    msg = await run(make_llm(provider="fireworks-ai"), mode, PROMPT)
    assert msg.content == "Hello from fireworks-ai."
    assert msg.response_metadata["provider"] == "fireworks-ai"
    (request,) = router.chat_requests()
    body = json.loads(request.body)
    assert next(iter(body)) == "model"
    assert body["model"] == f"{REPO}:fireworks-ai"


@pytest.mark.parametrize("mode", MODES)
async def test_provider_list_sets_candidates_and_their_order(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("cerebras", Step.error(503))
    msg = await run(make_llm(provider=["cerebras", "together"], max_retries=0), mode, PROMPT)
    assert msg.content == "Hello from together."
    assert msg.response_metadata["attempts"] == [attempt("cerebras", "ProviderError", 503)]
    requests = router.chat_requests()
    assert [r.provider for r in requests] == ["cerebras", "together"]
    bodies = [json.loads(r.body) for r in requests]
    assert [next(iter(b)) for b in bodies] == ["model", "model"]
    assert [b["model"] for b in bodies] == [f"{REPO}:cerebras", f"{REPO}:together"]


@pytest.mark.parametrize("mode", MODES)
async def test_staging_provider_is_never_contacted_even_when_asked_for(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    with pytest.raises(ModelNotSupportedError, match="staging"):
        await run(make_llm(provider="hf-inference"), mode, PROMPT)
    assert router.chat_requests() == []


@pytest.mark.parametrize("mode", MODES)
async def test_fastest_policy_skips_the_hub_and_reads_provider_from_header(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    msg = await run(make_llm(provider="fastest"), mode, PROMPT)
    assert router.hub_requests == 0
    assert msg.content == "Hello from together."
    assert msg.response_metadata["provider"] == "together"  # x-inference-provider
    (request,) = router.chat_requests()
    assert json.loads(request.body)["model"] == f"{REPO}:fastest"


PARTNER = {"invoke": "astream", "ainvoke": "stream", "stream": "ainvoke", "astream": "invoke"}


@pytest.mark.parametrize("mode", MODES)
async def test_mapping_is_fetched_once_and_shared_by_sync_and_async_calls(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    llm = make_llm()
    for call in (mode, mode, PARTNER[mode]):
        assert (await run(llm, call, PROMPT)).content == "Hello from together."
    assert router.hub_requests == 1
    assert len(router.chat_requests()) == 3


@pytest.mark.parametrize("mode", STREAMING)
@pytest.mark.parametrize(
    "events",
    [
        pytest.param([{"error": {"message": "overloaded"}}], id="first-event"),
        pytest.param(
            [{"choices": [{"delta": {"role": "assistant"}}]}, {"error": "overloaded"}],
            id="after-role-chunk",
        ),
    ],
)
async def test_stream_error_event_before_first_token_fails_over(
    make_llm: Any, router: RouterServer, mode: str, events: list[Any]
) -> None:
    router.script("together", Step.stream(events))
    chunks, err = await collect(make_llm(max_retries=0), mode, PROMPT)
    assert err is None
    msg = total(chunks)
    assert msg.content == "Hello from fireworks-ai."
    assert msg.response_metadata["provider"] == "fireworks-ai"
    assert msg.response_metadata["attempts"] == [attempt("together", "ProviderError", 500)]


@pytest.mark.parametrize("mode", STREAMING)
async def test_reset_after_first_tokens_raises_without_repeating_content(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    deltas = [{"role": "assistant"}, *({"content": t} for t in ("Hel", "lo ", "wor", "ld"))]
    events = [{"id": "c1", "choices": [{"index": 0, "delta": d}]} for d in deltas]
    cut = sum(len(sse(e)) for e in events[:3]) + 5  # mid-way through "wor"
    router.script("together", Step.reset_after(cut, events=events))
    chunks, err = await collect(make_llm(), mode, PROMPT)
    assert isinstance(err, APIConnectionError)
    assert_names_context(err, "together", None)
    text = "".join(c.content for c in chunks)
    assert text == "Hello "  # a prefix of "Hello world", each token exactly once
    assert served_by(router) == ["together"]  # no retry once the user saw text


@pytest.mark.parametrize("mode", MODES)
async def test_max_retries_zero_tries_each_provider_once(
    make_llm: Any, router: RouterServer, fast_retries: list[float], mode: str
) -> None:
    router.script("together", Step.error(503))
    router.script("fireworks-ai", Step.error(429, {"error": "slow down"}))
    msg = await run(make_llm(max_retries=0), mode, PROMPT)
    assert msg.content == "Hello from novita."
    assert msg.response_metadata["attempts"] == [
        attempt("together", "ProviderError", 503),
        attempt("fireworks-ai", "RateLimitError", 429),
    ]
    assert served_by(router) == ["together", "fireworks-ai", "novita"]
    assert fast_retries == []


@pytest.mark.parametrize("mode", MODES)
async def test_hub_outage_without_cached_mapping_raises_provider_error_naming_hub(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script_hub(REPO, Step.error(503))
    with pytest.raises(ProviderError) as info:
        await run(make_llm(), mode, PROMPT)
    err = info.value
    assert err.provider == "hub"
    assert err.status_code == 503
    assert f"(provider=hub, model={REPO}, status=503)" in str(err)
    assert router.chat_requests() == []
