"""The token never leaks: repr, dumps, errors, logs, cassettes, other hosts."""

from __future__ import annotations

import logging

import pytest
from langchain_core.load import dumpd

from langchain_hfapi import AuthenticationError, HuggingFaceAPIError
from tests.conftest import TOKEN
from tests.helpers import MakeLLM
from tests.router_server import RouterServer, Step


def test_token_is_absent_from_repr_str_and_dumps(make_llm: MakeLLM) -> None:
    llm = make_llm()
    for text in (
        repr(llm),
        str(llm),
        str(llm.model_dump()),
        llm.model_dump_json(),
        str(dumpd(llm)),
    ):
        assert TOKEN not in text
    assert dumpd(llm)["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["HF_TOKEN"]}


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_token_is_absent_from_errors_and_logs(
    make_llm: MakeLLM, router: RouterServer, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.DEBUG)
    router.script("together", Step.error(401, {"error": "Invalid username or password."}))
    llm = make_llm(provider="together")
    with pytest.raises(AuthenticationError) as info:
        llm.invoke("hi") if mode == "invoke" else list(llm.stream("hi"))
    err = info.value
    for text in (str(err), repr(err), err.body or "", str(err.__cause__), caplog.text):
        assert TOKEN not in text
    assert "together" in str(err)
    assert caplog.text  # httpx did log the requests


def test_redirects_are_not_followed_with_the_token(make_llm: MakeLLM, router: RouterServer) -> None:
    router.script("together", Step.error(307, headers={"Location": "http://127.0.0.1:9/steal"}))
    with pytest.raises(HuggingFaceAPIError) as info:
        make_llm(provider="together", max_retries=0).invoke("hi")
    assert info.value.status_code == 307
    assert [r.path for r in router.chat_requests()] == ["/v1/chat/completions"]


def test_token_goes_only_to_the_configured_hosts(make_llm: MakeLLM, router: RouterServer) -> None:
    make_llm().invoke("hi")
    assert {r.route for r in router.requests} == {"hub", "models", "chat"}
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in router.requests)


def test_cassettes_hold_no_authorization_header() -> None:
    from pathlib import Path

    for path in (Path(__file__).parent.parent / "cassettes").rglob("*.yaml"):
        text = path.read_text()
        assert "Bearer hf_" not in text
        assert "\n      Authorization:" not in text, path
