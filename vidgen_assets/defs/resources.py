"""Resources: vidgen's settings, the generation backends and the IO manager that stores real files."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource

from vidgen_assets.backends import get_backend
from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.models import load_prices
from vidgen_assets.core.cost import Price
from vidgen_assets.core.plan import Plan
from vidgen_assets.settings import Settings, activated
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, PairSet, load_artifacts, load_plan, save_artifacts, save_plan
from vidgen_assets.storage.lock import artifact_lock
from vidgen_assets.storage.s3 import default_s3
from vidgen_assets.storage.store import ArtifactStore


class VidgenResource:
    """vidgen's settings for a run or a sensor: the artifact store, price overrides and scratch dirs.

    A plain object handed to assets, checks and sensors as the `vidgen` resource (`build_resources`);
    while a run or a sensor evaluation uses it, its settings are the active ones (the ffmpeg binary and
    the font follow them). With S3 storage, or an `s3://` spec folder, the S3 client comes from `s3`,
    dagster-aws's resource (the `s3` resource of the definitions)."""

    def __init__(self, settings: Settings, s3: S3Resource | None = None) -> None:
        self.settings = settings
        self.s3 = s3 or default_s3()
        self._store: ArtifactStore | None = None

    @classmethod
    def from_settings(cls, settings: Settings, s3: S3Resource | None = None) -> VidgenResource:
        return cls(settings, s3)

    def store(self) -> ArtifactStore:
        if self._store is None:
            self._store = self.settings.store(s3=self.s3)
        return self._store

    def prices(self) -> dict[str, Price]:
        """Model price overrides (`VIDGEN_PRICES`), read at each call: a changed file takes effect."""
        return load_prices(self.settings.prices)

    def scratch(self) -> Path:
        """A fresh work directory; the IO manager deletes it once the output is stored."""
        root = self.settings.scratch_dir
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=root))


class Backends:
    """The generation backends a run may use (the `backends` resource): the one a spec names, with its
    `models:` overrides, configured by the settings; a model backend caches its calls in the store."""

    def __init__(self, vidgen: VidgenResource) -> None:
        self.vidgen = vidgen

    def get(self, name: str, models: Mapping[str, str] | None = None) -> Backend:
        store = self.vidgen.store() if name == "replicate" else None
        return get_backend(name, self.vidgen.settings, models=models, store=store)


VidgenParam = dg.ResourceParam[VidgenResource]
"""How an asset, check or sensor asks for the `vidgen` resource."""
BackendsParam = dg.ResourceParam[Backends]
"""How an asset asks for the `backends` resource."""


def active_resource(vidgen: VidgenResource) -> dg.ResourceDefinition:
    """`vidgen` as a resource whose settings are the active ones while a run or sensor uses it."""

    @dg.resource(description="vidgen's settings: storage, scratch dirs, prices, the tools' paths")
    def vidgen_resource(_: dg.InitResourceContext) -> Iterator[VidgenResource]:
        with activated(vidgen.settings):
            yield vidgen

    return vidgen_resource


def build_resources(settings: Settings) -> dict[str, Any]:
    """The resources for these settings: the one function that chooses the store and the backends.
    `s3` is dagster-aws's S3 resource, listed in the UI: the S3 client of the artifact store (and so of
    the IO manager) and of an `s3://` spec folder. Unconfigured, it takes the standard AWS settings."""
    s3 = default_s3()
    vidgen = VidgenResource(settings, s3)
    return {
        "s3": s3,
        "vidgen": active_resource(vidgen),
        "backends": dg.ResourceDefinition.hardcoded_resource(Backends(vidgen), "generation backends"),
        "artifacts": dg.IOManagerDefinition.hardcoded_io_manager(ArtifactIOManager(vidgen)),
    }


class ArtifactIOManager(dg.IOManager):
    """Stores outputs as real files in the storage layout (PNG, MP4, WAV, JSON), never pickles.

    `video_spec` is a `Plan` saved as `spec.json`; `chunk_pairs` is a `PairSet` whose pairs the asset
    stored one by one as each was made (`chunks/p000.json`, ...); every other asset returns `Artifacts`
    (files plus a manifest).
    """

    def __init__(self, vidgen: VidgenResource) -> None:
        self.vidgen = vidgen

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
