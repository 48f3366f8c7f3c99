"""The interactive `chat` session, driven through a pseudo-terminal against the loopback router."""

from __future__ import annotations

import io
import sys
import time

import pytest

from tests.router_server import RouterServer, Step
from tests.unit_tests.cli_helpers import Terminal, run_main, urls


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def test_two_turns_keep_history_and_provider_switches_between_them(router: RouterServer) -> None:
    with Terminal("chat", *urls(router)) as term:
        term.expect("> ")
        term.type("first question\n")
        term.expect(r"\[provider: together \| model: meta-llama/Llama-3.3-70B-Instruct")
        term.expect(r"Hello from together\.\n")
        term.expect("> ")
        term.type("/provider fireworks-ai\n")
        term.expect(r"\nprovider: fireworks-ai\n")
        term.expect("> ")
        term.type("second question\n")
        term.expect(r"\[provider: fireworks-ai \|")
        term.expect(r"Hello from fireworks-ai\.\n")
        term.expect("> ")
        term.type("/exit\n")
        assert term.wait() == 0
    first, second = router.chat_requests()
    assert first.json["messages"] == [user("first question")]
    assert second.json["messages"] == [
        user("first question"),
        {"role": "assistant", "content": "Hello from together."},
        user("second question"),
    ]
    assert (first.provider, second.provider) == ("together", "fireworks-ai")


def test_model_switch_applies_to_the_next_turn_and_a_bad_name_keeps_the_model(
    router: RouterServer,
) -> None:
    with Terminal("chat", *urls(router)) as term:
        term.expect("> ")
        term.type("/model not a repo\n")
        term.expect(r"error: .*\n")
        term.expect("> ")
        term.type("/model qwen-2.5-72b\n")
        term.expect(r"model: qwen-2.5-72b\n")
        term.expect("> ")
        term.type("hi\n")
        term.expect(r"\[provider: together \| model: Qwen/Qwen2.5-72B-Instruct")
        term.expect("> ")
        term.ctrl("d")
        assert term.wait() == 0
    assert router.chat_requests()[0].json["model"] == "Qwen/Qwen2.5-72B-Instruct:together"


def test_ctrl_c_mid_answer_stops_that_answer_and_keeps_the_session(router: RouterServer) -> None:
    slow = " ".join(f"w{n}" for n in range(300))
    router.script("together", Step.text(slow, event_delay=0.05))
    with Terminal("chat", *urls(router)) as term:
        term.expect("> ")
        term.type("tell me a long story\n")
        term.expect(r"w3 ")
        term.ctrl("c")
        term.expect(r"\[answer interrupted\]\n")
        term.expect("> ")
        term.type("and now?\n")
        term.expect(r"Hello from together\.\n")
        term.expect("> ")
        term.ctrl("d")
        assert term.wait() == 0
    _interrupted, after = router.chat_requests()
    messages = after.json["messages"]
    assert messages[0] == user("tell me a long story")
    assert messages[1]["role"] == "assistant"
    assert messages[1]["content"].startswith("w0 w1 w2 w3")
    assert len(messages[1]["content"]) < len(slow)
    assert messages[2] == user("and now?")


def test_ctrl_c_at_the_prompt_ends_the_session(router: RouterServer) -> None:
    with Terminal("chat", *urls(router)) as term:
        term.expect("> ")
        # The prompt is written just before the read starts; a Ctrl-C within those
        # microseconds would only be seen after the read (as in any Python input()).
        time.sleep(0.5)
        term.ctrl("c")
        assert term.wait() == 0
    assert router.requests == []


def test_failed_turn_prints_the_error_and_the_session_goes_on(router: RouterServer) -> None:
    router.script("together", Step.error(400, {"error": {"message": "bad request"}}))
    with Terminal("chat", *urls(router)) as term:
        term.expect("> ")
        term.type("first\n")
        term.expect(rf"error: the router at {router.url}: bad request")
        term.expect("> ")
        term.type("second\n")
        term.expect(r"Hello from together\.\n")
        term.type("/exit\n")
        assert term.wait() == 0
    assert router.chat_requests()[-1].json["messages"] == [user("second")]


def test_session_without_a_token_exits_2_before_the_first_prompt(
    router: RouterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty(""))
    code, out, err = run_main("chat", *urls(router))
    assert (code, out) == (2, "")
    assert err.startswith("error: No Hugging Face token found.")
    assert router.requests == []
