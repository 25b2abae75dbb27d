"""Partitions: one `videos` key per spec id; `chunk_pair` is pair x video (README.md, "Architecture")."""

from __future__ import annotations

import dagster as dg

VIDEOS = "videos"
PAIRS = "pairs"
videos = dg.DynamicPartitionsDefinition(name=VIDEOS)
pairs = dg.DynamicPartitionsDefinition(name=PAIRS)
pair_video = dg.MultiPartitionsDefinition({"pair": pairs, "video": videos})

# From a chunk_pair partition to its video's partition, and back (all of a video's pairs).
to_video = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="video")


def split_pair_key(key: object) -> tuple[str, str]:
    """(pair, video) from a chunk_pair partition key, whether it arrives as a MultiPartitionKey or a str."""
    multi = key if isinstance(key, dg.MultiPartitionKey) else pair_video.get_partition_key_from_str(str(key))
    dims = multi.keys_by_dimension
    return dims["pair"], dims["video"]


def pair_partition_key(pair: str, video: str) -> str:
    """The chunk_pair key string, e.g. `p003|cold-brew` (dimensions sorted by name)."""
    return str(dg.MultiPartitionKey({"pair": pair, "video": video}))
