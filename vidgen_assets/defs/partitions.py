"""Partitions: one `videos` key per spec id. Every asset is partitioned by it, the chunk pairs included:
a video's pairs are one asset per video (`chunk_pairs`), made in parallel inside its step.

Why not a partition per pair: Dagster has no partitions keyed under another partition
(dagster-io/dagster#14228), so a pair partition must be a `pair x video` grid, which lists every pair
key for every video (partitions that never exist), cannot share a job with the video-level assets
(about eight runs per video) and needs a sensor of our own to chain them. docs/dagster.md, "Why one run per video".
"""

from __future__ import annotations

import dagster as dg

VIDEOS = "videos"
videos = dg.DynamicPartitionsDefinition(name=VIDEOS)
