"""One job per stage of the pipeline (`pipeline.STAGES`), made from its declaration.

An asset job cannot mix `videos` with `pair x video` partitions, so each stage is its own job. The
runner (CLI) and the `pair_driver` sensor sequence them per video with `pipeline.next_steps`:
prepare_video -> chunk_pairs (one run per pair, in parallel) and make_music alongside them ->
assemble_video. Music is a job of its own so that it runs while the pairs do, off the critical path.
"""

from __future__ import annotations

import dagster as dg

from vidgen_assets.defs.partitions import pair_video, videos
from vidgen_assets.pipeline import STAGES, Stage


def job_for(stage: Stage) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        stage.job,
        selection=dg.AssetSelection.assets(*stage.assets),
        partitions_def=pair_video if stage.per == "pair" else videos,
        description=stage.description,
    )


JOBS = {stage.name: job_for(stage) for stage in STAGES}
"""stage name -> its job."""
ALL_JOBS = list(JOBS.values())
prepare_video = JOBS["prepare"]
chunk_pairs = JOBS["pairs"]
make_music = JOBS["music"]
assemble_video = JOBS["assemble"]
