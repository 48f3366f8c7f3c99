"""No token, password or Authorization value gets into what the package reports.

A hostile loopback server (`hostile_server.py`) echoes the Authorization header,
a foreign token and a URL password back in error bodies, stream events and
headers; every error, its `args`, its cause/context chain, its formatted
traceback, the package's warnings and its log lines are searched for them.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from langchain_hfapi import (
    ChatHuggingFaceAPI,
    HuggingFaceAPIError,
    errors,
    get_mapping,
    get_models,
)
from langchain_hfapi.errors import (
    APIConnectionError,
    AuthenticationError,
    InvalidRequestError,
    ModelNotSupportedError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
)
from tests.conftest import TOKEN
from tests.helpers import MODES, MakeLLM, collect, run
from tests.router_server import RouterServer
from tests.unit_tests.hostile_server import FOREIGN_TOKEN, URL_PASSWORD, HostileServer

REAL_SHAPED = "hf_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3f"  # fake, shaped like a real one
TOKENS = [TOKEN, REAL_SHAPED]


def reported_texts(err: BaseException) -> list[str]:
    """Everything a user or a log may show of an error and what it chains to."""
    texts = ["".join(traceback.format_exception(err))]
    seen: set[int] = set()
    pending: list[BaseException | None] = [err]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        texts += [str(exc), repr(exc), repr(exc.args)]
        texts += [str(getattr(exc, name, "")) for name in ("message", "body", "request_id")]
        inner = getattr(exc, "errors", None)  # AllProvidersFailedError's list
        pending += [exc.__cause__, exc.__context__, *(inner if isinstance(inner, list) else [])]
    return texts


def assert_clean(texts: list[str], *secrets: str) -> None:
    """Checks that none of `secrets` appears in any of `texts`."""
    for secret in secrets:
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{secret[:6]}... leaked in {leaks[0][:300]!r}"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer.running() as server:
        yield server


def hostile_llm(
    server: HostileServer, token: str, provider: str | None = "fastest"
) -> ChatHuggingFaceAPI:
    """A model pointed at the hostile server ("fastest": no Hub lookup first)."""
    return ChatHuggingFaceAPI(
        model="meta-llama/Llama-3.3-70B-Instruct",
        provider=provider,
        api_key=token,
        router_url=server.url,
        hub_url=server.url,
        max_retries=0,
        timeout=5,
    )


@pytest.mark.parametrize("token", TOKENS, ids=["configured", "hf-shaped"])
@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("4xx", InvalidRequestError),
        ("500", ProviderError),
        ("stream_error", HuggingFaceAPIError),
        ("bad_status_line", APIConnectionError),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_echoed_authorization_is_absent_from_errors_and_their_chain(
    hostile: HostileServer,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    reply: Any,
    error: type[Exception],
    token: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="langchain_hfapi")
    hostile.reply = reply
    with pytest.raises(error) as info:
        await run(hostile_llm(hostile, token), mode)
    assert hostile.requests == 2  # the catalog's GET (a 500 that echoes, logged) and the chat
    assert "***" in str(info.value)  # the echo was there, and was masked
    texts = [*reported_texts(info.value), caplog.text]
    assert_clean(texts, token, FOREIGN_TOKEN, URL_PASSWORD)


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_echoed_token_after_the_first_token_is_masked(
    hostile: HostileServer, mode: str
) -> None:
    hostile.reply = "error_after_token"
    chunks, err = await collect(hostile_llm(hostile, TOKEN), mode, "hi")
    assert "Hi" in "".join(c.text for c in chunks)
    assert isinstance(err, ProviderError)
    assert_clean(reported_texts(err), TOKEN, FOREIGN_TOKEN, URL_PASSWORD)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, PermissionDeniedError),
        (404, ModelNotSupportedError),
        (413, InvalidRequestError),
        (429, RateLimitError),
    ],
)
def test_every_http_error_class_masks_the_echoed_token(
    hostile: HostileServer, status: int, error: type[HuggingFaceAPIError]
) -> None:
    hostile.status = status
    with pytest.raises(error) as info:
        hostile_llm(hostile, TOKEN).invoke("hi")
    assert info.value.status_code == status
    assert_clean(reported_texts(info.value), TOKEN, FOREIGN_TOKEN, URL_PASSWORD)


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_class_masks_secrets_given_to_it(name: str) -> None:
    text = f"Authorization: Bearer {TOKEN}; {REAL_SHAPED}; https://u:{URL_PASSWORD}@h/"
    cls = getattr(errors, name)
    inner = errors.ProviderError(text, body=text, request_id=text, provider="p")
    if cls is errors.AllProvidersFailedError:
        err = cls([inner, errors.RateLimitError(text, provider="q")], model="m")
    else:
        err = cls(text, body=text, request_id=text).with_context(request_id=text)
    assert "***" in str(err)
    assert_clean(reported_texts(err), TOKEN, REAL_SHAPED, URL_PASSWORD)


def test_header_refused_by_httpx_is_masked_in_the_error_and_its_cause(
    router: RouterServer,
) -> None:
    with httpx.Client(headers={"X-Debug": f"Bearer {REAL_SHAPED}\n"}) as http:
        llm = ChatHuggingFaceAPI(
            api_key=TOKEN, router_url=router.url, provider="fastest", http_client=http
        )
        with pytest.raises(ValueError, match="could not be sent") as info:
            llm.invoke("hi")
    assert_clean(reported_texts(info.value), REAL_SHAPED, TOKEN)
    assert router.requests == []


def test_echo_from_the_hub_is_masked_in_the_error(hostile: HostileServer) -> None:
    llm = hostile_llm(hostile, REAL_SHAPED, provider=None)
    with pytest.raises(ProviderError) as info:
        llm.invoke("hi")
    assert info.value.provider == "hub"
    assert_clean(reported_texts(info.value), REAL_SHAPED, FOREIGN_TOKEN, URL_PASSWORD)


def test_log_line_of_the_model_list_fallback_holds_no_secret(
    hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_hfapi")
    models = get_models(api_key=REAL_SHAPED, router_url=hostile.url)
    assert models  # the built-in list
    assert "Could not list router models" in caplog.text
    assert "***" in caplog.text
    assert_clean([caplog.text], REAL_SHAPED, FOREIGN_TOKEN, URL_PASSWORD)


def test_mapping_helper_error_holds_no_secret(hostile: HostileServer) -> None:
    with pytest.raises(ProviderError) as info:
        get_mapping("llama-3.3-70b", api_key=TOKEN, hub_url=hostile.url)
    assert_clean(reported_texts(info.value), TOKEN, FOREIGN_TOKEN, URL_PASSWORD)


def test_streamed_answer_to_invoke_quoting_the_token_is_masked(hostile: HostileServer) -> None:
    hostile.reply = "stream_error"  # an event stream (read in full) where JSON was asked for
    with pytest.raises(ProviderError) as info:
        hostile_llm(hostile, TOKEN).invoke("hi")
    assert_clean(reported_texts(info.value), TOKEN, FOREIGN_TOKEN, URL_PASSWORD)


@pytest.mark.parametrize(
    "token",
    ["hf_abc\ndef_0123456789", "hf_abc\rdef", "hf_\x00abcdefgh", "hf_abcd\u00e9fgh0123"],
    ids=["newline", "carriage-return", "nul", "non-ascii"],
)
@pytest.mark.parametrize("mode", MODES)
async def test_token_with_newline_is_refused_before_any_request(
    router: RouterServer, token: str, mode: str
) -> None:
    with pytest.raises(ValueError, match="Hugging Face token from api_key") as info:
        llm = ChatHuggingFaceAPI(api_key=token, router_url=router.url, hub_url=router.url)
        await run(llm, mode)
    assert_clean(reported_texts(info.value), token, token[3:7])
    assert router.requests == []


def test_token_with_surrounding_whitespace_is_stripped(router: RouterServer) -> None:
    llm = ChatHuggingFaceAPI(api_key=f" {TOKEN}\n", router_url=router.url, hub_url=router.url)
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == TOKEN
    llm.invoke("hi")
    assert {r.headers["authorization"] for r in router.requests} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize("variable", ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"])
def test_token_from_the_environment_with_a_line_break_is_refused(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "hf_leaked\r\nX-Injected: 1")
    with pytest.raises(ValueError, match=variable) as info:
        ChatHuggingFaceAPI(router_url=router.url, hub_url=router.url)
    assert_clean(reported_texts(info.value), "hf_leaked", "X-Injected")
    assert router.requests == []


def test_token_file_with_a_non_ascii_character_is_refused(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    path.write_text("hf_secretfromfile\u00e9\n", encoding="utf-8")
    monkeypatch.setenv("HF_TOKEN_PATH", str(path))
    with pytest.raises(ValueError, match="token file") as info:
        ChatHuggingFaceAPI(router_url=router.url, hub_url=router.url)
    assert_clean(reported_texts(info.value), "hf_secretfromfile")
    assert router.requests == []


def test_token_from_the_environment_is_stripped(
    make_llm: MakeLLM, router: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", f"  {TOKEN}\r\n")
    ChatHuggingFaceAPI(router_url=router.url, hub_url=router.url, timeout=5).invoke("hi")
    assert {r.headers["authorization"] for r in router.requests} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize("field", ["router_url", "hub_url", "base_url"])
def test_url_with_a_password_is_refused_without_quoting_it(
    router: RouterServer, field: str
) -> None:
    options: dict[str, Any] = {"router_url": router.url, "hub_url": router.url, "api_key": TOKEN}
    options[field] = router.url.replace("http://", f"http://admin:{URL_PASSWORD}@")
    with pytest.raises(ValueError, match=f"{field} must not hold a user name or password") as info:
        ChatHuggingFaceAPI(**options)
    assert_clean(reported_texts(info.value), URL_PASSWORD)
    assert router.requests == []


def test_a_good_url_is_checked_once_and_a_bad_one_every_time() -> None:
    from langchain_hfapi import _input_checks

    for port in range(2000, 2000 + _input_checks.MAX_GOOD_URLS + 10):
        _input_checks.check_url("router_url", f"http://127.0.0.1:{port}")
    assert len(_input_checks._GOOD_URLS) <= _input_checks.MAX_GOOD_URLS
    bad = f"http://admin:{URL_PASSWORD}@127.0.0.1:2000"
    for _ in range(2):
        with pytest.raises(ValueError, match="user name or password"):
            _input_checks.check_url("router_url", bad)
    assert bad not in _input_checks._GOOD_URLS


def test_a_token_remembered_again_is_still_redacted_with_the_others() -> None:
    from langchain_hfapi._redact import redact, remember_secret

    first, second = "sk-first-configured-secret", "sk-second-configured-secret"
    for secret in (first, first, second, second, first):
        remember_secret(secret)
    assert redact(f"{first} and {second}") == "*** and ***"


def test_helpers_refuse_a_url_with_a_password(router: RouterServer) -> None:
    url = router.url.replace("http://", f"http://admin:{URL_PASSWORD}@")
    for call in (
        lambda: get_models(api_key=TOKEN, router_url=url),
        lambda: get_mapping("llama-3.3-70b", api_key=TOKEN, hub_url=url),
    ):
        with pytest.raises(ValueError, match="user name or password") as info:
            call()
        assert_clean(reported_texts(info.value), URL_PASSWORD)
    assert router.requests == []


def test_validation_errors_never_show_the_token(router: RouterServer) -> None:
    with pytest.raises(ValueError, match="timeout") as info:
        ChatHuggingFaceAPI(api_key=REAL_SHAPED, router_url=router.url, timeout=-1)
    assert_clean(reported_texts(info.value), REAL_SHAPED)
    with pytest.raises(ValueError, match="default_headers") as info:
        ChatHuggingFaceAPI(
            api_key=TOKEN,
            default_headers={"Authorization": f"Bearer {REAL_SHAPED}", "X-Bad": "\n"},
        )
    assert_clean(reported_texts(info.value), REAL_SHAPED, TOKEN)


def test_warnings_of_the_package_hold_no_token() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ChatHuggingFaceAPI(api_key=TOKEN, **{f"x_{REAL_SHAPED}": 1})
    assert caught
    assert_clean([str(w.message) for w in caught], REAL_SHAPED)
