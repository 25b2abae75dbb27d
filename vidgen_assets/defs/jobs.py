"""The job: `render_video`, one run per video per change.

Every asset is partitioned by `videos`, so one asset job holds the whole pipeline: plan, storyboard, the
`generate` step (the chunk pairs, in parallel among themselves, with the music and the voice beside
them), stitched video (with its bridges), soundtrack, final video and report. Its six steps run one
after another in the run's own process (the in-process executor): each depends on the one before, the
parallel work (pairs, music, voice, the storyboard's images, ffmpeg) happens inside the steps, and a
step costs no process start. A Dagster
multiprocess executor would start a process per step (about a second each here, measured in
`bench/daemon.py`'s notes) for no parallelism the chain could use.
"""

from __future__ import annotations

import dagster as dg

from vidgen_assets.defs.partitions import videos

RENDER_JOB = "render_video"

render_video = dg.define_asset_job(
    RENDER_JOB,
    selection=dg.AssetSelection.groups("vidgen"),
    partitions_def=videos,
    executor_def=dg.in_process_executor,
    description=(
        "Make one video (partition: its id) from its registered spec, or from a spec given in the run config "
        "(ops.video_spec.config.spec_yaml): everything whose inputs changed is made, everything else is reused. "
        "Re-make chosen pairs with ops.generate.config.remake."
    ),
    tags={"dagster/max_runtime": str(3 * 3600)},
)
ALL_JOBS = [render_video]
