"""Replays every recording of `tests/corpus/` in every call mode, over loopback.

Each recorded response (status, headers, body bytes) is served by a real HTTP
server on 127.0.0.1 and read with `invoke`, `ainvoke`, `stream` and `astream`,
and event streams once more with the body cut into pieces of 1-7 bytes. What
the user gets is compared with what `tests/corpus_oracle.py` reads from the
same bytes with its own parsing. `python -m tests.corpus_replay` prints the
counts per source, provider and mode.
"""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from langchain_hfapi import ChatHuggingFaceAPI, ModelNotSupportedError
from tests.corpus_oracle import Record, expect, load_corpus
from tests.corpus_replay import check, modes_for, replay, served
from tests.helpers import MODES, run
from tests.replay_server import ReplayServer
from tests.router_server import RouterServer, Step

RECORDS = load_corpus()
BY_ID = {record.id: record for record in RECORDS}


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    with ReplayServer.running() as server:
        for number, record in enumerate(RECORDS):
            server.add(str(number), served(record))
        yield server


@pytest.fixture(scope="module")
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(), timeout=5) as client:
        yield client


def test_corpus_holds_every_source_with_hundreds_of_records() -> None:
    sources = Counter(record.source for record in RECORDS)
    assert set(sources) >= {"huggingface_hub", "huggingface_js", "tgi", "pydantic_ai"}
    assert len(RECORDS) > 1000
    assert sum(record.is_stream for record in RECORDS) > 200
    assert sum(record.status >= 400 for record in RECORDS) > 40
    assert len(BY_ID) == len(RECORDS), "record ids must be unique"


@pytest.mark.parametrize("number", range(len(RECORDS)), ids=[r.id for r in RECORDS])
async def test_recording_gives_what_its_bytes_say_in_every_mode(
    number: int, replay_server: ReplayServer, http_client: httpx.Client
) -> None:
    record = RECORDS[number]
    exp = expect(record)
    problems = {}
    for mode in modes_for(record):
        outcome = await replay(replay_server, str(number), mode, http_client)
        if found := check(exp, outcome, mode):
            problems[mode] = found
    assert not problems


# Named quirks, each checked on the recording that shows it, with values read
# from the recording by eye (the oracle above checks all the others).


def _record(prefix: str) -> tuple[int, Record]:
    number, record = next((n, r) for n, r in enumerate(RECORDS) if r.id.startswith(prefix))
    return number, record


async def _outcome(server: ReplayServer, client: httpx.Client, prefix: str, mode: str) -> object:
    number, _ = _record(prefix)
    return await replay(server, str(number), mode, client)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_tgi_1_4_single_tool_call_object_with_parameters_and_integer_id(
    replay_server: ReplayServer, http_client: httpx.Client, mode: str
) -> None:
    prefix = "tgi/test_tools_llama/test_flash_llama_grammar_tools/7a37655d"
    assert b'"parameters"' in _record(prefix)[1].body
    out = await _outcome(replay_server, http_client, prefix, mode)
    (call,) = out.message.tool_calls  # type: ignore[attr-defined]
    assert call["name"] == "tools"
    assert call["args"] == {"format": "celsius", "location": "San Francisco", "num_days": 2}
    assert call["id"] == "0"


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream", "stream-split"])
async def test_tgi_3_1_stream_unwraps_the_named_function_of_a_nameless_call(
    replay_server: ReplayServer, http_client: httpx.Client, mode: str
) -> None:
    prefix = "tgi/test_tools_llama/test_flash_llama_grammar_tools_openai/175a0590"
    assert b'"arguments":"function","name":null' in _record(prefix)[1].body
    out = await _outcome(replay_server, http_client, prefix, mode)
    (call,) = out.message.tool_calls  # type: ignore[attr-defined]
    assert call["name"] == "get_current_weather"
    assert call["args"] == {"location": "Brooklyn, New York", "format": "celsius"}
    assert not out.message.invalid_tool_calls  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["stream", "astream", "stream-split", "astream-split"])
async def test_error_event_after_text_raises_with_the_delivered_text_as_partial_message(
    replay_server: ReplayServer, http_client: httpx.Client, mode: str
) -> None:
    prefix = "pydantic_ai/test_groq/test_tool_use_failed_error_streaming_with_text/"
    out = await _outcome(replay_server, http_client, prefix, mode)
    err = out.error  # type: ignore[attr-defined]
    assert type(err).__name__ == "InvalidRequestError"
    assert err.status_code == 400
    assert "Tool choice is required" in str(err)
    assert "".join(c.text for c in out.chunks) == "maybe"  # type: ignore[attr-defined]
    assert err.partial_message.content == "maybe"
    assert err.partial_message.additional_kwargs["reasoning_content"].startswith("The user")


@pytest.mark.parametrize("mode", ["invoke", "stream", "astream-split"])
async def test_tgi_1_4_events_separated_by_one_newline_are_all_read(
    replay_server: ReplayServer, http_client: httpx.Client, mode: str
) -> None:
    prefix = "huggingface_hub/test_async_chat_completion_with_stream/2024-03-14/"
    assert b'}\ndata:{"id"' in _record(prefix)[1].body
    out = await _outcome(replay_server, http_client, prefix, mode)
    msg = out.message  # type: ignore[attr-defined]
    assert msg.content.startswith("Deep Learning") and msg.content.endswith(" that")
    assert msg.response_metadata["finish_reason"] == "length"


# "This provider does not serve this model" bodies move on to the next provider.

NOT_SERVED = [
    ("huggingface_js/hyperbolic/x/nostream/2025-02-10/", 400),
    ("huggingface_js/hf-inference/openai-community/gpt2/stream/2024-05-04/", 400),
    ("pydantic_ai/test_openrouter/test_openrouter_errors_raised/111dda9b", 404),
    ("pydantic_ai/test_groq/test_tool_regular_error/", 404),
]


@pytest.mark.parametrize(("prefix", "status"), NOT_SERVED)
@pytest.mark.parametrize("mode", MODES)
async def test_recorded_model_not_served_answer_moves_on_to_the_next_provider(
    router: RouterServer, make_llm: object, prefix: str, status: int, mode: str
) -> None:
    _, record = _record(prefix)
    assert record.status == status
    step = Step(status=record.status, body=record.body, content_type=record.content_type)
    router.script("together", step)
    llm: ChatHuggingFaceAPI = make_llm(provider=["together", "fireworks-ai"])  # type: ignore[operator]
    msg = await run(llm, mode, "hi")
    assert msg.content == "Hello from fireworks-ai."
    (attempt,) = msg.response_metadata["attempts"]
    assert attempt == {
        "provider": "together",
        "error": ModelNotSupportedError.__name__,
        "status_code": status,
    }
