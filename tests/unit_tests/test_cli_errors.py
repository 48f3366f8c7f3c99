"""Each command-line failure names what failed and exits with its own status."""

from __future__ import annotations

import io

import pytest

from langchain_hfapi._cli import main
from tests.conftest import TOKEN
from tests.router_server import RouterServer, Step
from tests.unit_tests.cli_helpers import DEAD, run_cli, run_main, urls


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)


def test_missing_token_explains_how_to_set_one(
    router: RouterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "hi", *urls(router)], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "HF_TOKEN" in err
    assert "huggingface.co/settings/tokens" in err
    assert router.requests == []


def test_unreachable_hub_prints_one_line_naming_the_hub(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["chat", "hi", "--router-url", DEAD, "--hub-url", DEAD], out=io.StringIO()) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: cannot reach the Hub at {DEAD} (check --hub-url")
    assert "Traceback" not in err


def test_unreachable_router_names_the_router(router: RouterServer) -> None:
    result = run_cli(
        "chat", "hi", "--router-url", DEAD, "--hub-url", router.url, "--max-retries", "0"
    )
    assert result.returncode == 3
    assert result.stderr.startswith(
        f"error: cannot reach the router at {DEAD} (check --router-url)"
    )
    assert result.stdout == ""


def test_down_local_base_url_server_names_that_server_not_hugging_face() -> None:
    result = run_cli(
        "chat", "hi", "--base-url", f"{DEAD}/v1", "--model", "tgi", "--max-retries", "0"
    )
    assert result.returncode == 3
    assert result.stderr.startswith(
        f"error: cannot reach the --base-url server at {DEAD}/v1 (is it running?)"
    )
    assert "Hugging Face" not in result.stderr
    assert "internet" not in result.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--router-url", "router.huggingface.co"),
        ("--hub-url", "ftp://huggingface.co"),
        ("--base-url", "http://"),
        ("--router-url", "http://127.0.0.1:99999"),
    ],
)
def test_malformed_url_is_a_usage_error_naming_the_option(
    router: RouterServer, token: None, option: str, value: str
) -> None:
    args = ["chat", "hi", "--router-url", router.url, "--hub-url", router.url, option, value]
    assert run_main(*args) == (
        2,
        "",
        f"error: {option} must be an http:// or https:// URL with a host, got {value!r}\n",
    )
    assert router.requests == []


def test_provider_dropping_the_stream_mid_answer_ends_the_partial_line_first(
    router: RouterServer,
) -> None:
    answer = " ".join(f"word{n}" for n in range(200))
    router.script("together", Step.text(answer, reset_after_bytes=1500))
    result = run_cli("chat", "hi", "--stream", *urls(router))
    assert result.returncode == 1
    assert result.stdout.startswith("word0 word1")
    assert result.stdout.endswith("\n")
    assert result.stdout.count("\n") == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: provider together dropped the stream mid-answer: ")


def test_http_error_names_the_router_and_exits_1(router: RouterServer, token: None) -> None:
    router.require_token = "hf_other"
    code, _, err = run_main("chat", "hi", *urls(router))
    assert code == 1
    assert err.startswith(f"error: the router at {router.url}: Invalid username")
    assert "status=401" in err


@pytest.mark.parametrize("option", [["--model", "not a repo"], ["--max-tokens", "0"]])
def test_invalid_settings_are_usage_errors(
    router: RouterServer, token: None, option: list[str]
) -> None:
    code, _, err = run_main("chat", "hi", *option, *urls(router))
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert router.requests == []


def test_unknown_model_on_the_hub_names_the_hub(router: RouterServer) -> None:
    code, _, err = run_main("mapping", "nobody/nothing", "--hub-url", router.url)
    assert code == 1
    assert err.startswith(f"error: the Hub at {router.url}: Repository Not Found")


def test_models_says_on_stderr_and_exits_4_when_it_shows_the_built_in_list() -> None:
    from langchain_hfapi._aliases import FALLBACK_MODELS

    code, out, err = run_main("models", "--router-url", DEAD)
    assert code == 4
    assert out.splitlines() == list(FALLBACK_MODELS)
    assert err.startswith("warning: Could not list router models (connection to ")
    assert "built-in list" in err


def test_models_exits_0_when_the_router_lists_them(router: RouterServer) -> None:
    code, out, err = run_main("models", "--router-url", router.url)
    assert (code, err) == (0, "")
    assert "meta-llama/Llama-3.3-70B-Instruct" in out.splitlines()


def test_router_answering_too_late_is_unreachable_and_says_it_timed_out(
    router: RouterServer, token: None
) -> None:
    router.script("together", Step.delay(3))
    args = ["chat", "hi", "--provider", "together", "--timeout", "0.5", "--max-retries", "0"]
    code, out, err = run_main(*args, *urls(router))
    assert (code, out) == (3, "")
    assert err.startswith(f"error: no answer in time from the router at {router.url} (check ")
