"""Careless input is refused locally: clear ValueError, no request, no retry, no cooldown.

Every test asserts on the loopback server's request log: a local mistake must
not reach the router or the Hub, and must not make a provider cool down (the
models here cool a provider down after a single failure).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_hfapi import ChatHuggingFaceAPI
from tests.helpers import MODES, MakeLLM, run
from tests.router_server import RouterServer

NAN = math.nan
INF = math.inf


def assert_provider_still_healthy(llm: ChatHuggingFaceAPI, router: RouterServer) -> None:
    """A normal call afterwards goes out at once, with no provider cooling down."""
    message = llm.invoke("hi")
    assert message.response_metadata["attempts"] == []
    assert len(router.chat_requests()) == 1


@pytest.mark.parametrize(
    "options",
    [
        {"bill_to": "my-org\r\nX-Injected: 1"},
        {"bill_to": "my-org\n"},
        {"bill_to": "org-\u00e9t\u00e9"},
        {"default_headers": {"X-Trace": "a\nb"}},
        {"default_headers": {"X-Trace": "caf\u00e9"}},
        {"default_headers": {"X-Trace": "a\x00b"}},
        {"default_headers": {"X-Trace": "a\x7fb"}},
        {"default_headers": {"X Trace": "v"}},
        {"default_headers": {"X-Trace:": "v"}},
    ],
    ids=[
        "bill_to-crlf",
        "bill_to-lf",
        "bill_to-non-ascii",
        "header-lf",
        "header-non-ascii",
        "header-nul",
        "header-del",
        "header-name-space",
        "header-name-colon",
    ],
)
def test_header_value_that_cannot_be_sent_is_refused_at_construction(
    make_llm: MakeLLM, router: RouterServer, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="cannot be sent"):
        make_llm(**options)
    assert router.requests == []


BAD_HEADERS = {"X-Trace": "a\r\nX-Injected: 1"}


@pytest.fixture
def sync_http() -> Iterator[httpx.Client]:
    """An httpx client whose own default headers httpx refuses to send."""
    with httpx.Client(headers=BAD_HEADERS) as client:
        yield client


@pytest.fixture
async def async_http() -> AsyncIterator[httpx.AsyncClient]:
    """The async twin of `sync_http`."""
    async with httpx.AsyncClient(headers=BAD_HEADERS) as client:
        yield client


@pytest.mark.parametrize("mode", MODES)
async def test_header_refused_by_httpx_is_not_retried_nor_counted_against_the_provider(
    make_llm: MakeLLM,
    router: RouterServer,
    sync_http: httpx.Client,
    async_http: httpx.AsyncClient,
    mode: str,
) -> None:
    llm = make_llm(
        provider="fastest",
        provider_failures=1,
        http_client=sync_http,
        http_async_client=async_http,
    )
    with pytest.raises(ValueError, match="could not be sent"):
        await run(llm, mode)
    assert router.requests == []
    del sync_http.headers["X-Trace"]
    assert_provider_still_healthy(llm, router)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", INF),
        ("timeout", NAN),
        ("first_token_timeout", NAN),
        ("first_token_timeout", INF),
        ("mapping_ttl", NAN),
        ("provider_cooldown", NAN),
        ("provider_cooldown", INF),
        ("temperature", NAN),
        ("top_p", NAN),
        ("frequency_penalty", INF),
        ("presence_penalty", -INF),
        ("logit_bias", {"42": NAN}),
        ("model_kwargs", {"repetition_penalty": {"values": [INF]}}),
        ("extra_body", {"top_k": NAN}),
    ],
)
def test_non_finite_setting_is_refused_at_construction(
    make_llm: MakeLLM, router: RouterServer, field: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=field):
        make_llm(**{field: value})
    assert router.requests == []


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"temperature": NAN}, "temperature"),
        ({"presence_penalty": INF}, "presence_penalty"),
        ({"logit_bias": {"7": -INF}}, r"logit_bias\['7'\]"),
        ({"response_format": {"type": "json_object", "weights": [1.0, NAN]}}, "response_format"),
    ],
    ids=["temperature", "penalty", "logit_bias", "nested"],
)
@pytest.mark.parametrize("mode", MODES)
async def test_non_finite_number_in_a_call_is_refused_before_any_request(
    make_llm: MakeLLM, router: RouterServer, mode: str, kwargs: dict[str, Any], named: str
) -> None:
    llm = make_llm(provider_failures=1)
    with pytest.raises(ValueError, match=named):
        await run(llm, mode, **kwargs)
    assert router.requests == []
    assert_provider_still_healthy(llm, router)


@pytest.mark.parametrize("mode", MODES)
async def test_message_with_a_lone_surrogate_is_refused_before_the_hub_request(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    llm = make_llm(provider_failures=1)
    messages = [SystemMessage("Be brief."), HumanMessage("caf\ud800 au lait")]
    with pytest.raises(ValueError, match=r"Message 1 .*lone surrogate \(U\+D800\)"):
        await run(llm, mode, messages)
    assert router.requests == []
    assert_provider_still_healthy(llm, router)


@pytest.mark.parametrize("mode", MODES)
async def test_lone_surrogate_in_a_call_option_is_refused_naming_the_option(
    make_llm: MakeLLM, router: RouterServer, mode: str
) -> None:
    with pytest.raises(ValueError, match=r"request field 'stop'.*U\+DFFF"):
        await run(make_llm(), mode, stop=["\udfff"])
    assert router.requests == []


@pytest.mark.parametrize(
    "options",
    [
        {"model_kwargs": {"model": "Qwen/Qwen2.5-72B-Instruct"}},
        {"model_kwargs": {"stream": True}},
        {"extra_body": {"messages": []}},
        {"extra_body": {"model": "Qwen/Qwen2.5-72B-Instruct", "top_k": 5}},
    ],
    ids=["model_kwargs-model", "model_kwargs-stream", "extra_body-messages", "extra_body-model"],
)
def test_reserved_body_key_in_extra_fields_is_refused_at_construction(
    make_llm: MakeLLM, router: RouterServer, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="must not set"):
        make_llm(**options)
    assert router.requests == []


def test_unknown_constructor_kwarg_named_messages_is_refused(
    make_llm: MakeLLM, router: RouterServer
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="model_kwargs must not set 'messages'"):
            make_llm(messages=[{"role": "user", "content": "hi"}])
    assert router.requests == []


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("router_url", "ftp://router.example"),
        ("hub_url", "http://"),
        ("base_url", "http://127.0.0.1:1/v1\n"),
        ("router_url", "http://router .example"),
    ],
    ids=["ftp", "no-host", "newline", "space"],
)
def test_url_that_cannot_be_requested_is_refused_at_construction(
    make_llm: MakeLLM, router: RouterServer, field: str, url: str
) -> None:
    with pytest.raises(ValueError, match=field):
        make_llm(**{field: url})
    assert router.requests == []
