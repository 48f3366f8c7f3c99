"""`ChatHuggingFaceAPI`: the LangChain chat model over Hugging Face's router.

The model speaks LangChain (messages in, `AIMessage`/`AIMessageChunk` out);
the clients in `_client.py` / `_async_client.py` handle auth, the Hub mapping,
retries and failover.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from time import monotonic as now
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.load.serializable import SerializedConstructor, SerializedNotImplemented
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from langchain_hfapi._aliases import DEFAULT_MODEL, DEFAULT_VISION_MODEL
from langchain_hfapi._async_client import AsyncHFClient
from langchain_hfapi._auth import secret_token_from_env
from langchain_hfapi._body_limits import DEFAULT_LIMITS
from langchain_hfapi._call_setup import (
    add_cost,
    aroute_call,
    finish_stream,
    prepare_call,
    route_call,
)
from langchain_hfapi._catalog_access import DEFAULT_CATALOG_TTL
from langchain_hfapi._client import HFClient
from langchain_hfapi._client_core import DEFAULT_HUB_URL, DEFAULT_ROUTER_URL
from langchain_hfapi._health import DEFAULT_COOLDOWN, DEFAULT_FAILURES
from langchain_hfapi._mapping import DEFAULT_MAPPING_TTL
from langchain_hfapi._profile_mixin import ProfileMixin
from langchain_hfapi._profiles import warn_unknown_profile_keys
from langchain_hfapi._routing import Target, resolve_target
from langchain_hfapi._runtime import ModelRuntime, sampling_params
from langchain_hfapi._serialization import shared_to_json
from langchain_hfapi._state import StateStore, resolve_store
from langchain_hfapi._stream_converter import (
    StreamConverter,
    aemit_chunk,
    answer_to_message,
    emit_chunk,
)
from langchain_hfapi._tools import ToolsMixin
from langchain_hfapi._traces import (
    combine_llm_outputs,
    input_had_images,
    llm_output,
    ls_params,
    remember_input,
    with_llm_output,
    with_token_usage,
)
from langchain_hfapi._validation import check_settings, collect_extra_kwargs, known_field_names
from langchain_hfapi._version import __version__
from langchain_hfapi.errors import HuggingFaceAPIError

__all__ = ["ChatHuggingFaceAPI"]


class ChatHuggingFaceAPI(ProfileMixin, ToolsMixin, BaseChatModel):
    """Chat model for every model served by Hugging Face Inference Providers.

    Resolves model aliases, looks up which providers serve the model on the
    Hub, and sends each request to `router.huggingface.co/v1/chat/completions`
    as `"<repo>:<provider>"`. 429, 5xx and connection errors are retried, then
    the next provider is tried; 402 and "model not supported" move on at once
    (in a stream, only before the first token). Answers carry the serving
    provider in `response_metadata`.

    Setup: `pip install langchain-hfapi` and `export HF_TOKEN=hf_...`.

    Example:
        ```python
        from langchain_hfapi import ChatHuggingFaceAPI

        llm = ChatHuggingFaceAPI(model="llama-3.3-70b", temperature=0)
        for chunk in llm.stream("Name three moons of Jupiter."):
            print(chunk.text, end="")
        msg = llm.invoke("Hello")
        msg.response_metadata["provider"]  # e.g. "together"
        ```

    See `docs/` for every field, routing, errors and the command line.
    """

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    model: str = Field(default=DEFAULT_MODEL, alias="model_name")
    """Alias ("llama-3.3-70b"), Hub repo id, "repo:provider" or "repo:fastest"."""
    provider: str | list[str] | None = None
    """None/"auto" (Hub mapping order), a slug, a list of slugs, or a policy."""
    api_key: SecretStr | None = Field(default_factory=secret_token_from_env)
    """Hugging Face token; defaults to HF_TOKEN or the saved login token."""
    base_url: str | None = None
    """An OpenAI-compatible server (Inference Endpoint, TGI, vLLM); skips the Hub."""
    router_url: str = DEFAULT_ROUTER_URL
    """Base URL of the Inference Providers router."""
    hub_url: str = Field(default_factory=lambda: os.environ.get("HF_ENDPOINT") or DEFAULT_HUB_URL)
    """Base URL of the Hub, for provider mappings ($HF_ENDPOINT)."""
    bill_to: str | None = None
    """Organization to bill, sent as X-HF-Bill-To."""
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    reasoning_effort: str | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra top-level request fields (unknown constructor kwargs land here)."""
    extra_body: dict[str, Any] | None = None
    """Fields merged into the request body last, for provider-specific options."""
    default_headers: dict[str, str] | None = None
    streaming: bool = False
    """Whether `invoke` streams under the hood."""
    stream_usage: bool = True
    """Whether streams ask for token usage (`stream_options.include_usage`)."""
    timeout: float | None = Field(default=120.0, alias="request_timeout")
    """Seconds bounding each request's connect (at most 10 s), write and every
    read: a stalled provider fails after it (and is retried or failed over)."""
    max_retries: int = 2
    """Retries of one provider (429, 5xx, connection) before the next one."""
    first_token_timeout: float | None = None
    """Seconds an attempt may take, connecting included, to its first token
    (streams) or its response headers (whole answers) before the next provider."""
    total_timeout: float | None = None
    """Seconds a whole call may take: every attempt, the waits, and the stream."""
    max_input_chars: int | None = None
    """Trim the oldest turns beyond this many characters (None: never)."""
    model_aliases: dict[str, str] = Field(default_factory=dict)
    """Aliases merged over the built-in table."""
    mapping_ttl: float = DEFAULT_MAPPING_TTL
    """Seconds a provider mapping fetched from the Hub stays fresh."""
    catalog_ttl: float = DEFAULT_CATALOG_TTL
    """Seconds the router's catalog (`/v1/models`: prices, capabilities) stays fresh."""
    provider_sort: Literal["price", "latency", "throughput"] | None = None
    """Order the providers by price, latency or throughput (None: the Hub's order)."""
    max_price: dict[str, float] | None = None
    """Caps in USD per million tokens, `{"input": ..., "output": ...}`."""
    ignore_providers: list[str] | None = None
    """Providers never tried."""
    provider_cooldown: float = DEFAULT_COOLDOWN
    """Seconds a provider is skipped after `provider_failures` failures in a row."""
    provider_failures: int = DEFAULT_FAILURES
    """Consecutive failures (429, 5xx, timeout, connection) that start a cooldown."""
    max_response_bytes: int = DEFAULT_LIMITS.response
    """Most bytes (decompressed) of a whole answer or Hub answer (16 MiB)."""
    max_error_bytes: int = DEFAULT_LIMITS.error
    """Most bytes of an error body that are read (64 KiB; the rest is not read)."""
    max_event_bytes: int = DEFAULT_LIMITS.event
    """Most bytes of one stream line or event (4 MiB)."""
    max_stream_bytes: int | None = DEFAULT_LIMITS.stream
    """Most bytes of a whole stream (None: no bound)."""
    max_events_before_token: int = DEFAULT_LIMITS.events_before_token
    """Most events without content a stream may send before its first token."""
    disabled_params: dict[str, Any] | None = None
    """Request fields never sent: `{"name": None}` drops the field always,
    `{"name": [values]}` drops it when it has one of those values."""
    http_client: Any = Field(default=None, exclude=True)
    """An `httpx.Client` to send with (optional; its own timeout and redirect
    settings apply, and it is never closed by the model)."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An `httpx.AsyncClient` to send with (optional; as for `http_client`)."""

    state: str | StateStore | None = Field(default=None, exclude=True, repr=False)
    """Where provider health and Hub mappings are kept, shared by every model
    using it: None or "process" (this process), a "redis://..." URL, or a
    `StateStore` such as `RedisStore` (shared across processes; see docs/state.md)."""

    _runtime: ModelRuntime = PrivateAttr(default_factory=ModelRuntime)
    _profile_auto: bool = PrivateAttr(default=False)

    @model_validator(mode="before")
    @classmethod
    def _collect_hfapi_extra(cls, values: Any) -> Any:
        """Moves unknown constructor kwargs into `model_kwargs`, with a warning."""
        return collect_extra_kwargs(values, known_field_names(cls))

    @model_validator(mode="after")
    def _check_profile_keys(self) -> ChatHuggingFaceAPI:
        """Checks the keys of a profile the user gave (ours use declared keys only).

        Replaces langchain-core's check of the same name, which resolves
        `ModelProfile`'s type hints on every construction (about 0.2 ms).
        """
        if self.profile and not self._profile_auto:
            warn_unknown_profile_keys(self.profile)
        return self

    @model_validator(mode="after")
    def _check_hfapi_settings(self) -> ChatHuggingFaceAPI:
        """Checks numeric settings and the model name before any request."""
        check_settings(self)
        self._target(self.model, self.provider)
        resolve_store(self.state)  # refuses an unknown `state` before any request
        self._add_version("langchain-hfapi", __version__)
        return self

    @property
    def _llm_type(self) -> str:
        return "huggingface-api-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Maps the token field to the environment variable it is read from."""
        return {"api_key": "HF_TOKEN"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Checks whether the model can be serialized (it can; the token is not)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Returns the namespace LangChain serialization stores the class under."""
        return ["langchain_hfapi", "chat_models"]

    def to_json(self) -> SerializedConstructor | SerializedNotImplemented:
        """Serializes the model as langchain-core does, once per distinct field values."""
        return shared_to_json(self, super().to_json)

    @property
    def _default_params(self) -> dict[str, Any]:
        """The sampling parameters that were set (unset ones are not sent)."""
        return sampling_params(self)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provider": self.provider,
            "base_url": self.base_url,
            **self._default_params,
        }

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        """Converts the input as LangChain does, remembering whether it has images."""
        prompt = super()._convert_input(model_input)
        remember_input(id(self), prompt.to_messages())
        return prompt

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """Names the repo id that will be requested (aliases resolved, vision switch)."""
        model = kwargs.get("model")
        if model is None:
            vision = "model" not in self.model_fields_set and input_had_images(id(self))
            model = DEFAULT_VISION_MODEL if vision else self.model
        with contextlib.suppress(ValueError):  # the call itself reports an invalid name
            model = self._target(model, kwargs.get("provider", self.provider)).repo_id
        return ls_params(model, stop or self.stop, {**self._default_params, **kwargs})

    # --- clients -------------------------------------------------------------

    def _store(self) -> StateStore:
        return resolve_store(self.state)

    @property
    def client(self) -> HFClient:
        """The synchronous client for the current settings, built on first use.

        Changed settings (a field set, `model_copy(update=...)`) give a new
        client; connections and state are the process's, shared.
        """
        return self._runtime.sync_client(self, self.http_client, self._store())

    @property
    def async_client(self) -> AsyncHFClient:
        """The asynchronous client for the current settings, built on first use."""
        return self._runtime.async_client(self, self.http_async_client, self._store())

    def __copy__(self) -> Self:
        clone = super().__copy__()
        clone._runtime = ModelRuntime()  # clients are rebuilt from the copy's settings
        return clone

    # --- requests ------------------------------------------------------------

    def _target(self, model: str, provider: Any) -> Target:
        return resolve_target(model, provider, aliases=self.model_aliases, base_url=self.base_url)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            result = generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
            return with_llm_output(result)
        call = prepare_call(self, messages, stop, stream=False, kwargs=kwargs)
        client = self.client  # built from the settings once per call
        target = route_call(call, client, self.catalog_ttl)
        answer, meta = client.complete(target, call.payload)
        message = add_cost(answer_to_message(answer, {**meta, **call.extra}), target)
        return ChatResult(
            generations=[ChatGeneration(message=message)], llm_output=llm_output(message)
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            stream = self._astream(messages, stop, run_manager, **kwargs)
            return with_llm_output(await agenerate_from_stream(stream))
        call = prepare_call(self, messages, stop, stream=False, kwargs=kwargs)
        client = self.async_client
        target = await aroute_call(call, client, self.catalog_ttl)
        answer, meta = await client.complete(target, call.payload)
        message = add_cost(answer_to_message(answer, {**meta, **call.extra}), target)
        return ChatResult(
            generations=[ChatGeneration(message=message)], llm_output=llm_output(message)
        )

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None], /) -> dict[str, Any]:
        return combine_llm_outputs(llm_outputs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = prepare_call(self, messages, stop, stream=True, kwargs=kwargs)
        client = self.client
        target = route_call(call, client, self.catalog_ttl)
        with client.open_stream(target, call.payload) as stream:
            converter, first_token_at = StreamConverter({**stream.metadata, **call.extra}), now()
            yield emit_chunk(converter.start(), run_manager)
            try:
                for event in stream:
                    chunk = converter.convert(event)
                    if chunk is not None:
                        yield emit_chunk(chunk, run_manager)
            except HuggingFaceAPIError as err:
                converter.add_partial(err)
                raise
            last = finish_stream(
                converter.finish(), stream.metadata, target, client.health, first_token_at
            )
            yield emit_chunk(with_token_usage(last), run_manager)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = prepare_call(self, messages, stop, stream=True, kwargs=kwargs)
        client = self.async_client
        target = await aroute_call(call, client, self.catalog_ttl)
        async with await client.open_stream(target, call.payload) as stream:
            converter, first_token_at = StreamConverter({**stream.metadata, **call.extra}), now()
            yield await aemit_chunk(converter.start(), run_manager)
            try:
                async for event in stream:
                    chunk = converter.convert(event)
                    if chunk is None:
                        continue
                    if run_manager is None:  # as from `astream`: no coroutine per chunk
                        yield ChatGenerationChunk(message=chunk)
                    else:
                        yield await aemit_chunk(chunk, run_manager)
            except HuggingFaceAPIError as err:
                converter.add_partial(err)
                raise
            last = await client.decide(
                finish_stream,
                converter.finish(),
                stream.metadata,
                target,
                client.health,
                first_token_at,
            )
            yield await aemit_chunk(with_token_usage(last), run_manager)
