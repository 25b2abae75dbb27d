"""The thin Dagster layer: partitions, assets, checks, resources, IO manager, jobs."""

from __future__ import annotations

import warnings

import dagster as dg

# vidgen deliberately uses Dagster features marked beta/preview (multi-to-single partition mappings,
# partitioned checks, data versions); say so once here rather than on every run and worker.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from vidgen_assets.defs.assets import ALL_ASSETS  # noqa: E402
from vidgen_assets.defs.checks import ALL_CHECKS  # noqa: E402
from vidgen_assets.defs.jobs import ALL_JOBS  # noqa: E402
from vidgen_assets.defs.resources import ArtifactIOManager, VidgenResource  # noqa: E402
from vidgen_assets.defs.sensors import ALL_SENSORS  # noqa: E402
from vidgen_assets.settings import Settings  # noqa: E402


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources for these settings: the one place that wires storage and backends. `s3` is
    dagster-aws's S3 resource (the S3 client of the artifact store and of an `s3://` spec folder)."""
    vidgen = VidgenResource.from_settings(settings)
    return {"vidgen": vidgen, "s3": vidgen.s3, "artifacts": ArtifactIOManager(vidgen=vidgen)}


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=ALL_JOBS,
        sensors=ALL_SENSORS,
        resources=build_resources(settings),
    )
