"""Serialization round trip: the token is stored as a secret reference only."""

from __future__ import annotations

import pytest
from langchain_core.load import dumpd, dumps, load

from langchain_hfapi import ChatHuggingFaceAPI


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_round_trip_with_the_class_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_round_trip_secret")
    llm = ChatHuggingFaceAPI(model="qwen-2.5-72b", provider=["groq", "together"], temperature=0)
    data = dumpd(llm)
    assert "hf_round_trip_secret" not in dumps(llm)
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["HF_TOKEN"]}
    loaded = load(
        data,
        valid_namespaces=["langchain_hfapi"],
        allowed_objects=[ChatHuggingFaceAPI],
        secrets_from_env=True,
    )
    assert isinstance(loaded, ChatHuggingFaceAPI)
    assert loaded.model == "qwen-2.5-72b"
    assert loaded.provider == ["groq", "together"]
    assert loaded.temperature == 0
    assert loaded.api_key is not None
    assert loaded.api_key.get_secret_value() == "hf_round_trip_secret"


# A fresh model per request is serialized once per distinct settings (`_serialization`):
# the shared result must be exactly what langchain-core computes for each model.
SETTINGS = [
    {"model": "llama-3.3-70b", "api_key": "hf_first_token_value"},
    {"model": "llama-3.3-70b", "api_key": "hf_other_token_value"},
    {"model": "llama-3.3-70b"},
    {"model": "x/y", "temperature": 1},
    {"model": "x/y", "max_tokens": 10, "provider": ["groq", "together"]},
    {"model": "x/y", "model_kwargs": {"a": 1}},
    {"model": "x/y", "model_kwargs": {"a": 1.0}},
    {"model": "x/y", "model_kwargs": {"a": True}},
    {"model": "x/y", "model_kwargs": {"a": {"b": [1, 2]}}},
    {"model": "x/y", "stop": ["END"], "tags": ["t"], "metadata": {"m": 1}},
    {"model": "x/y", "default_headers": {"X-Team": "a"}},
]


def langchain_core_to_json(llm: ChatHuggingFaceAPI) -> object:
    return super(ChatHuggingFaceAPI, llm).to_json()


@pytest.mark.parametrize("settings", SETTINGS, ids=range(len(SETTINGS)))
def test_serialization_shared_between_equal_models_is_langchain_cores(
    settings: dict[str, object],
) -> None:
    import json

    for _ in range(3):  # the first builds it, the next ones take the shared result
        llm = ChatHuggingFaceAPI(**settings)  # type: ignore[arg-type]
        assert json.dumps(llm.to_json()) == json.dumps(langchain_core_to_json(llm))


def test_numbers_of_different_types_are_serialized_apart() -> None:
    import json

    ones = [ChatHuggingFaceAPI(model="x/y", model_kwargs={"a": one}) for one in (1, 1.0, True)]
    assert [json.dumps(dumpd(llm)["kwargs"]["model_kwargs"]) for llm in ones] == [
        '{"a": 1}',
        '{"a": 1.0}',
        '{"a": true}',
    ]


def test_changed_fields_are_serialized_with_their_new_values() -> None:
    llm = ChatHuggingFaceAPI(model="x/y")
    assert "temperature" not in llm.to_json()["kwargs"]  # type: ignore[typeddict-item]
    llm.temperature = 0.5
    assert llm.to_json()["kwargs"]["temperature"] == 0.5  # type: ignore[typeddict-item]


def test_a_shared_serialization_is_handed_out_as_a_copy() -> None:
    first = ChatHuggingFaceAPI(model="x/y", model_kwargs={"a": [1]}).to_json()
    first["kwargs"]["model_kwargs"]["a"].append(2)  # type: ignore[typeddict-item]
    first["id"].append("changed")
    again = ChatHuggingFaceAPI(model="x/y", model_kwargs={"a": [1]}).to_json()
    assert again["kwargs"]["model_kwargs"] == {"a": [1]}  # type: ignore[typeddict-item]
    assert again["id"] == ["langchain_hfapi", "chat_models", "ChatHuggingFaceAPI"]


def test_a_value_that_cannot_be_hashed_is_serialized_without_sharing() -> None:
    llm = ChatHuggingFaceAPI(model="x/y", model_kwargs={"a": {1, 2}})
    assert llm.to_json() == langchain_core_to_json(llm)


def test_the_shared_serializations_never_hold_the_token() -> None:
    from langchain_hfapi import _serialization

    ChatHuggingFaceAPI(model="x/y", api_key="hf_never_kept_in_this_cache").to_json()
    kept = repr(list(_serialization._CACHE._values.items()))
    assert "hf_never_kept_in_this_cache" not in kept
    assert "SecretStr" not in kept
