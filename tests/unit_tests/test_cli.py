"""The command line against the loopback router: output streams, JSON, pipes, stdin, version."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import pytest

from langchain_hfapi._cli import _parser, main
from tests.conftest import TOKEN
from tests.router_server import RouterServer, Step
from tests.unit_tests.cli_helpers import LLAMA, cli_env, console_script, run_cli, run_main, urls


def test_chat_prints_the_answer_on_stdout_and_the_provider_on_stderr(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    out, err = io.StringIO(), io.StringIO()
    assert main(["chat", "hi", *urls(router)], out=out, err=err) == 0
    assert out.getvalue() == "Hello from together.\n"
    assert err.getvalue().startswith(f"[provider: together | model: {LLAMA}")


def test_chat_stream_names_failed_over_providers(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    router.script("together", Step.error(402, {"error": "You have depleted your monthly credits."}))
    out, err = io.StringIO(), io.StringIO()
    assert main(["chat", "hi", "--stream", *urls(router)], out=out, err=err) == 0
    assert "provider: fireworks-ai" in err.getvalue()
    assert "failed over from: together (PaymentRequiredError)" in err.getvalue()
    assert out.getvalue() == "Hello from fireworks-ai.\n"


def test_models_and_mapping_commands(router: RouterServer, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    assert main(["models", "--router-url", router.url], out=out) == 0
    assert "meta-llama/Llama-3.3-70B-Instruct" in out.getvalue().splitlines()
    out = io.StringIO()
    assert main(["mapping", "llama-3.3-70b", "--hub-url", router.url], out=out) == 0
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert rows[0][:3] == ["provider", "status", "task"]
    assert rows[1][:3] == ["together", "live", "conversational"]
    assert rows[-1][:2] == ["hf-inference", "staging"]


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_redirected_stdout_holds_only_the_answer(
    router: RouterServer, tmp_path: pytest.TempPathFactory, stream: bool
) -> None:
    answer = tmp_path / "answer.txt"  # type: ignore[operator]
    command = [sys.executable, "-m", "langchain_hfapi", "chat", "q", *urls(router)]
    command += ["--stream"] if stream else []
    shell = " ".join(f"'{part}'" for part in command) + f" > '{answer}'"
    result = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert answer.read_text() == "Hello from together.\n"
    assert result.stderr.startswith("[provider: together | model: ")


def test_json_prints_one_object_with_text_provider_model_request_id_usage_attempts(
    router: RouterServer,
) -> None:
    router.script("together", Step.error(503))
    result = run_cli("chat", "hi", "--json", "--max-retries", "0", *urls(router))
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert data["text"] == "Hello from fireworks-ai."
    assert (data["provider"], data["model"]) == ("fireworks-ai", LLAMA)
    assert data["request_id"] == "req-2"
    assert data["usage"] == {"input_tokens": 1, "output_tokens": 3, "total_tokens": 4}
    assert data["attempts"] == [
        {"provider": "together", "error": "ProviderError", "status_code": 503}
    ]
    assert result.stderr == ""


def test_json_with_stream_prints_the_same_object_once(router: RouterServer) -> None:
    result = run_cli("chat", "hi", "--json", "--stream", *urls(router))
    data = json.loads(result.stdout)
    assert (data["text"], data["provider"], data["finish_reason"]) == (
        "Hello from together.",
        "together",
        "stop",
    )
    assert data["usage"]["total_tokens"] == 4


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_piping_into_head_prints_the_first_line_and_exits_quietly(
    router: RouterServer, stream: bool
) -> None:
    lines = [f"line {n} of a long answer" for n in range(20000)]  # far more than a pipe buffer
    router.script("together", Step.text("\n".join(lines)))
    command = [sys.executable, "-m", "langchain_hfapi", "chat", "q", *urls(router)]
    command += ["--stream"] if stream else []
    shell = " ".join(f"'{part}'" for part in command) + ' | head -1; exit "${PIPESTATUS[0]}"'
    result = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.stdout == "line 0 of a long answer\n"
    assert "Traceback" not in result.stderr
    assert "Error" not in result.stderr
    assert result.returncode == 141


def test_dash_reads_the_question_from_stdin(router: RouterServer) -> None:
    result = run_cli("chat", "-", *urls(router), stdin="What is a\nmulti-line question?\n")
    assert result.returncode == 0, result.stderr
    sent = router.chat_requests()[-1].json
    assert sent["messages"] == [{"role": "user", "content": "What is a\nmulti-line question?"}]
    assert result.stdout == "Hello from together.\n"


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (["-"], "error: standard input is empty: no question to ask\n"),
        ([], "error: no question given: pass one, or - to read it from standard input\n"),
    ],
    ids=["dash-on-empty-stdin", "no-question-without-a-terminal"],
)
def test_missing_question_is_a_usage_error(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch, question: list[str], message: str
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert run_main("chat", *question, *urls(router)) == (2, "", message)
    assert router.requests == []


def test_version_names_the_program_as_it_was_run() -> None:
    module = run_cli("--version")
    script = subprocess.run(
        [console_script(), "--version"], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    from langchain_hfapi import __version__

    assert module.stdout == f"python -m langchain_hfapi {__version__}\n"
    assert script.stdout == f"langchain-hfapi {__version__}\n"


def test_console_script_calls_itself_langchain_hfapi_in_usage() -> None:
    script = subprocess.run(
        [console_script(), "chat", "--help"], capture_output=True, text=True, env=cli_env()
    )
    assert script.stdout.startswith("usage: langchain-hfapi chat ")
    assert run_cli("chat", "--help").stdout.startswith("usage: python -m langchain_hfapi chat ")


def test_every_option_has_help_with_its_default() -> None:
    parser = _parser("langchain-hfapi")
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.dest}"
        for name, sub in subparsers.choices.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction)
        and action.option_strings
        and "default" not in (action.help or "")
    ]
    assert missing == []
    assert all(sub.description for sub in subparsers.choices.values())
