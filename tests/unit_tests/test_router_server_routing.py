"""Tests of the fake router/Hub server: routing, auth, Hub mapping and the model catalogue."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.router_server import DEFAULT_MODELS, RouterServer, Step
from tests.unit_tests.router_server_helpers import (
    CHAT,
    LLAMA,
    MAPPING_QUERY,
    QWEN,
    chat_body,
    post_chat,
    raw_exchange,
)


@pytest.fixture
def router_server() -> Iterator[RouterServer]:
    with RouterServer.running(models=DEFAULT_MODELS) as server:
        yield server


# --------------------------------------------------------------------- routing
@pytest.mark.parametrize(
    ("model", "provider"),
    [
        (LLAMA, "together"),
        (f"{LLAMA}:fastest", "together"),
        (f"{LLAMA}:cheapest", "together"),
        (f"{LLAMA}:preferred", "together"),
        (f"{LLAMA}:cerebras", "cerebras"),
        ("openai/gpt-oss-120b", "groq"),
        ("google/gemma-3-27b-it:scaleway", "scaleway"),
    ],
)
def test_router_picks_provider_by_suffix_or_first_live_conversational(
    router_server: RouterServer, model: str, provider: str
) -> None:
    response = post_chat(router_server, model=model)

    assert response.status_code == 200
    assert response.headers["x-inference-provider"] == provider
    assert response.json()["choices"][0]["message"]["content"] == (f"Hello from {provider}.")
    assert [r.provider for r in router_server.chat_requests()] == [provider]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            f"{LLAMA}:groq",
            f"The requested model '{LLAMA}' is not supported by provider 'groq'.",
        ),
        (
            f"{LLAMA}:hf-inference",  # staging only
            f"The requested model '{LLAMA}' is not supported by provider 'hf-inference'.",
        ),
        (
            "nobody/nothing",
            "The requested model 'nobody/nothing' is not supported by any provider "
            "you have enabled.",
        ),
        (
            "sentence-transformers/all-MiniLM-L6-v2",
            "The requested model 'sentence-transformers/all-MiniLM-L6-v2' is not "
            "supported by any provider you have enabled.",
        ),
    ],
)
def test_router_rejects_unsupported_model_provider_pairs_with_400(
    router_server: RouterServer, model: str, message: str
) -> None:
    response = post_chat(router_server, model=model)

    assert response.status_code == 400
    assert "x-request-id" in response.headers
    assert response.json() == {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_supported",
        }
    }
    assert router_server.chat_requests()[0].provider is None


@pytest.mark.parametrize("path", ["/chat/completions", "/my-endpoint/v1/chat/completions"])
def test_base_url_routes_accept_any_model_as_custom_provider(
    router_server: RouterServer, path: str
) -> None:
    router_server.script("custom", Step.text("From a scripted base_url."))
    first = post_chat(router_server, path, model="tgi")
    second = post_chat(router_server, path, model="whatever/model")

    assert "x-inference-provider" not in first.headers
    assert first.json()["model"] == "tgi"
    assert first.json()["choices"][0]["message"]["content"] == ("From a scripted base_url.")
    assert second.json()["choices"][0]["message"]["content"] == "Hello from custom."
    assert [r.path for r in router_server.chat_requests("custom")] == [path, path]


def test_unknown_paths_methods_and_bodies_get_json_errors(
    router_server: RouterServer,
) -> None:
    assert httpx.get(router_server.url + "/nope").status_code == 404
    assert httpx.get(router_server.url + CHAT).status_code == 405
    assert httpx.post(router_server.url + "/v1/models").status_code == 405
    bad = httpx.post(router_server.url + CHAT, content=b"{not json")
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    no_model = httpx.post(router_server.url + CHAT, json={"messages": []})
    assert no_model.status_code == 400


def test_malformed_request_line_gets_400_and_connection_close(
    router_server: RouterServer,
) -> None:
    raw = raw_exchange(router_server.port, b"GARBAGE\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")


# ------------------------------------------------------------------------ auth
def test_require_token_rejects_missing_or_wrong_bearer_with_401() -> None:
    with RouterServer.running(require_token="hf_good") as server:
        missing = httpx.post(server.url + CHAT, json=chat_body())
        wrong = httpx.post(
            server.url + CHAT,
            json=chat_body(),
            headers={"Authorization": "Bearer hf_bad"},
        )
        good = httpx.post(
            server.url + CHAT,
            json=chat_body(),
            headers={"Authorization": "Bearer hf_good"},
        )

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid username or password."}
        assert response.headers["x-error-message"] == "Invalid username or password."
    assert good.status_code == 200


# ------------------------------------------------------------------ hub, models
def test_hub_returns_dict_mapping_when_expanded_and_counts_requests(
    router_server: RouterServer,
) -> None:
    url = f"{router_server.url}/api/models/{LLAMA}"
    expanded = httpx.get(url, params=MAPPING_QUERY).json()
    plain_expand = httpx.get(url, params={"expand": "inferenceProviderMapping"})
    not_expanded = httpx.get(url).json()

    assert expanded["id"] == LLAMA
    assert isinstance(expanded["_id"], str)
    mapping = expanded["inferenceProviderMapping"]
    assert list(mapping) == [
        "together",
        "fireworks-ai",
        "novita",
        "cerebras",
        "hf-inference",
    ]
    assert mapping["together"] == {
        "status": "live",
        "providerId": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "task": "conversational",
    }
    assert mapping["hf-inference"]["status"] == "staging"
    assert "inferenceProviderMapping" in plain_expand.json()
    assert "inferenceProviderMapping" not in not_expanded
    assert router_server.hub_requests == 3
    assert router_server.hub_requests_by_model == {LLAMA: 3}
    assert router_server.requests[0].query == {"expand[]": ["inferenceProviderMapping"]}


def test_hub_list_mapping_shape_has_provider_key() -> None:
    with RouterServer.running(mapping_shape="list") as server:
        url = f"{server.url}/api/models/{QWEN}"
        payload = httpx.get(url, params=MAPPING_QUERY).json()

    assert payload["inferenceProviderMapping"] == [
        {
            "provider": "together",
            "status": "live",
            "providerId": "Qwen/Qwen2.5-72B-Instruct-Turbo",
            "task": "conversational",
        },
        {
            "provider": "nebius",
            "status": "live",
            "providerId": "Qwen/Qwen2.5-72B-Instruct-fast",
            "task": "conversational",
        },
    ]


def test_hub_unknown_repo_is_404_repo_not_found(router_server: RouterServer) -> None:
    response = httpx.get(f"{router_server.url}/api/models/ghost/model", params=MAPPING_QUERY)

    assert response.status_code == 404
    assert response.headers["x-error-code"] == "RepoNotFound"
    assert response.json()["error"].startswith("Repository Not Found for url: ")
    assert router_server.hub_requests_by_model == {"ghost/model": 1}


def test_script_hub_steps_apply_in_order_then_default(
    router_server: RouterServer,
) -> None:
    router_server.script_hub(
        QWEN,
        Step.error(500, {"error": "Internal Error"}),
        Step.reset(),
        Step.delay(0.05),
    )
    url = f"{router_server.url}/api/models/{QWEN}"

    assert httpx.get(url, params=MAPPING_QUERY).status_code == 500
    with pytest.raises(httpx.TransportError):
        httpx.get(url, params=MAPPING_QUERY)
    started = time.monotonic()
    delayed = httpx.get(url, params=MAPPING_QUERY)
    assert time.monotonic() - started >= 0.05
    assert "nebius" in delayed.json()["inferenceProviderMapping"]
    assert httpx.get(url, params=MAPPING_QUERY).status_code == 200
    assert router_server.hub_requests == 4


def test_v1_models_lists_chat_models_with_providers(
    router_server: RouterServer,
) -> None:
    payload = httpx.get(router_server.url + "/v1/models").json()

    assert payload["object"] == "list"
    by_id = {model["id"]: model for model in payload["data"]}
    assert "sentence-transformers/all-MiniLM-L6-v2" not in by_id
    assert len(by_id) == len(DEFAULT_MODELS) - 1
    llama = by_id[LLAMA]
    assert llama["object"] == "model"
    assert llama["owned_by"] == "meta-llama"
    assert llama["architecture"]["input_modalities"] == ["text"]
    assert [p["provider"] for p in llama["providers"]][:2] == [
        "together",
        "fireworks-ai",
    ]
    assert llama["providers"][0] == {
        "provider": "together",
        "status": "live",
        "context_length": 131072,
        "supports_tools": True,
        "supports_structured_output": True,
        "is_model_author": False,
    }
    gemma = by_id["google/gemma-3-27b-it"]
    assert gemma["architecture"]["input_modalities"] == ["text", "image"]
