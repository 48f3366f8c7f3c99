"""`ChatHuggingFaceAPI.profile` from the router's catalog, never fetched at construction.

A model built while the process already holds the router's catalog (any
earlier call fetched it) gets a profile for its providers at once;
otherwise the built-in table's. `load_profile` / `aload_profile` fetch the
catalog (one cached request) and set the profile for the providers that
will be tried.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.model_profile import ModelProfile

from langchain_hfapi._catalog_access import afetch_catalog, cached_catalog, fetch_catalog
from langchain_hfapi._offers import RouterCatalog
from langchain_hfapi._preferences import check_prefs
from langchain_hfapi._profiles import catalog_profile, model_profile

__all__ = ["ProfileMixin"]


class ProfileMixin:
    """Adds catalog-built profiles to `ChatHuggingFaceAPI`."""

    def _profile_from(self, catalog: RouterCatalog | None) -> ModelProfile | None:
        model: Any = self
        target = model._target(model.model, model.provider)
        offers = catalog.model(target.repo_id) if catalog is not None else None
        if offers is None or target.base_url is not None or target.policy is not None:
            return model_profile(target.repo_id)
        prefs = check_prefs(model.provider_sort, model.max_price, model.ignore_providers)
        return catalog_profile(offers, target.providers, prefs)

    def _resolve_model_profile(self) -> ModelProfile | None:
        model: Any = self
        model._profile_auto = True  # a profile given to the constructor is never replaced
        token = model.api_key.get_secret_value() if model.api_key is not None else None
        return self._profile_from(cached_catalog(model._store(), model.router_url, token))

    def load_profile(self) -> ModelProfile | None:
        """Builds `profile` from the router's catalog for the providers to be tried.

        Fetches the catalog when it is not cached (one request, shared with
        the calls' routing). A profile given to the constructor is kept.

        Returns:
            The profile now on the model: from the catalog, or the built-in
            table's when the catalog does not know the model or is unreachable.

        Example:
            ```python
            llm = ChatHuggingFaceAPI(model="llama-3.3-70b", provider_sort="price")
            llm.load_profile()["max_input_tokens"]  # the smallest context tried
            ```
        """
        model: Any = self
        if model._profile_auto or model.profile is None:
            catalog = fetch_catalog(model.client, model.catalog_ttl, ["profile"])
            model.profile = self._profile_from(catalog)
        profile: ModelProfile | None = model.profile
        return profile

    async def aload_profile(self) -> ModelProfile | None:
        """Async twin of `load_profile`."""
        model: Any = self
        if model._profile_auto or model.profile is None:
            catalog = await afetch_catalog(model.async_client, model.catalog_ttl, ["profile"])
            model.profile = self._profile_from(catalog)
        profile: ModelProfile | None = model.profile
        return profile
