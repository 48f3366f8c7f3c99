"""Checks of the reference pages against the code: tables, links and doctests.

Each check takes a page's text (so a test can hand it a broken copy) and returns
one message per problem; an empty list means the page matches the code.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import langchain_core.exceptions as core_exceptions
from pydantic import BaseModel

__all__ = [
    "GUIDE_SECTIONS",
    "REFERENCE_SECTIONS",
    "broken_links",
    "doctest_failures",
    "exception_tree_problems",
    "mapping_problems",
    "missing_sections",
    "settings_problems",
    "table_rows",
]

_CODE = re.compile(r"`([^`]*)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table under `heading`, cells stripped (`\\|` unescaped)."""
    lines = text.splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
            rows.append([c.strip().replace("\\|", "|") for c in cells])
        elif rows:
            break
    return [row for row in rows[1:] if not set(row[0]) <= {"-", ":"}]


def _codes(cell: str) -> list[str]:
    return _CODE.findall(cell)


def settings_problems(text: str, model: type[BaseModel]) -> list[str]:
    """Compares the `## Fields` table with the fields `model` declares itself."""
    own = [name for name in model.__annotations__ if name in model.model_fields]
    problems: list[str] = []
    documented: list[str] = []
    for row in table_rows(text, "## Fields"):
        names, default = _codes(row[0]), row[2]
        name, alias = names[0], (names[1] if len(names) > 1 else None)
        documented.append(name)
        field = model.model_fields.get(name)
        if field is None:
            problems.append(f"{name}: documented, but not a field")
            continue
        if alias != field.alias:
            problems.append(f"{name}: alias {alias!r} documented, {field.alias!r} in the code")
        literal = re.fullmatch(r"`([^`]*)`", default)
        if literal is None:
            if field.default_factory is None:
                problems.append(
                    f"{name}: default {field.default!r} in the code, not a literal here"
                )
            continue
        actual = field.get_default(call_default_factory=True)
        if ast.literal_eval(literal.group(1)) != actual:
            problems.append(f"{name}: default {default} documented, {actual!r} in the code")
    problems += [f"{name}: a field without a row" for name in own if name not in documented]
    return problems


def mapping_problems(text: str, heading: str, mapping: dict[str, str]) -> list[str]:
    """Compares a two-column table of code values with `mapping`, order included."""
    documented = {_codes(row[0])[0]: _codes(row[1])[0] for row in table_rows(text, heading)}
    if list(documented.items()) == list(mapping.items()):
        return []
    missing = sorted(set(mapping.items()) - set(documented.items()))
    extra = sorted(set(documented.items()) - set(mapping.items()))
    return [f"table differs from the code: missing {missing}, not in the code {extra}"]


def _bases(cls: type, module: ModuleType) -> tuple[str, str]:
    parents = [b.__name__ for b in cls.__bases__ if b.__module__ == module.__name__]
    core = [b.__name__ for b in cls.__bases__ if b.__module__ == core_exceptions.__name__]
    return (parents[0] if parents else "-"), (core[0] if core else "-")


def exception_tree_problems(text: str, module: ModuleType) -> list[str]:
    """Compares `## The exception tree` with the classes of `module` and their bases."""
    rows = table_rows(text, "## The exception tree")
    documented = {_codes(row[0])[0]: row for row in rows}
    problems = [
        f"{name}: a class without a row" for name in module.__all__ if name not in documented
    ]
    for name, row in documented.items():
        cls = getattr(module, name, None)
        if not inspect.isclass(cls):
            problems.append(f"{name}: documented, but not a class of {module.__name__}")
            continue
        parent, core = (_codes(cell)[0] if _codes(cell) else cell for cell in row[1:3])
        if (parent, core) != _bases(cls, module):
            problems.append(f"{name}: bases ({parent}, {core}) documented, {_bases(cls, module)}")
    return problems


def _slug(heading: str) -> str:
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    headings = [line.lstrip("#") for line in page.read_text().splitlines() if line.startswith("#")]
    return {_slug(h) for h in headings}


def broken_links(page: Path) -> list[str]:
    """Relative links of `page` whose file, or heading anchor, does not exist."""
    problems = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            problems.append(f"{page.name}: {target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            problems.append(f"{page.name}: {target}: no such heading")
    return problems


def doctest_failures(module: Any) -> tuple[int, str]:
    """Runs the `>>>` examples of `module`: (examples run, the failure report)."""
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__):
        runner.run(test, out=report.append)
    return runner.tries, "".join(report)


GUIDE_SECTIONS = ("## Description", "## Execution Steps", "## Usage Example")
REFERENCE_SECTIONS = ("## Overview", "## More details")


def missing_sections(text: str, sections: tuple[str, ...]) -> list[str]:
    """The `sections` (level-2 headings) that `text` lacks, or has out of order."""
    headings = [line.strip() for line in text.splitlines() if line.startswith("## ")]
    present = [h for h in headings if h in sections]
    missing = [s for s in sections if s not in headings]
    if not missing and present[: len(sections)] != list(sections):
        return [f"out of order: {present}"]
    return missing
