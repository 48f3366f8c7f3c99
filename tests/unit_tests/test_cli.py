"""The command line against the loopback router."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_hfapi._cli import main
from tests.conftest import TOKEN
from tests.router_server import RouterServer, Step

ROOT = Path(__file__).resolve().parent.parent.parent


def _urls(router: RouterServer) -> list[str]:
    return ["--router-url", router.url, "--hub-url", router.url]


def test_chat_prints_provider_then_answer(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    out = io.StringIO()
    assert main(["chat", "hi", *_urls(router)], out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[provider: together | model: meta-llama/Llama-3.3-70B-Instruct")
    assert lines[1] == "Hello from together."


def test_chat_stream_names_failed_over_providers(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    router.script("together", Step.error(402, {"error": "You have depleted your monthly credits."}))
    out = io.StringIO()
    assert main(["chat", "hi", "--stream", *_urls(router)], out=out) == 0
    first, answer = out.getvalue().splitlines()[:2]
    assert "provider: fireworks-ai" in first
    assert "failed over from: together (PaymentRequiredError)" in first
    assert answer == "Hello from fireworks-ai."


def test_models_and_mapping_commands(router: RouterServer, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    assert main(["models", "--router-url", router.url], out=out) == 0
    assert "meta-llama/Llama-3.3-70B-Instruct" in out.getvalue().splitlines()
    out = io.StringIO()
    assert main(["mapping", "llama-3.3-70b", "--hub-url", router.url], out=out) == 0
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert rows[0][:3] == ["together", "live", "conversational"]
    assert rows[-1][:2] == ["hf-inference", "staging"]


def test_missing_token_explains_how_to_set_one(
    router: RouterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "hi", *_urls(router)], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "HF_TOKEN" in err
    assert "huggingface.co/settings/tokens" in err
    assert router.requests == []


def test_unreachable_router_prints_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    dead = "http://127.0.0.1:9"
    assert main(["chat", "hi", "--router-url", dead, "--hub-url", dead], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot reach" in err
    assert "Traceback" not in err


def test_python_dash_m_streams_from_the_loopback_server(router: RouterServer) -> None:
    env = {**os.environ, "HF_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "langchain_hfapi", "chat", "hi", "--stream", *_urls(router)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    first, answer = result.stdout.splitlines()[:2]
    assert first.startswith("[provider: together | model: meta-llama/Llama-3.3-70B-Instruct")
    assert answer == "Hello from together."
