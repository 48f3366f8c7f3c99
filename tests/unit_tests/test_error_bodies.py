"""Tests for error-body parsing (`langchain_hfapi._error_bodies`) and the error classes."""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path

import httpx
import pytest
from langchain_core import exceptions as core

from langchain_hfapi import errors
from langchain_hfapi._error_bodies import (
    EXCERPT_CHARS,
    error_from_event,
    error_from_response,
    excerpt,
)
from langchain_hfapi.errors import (
    AllProvidersFailedError,
    AuthenticationError,
    HuggingFaceAPIError,
    InputTooLongError,
    InvalidRequestError,
    ModelNotSupportedError,
    PaymentRequiredError,
    ProviderError,
    RateLimitError,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DATA = DATA_DIR / "error_bodies_huggingface_js.json"
CATALOGUE_FILE = DATA_DIR / "error_catalogue.json"
JSON = "application/json"


def from_response(
    status: int, body: str | bytes, content_type: str = JSON, **headers: str
) -> HuggingFaceAPIError:
    raw = body.encode() if isinstance(body, str) else body
    all_headers = {
        "Content-Type": content_type,
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    return error_from_response(status, httpx.Headers(all_headers), raw)


# --- the 21 real bodies recorded by huggingface.js --------------------------------

RECORDED = json.loads(DATA.read_text(encoding="utf-8"))
CATALOGUE = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))


def test_data_files_are_complete() -> None:
    assert len(RECORDED) == 21
    assert len({e["class"] for e in CATALOGUE}) == 9  # every class the router answers with


@pytest.mark.parametrize("record", RECORDED, ids=[str(i) for i in range(len(RECORDED))])
def test_recorded_huggingface_js_body_maps_to_class_and_message(record: dict) -> None:
    err = from_response(record["status"], record["body"], record["content_type"])
    assert type(err).__name__ == record["expected_class"]
    assert err.status_code == record["status"]
    assert err.message.startswith(record["expected_message_start"])
    assert len(err.message) <= EXCERPT_CHARS
    assert "\n" not in err.message
    assert err.body == excerpt(record["body"])


def test_long_recorded_message_is_cut_with_ellipsis() -> None:
    err = from_response(400, RECORDED[20]["body"])
    assert len(err.message) == EXCERPT_CHARS
    assert err.message.endswith("...")


# --- catalogue of hf-router-facts §5.2 ------------------------------------------------

TGI_TOTAL = (
    "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 1512. "
    "Given: 2 `inputs` tokens and 10000 `max_new_tokens`"
)


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e["note"] for e in CATALOGUE])
def test_catalogue_body_maps_to_class_message_and_request_id(entry: dict) -> None:
    headers = httpx.Headers(entry["headers"])
    err = error_from_response(entry["status"], headers, entry["body"].encode())
    assert type(err).__name__ == entry["class"]
    assert err.status_code == entry["status"]
    assert err.message == entry["message"]
    assert err.request_id == headers.get("x-request-id")
    assert err.body == excerpt(entry["body"])


def test_model_not_supported_code_wins_without_telltale_message() -> None:
    body = {"error": {"message": "Nope.", "code": "model_not_supported"}}
    assert type(from_response(400, json.dumps(body))) is ModelNotSupportedError


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",
        "The prompt is too long: 140000, model maximum context length: 131072",
        "Input is too large for the context window of this model",
        "Requested tokens exceed context length",
        "prompt is too long: 210000 tokens > 200000 maximum",
    ],
)
def test_context_length_messages_give_input_too_long(message: str) -> None:
    err = from_response(
        400, json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
    )
    assert isinstance(err, InputTooLongError)
    assert isinstance(err, InvalidRequestError)
    assert isinstance(err, core.ContextOverflowError)


def test_tgi_input_length_message_gives_input_too_long() -> None:
    body = {
        "error": "Input validation error: `inputs` must have less than 4096 tokens. Given: 5000",
        "error_type": "validation",
    }
    assert isinstance(from_response(422, json.dumps(body)), InputTooLongError)


def test_context_length_wording_on_5xx_stays_provider_error() -> None:
    err = from_response(500, json.dumps({"error": "maximum context length exceeded"}))
    assert type(err) is ProviderError


# --- headers, other body kinds ------------------------------------------------------


def test_request_id_comes_from_x_request_id_header() -> None:
    err = from_response(
        401, '{"error":"Invalid username or password."}', X_Request_Id="Root=1-ab;cd"
    )
    assert err.request_id == "Root=1-ab;cd"
    assert from_response(401, "{}").request_id is None


def test_x_error_message_header_used_for_empty_body() -> None:
    err = from_response(401, b"", "", X_Error_Message="Invalid username or password.")
    assert type(err) is AuthenticationError
    assert err.message == "Invalid username or password."


def test_body_message_wins_over_x_error_message_header() -> None:
    err = from_response(404, '{"error":"Repository not found"}', X_Error_Message="header text")
    assert err.message == "Repository not found"


@pytest.mark.parametrize("body", [b"", b"{}", b"null", b"[]"])
def test_body_without_any_message_says_so(body: bytes) -> None:
    err = from_response(500, body)
    assert type(err) is ProviderError
    assert err.message == "no error message"


def test_text_plain_body_becomes_the_message() -> None:
    text = "Failed to deserialize the JSON body into the target type: missing field `messages`"
    err = from_response(422, text + "\n", "text/plain; charset=utf-8")
    assert type(err) is InvalidRequestError
    assert err.message == text


def test_non_utf8_body_does_not_raise() -> None:
    err = from_response(502, b"bad \xff\xfe gateway", "text/plain")
    assert type(err) is ProviderError
    assert err.message.startswith("bad ")


HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>"
    + "<p>secret internals</p>" * 200
    + "</body></html>"
)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-8", HTML_PAGE),
        ("", HTML_PAGE),
        (JSON, "  \n<html><title>502 Bad Gateway</title><body>x</body></html>"),
    ],
    ids=["html-content-type", "no-content-type", "html-with-json-content-type"],
)
def test_html_body_is_summarised_never_dumped(content_type: str, body: str) -> None:
    err = from_response(502, body, content_type, x_request_id="r9")
    assert type(err) is ProviderError
    assert err.message == "HTML error page: 502 Bad Gateway"
    assert "<" not in str(err)
    assert "secret" not in str(err)
    assert err.body is not None and len(err.body) <= EXCERPT_CHARS


def test_html_body_without_title() -> None:
    err = from_response(503, "<html><body>down</body></html>", "text/html")
    assert err.message == "HTML error page"


def test_fastapi_detail_list_is_flattened() -> None:
    detail = [
        {"type": "missing", "loc": ["body", "messages"], "msg": "Field required"},
        {"type": "int", "loc": ["body", "max_tokens"], "msg": "Input should be an integer"},
    ]
    err = from_response(422, json.dumps({"detail": detail}))
    assert (
        err.message == "body.messages: Field required; body.max_tokens: Input should be an integer"
    )


def test_openai_error_object_without_message_is_dumped() -> None:
    err = from_response(400, json.dumps({"error": {"code": "bad_thing"}}))
    assert type(err) is InvalidRequestError
    assert err.message == '{"code": "bad_thing"}'


# --- 429 and Retry-After -------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"Retry-After-Ms": "1500"}, 1.5),
        ({}, None),
    ],
    ids=["seconds", "fraction", "ms", "absent"],
)
def test_429_carries_retry_after(headers: dict[str, str], expected: float | None) -> None:
    err = error_from_response(429, httpx.Headers(headers), b'{"error":"slow down"}')
    assert type(err) is RateLimitError
    assert err.retry_after == expected
    assert err.message == "slow down"


def test_429_retry_after_http_date() -> None:
    date = email.utils.formatdate(time.time() + 120, usegmt=True)
    err = error_from_response(429, httpx.Headers({"Retry-After": date}), b"")
    assert isinstance(err, RateLimitError)
    assert err.retry_after is not None
    assert 115.0 <= err.retry_after <= 120.0


# --- errors inside a 200 stream -------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "cls", "status"),
    [
        ("validation", InvalidRequestError, 422),
        ("template_error", InvalidRequestError, 422),
        ("overloaded", ProviderError, 503),
        ("generation", ProviderError, 500),
        ("incomplete_generation", ProviderError, 500),
        ("something_new", ProviderError, 500),
    ],
)
def test_stream_event_tgi_error_type(
    error_type: str, cls: type[HuggingFaceAPIError], status: int
) -> None:
    err = error_from_event({"error": "it went wrong", "error_type": error_type})
    assert type(err) is cls
    assert err.status_code == status
    assert err.message == "error event in stream: it went wrong"


def test_stream_event_with_only_error_type() -> None:
    err = error_from_event({"error_type": "overloaded"})
    assert type(err) is ProviderError
    assert err.status_code == 503
    assert "overloaded" in err.message


def test_stream_event_openai_shape_with_http_status_code() -> None:
    payload = {
        "error": {
            "message": "Input validation error: `top_p` must be > 0.0",
            "http_status_code": 422,
        }
    }
    err = error_from_event(payload)
    assert type(err) is InvalidRequestError
    assert err.status_code == 422
    assert err.message == "error event in stream: Input validation error: `top_p` must be > 0.0"


def test_stream_event_plain_string_is_provider_error() -> None:
    err = error_from_event({"error": "boom"})
    assert type(err) is ProviderError
    assert err.status_code == 500
    assert err.message == "error event in stream: boom"
    assert err.body == '{"error": "boom"}'


def test_stream_event_validation_about_length_is_input_too_long() -> None:
    err = error_from_event({"error": TGI_TOTAL, "error_type": "validation"})
    assert type(err) is InputTooLongError


def test_stream_event_body_keeps_non_ascii() -> None:
    assert "Zürich" in (error_from_event({"error": "Zürich is down"}).body or "")


# --- excerpt ----------------------------------------------------------------------------


def test_excerpt_collapses_whitespace_and_cuts() -> None:
    assert excerpt("  a \n\t b  ") == "a b"
    assert excerpt("x" * EXCERPT_CHARS) == "x" * EXCERPT_CHARS
    cut = excerpt("x" * (EXCERPT_CHARS + 1))
    assert cut == "x" * (EXCERPT_CHARS - 3) + "..."
    assert excerpt("abcdefghij", limit=8) == "abcde..."


# --- error classes ----------------------------------------------------------------------

CORE_BASES = {
    "MissingAuthError": core.ModelAuthenticationError,
    "AuthenticationError": core.ModelAuthenticationError,
    "PermissionDeniedError": core.ModelPermissionDeniedError,
    "PaymentRequiredError": core.ModelError,
    "ModelNotSupportedError": core.ModelNotFoundError,
    "InvalidRequestError": core.ModelInvalidRequestError,
    "InputTooLongError": core.ContextOverflowError,
    "ParameterNotSupportedError": core.ModelInvalidRequestError,
    "NoProviderMatchesError": core.ModelNotFoundError,
    "RateLimitError": core.ModelRateLimitError,
    "ProviderError": core.ModelAPIError,
    "MalformedResponseError": core.ModelAPIError,
    "ResponseTooLargeError": core.ModelAPIError,
    "APIConnectionError": core.ModelConnectionError,
    "APITimeoutError": core.ModelTimeoutError,
    "AllProvidersFailedError": core.ModelError,
    "HuggingFaceAPIError": core.ModelError,
}


def test_every_error_class_has_its_documented_core_base() -> None:
    assert set(errors.__all__) == set(CORE_BASES)
    for name, base in CORE_BASES.items():
        cls = getattr(errors, name)
        assert issubclass(cls, HuggingFaceAPIError), name
        assert issubclass(cls, base), name
    assert issubclass(errors.InputTooLongError, errors.InvalidRequestError)
    assert issubclass(errors.MalformedResponseError, errors.ProviderError)
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)


def test_retryable_flags_follow_langchain_core() -> None:
    assert RateLimitError("x").is_retryable
    assert ProviderError("x").is_retryable
    assert errors.APITimeoutError("x").is_retryable
    assert not AuthenticationError("x").is_retryable
    assert not InvalidRequestError("x").is_retryable


def test_str_names_provider_model_status_and_request_id() -> None:
    err = ProviderError("boom", status_code=502, provider="together", model="m/x", request_id="r1")
    assert str(err) == "boom (provider=together, model=m/x, status=502, request_id=r1)"
    assert str(ProviderError("boom")) == "boom"
    assert str(ProviderError("boom", status_code=503)) == "boom (status=503)"


def test_with_context_fills_only_missing_fields() -> None:
    err = error_from_response(503, httpx.Headers({"x-request-id": "from-header"}), b"{}")
    same = err.with_context(provider="novita", model="m/x", request_id="other")
    assert same is err
    assert (err.provider, err.model, err.request_id) == ("novita", "m/x", "from-header")
    assert "provider=novita" in str(err) and "request_id=from-header" in str(err)


def test_all_providers_failed_lists_each_provider() -> None:
    failures = [
        RateLimitError("slow", status_code=429, provider="together"),
        ProviderError("down", status_code=503, provider="novita", request_id="r-2"),
        errors.APIConnectionError("refused", provider="groq"),
    ]
    err = AllProvidersFailedError(failures, model="m/x")
    assert err.errors == failures
    assert err.is_retryable
    assert err.message == (
        "All providers failed: together: RateLimitError 429 slow; "
        "novita: ProviderError 503 down [request_id=r-2]; groq: APIConnectionError refused"
    )
    assert "model=m/x" in str(err)
    assert not AllProvidersFailedError([PaymentRequiredError("p")], model="m/x").is_retryable
