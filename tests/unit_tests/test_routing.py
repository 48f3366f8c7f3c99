"""Tests for aliases, model-name validation (`_aliases`) and routing (`_routing`)."""

from __future__ import annotations

import pytest

from langchain_hfapi._aliases import (
    DEFAULT_MODEL,
    DEFAULT_VISION_MODEL,
    FALLBACK_MODELS,
    MODEL_ALIASES,
    POLICIES,
    VISION_MODELS,
    resolve_alias,
    split_route,
    validate_repo_id,
)
from langchain_hfapi._failover import Candidate
from langchain_hfapi._mapping import ProviderMapping
from langchain_hfapi._routing import Target, build_candidates, resolve_target
from langchain_hfapi.errors import ModelNotSupportedError

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
ROUTER = "https://router.huggingface.co"
CHAT_URL = "https://router.huggingface.co/v1/chat/completions"


# --- alias table --------------------------------------------------------------------------


@pytest.mark.parametrize(("alias", "target"), sorted(MODEL_ALIASES.items()))
def test_alias_target_is_a_valid_repo_id(alias: str, target: str) -> None:
    assert validate_repo_id(target) == target
    assert resolve_alias(alias) == target


def test_no_alias_chains() -> None:
    targets = set(MODEL_ALIASES.values())
    assert not set(MODEL_ALIASES) & targets
    for alias in MODEL_ALIASES:
        once = resolve_alias(alias)
        assert resolve_alias(once) == once


def test_aliases_are_short_lowercase_names_not_repo_ids_or_routes() -> None:
    for alias in MODEL_ALIASES:
        assert alias == alias.lower()
        assert "/" not in alias and ":" not in alias and " " not in alias


def test_qwen_2_5_72b_is_the_instruct_model_not_the_coder() -> None:
    assert resolve_alias("qwen-2.5-72b") == "Qwen/Qwen2.5-72B-Instruct"
    assert resolve_alias("qwen-2.5-coder-32b") == "Qwen/Qwen2.5-Coder-32B-Instruct"


def test_default_and_fallback_models_are_valid() -> None:
    assert validate_repo_id(DEFAULT_MODEL) == DEFAULT_MODEL
    assert DEFAULT_MODEL in FALLBACK_MODELS
    assert len(FALLBACK_MODELS) == len(set(FALLBACK_MODELS))
    assert set(FALLBACK_MODELS) == set(MODEL_ALIASES.values())
    assert DEFAULT_VISION_MODEL in VISION_MODELS
    for repo in VISION_MODELS:
        assert validate_repo_id(repo) == repo


def test_policies() -> None:
    assert frozenset({"fastest", "cheapest", "preferred"}) == POLICIES


# --- resolve_alias / validate_repo_id / split_route ----------------------------------------


@pytest.mark.parametrize("name", [LLAMA, "unknown-alias", "Llama-3.3-70B", ""])
def test_resolve_alias_passes_other_names_through(name: str) -> None:
    assert resolve_alias(name) == name


def test_user_aliases_win_over_built_in_ones() -> None:
    user = {"llama-3.3-70b": "me/my-llama", "mine": "me/model"}
    assert resolve_alias("llama-3.3-70b", user) == "me/my-llama"
    assert resolve_alias("mine", user) == "me/model"
    assert resolve_alias("qwen-2.5-72b", user) == "Qwen/Qwen2.5-72B-Instruct"
    assert resolve_alias("llama-3.3-70b", {}) == LLAMA


@pytest.mark.parametrize(
    "repo_id",
    [LLAMA, "a/b", "Qwen/Qwen2.5-72B-Instruct", "org_1/model.v2_final", "0/0"],
)
def test_validate_repo_id_accepts_hub_ids(repo_id: str) -> None:
    assert validate_repo_id(repo_id) == repo_id


@pytest.mark.parametrize(
    "repo_id",
    [
        "https://evil.example/v1",
        "http://127.0.0.1/org/model",
        "//evil.example/x",
        "org/../model",
        "../org/model",
        "org/..",
        "org/model/../../x",
        "org/my model",
        " org/model",
        "org/model ",
        "org/model\n",
        "org/mo\x00del",
        "org/mo\tdel",
        "org/mo\x7fdel",
        "org/",
        "/model",
        "org//model",
        "/",
        "",
        "model-only",
        "org/model/extra",
        "org/model.",
        "org/model-",
        "-org/model",
        ".org/model",
        "org/model?x=1",
        "org/model#frag",
        "org/modèle",
    ],
)
def test_validate_repo_id_rejects_unsafe_names(repo_id: str) -> None:
    with pytest.raises(ValueError, match="not a Hugging Face model id"):
        validate_repo_id(repo_id)


def test_validate_repo_id_error_points_to_base_url() -> None:
    with pytest.raises(ValueError, match="set base_url"):
        validate_repo_id("gpt-4o")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (LLAMA, (LLAMA, None)),
        (f"{LLAMA}:together", (LLAMA, "together")),
        (f"{LLAMA}:fireworks-ai", (LLAMA, "fireworks-ai")),
        (f"{LLAMA}:fastest", (LLAMA, "fastest")),
        ("llama-3.3-70b:hf-inference", ("llama-3.3-70b", "hf-inference")),
        ("a/b:c:d", ("a/b:c", "d")),
    ],
)
def test_split_route(model: str, expected: tuple[str, str | None]) -> None:
    assert split_route(model) == expected


@pytest.mark.parametrize("model", [f"{LLAMA}:", f"{LLAMA}:Together", f"{LLAMA}:a b", f"{LLAMA}:-x"])
def test_split_route_rejects_bad_suffix(model: str) -> None:
    with pytest.raises(ValueError, match="Invalid provider or policy"):
        split_route(model)


# --- resolve_target --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        ("llama-3.3-70b", None, Target(LLAMA)),
        ("llama-3.3-70b", "auto", Target(LLAMA)),
        (LLAMA, "together", Target(LLAMA, providers=("together",))),
        (LLAMA, ["groq", "together"], Target(LLAMA, providers=("groq", "together"))),
        (LLAMA, ("novita",), Target(LLAMA, providers=("novita",))),
        (LLAMA, "fastest", Target(LLAMA, policy="fastest")),
        (LLAMA, "cheapest", Target(LLAMA, policy="cheapest")),
        (f"{LLAMA}:groq", "together", Target(LLAMA, providers=("groq",))),
        (f"{LLAMA}:preferred", ["together"], Target(LLAMA, policy="preferred")),
        (f"{LLAMA}:auto", "together", Target(LLAMA)),
        ("llama-3.3-70b:novita", None, Target(LLAMA, providers=("novita",))),
    ],
)
def test_resolve_target(model: str, provider: object, expected: Target) -> None:
    assert resolve_target(model, provider) == expected  # type: ignore[arg-type]


def test_resolve_target_user_alias() -> None:
    target = resolve_target("mine:groq", aliases={"mine": "me/model"})
    assert target == Target("me/model", providers=("groq",))


@pytest.mark.parametrize(
    ("model", "provider", "match"),
    [
        ("https://evil.example/x", None, "not a Hugging Face model id"),
        ("org/../x", None, "not a Hugging Face model id"),
        ("gpt 4", None, "not a Hugging Face model id"),
        (LLAMA, [], "must not be empty"),
        (LLAMA, ["together", "fastest"], "routing policy"),
        (LLAMA, ["auto"], "routing policy"),
        (LLAMA, ["Bad"], "Invalid provider"),
        (LLAMA, "Bad Slug", "Invalid provider"),
    ],
)
def test_resolve_target_rejects(model: str, provider: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resolve_target(model, provider)  # type: ignore[arg-type]


def test_resolve_target_is_kept_per_arguments_and_never_keeps_a_refusal() -> None:
    first = resolve_target("llama-3.3-70b", ["groq", "together"])
    assert resolve_target("llama-3.3-70b", ("groq", "together")) is first  # one Target
    assert resolve_target("llama-3.3-70b", ["together", "groq"]).providers == ("together", "groq")
    assert resolve_target("mine", aliases={"mine": "me/a"}).repo_id == "me/a"
    assert resolve_target("mine", aliases={"mine": "me/b"}).repo_id == "me/b"
    for _ in range(2):
        with pytest.raises(ValueError, match="Invalid provider"):
            resolve_target(LLAMA, ["Bad"])
    with pytest.raises(TypeError):  # a provider list that cannot be hashed is still checked
        resolve_target(LLAMA, [["together"]])  # type: ignore[list-item]


def test_resolve_target_bad_provider_message_does_not_mention_placeholder_model() -> None:
    with pytest.raises(ValueError) as info:
        resolve_target(LLAMA, "Bad Slug")
    assert "'x:" not in str(info.value)


def test_resolve_target_base_url_keeps_model_name_whole() -> None:
    url = "http://127.0.0.1:8000/v1"
    assert resolve_target("llama3:8b", base_url=url) == Target("llama3:8b", base_url=url)
    assert resolve_target("gpt-4o-mini", "together", base_url=url).providers is None
    assert resolve_target("llama-3.3-70b", base_url=url).repo_id == LLAMA
    for bad in ("", "my model", "m\x00"):
        with pytest.raises(ValueError, match="Invalid model name"):
            resolve_target(bad, base_url=url)


def test_target_needs_mapping_only_without_policy_or_base_url() -> None:
    assert Target(LLAMA).needs_mapping
    assert Target(LLAMA, providers=("groq",)).needs_mapping
    assert not Target(LLAMA, policy="fastest").needs_mapping
    assert not Target("m", base_url="http://x").needs_mapping


# --- build_candidates ---------------------------------------------------------------------

MAPPING = [
    ProviderMapping(
        "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "live", "conversational"
    ),
    ProviderMapping("nebius", "nebius-id", "staging", "conversational"),
    ProviderMapping("cerebras", "llama-3.3-70b", "live", "conversational"),
    ProviderMapping("sambanova", None, "live", "conversational"),
]


@pytest.mark.parametrize("router", [ROUTER, ROUTER + "/"])
def test_build_candidates_from_mapping(router: str) -> None:
    candidates = build_candidates(Target(LLAMA), router, MAPPING)
    assert candidates == [
        Candidate(LLAMA, "together", CHAT_URL, f"{LLAMA}:together", MAPPING[0].provider_id),
        Candidate(LLAMA, "cerebras", CHAT_URL, f"{LLAMA}:cerebras", "llama-3.3-70b"),
        Candidate(LLAMA, "sambanova", CHAT_URL, f"{LLAMA}:sambanova", None),
    ]


def test_build_candidates_restricted_to_requested_providers_in_order() -> None:
    target = resolve_target(LLAMA, ["sambanova", "nebius", "together"])
    candidates = build_candidates(target, ROUTER, MAPPING)
    assert [c.route for c in candidates] == ["sambanova", "together"]
    assert [c.wire_model for c in candidates] == [f"{LLAMA}:sambanova", f"{LLAMA}:together"]


def test_build_candidates_for_a_policy_needs_no_mapping() -> None:
    [candidate] = build_candidates(resolve_target(f"{LLAMA}:fastest"), ROUTER)
    assert candidate == Candidate(LLAMA, "fastest", CHAT_URL, f"{LLAMA}:fastest")


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/"], ids=["plain", "slash"]
)
def test_build_candidates_for_base_url(base_url: str) -> None:
    [candidate] = build_candidates(resolve_target("llama3:8b", base_url=base_url), ROUTER)
    assert candidate.url == "http://127.0.0.1:8000/v1/chat/completions"
    assert candidate.wire_model == "llama3:8b"
    assert candidate.route is None
    assert candidate.label == "custom"


def test_build_candidates_without_usable_mapping_raises() -> None:
    with pytest.raises(ModelNotSupportedError, match="mapping is empty"):
        build_candidates(Target(LLAMA), ROUTER, None)
    with pytest.raises(ModelNotSupportedError, match="None of the requested providers"):
        build_candidates(Target(LLAMA, providers=("groq",)), ROUTER, MAPPING)
