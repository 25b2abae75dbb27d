"""One job per partitioning (an asset job cannot mix `videos` with `pair x video`).

The runner (CLI) and the sensors sequence them per video: prepare_video -> chunk_pairs (one run per pair,
in parallel) and make_music (the music bed and the voiceover lines) alongside them -> assemble_video (stitched
video, soundtrack, final video). Music and voice are a job of their own so that they run while the pairs
do, off the critical path.
"""

from __future__ import annotations

import dagster as dg

from vidgen_assets.defs.assets import (
    chunk_pair,
    final_video,
    music,
    soundtrack,
    stitched_video,
    storyboard,
    video_spec,
    voice,
)  # fmt: skip
from vidgen_assets.defs.partitions import pair_video, videos

prepare_video = dg.define_asset_job(
    "prepare_video",
    selection=dg.AssetSelection.assets(video_spec, storyboard),
    partitions_def=videos,
    description="Plan a registered video and draw its storyboard.",
)
draw_storyboard = dg.define_asset_job(
    "draw_storyboard",
    selection=dg.AssetSelection.assets(storyboard),
    partitions_def=videos,
    description="Draw a planned video's storyboard (when its plan was made on its own, e.g. from the UI).",
)
make_music = dg.define_asset_job(
    "make_music",
    selection=dg.AssetSelection.assets(music, voice),
    partitions_def=videos,
    description="Make a planned video's music bed and mix, and its voiceover lines (alongside the chunk pairs).",
)
chunk_pairs = dg.define_asset_job(
    "chunk_pairs",
    selection=dg.AssetSelection.assets(chunk_pair),
    partitions_def=pair_video,
    description="Generate one chunk pair (partition 'p003|<video>').",
)
assemble_video = dg.define_asset_job(
    "assemble_video",
    selection=dg.AssetSelection.assets(stitched_video, soundtrack, final_video),
    partitions_def=videos,
    description="Stitch a video's chunk pairs, mix its soundtrack and make the final MP4 (text, music, voice).",
)

ALL_JOBS = [prepare_video, draw_storyboard, chunk_pairs, make_music, assemble_video]
