"""One job per partitioning (an asset job cannot mix `videos` with `pair x video`).

The runner (CLI now, sensors later) sequences them per video: prepare_video -> chunk_pairs (one run per
pair, in parallel) -> assemble_video.
"""

from __future__ import annotations

import dagster as dg

from vidgen_assets.defs.assets import chunk_pair, final_video, music, stitched_video, storyboard, video_spec
from vidgen_assets.defs.partitions import pair_video, videos

prepare_video = dg.define_asset_job(
    "prepare_video",
    selection=dg.AssetSelection.assets(video_spec, storyboard, music),
    partitions_def=videos,
    description="Plan a registered video, draw its storyboard and make its music bed.",
)
chunk_pairs = dg.define_asset_job(
    "chunk_pairs",
    selection=dg.AssetSelection.assets(chunk_pair),
    partitions_def=pair_video,
    description="Generate one chunk pair (partition 'p003|<video>').",
)
assemble_video = dg.define_asset_job(
    "assemble_video",
    selection=dg.AssetSelection.assets(stitched_video, final_video),
    partitions_def=videos,
    description="Stitch a video's chunk pairs and make the final MP4 (text, music).",
)

ALL_JOBS = [prepare_video, chunk_pairs, assemble_video]
