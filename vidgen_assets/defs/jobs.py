"""The pipeline's jobs, made from its declaration (`pipeline.STAGES`): one per stage, and a stage's
catch-up job (`draw_storyboard`, for a plan made on its own).

An asset job cannot mix `videos` with `pair x video` partitions, so each stage is its own job. The
runner (CLI) and the `pair_driver` sensor sequence them per video with `pipeline.next_steps`:
prepare_video -> chunk_pairs (one run per pair, in parallel) and make_music (the music bed and the
voiceover lines) alongside them -> assemble_video (stitched video, soundtrack, final video, report). Music
and voice are a job of their own so that they run while the pairs do, off the critical path.
"""

from __future__ import annotations

import dagster as dg

from vidgen_assets.defs.partitions import pair_video, videos
from vidgen_assets.pipeline import STAGES, Stage


def jobs_for(stage: Stage) -> list[dg.UnresolvedAssetJobDefinition]:
    partitions = pair_video if stage.per == "pair" else videos
    jobs = [
        dg.define_asset_job(
            stage.job,
            selection=dg.AssetSelection.assets(*stage.assets),
            partitions_def=partitions,
            description=stage.description,
        )
    ]
    if stage.catch_up_job is not None:
        jobs.append(
            dg.define_asset_job(
                stage.catch_up_job,
                selection=dg.AssetSelection.assets(*stage.catch_up_assets),
                partitions_def=partitions,
                description=f"Catch up on {stage.name} for a video whose plan was made on its own (e.g. from the UI).",
            )
        )
    return jobs


JOBS = {job.name: job for stage in STAGES for job in jobs_for(stage)}
"""job name -> job."""
ALL_JOBS = list(JOBS.values())
REGISTRATION_JOBS = frozenset(stage.job for stage in STAGES if stage.started_by_registration)
"""Jobs the registration starts (the `spec_files` sensor, `vidgen render`), not the `pair_driver` sensor."""
prepare_video = JOBS["prepare_video"]
draw_storyboard = JOBS["draw_storyboard"]
chunk_pairs = JOBS["chunk_pairs"]
make_music = JOBS["make_music"]
assemble_video = JOBS["assemble_video"]
