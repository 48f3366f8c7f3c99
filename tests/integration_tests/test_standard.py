"""LangChain's standard integration tests, replayed from cassettes.

Run with `HF_TOKEN` set (and `--force-enable-socket`) to record the cassettes
against the real router; without a token, tests with a cassette replay it and
the others are skipped with the reason.
"""

from __future__ import annotations

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_hfapi import ChatHuggingFaceAPI


class _RecordedStandardTests(ChatModelIntegrationTests):
    """What both model classes share: the class under test and VCR replay."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatHuggingFaceAPI

    @property
    def enable_vcr_tests(self) -> bool:
        return True


@pytest.mark.vcr
class TestChatHuggingFaceAPIIntegration(_RecordedStandardTests):
    @property
    def chat_model_params(self) -> dict:
        return {"model": "meta-llama/Llama-3.3-70B-Instruct", "temperature": 0}

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return False  # a text model; images are covered by the vision class below

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "Qwen/Qwen2.5-72B-Instruct"


@pytest.mark.vcr
class TestChatHuggingFaceAPIVisionIntegration(_RecordedStandardTests):
    @property
    def chat_model_params(self) -> dict:
        return {"model": "google/gemma-3-27b-it", "temperature": 0}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "meta-llama/Llama-3.2-11B-Vision-Instruct"
