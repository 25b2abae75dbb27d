"""The thin Dagster layer: partitions, assets, checks, resources, IO manager, jobs."""

from __future__ import annotations

import dagster as dg

from vidgen_assets.defs.assets import ALL_ASSETS
from vidgen_assets.defs.checks import ALL_CHECKS
from vidgen_assets.defs.jobs import ALL_JOBS
from vidgen_assets.defs.resources import ArtifactIOManager, VidgenResource
from vidgen_assets.settings import Settings


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources for these settings: the one place that wires storage and backends."""
    vidgen = VidgenResource.from_settings(settings)
    return {"vidgen": vidgen, "artifacts": ArtifactIOManager(vidgen=vidgen)}


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS, asset_checks=ALL_CHECKS, jobs=ALL_JOBS, resources=build_resources(settings)
    )
