"""The reference pages match the code, their links resolve, and docstring examples run."""

from __future__ import annotations

import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import langchain_hfapi
from langchain_hfapi import ChatHuggingFaceAPI, errors
from langchain_hfapi._aliases import MODEL_ALIASES
from tests.doc_tables import (
    GUIDE_SECTIONS,
    REFERENCE_SECTIONS,
    broken_links,
    doctest_failures,
    exception_tree_problems,
    mapping_problems,
    missing_sections,
    settings_problems,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(langchain_hfapi.__path__, "langchain_hfapi.")
    if name != "langchain_hfapi.__main__"
)
ALIAS_HEADING = "### Model aliases"


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# --- docstring examples --------------------------------------------------------


@pytest.mark.parametrize("name", ["langchain_hfapi", *MODULES])
def test_docstring_examples_of_each_module_run(name: str) -> None:
    _, report = doctest_failures(importlib.import_module(name))
    assert not report, report


def test_the_package_has_docstring_examples() -> None:
    tried = sum(doctest_failures(importlib.import_module(name))[0] for name in MODULES)
    assert tried >= 5


BROKEN = '''
def double(x):
    """Doubles.

    >>> double(2)
    5
    """
    return 2 * x
'''


def test_a_wrong_docstring_example_is_reported() -> None:
    module = types.ModuleType("broken_example")
    exec(BROKEN, module.__dict__)
    tried, report = doctest_failures(module)
    assert tried == 1
    assert "Expected:\n    5\nGot:\n    4" in report


# --- tables ----------------------------------------------------------------------


def test_settings_table_lists_every_field_with_its_alias_and_default() -> None:
    assert settings_problems(read("settings.md"), ChatHuggingFaceAPI) == []


@pytest.mark.parametrize(
    ("old", "new", "reported"),
    [
        (
            "| `max_retries` | `int` | `2` |",
            "| `max_retries` | `int` | `3` |",
            "max_retries: default",
        ),
        (
            "| `seed` | `int \\| None` | `None` | sampling seed |\n",
            "",
            "seed: a field without a row",
        ),
        ("`timeout` (`request_timeout`)", "`timeout` (`timeout_s`)", "timeout: alias"),
        ("| `bill_to` |", "| `bill_too` |", "bill_too: documented, but not a field"),
        (
            '| `router_url` | `str` | `"https://router.huggingface.co"`',
            "| `router_url` | `str` | the router",
            "router_url: default",
        ),
    ],
    ids=["default", "missing row", "alias", "unknown field", "prose for a fixed default"],
)
def test_a_settings_table_that_differs_from_the_code_is_reported(
    old: str, new: str, reported: str
) -> None:
    text = read("settings.md")
    assert old in text
    problems = settings_problems(text.replace(old, new), ChatHuggingFaceAPI)
    assert any(p.startswith(reported) for p in problems), problems


def test_alias_table_is_the_built_in_alias_table() -> None:
    assert mapping_problems(read("api.md"), ALIAS_HEADING, dict(MODEL_ALIASES)) == []


def test_an_alias_table_that_differs_from_the_code_is_reported() -> None:
    text = read("api.md").replace("`Qwen/QwQ-32B`", "`Qwen/QwQ-32B-Preview`")
    assert mapping_problems(text, ALIAS_HEADING, dict(MODEL_ALIASES)) != []


def test_exception_tree_is_the_errors_module() -> None:
    assert exception_tree_problems(read("errors.md"), errors) == []


@pytest.mark.parametrize(
    ("old", "new", "reported"),
    [
        (
            "| `InputTooLongError` | `InvalidRequestError` |",
            "| `InputTooLongError` | `HuggingFaceAPIError` |",
            "InputTooLongError: bases",
        ),
        (
            "| `RateLimitError` | `HuggingFaceAPIError` | `ModelRateLimitError` |",
            "| `RateLimitError` | `HuggingFaceAPIError` | - |",
            "RateLimitError: bases",
        ),
        (
            "| `PaymentRequiredError` |",
            "| `CreditsError` |",
            "PaymentRequiredError: a class without a row",
        ),
    ],
    ids=["parent", "langchain_core class", "renamed class"],
)
def test_an_exception_tree_that_differs_from_the_code_is_reported(
    old: str, new: str, reported: str
) -> None:
    text = read("errors.md")
    assert old in text
    problems = exception_tree_problems(text.replace(old, new), errors)
    assert any(p.startswith(reported) for p in problems), problems


# --- links -----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_pages_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_a_link_to_a_missing_page_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## `get_models` / `aget_models`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#get_models--aget_models) [web](https://example.org/x)\n"
        "[gone](missing.md) [no heading](other.md#nothing)\n"
    )
    assert broken_links(page) == [
        "page.md: missing.md: no such file",
        "page.md: other.md#nothing: no such heading",
    ]


# --- page formats ----------------------------------------------------------------

GUIDES = sorted((DOCS / "guides").glob("*.md"))
REFERENCES = [
    DOCS / name for name in ("api.md", "errors.md", "settings.md", "cli.md", "testing.md")
]


@pytest.mark.parametrize("page", GUIDES, ids=lambda p: p.name)
def test_each_guide_has_description_execution_steps_and_usage_example(page: Path) -> None:
    assert missing_sections(page.read_text(encoding="utf-8"), GUIDE_SECTIONS) == []


@pytest.mark.parametrize("page", REFERENCES, ids=lambda p: p.name)
def test_each_reference_page_has_overview_and_more_details(page: Path) -> None:
    assert missing_sections(page.read_text(encoding="utf-8"), REFERENCE_SECTIONS) == []


def test_a_guide_without_its_sections_in_order_is_reported() -> None:
    text = "# How to\n\n## Execution Steps\n\n## Description\n\n## Usage Example\n"
    assert missing_sections(text, GUIDE_SECTIONS) != []
    assert missing_sections("# How to\n\n## Description\n", GUIDE_SECTIONS) == [
        "## Execution Steps",
        "## Usage Example",
    ]
