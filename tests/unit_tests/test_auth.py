"""Tests for token discovery (`langchain_hfapi._auth`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_hfapi._auth import MISSING_TOKEN_HELP, find_token, token_path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake home directory, so `~` never points at the developer's real one."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def full_env(tmp_path: Path, home: Path) -> dict[str, str]:
    """An environment where every source holds a different token."""
    write(home / ".cache" / "huggingface" / "token", "hf_from_home_cache")
    return {
        "HF_TOKEN": "hf_from_env",
        "HUGGING_FACE_HUB_TOKEN": "hf_from_legacy_env",
        "HF_TOKEN_PATH": write(tmp_path / "explicit" / "tok", "hf_from_token_path"),
        "HF_HOME": str(Path(write(tmp_path / "hf_home" / "token", "hf_from_hf_home")).parent),
        "XDG_CACHE_HOME": str(
            Path(write(tmp_path / "xdg" / "huggingface" / "token", "hf_from_xdg")).parents[1]
        ),
    }


# --- precedence ------------------------------------------------------------------------------

ORDER = [
    ("HF_TOKEN", "hf_from_env"),
    ("HUGGING_FACE_HUB_TOKEN", "hf_from_legacy_env"),
    ("HF_TOKEN_PATH", "hf_from_token_path"),
    ("HF_HOME", "hf_from_hf_home"),
    ("XDG_CACHE_HOME", "hf_from_xdg"),
]


@pytest.mark.parametrize("removed", range(len(ORDER) + 1))
def test_find_token_precedence(tmp_path: Path, home: Path, removed: int) -> None:
    # With the first `removed` sources gone, the next one in the order wins.
    env = full_env(tmp_path, home)
    for name, _ in ORDER[:removed]:
        del env[name]
    expected = ORDER[removed][1] if removed < len(ORDER) else "hf_from_home_cache"
    assert find_token(env) == expected


def test_find_token_env_wins_even_when_files_are_missing(tmp_path: Path, home: Path) -> None:
    env = {"HUGGING_FACE_HUB_TOKEN": "hf_legacy", "HF_TOKEN_PATH": str(tmp_path / "nope")}
    assert find_token(env) == "hf_legacy"


def test_token_path_precedence(tmp_path: Path, home: Path) -> None:
    assert token_path({"HF_TOKEN_PATH": "/a/tok", "HF_HOME": "/b"}) == Path("/a/tok")
    assert token_path({"HF_HOME": "/b", "XDG_CACHE_HOME": "/c"}) == Path("/b/token")
    assert token_path({"XDG_CACHE_HOME": "/c"}) == Path("/c/huggingface/token")
    assert token_path({}) == home / ".cache" / "huggingface" / "token"


def test_token_path_expands_user(home: Path) -> None:
    assert token_path({"HF_TOKEN_PATH": "~/tok"}) == home / "tok"
    assert token_path({"HF_HOME": "~/hf"}) == home / "hf" / "token"
    assert token_path({"XDG_CACHE_HOME": "~/xdg"}) == home / "xdg" / "huggingface" / "token"


def test_empty_path_variables_are_ignored(home: Path) -> None:
    env = {"HF_TOKEN_PATH": "", "HF_HOME": "", "XDG_CACHE_HOME": ""}
    assert token_path(env) == home / ".cache" / "huggingface" / "token"


def test_explicit_token_path_that_does_not_exist_gives_none(tmp_path: Path, home: Path) -> None:
    write(home / ".cache" / "huggingface" / "token", "hf_default")
    assert find_token({"HF_TOKEN_PATH": str(tmp_path / "missing")}) is None


# --- whitespace and empty values ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"])
def test_env_token_whitespace_is_stripped(name: str, home: Path) -> None:
    assert find_token({name: "  hf_abc\n"}) == "hf_abc"


@pytest.mark.parametrize("value", ["", "   ", "\n\t"])
def test_empty_env_values_are_ignored(value: str, tmp_path: Path, home: Path) -> None:
    env = {"HF_TOKEN": value, "HUGGING_FACE_HUB_TOKEN": "hf_second"}
    assert find_token(env) == "hf_second"
    env = {"HF_TOKEN": value, "HUGGING_FACE_HUB_TOKEN": value}
    env["HF_TOKEN_PATH"] = write(tmp_path / "tok", "hf_file")
    assert find_token(env) == "hf_file"


def test_token_file_whitespace_is_stripped(tmp_path: Path, home: Path) -> None:
    env = {"HF_TOKEN_PATH": write(tmp_path / "tok", "\n  hf_file_token \r\n")}
    assert find_token(env) == "hf_file_token"


@pytest.mark.parametrize("content", ["", "  \n", "\r\n\t"])
def test_empty_token_file_gives_none(content: str, tmp_path: Path, home: Path) -> None:
    assert find_token({"HF_TOKEN_PATH": write(tmp_path / "tok", content)}) is None


def test_no_token_anywhere_gives_none(tmp_path: Path, home: Path) -> None:
    assert find_token({}) is None
    assert find_token({"HF_HOME": str(tmp_path / "empty_home")}) is None


def test_unreadable_token_sources_give_none(tmp_path: Path, home: Path) -> None:
    directory = tmp_path / "a_directory"
    directory.mkdir()
    assert find_token({"HF_TOKEN_PATH": str(directory)}) is None
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert find_token({"HF_TOKEN_PATH": str(binary)}) is None


def test_default_environment_is_os_environ(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", " hf_process_env ")
    assert find_token() == "hf_process_env"
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "proc_home"))
    write(tmp_path / "proc_home" / "token", "hf_proc_file")
    assert find_token() == "hf_proc_file"
    assert token_path() == tmp_path / "proc_home" / "token"


def test_explicit_env_ignores_the_process_environment(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_process_env")
    assert find_token({}) is None


def test_missing_token_help_says_how_to_fix() -> None:
    assert "HF_TOKEN" in MISSING_TOKEN_HELP
    assert "https://huggingface.co/settings/tokens" in MISSING_TOKEN_HELP
    assert "api_key=" in MISSING_TOKEN_HELP
