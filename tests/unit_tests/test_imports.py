"""The public surface is exactly what `__all__` says, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import langchain_hfapi

EXPECTED_ALL = [
    "APIConnectionError",
    "APITimeoutError",
    "AllProvidersFailedError",
    "AuthenticationError",
    "ChatHuggingFaceAPI",
    "CostCallbackHandler",
    "HuggingFaceAPIError",
    "InputTooLongError",
    "InvalidRequestError",
    "MalformedResponseError",
    "MissingAuthError",
    "ModelNotSupportedError",
    "NoProviderMatchesError",
    "ParameterNotSupportedError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProcessStore",
    "ProviderError",
    "ProviderInfo",
    "RateLimitError",
    "ResponseTooLargeError",
    "RedisStore",
    "StateStore",
    "__version__",
    "aget_mapping",
    "aget_models",
    "calculate_length",
    "get_cost_callback",
    "get_mapping",
    "get_model",
    "get_models",
]


def test_all_lists_the_public_names() -> None:
    assert sorted(langchain_hfapi.__all__) == sorted(EXPECTED_ALL)
    for name in EXPECTED_ALL:
        assert hasattr(langchain_hfapi, name)


def test_import_pulls_in_no_heavy_dependency() -> None:
    code = (
        "import sys, langchain_hfapi; "
        "print(','.join(m for m in ('huggingface_hub', 'openai', 'transformers', 'torch', "
        "'tenacity') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
