"""Resources: vidgen's settings, the generation backends and the IO manager that stores real files."""

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._config.pythonic_config import PartialResource  # the type configure_at_launch() returns
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr, create_model

from vidgen_assets.backends import BackendUnavailable, get_backend
from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.prices import load_prices
from vidgen_assets.comfy_workflows import LoadedWorkflow, stored_workflows
from vidgen_assets.core.cost import Price
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.spec import Spec
from vidgen_assets.settings import (
    SECRETS,
    TOKEN_ENV,
    Settings,
    SettingsError,
    activated,
    token_in_environment,
    variable,
)
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, PairSet, load_artifacts, load_plan, save_artifacts, save_plan
from vidgen_assets.storage.lock import artifact_lock
from vidgen_assets.storage.s3 import MAX_ATTEMPTS, LazyS3Resource, default_s3
from vidgen_assets.storage.store import ArtifactStore


class VidgenResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """vidgen's settings for a run or a sensor: the artifact store, price overrides and scratch dirs.

    Deployment > Resources shows every setting in force (`VidgenSettings`' fields, each named by its
    environment variable in its description); the Replicate token is an `EnvVar`, shown by its name.
    While a run or a sensor evaluation uses it, its settings are the active ones (the ffmpeg binary and
    the font follow them). The S3 client of an S3 artifact store, or of an `s3://` spec folder, is `s3`:
    dagster-aws's resource, the definitions' `s3` (configure that one and the store follows)."""

    replicate_api_token: str | None = Field(
        default=None, description=f"{TOKEN_ENV}, read from the environment (shown by name, never by value)"
    )
    s3: dg.ResourceDependency[S3Resource]
    _settings: Settings | None = PrivateAttr(default=None)
    _store: ArtifactStore | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(
        cls, settings: Settings, s3: "S3Resource | PartialResource[Any] | None" = None
    ) -> "VidgenResource":
        """The resource for `settings`: each setting as text, the token as `EnvVar(REPLICATE_API_TOKEN)`.
        A run rebuilds the settings from these values (and resolves the token from its environment), so
        a token given in code must be the environment's too: a `SettingsError` says so."""
        token = settings.replicate_api_token
        if token is not None and not token_in_environment(token):
            raise SettingsError(
                f"{TOKEN_ENV}: a token given in code must also be set in the environment (a run reads it from "
                f"{TOKEN_ENV}, so that it is never written into Dagster's config)"
            )
        resource = VidgenSettings(
            **settings.as_values(), s3=s3 or default_s3(),
            replicate_api_token=dg.EnvVar(TOKEN_ENV) if token is not None else None,
        )  # fmt: skip
        resource._settings = settings  # the very object, for calls in this process outside a run
        return resource

    @property
    def s3_args(self) -> dict[str, Any]:
        """How a store gets its S3 client: in a run or a sensor, from the definitions' `s3` as configured
        (the launchpad's `resources.s3.config` included; Dagster hands this resource that resource, whose
        client is made when the store is; a plain dagster-aws `S3Resource` bound as `s3` hands its client);
        used directly, outside Dagster, from the S3 resource it was given, else the AWS settings' default."""
        if isinstance(self.s3, S3Resource):
            return {"s3": self.s3}
        if isinstance(self.s3, PartialResource):
            return {}
        return {"client": self.s3}

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            values = {name: getattr(self, name) for name in SETTING_FIELDS}
            self._settings = Settings.from_values(values, replicate_api_token=self.replicate_api_token)
        return self._settings

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["VidgenResource"]:
        with activated(self.settings):
            yield self

    def store(self) -> ArtifactStore:
        if self._store is None:
            self._store = self.settings.store(**self.s3_args)
        return self._store

    def price_overrides(self) -> dict[str, Price]:
        """Model price overrides (`VIDGEN_PRICES`), read at each call: a changed file takes effect."""
        return load_prices(self.settings.prices)

    def scratch(self) -> Path:
        """A fresh work directory; the IO manager deletes it once the output is stored."""
        root = self.settings.scratch_dir
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=root))


SETTING_FIELDS = [name for name in Settings.model_fields if name not in SECRETS]
VidgenSettings: type[VidgenResource] = create_model(
    "VidgenSettings",
    __base__=VidgenResource,
    __doc__=VidgenResource.__doc__,
    **{name: (str | None, Field(default=None, description=variable(name))) for name in SETTING_FIELDS},  # type: ignore[call-overload]
)
"""`VidgenResource` with one field per setting: declared by `Settings`, not again here."""


class Backends(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The generation backends a run may use (the `backends` resource): the one a spec names, with its
    `models:` overrides, configured by the settings; a model backend caches its calls in the store."""

    vidgen: dg.ResourceDependency[VidgenResource]

    def get(
        self,
        name: str,
        models: Mapping[str, str] | None = None,
        spec: Spec | None = None,
        workflows: Sequence[LoadedWorkflow] | None = None,
    ) -> Backend:
        """The backend `name`; `comfyui` drives the `spec`'s servers with its `workflows` (by default the
        ones registered with the video, from the store)."""
        store = self.vidgen.store() if name in ("replicate", "comfyui") else None
        if name == "comfyui" and workflows is None and spec is not None and store is not None:
            try:
                workflows = stored_workflows(store, spec)
            except ValueError as exc:
                raise BackendUnavailable(str(exc)) from None
        return get_backend(name, self.vidgen.settings, models=models, store=store, spec=spec, workflows=workflows)


VidgenParam = VidgenResource
"""How an asset, check or sensor asks for the `vidgen` resource."""
BackendsParam = Backends
"""How an asset asks for the `backends` resource."""


def build_resources(settings: Settings) -> dict[str, Any]:
    """The resources for these settings: the one function that chooses the store and the backends.
    `s3` is dagster-aws's S3 resource, listed in the UI and configurable at launch (`resources.s3.config`):
    the S3 client of the artifact store (and so of the IO manager) and of an `s3://` spec folder.
    Unconfigured, it takes the standard AWS settings."""
    # One object: vidgen's `s3` is the top-level one.
    s3 = LazyS3Resource.configure_at_launch(max_attempts=MAX_ATTEMPTS)
    vidgen = VidgenResource.from_settings(settings, s3)
    return {
        "s3": s3,
        "vidgen": vidgen,
        "backends": Backends(vidgen=vidgen),
        "artifacts": ArtifactIOManager(vidgen=vidgen),
    }


class ArtifactIOManager(dg.ConfigurableIOManager):
    """Stores outputs as real files in the storage layout (PNG, MP4, WAV, JSON), never pickles.

    `video_spec` is a `Plan` saved as `spec.json`; `chunk_pairs` is a `PairSet` whose pairs the asset
    stored one by one as each was made (`chunks/p000.json`, ...); every other asset returns `Artifacts`
    (files plus a manifest).
    """

    vidgen: dg.ResourceDependency[VidgenResource]

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        store = self.vidgen.store()
        if isinstance(obj, Plan):
            key = save_plan(store, obj)
            context.log.debug(f"stored {store.uri(key)}")
            return
        if isinstance(obj, PairSet):
            context.log.debug(f"{len(obj.pairs)} chunk pair(s) of {obj.video_id!r} stored as each was made")
            return
        if not isinstance(obj, Artifacts):
            raise TypeError(f"{context.asset_key.to_user_string()} returned {type(obj).__name__}, not Artifacts")
        # One writer of an output at a time (the CLI and the daemon, say): the files and their manifest
        # are written together, never interleaved with another writer's.
        with artifact_lock(store, obj.video_id, obj.manifest, f"run {context.run_id}"):
            keys = save_artifacts(store, obj)
        context.log.debug(f"stored {len(keys)} object(s) under {store.uri(layout.video_prefix(obj.video_id))}")

    def load_input(self, context: dg.InputContext) -> Any:
        return load_stored(self.vidgen.store(), context.asset_partition_key, context.asset_key.path[-1])


def load_stored(store: ArtifactStore, video: str, asset: str) -> Any:
    """An asset's stored output for a video, as its step returned it: a `Plan` (`video_spec`), a `PairSet`
    (`chunk_pairs`, from the plan's pair manifests) or `Artifacts`. A clear failure when it is missing."""
    if asset in ("video_spec", "chunk_pairs"):
        plan = load_plan(store, video)
        if plan is None:
            raise dg.Failure(f"no plan for video {video!r}: materialize video_spec first")
        if asset == "video_spec":
            return plan
        pairs = {k: load_artifacts(store, video, layout.pair_manifest(k)) for k in plan.pair_keys}
        missing = [k for k, p in pairs.items() if p is None]
        if missing:
            raise dg.Failure(f"video {video!r} lacks chunk pair {', '.join(missing)}: materialize chunk_pairs first")
        return PairSet(video, {k: p for k, p in pairs.items() if p is not None})
    loaded = load_artifacts(store, video, layout.manifest(asset))
    if loaded is None:
        raise dg.Failure(f"no {asset} for video {video!r}: materialize it first")
    return loaded
