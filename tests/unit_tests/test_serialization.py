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
