"""Tool binding and structured output for `ChatHuggingFaceAPI` (a mixin).

Tools are converted with `langchain_core`'s own converter and `tool_choice`
follows OpenAI's semantics ("any"/True mean "required", a name forces that
tool). Structured output supports `json_schema` (OpenAI's shape),
`function_calling` and `json_mode`, with Pydantic results validated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import (
    Runnable,
    RunnableLambda,
)
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["ToolsMixin", "convert_tool", "convert_tool_choice"]

# Request fields checked before sending: (name, lowest, highest).
_RANGES = (
    ("max_tokens", 1, float("inf")),
    ("temperature", 0.0, float("inf")),
    ("top_p", 0.0, 1.0),
    ("top_logprobs", 0, float("inf")),
)

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool
StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


def convert_tool(tool: ToolLike, strict: bool | None = None) -> dict[str, Any]:
    """Converts a tool to the OpenAI format with `langchain_core`'s converter.

    Also sets `strict` on tools already in the OpenAI format (the converter
    passes them through untouched), and drops the description a TypedDict
    without a docstring inherits from `dict`.

    Args:
        tool: A Pydantic class, TypedDict, function, `BaseTool` or OpenAI dict.
        strict: Ask for schema-exact arguments.

    Returns:
        `{"type": "function", "function": {"name", "description", "parameters"}}`.
    """
    converted = convert_to_openai_tool(tool, strict=strict)
    function = converted.get("function")
    if not isinstance(function, dict):
        return converted
    function = dict(function)
    if strict is not None:
        function["strict"] = strict
    if function.get("description") == dict.__doc__:
        del function["description"]
    return {**converted, "function": function}


def convert_tool_choice(
    tool_choice: dict[str, Any] | str | bool, tool_names: Sequence[str]
) -> dict[str, Any] | str | None:
    """Converts a LangChain `tool_choice` into the OpenAI request value.

    Args:
        tool_choice: A tool name, "auto", "none", "required", "any", True,
            False, or an OpenAI dict.
        tool_names: Names of the bound tools, to check a forced name.

    Returns:
        The value for the request's `tool_choice`, or `None` to send nothing.

    Raises:
        ValueError: If a forced tool name is not among the bound tools.

    Example:
        >>> convert_tool_choice("any", ["add"])
        'required'
    """
    if tool_choice is False:
        return None
    if tool_choice is True or tool_choice in ("any", "required"):
        return "required"
    if tool_choice in ("auto", "none") or isinstance(tool_choice, dict):
        return tool_choice
    if tool_choice not in tool_names:
        msg = f"tool_choice {tool_choice!r} names no bound tool (bound: {list(tool_names)})"
        raise ValueError(msg)
    return {"type": "function", "function": {"name": tool_choice}}


class ToolsMixin:
    """`bind_tools` and `with_structured_output` for a chat model."""

    def _bind(self, **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """Calls `BaseChatModel.bind` (the class this mixin is combined with)."""
        return cast("BaseChatModel", self).bind(**kwargs)

    disabled_params: dict[str, Any] | None

    def _check_payload(self, payload: dict[str, Any]) -> None:
        """Drops disabled fields and refuses options that cannot be honoured.

        Raises:
            ValueError: For `n` > 1 (one answer per request is returned), or a
                `max_tokens`, `temperature`, `top_p` or `top_logprobs` out of range.
        """
        for name, values in (self.disabled_params or {}).items():
            if name in payload and (values is None or payload[name] in values):
                del payload[name]
        n = payload.get("n")
        if n is not None and n != 1:
            msg = f"n must be 1 (got {n!r}): send several requests (e.g. batch) instead"
            raise ValueError(msg)
        for name, low, high in _RANGES:
            value = payload.get(name)
            if value is not None and not (isinstance(value, (int, float)) and low <= value <= high):
                msg = f"{name} must be a number in [{low}, {high}], got {value!r}"
                raise ValueError(msg)

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Binds tools (any number) in the OpenAI format.

        Args:
            tools: Pydantic classes, TypedDicts, functions, `BaseTool`s or
                OpenAI tool dicts.
            tool_choice: A tool name, "auto", "none", "required", "any" or
                True (both "required"), or an OpenAI dict.
            strict: Ask for schema-exact arguments, where providers support it.
            parallel_tool_calls: Allow or forbid several calls in one turn.
            **kwargs: Further request fields.

        Returns:
            The model with the tools bound.

        Raises:
            ValueError: If `tool_choice` names no bound tool.

        Example:
            >>> llm.bind_tools([get_weather], tool_choice="any")  # doctest: +SKIP
        """
        formatted = [convert_tool(t, strict) for t in tools]
        if tool_choice is not None:
            names = [t["function"]["name"] for t in formatted if "function" in t]
            choice = convert_tool_choice(tool_choice, names)
            if choice is not None:
                kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return self._bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: StructuredMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Returns a runnable whose output follows `schema`.

        Args:
            schema: A Pydantic class (results are validated instances), a
                TypedDict or a JSON schema dict (results are dicts).
            method: "json_schema" (OpenAI `response_format`), "function_calling"
                (a forced tool call) or "json_mode" (`{"type": "json_object"}`).
            include_raw: Return `{"raw", "parsed", "parsing_error"}` instead.
            strict: Ask for schema-exact output, where providers support it.
            **kwargs: Further request fields.

        Returns:
            A runnable producing the parsed output.

        Raises:
            ValueError: For an unknown method, or `strict` with "json_mode".
        """
        tool = convert_tool(schema, strict)["function"]
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        parser: Runnable[Any, Any]
        if method == "function_calling":
            llm = self.bind_tools(
                [schema],
                tool_choice=tool["name"],
                parallel_tool_calls=False,
                strict=strict,
                ls_structured_output_format=ls_format,
                **kwargs,
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=tool["name"], first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_mode":
                if strict:
                    msg = "strict is not supported with method='json_mode'"
                    raise ValueError(msg)
                response_format: dict[str, Any] = {"type": "json_object"}
            else:
                spec = {"name": tool["name"], "schema": tool["parameters"]}
                if tool.get("description"):
                    spec["description"] = tool["description"]
                if strict is not None:
                    spec["strict"] = strict
                response_format = {"type": "json_schema", "json_schema": spec}
            llm = self._bind(
                response_format=response_format, ls_structured_output_format=ls_format, **kwargs
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            msg = f"Unknown method {method!r}: use json_schema, function_calling or json_mode"
            raise ValueError(msg)
        if not include_raw:
            return llm | parser
        # One whole-message parse: a malformed answer becomes `parsing_error`,
        # streamed or not (a streaming parser would drop the failed parse).

        def with_raw(raw: AIMessage) -> dict[str, Any]:
            try:
                return {"raw": raw, "parsed": parser.invoke(raw), "parsing_error": None}
            except Exception as err:
                return {"raw": raw, "parsed": None, "parsing_error": err}

        return llm | RunnableLambda(with_raw)
