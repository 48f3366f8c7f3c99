"""LangChain chat model for Hugging Face Inference Providers.

`ChatHuggingFaceAPI` gives every chat model served through the Hugging Face
router one class, with model aliases, provider mappings looked up on the Hub,
retries and failover across providers, and provider attribution on answers.
"""

from langchain_hfapi._catalog import (
    aget_mapping,
    aget_models,
    calculate_length,
    get_mapping,
    get_model,
    get_models,
)
from langchain_hfapi._cost_callback import CostCallbackHandler, get_cost_callback
from langchain_hfapi._provider_info import ProviderInfo
from langchain_hfapi._state import ProcessStore, StateStore
from langchain_hfapi._state_redis import RedisStore
from langchain_hfapi._version import __version__
from langchain_hfapi.chat_models import ChatHuggingFaceAPI
from langchain_hfapi.errors import (
    AllProvidersFailedError,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    HuggingFaceAPIError,
    InputTooLongError,
    InvalidRequestError,
    MalformedResponseError,
    MissingAuthError,
    ModelNotSupportedError,
    NoProviderMatchesError,
    ParameterNotSupportedError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ResponseTooLargeError,
)

__all__ = [
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
    "RedisStore",
    "ResponseTooLargeError",
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
