"""The thin Dagster layer: partitions, assets, checks, resources, IO manager, jobs."""

from __future__ import annotations

import warnings

import dagster as dg

# vidgen deliberately uses Dagster features marked beta/preview (multi-to-single partition mappings,
# partitioned checks, data versions); say so once here rather than on every run and worker.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from vidgen_assets.defs.assets import ALL_ASSETS  # noqa: E402
from vidgen_assets.defs.jobs import ALL_JOBS  # noqa: E402
from vidgen_assets.defs.report import report  # noqa: E402
from vidgen_assets.defs.resources import build_resources  # noqa: E402
from vidgen_assets.defs.sensors import build_sensors  # noqa: E402
from vidgen_assets.settings import Settings  # noqa: E402

__all__ = ["build_definitions", "build_resources"]


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything Dagster loads, built from one `Settings`: assets, checks, jobs, sensors, resources."""
    return dg.Definitions(
        assets=[*ALL_ASSETS, report],
        jobs=ALL_JOBS,
        sensors=build_sensors(settings),
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )
