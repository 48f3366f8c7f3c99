"""LangChain's standard unit tests for chat models."""

from __future__ import annotations

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from langchain_hfapi import ChatHuggingFaceAPI


class TestChatHuggingFaceAPIStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatHuggingFaceAPI

    @property
    def chat_model_params(self) -> dict:
        return {"model": "meta-llama/Llama-3.3-70B-Instruct", "provider": "together"}

    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        return (
            {"HF_TOKEN": "hf_test_from_env"},
            {"model": "meta-llama/Llama-3.3-70B-Instruct"},
            {"api_key": "hf_test_from_env"},
        )

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @pytest.mark.xfail(
        reason=(
            "langchain-core 1.7 lets load(allowed_objects='all') build only classes "
            "in its own mapping, so a partner class is refused; the round trip with "
            "allowed_objects=[ChatHuggingFaceAPI] is checked in test_serialization.py"
        )
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)
