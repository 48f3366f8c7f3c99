"""Every Python example in docs/ and the README runs and prints what its page shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doc_examples import page_blocks, run_page
from tests.router_server import RouterServer

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]


@pytest.fixture
def docs_router(
    router: RouterServer, fast_retries: list[float], monkeypatch: pytest.MonkeyPatch
) -> RouterServer:
    """The fake router, with the token a reader would have in HF_TOKEN."""
    monkeypatch.setenv("HF_TOKEN", "hf_docs_example_token")
    return router


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_example_prints_what_the_page_shows(
    page: Path, docs_router: RouterServer
) -> None:
    _, failures = run_page(page, docs_router)
    assert not failures, "\n\n".join(failures)


def test_the_docs_hold_runnable_examples() -> None:
    runnable = [
        b
        for page in PAGES
        for b in page_blocks(page.read_text(encoding="utf-8"))
        if b.lang == "python" and b.run
    ]
    assert len(runnable) >= 25


PAGE = """# A page

```python
x = 2
print(x * 21)
```

```text
42
```

<!-- no-run: a signature -->
```python
raise RuntimeError("never run")
```

```python
print("Hello", x)
```

```text
Hello ...
```
"""


def test_a_correct_page_passes_and_no_run_blocks_are_skipped(
    tmp_path: Path, docs_router: RouterServer
) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    assert run_page(page, docs_router) == (2, [])


@pytest.mark.parametrize(
    ("broken", "reported"),
    [
        (PAGE.replace("print(x * 21)", "print(x * 20)"), "printed\n40\nbut the page shows\n42"),
        (PAGE.replace("print(x * 21)", "print(y)"), "NameError"),
        (PAGE.replace("```text\n42\n```", ""), "printed\n42\nbut the page shows\n"),
        (PAGE.replace("Hello ...", "Bye ..."), "but the page shows\nBye ..."),
    ],
    ids=["wrong output", "undefined name", "output not shown", "wildcard mismatch"],
)
def test_a_broken_example_is_reported_with_its_line(
    tmp_path: Path, docs_router: RouterServer, broken: str, reported: str
) -> None:
    page = tmp_path / "page.md"
    page.write_text(broken)
    _, failures = run_page(page, docs_router)
    assert len(failures) == 1
    assert failures[0].startswith("page.md:")
    assert reported in failures[0]


def test_examples_reach_the_fake_router_as_written(
    tmp_path: Path, docs_router: RouterServer
) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- fake-router: together 503 -->\n```python\n"
        "from langchain_hfapi import ChatHuggingFaceAPI\n"
        "msg = ChatHuggingFaceAPI(model='llama-3.3-70b', max_retries=0).invoke('Hi')\n"
        "print(msg.content)\n```\n\n```text\nHello from fireworks-ai.\n```\n"
    )
    assert run_page(page, docs_router) == (1, [])
    assert [r.provider for r in docs_router.chat_requests()] == ["together", "fireworks-ai"]
