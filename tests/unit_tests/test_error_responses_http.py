"""Every real error body shape, served over HTTP, becomes the right error class.

One provider and no retries, so each scripted answer is exactly the error the
user gets; each case runs through `invoke`, `ainvoke`, `stream` and `astream`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.exceptions import ContextOverflowError

from langchain_hfapi.errors import (
    AuthenticationError,
    HuggingFaceAPIError,
    InputTooLongError,
    InvalidRequestError,
    PaymentRequiredError,
    ProviderError,
    RateLimitError,
)
from tests.conftest import TOKEN
from tests.helpers import MODES, run
from tests.router_server import RouterServer, Step

REPO = "meta-llama/Llama-3.3-70B-Instruct"
PROMPT = "Say hello to me"

HTML_502 = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n"
    + "<!-- a padding comment to make the page long -->\n" * 20
    + "<hr><center>cloudfront</center>\n</body>\n</html>\n"
)


@dataclass(frozen=True)
class Case:
    step: Step
    cls: type[HuggingFaceAPIError]
    message: str


CASES = {
    "401-x-error-message": Case(
        Step.error(
            401,
            {"error": "Invalid username or password."},
            headers={"X-Error-Message": "Invalid username or password."},
        ),
        AuthenticationError,
        "Invalid username or password.",
    ),
    "401-empty-body-header-only": Case(
        Step.error(401, b"", headers={"X-Error-Message": "Invalid credentials in header"}),
        AuthenticationError,
        "Invalid credentials in header",
    ),
    "402-credits": Case(
        Step.error(
            402,
            "You have exceeded your monthly included credits for Inference Providers. "
            "Subscribe to PRO to get 20x more monthly included credits.",
        ),
        PaymentRequiredError,
        "You have exceeded your monthly included credits for Inference Providers.",
    ),
    "422-tgi-validation": Case(
        Step.error(
            422,
            {
                "error": "Input validation error: `temperature` must be strictly positive",
                "error_type": "validation",
            },
        ),
        InvalidRequestError,
        "Input validation error: `temperature` must be strictly positive",
    ),
    "422-text-plain": Case(
        Step.error(
            422,
            "Failed to deserialize the JSON body into the target type: "
            "messages[0]: missing field `content` at line 1 column 42",
        ),
        InvalidRequestError,
        "Failed to deserialize the JSON body into the target type: messages[0]: missing field",
    ),
    "400-openai": Case(
        Step.error(
            400,
            {
                "error": {
                    "message": "Invalid value for 'tool_choice': no tools given.",
                    "type": "invalid_request_error",
                    "param": "tool_choice",
                    "code": "invalid_value",
                }
            },
        ),
        InvalidRequestError,
        "Invalid value for 'tool_choice': no tools given.",
    ),
    "400-together": Case(
        Step.error(
            400,
            {
                "id": "nxq4-3NKUce-96a6f1c2",
                "error": {
                    "message": "Input validation error: `stop` has too many items",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                },
            },
        ),
        InvalidRequestError,
        "Input validation error: `stop` has too many items",
    ),
    "422-fastapi-detail": Case(
        Step.error(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "messages", 0, "role"],
                        "msg": "field required",
                        "type": "value_error.missing",
                    }
                ]
            },
        ),
        InvalidRequestError,
        "body.messages.0.role: field required",
    ),
    "400-message-request-id": Case(
        Step.error(400, {"message": "Tool schema is invalid", "request_id": "body-req-7"}),
        InvalidRequestError,
        "Tool schema is invalid",
    ),
    "400-vllm-object-error": Case(
        Step.error(
            400,
            {
                "object": "error",
                "message": "Unknown role 'robot' in messages",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            },
        ),
        InvalidRequestError,
        "Unknown role 'robot' in messages",
    ),
    "502-html-page": Case(
        Step.html(502, HTML_502), ProviderError, "HTML error page: 502 Bad Gateway"
    ),
    "503-model-loading": Case(
        Step.error(
            503,
            {"error": f"Model {REPO} is currently loading", "estimated_time": 20.0},
        ),
        ProviderError,
        f"Model {REPO} is currently loading",
    ),
    "429-rate-limit": Case(
        Step.error(429, {"error": "You reached the rate limit."}),
        RateLimitError,
        "You reached the rate limit.",
    ),
    "400-openai-context-length": Case(
        Step.error(
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 8192 tokens. However, "
                    "you requested 9000 tokens. Please reduce the length of the messages.",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            },
        ),
        InputTooLongError,
        "This model's maximum context length is 8192 tokens.",
    ),
    "422-tgi-context-length": Case(
        Step.error(
            422,
            {
                "error": "Input validation error: `inputs` tokens + `max_new_tokens` "
                "must be <= 4096. Given: 5000 `inputs` tokens and 100 `max_new_tokens`",
                "error_type": "validation",
            },
        ),
        InputTooLongError,
        "`inputs` tokens + `max_new_tokens` must be <= 4096.",
    ),
}


def status_of(case: Case) -> int:
    return case.step.status


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CASES))
async def test_error_body_becomes_typed_error_naming_its_context(
    make_llm: Any, router: RouterServer, mode: str, name: str
) -> None:
    case = CASES[name]
    router.script("together", case.step)
    with pytest.raises(HuggingFaceAPIError) as info:
        await run(make_llm(provider="together", max_retries=0), mode, PROMPT)
    err = info.value
    assert type(err) is case.cls
    assert case.message in err.message
    assert err.status_code == status_of(case)
    text = str(err)
    for part in (
        "provider=together",
        f"model={REPO}",
        f"status={status_of(case)}",
        "request_id=req-1",
    ):
        assert part in text
    assert TOKEN not in text
    assert TOKEN not in (err.body or "")
    assert len(router.chat_requests()) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_rejected_token_gives_authentication_error_from_router(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.require_token = "hf_a_different_token"
    with pytest.raises(AuthenticationError) as info:
        await run(make_llm(), mode, PROMPT)
    text = str(info.value)
    assert "Invalid username or password." in text
    assert "provider=together" in text
    assert "status=401" in text
    assert "request_id=req-1" in text
    assert TOKEN not in text
    assert len(router.chat_requests()) == 1  # no failover on 401


@pytest.mark.parametrize("mode", MODES)
async def test_html_page_message_is_short_and_says_html(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", Step.html(502, HTML_502))
    with pytest.raises(ProviderError) as info:
        await run(make_llm(provider="together", max_retries=0), mode, PROMPT)
    text = str(info.value)
    assert "HTML" in text
    assert "<html" not in text.lower()
    assert "padding comment" not in text
    assert len(text) < 300


@pytest.mark.parametrize("mode", MODES)
async def test_model_loading_503_is_retried_then_served(
    make_llm: Any, router: RouterServer, mode: str
) -> None:
    router.script("together", CASES["503-model-loading"].step)
    msg = await run(make_llm(provider="together"), mode, PROMPT)
    assert msg.content == "Hello from together."
    assert msg.response_metadata["attempts"] == [
        {"provider": "together", "error": "ProviderError", "status_code": 503}
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["400-openai-context-length", "422-tgi-context-length"])
async def test_context_length_errors_are_langchain_context_overflow(
    make_llm: Any, router: RouterServer, mode: str, name: str
) -> None:
    router.script("together", CASES[name].step)
    with pytest.raises(ContextOverflowError):
        await run(make_llm(), mode, PROMPT)
    assert len(router.chat_requests()) == 1  # no other provider accepts it either
