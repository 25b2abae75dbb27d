"""Generation backends behind one interface (`base.Backend`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from vidgen_assets.backends.base import Backend
from vidgen_assets.storage.store import ArtifactStore

if TYPE_CHECKING:
    from vidgen_assets.comfy_workflows import LoadedWorkflow
    from vidgen_assets.core.spec import Spec
    from vidgen_assets.settings import Settings
    from vidgen_assets.takes import Judge


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
    settings: Settings,
    models: Mapping[str, str] | None = None,
    store: ArtifactStore | None = None,
    spec: Spec | None = None,
    workflows: Sequence[LoadedWorkflow] | None = None,
) -> Backend:
    """The backend a spec's `backend:` field names, as `settings` configure it.

    `animatic` makes chunks of `settings.chunk_seconds`. `replicate` takes the spec's `models:`
    overrides, the token, base URL and poll interval from the settings (the official client's variables
    `REPLICATE_API_TOKEN`, `REPLICATE_BASE_URL`, `REPLICATE_POLL_INTERVAL`), prices overridden by
    `settings.prices`, and `store` for its generation cache; its chunk length is its video model's.
    `comfyui` drives the `spec`'s servers with its `workflows` (read and checked, `comfy_workflows`),
    caching in `store`; its chunk length is its video workflow's clip.
    """
    if name == "animatic":
        from vidgen_assets.backends.animatic import AnimaticBackend

        return AnimaticBackend(chunk_seconds=settings.chunk_seconds)
    if name == "replicate":
        from vidgen_assets.backends.prices import load_prices
        from vidgen_assets.backends.replicate import Limits, ReplicateBackend
        from vidgen_assets.backends.selection import UnknownModel, select_models
        from vidgen_assets.settings import TOKEN_ENV

        try:
            selection = select_models(models or {}, load_prices(settings.prices))
        except (UnknownModel, ValueError) as exc:
            raise BackendUnavailable(str(exc)) from None
        token = settings.replicate_api_token
        if token is None or not token.get_secret_value():
            raise BackendUnavailable(
                f"backend 'replicate' needs an API token: set {TOKEN_ENV} (see docs/backends.md, 'Replicate')"
            )
        return ReplicateBackend(
            selection, token.get_secret_value(), store=store, base_url=settings.replicate_base_url,
            poll_interval=settings.replicate_poll_interval,
            limits=Limits(deadline_s=settings.replicate_deadline or None),
        )  # fmt: skip
    if name == "comfyui":
        from vidgen_assets.backends.comfyui import ComfyUIBackend

        if spec is None or spec.comfyui is None or workflows is None:
            raise BackendUnavailable("backend 'comfyui' needs the spec's comfyui section and its workflows")
        try:
            return ComfyUIBackend(
                spec, workflows, store=store, deadline_s=settings.comfyui_deadline,
                poll_s=settings.comfyui_poll_interval,
            )  # fmt: skip
        except ValueError as exc:
            raise BackendUnavailable(str(exc)) from None
    raise BackendUnavailable(f"unknown backend {name!r}; known: animatic, replicate, comfyui")


def judge_for(backend: Backend) -> Judge | None:
    """The judge (`qc.judge: replicate`) asked through `backend` when it is Replicate's (its token, client,
    retries and cache; `backends.judge`); None for any other backend."""
    from vidgen_assets.backends.replicate import ReplicateBackend

    if not isinstance(backend, ReplicateBackend):
        return None
    from vidgen_assets.backends.judge import bound_judge

    return bound_judge(backend)
