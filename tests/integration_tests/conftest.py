"""VCR set-up for the integration tests: replay offline, record with HF_TOKEN.

Cassettes live in `tests/cassettes/<TestClass>.<test>.yaml.gz`. Without
`HF_TOKEN` a test whose cassette is missing is skipped (nothing to replay, no
token to record with); with it, missing cassettes are recorded. Every request
header is redacted before a cassette is written, so the token never lands in
the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.conftest import CustomPersister, CustomSerializer, base_vcr_config
from vcr import VCR

CASSETTE_DIR = Path(__file__).resolve().parent.parent / "cassettes"
DROPPED_RESPONSE_HEADERS = {"set-cookie"}


def _redact_request(request: Any) -> Any:
    for name in list(request.headers):
        request.headers[name] = "**REDACTED**"
    return request


def _redact_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        name: value
        for name, value in response["headers"].items()
        if name.lower() not in DROPPED_RESPONSE_HEADERS
    }
    return response


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    config = base_vcr_config()
    recording = bool(os.environ.get("HF_TOKEN"))
    config["record_mode"] = os.environ.get("VCR_RECORD_MODE", "once" if recording else "none")
    config["cassette_library_dir"] = str(CASSETTE_DIR)
    config["before_record_request"] = _redact_request
    config["before_record_response"] = _redact_response
    config["serializer"] = "yaml.gz"
    config["path_transformer"] = VCR.ensure_suffix(".yaml.gz")
    return config


def pytest_recording_configure(config: dict[str, Any], vcr: VCR) -> None:
    vcr.register_persister(CustomPersister())
    vcr.register_serializer("yaml.gz", CustomSerializer())


@pytest.fixture(autouse=True)
def _cassette_or_token(request: pytest.FixtureRequest) -> None:
    """Skips a test that has neither a cassette to replay nor a token to record."""
    if os.environ.get("HF_TOKEN") or request.node.name.startswith("test_no_overrides"):
        return
    name = request.getfixturevalue("default_cassette_name")
    path = CASSETTE_DIR / f"{name}.yaml.gz"
    if not path.exists():
        pytest.skip(
            f"no cassette {path.relative_to(CASSETTE_DIR.parent.parent)} to replay and "
            "no HF_TOKEN to record it (see README: recording cassettes)"
        )
