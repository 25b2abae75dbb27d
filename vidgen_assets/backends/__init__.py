"""Generation backends behind one interface (`base.Backend`)."""

from __future__ import annotations

from collections.abc import Mapping

from vidgen_assets.backends.base import Backend
from vidgen_assets.storage.store import ArtifactStore


class BackendUnavailable(RuntimeError):
    """The spec asks for a backend this installation cannot use."""


class GenerationFailed(RuntimeError):
    """A backend could not make an artifact. `retryable` is False when trying again cannot help (a
    rejected prompt, a bad token) or would pay again for a failure; orchestrator retries then stop."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def get_backend(
    name: str,
    chunk_seconds: float = 5.0,
    models: Mapping[str, str] | None = None,
    store: ArtifactStore | None = None,
) -> Backend:
    """The backend a spec's `backend:` field names.

    `replicate` takes the spec's `models:` overrides, the token and base URL from the official client's
    variables (`REPLICATE_API_TOKEN`, `REPLICATE_BASE_URL`), prices overridden by `VIDGEN_PRICES`, and
    `store` for its generation cache; its chunk length is its video model's (not `chunk_seconds`).
    """
    if name == "animatic":
        from vidgen_assets.backends.animatic import AnimaticBackend

        return AnimaticBackend(chunk_seconds=chunk_seconds)
    if name == "replicate":
        from vidgen_assets.backends.models import UnknownModel, load_prices, select_models
        from vidgen_assets.backends.replicate import (
            TOKEN_ENV,
            Limits,
            ReplicateBackend,
            replicate_deadline,
            replicate_env,
        )

        try:
            selection = select_models(models or {}, load_prices())
            limits = Limits(deadline_s=replicate_deadline())
        except (UnknownModel, ValueError) as exc:
            raise BackendUnavailable(str(exc)) from None
        token, base_url = replicate_env()
        if not token:
            raise BackendUnavailable(
                f"backend 'replicate' needs an API token: set {TOKEN_ENV} (see README.md, 'Replicate backend')"
            )
        return ReplicateBackend(selection, token, store=store, base_url=base_url, limits=limits)
    raise BackendUnavailable(f"unknown backend {name!r}; known: animatic, replicate")
