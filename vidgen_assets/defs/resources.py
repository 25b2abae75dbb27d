"""Resources: vidgen's settings as a Dagster resource, and the IO manager that stores real files."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource

from vidgen_assets.backends import get_backend
from vidgen_assets.backends.base import Backend
from vidgen_assets.core.plan import Plan
from vidgen_assets.defs.partitions import split_pair_key
from vidgen_assets.settings import Settings
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, load_artifacts, load_plan, save_artifacts, save_plan
from vidgen_assets.storage.s3 import default_s3
from vidgen_assets.storage.store import ArtifactStore


class VidgenResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where artifacts live and how chunks are laid out; gives the store, backends and scratch dirs.
    With S3 storage (or an `s3://` spec folder) the client comes from `s3`, dagster-aws's resource."""

    s3: S3Resource
    data_dir: str
    chunk_seconds: float = 5.0
    storage: str = "local"
    s3_bucket: str | None = None
    s3_prefix: str = ""
    spec_dir: str = "specs"
    work_dir: str | None = None
    stitch: str = "copy"

    @classmethod
    def from_settings(cls, settings: Settings, s3: S3Resource | None = None) -> VidgenResource:
        return cls(
            s3=s3 or default_s3(),
            data_dir=str(settings.data_dir),
            chunk_seconds=settings.chunk_seconds,
            storage=settings.storage,
            s3_bucket=settings.s3_bucket,
            s3_prefix=settings.s3_prefix,
            spec_dir=settings.spec_dir,
            work_dir=str(settings.work_dir) if settings.work_dir else None,
            stitch=settings.stitch,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.data_dir),
            chunk_seconds=self.chunk_seconds,
            storage="s3" if self.storage == "s3" else "local",
            s3_bucket=self.s3_bucket,
            s3_prefix=self.s3_prefix,
            spec_dir=self.spec_dir,
            work_dir=Path(self.work_dir) if self.work_dir else None,
            stitch="reencode" if self.stitch == "reencode" else "copy",
        )

    def store(self) -> ArtifactStore:
        return self.settings.store(s3=self.s3)

    def backend(self, name: str, models: Mapping[str, str] | None = None) -> Backend:
        """The backend a spec names, with its `models:` overrides; a model backend caches in the store."""
        store = self.store() if name == "replicate" else None
        return get_backend(name, chunk_seconds=self.chunk_seconds, models=models, store=store)

    def scratch(self) -> Path:
        """A fresh work directory; the IO manager deletes it once the output is stored."""
        root = self.settings.scratch_dir
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=root))


class ArtifactIOManager(dg.ConfigurableIOManager):
    """Stores outputs as real files in the storage layout (PNG, MP4, WAV, JSON), never pickles.

    `video_spec` is a `Plan` saved as `spec.json`; every other asset returns `Artifacts` (files plus a
    manifest). A many-to-one `chunk_pair` input loads as a dict keyed by pair (`p000`, ...), sorted, with
    the partitions that do not exist for the video (the pair dimension is global) left out.
    """

    vidgen: VidgenResource

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        store = self.vidgen.store()
        if isinstance(obj, Plan):
            key = save_plan(store, obj)
            context.log.debug(f"stored {store.uri(key)}")
            return
        if not isinstance(obj, Artifacts):
            raise TypeError(f"{context.asset_key.to_user_string()} returned {type(obj).__name__}, not Artifacts")
        keys = save_artifacts(store, obj)
        context.log.debug(f"stored {len(keys)} object(s) under {store.uri(layout.video_prefix(obj.video_id))}")

    def load_input(self, context: dg.InputContext) -> Any:
        store = self.vidgen.store()
        asset = context.asset_key.path[-1]
        if asset == "chunk_pair":
            found: dict[str, Artifacts] = {}
            for key in context.asset_partition_keys:
                pair, video = split_pair_key(key)
                loaded = load_artifacts(store, video, layout.pair_manifest(pair))
                if loaded is not None:
                    found[pair] = loaded
            return dict(sorted(found.items()))
        video = context.asset_partition_key
        if asset == "video_spec":
            plan = load_plan(store, video)
            if plan is None:
                raise dg.Failure(f"no plan for video {video!r}: materialize video_spec first")
            return plan
        loaded = load_artifacts(store, video, layout.manifest(asset))
        if loaded is None:
            raise dg.Failure(f"no {asset} for video {video!r}: materialize it first")
        return loaded
