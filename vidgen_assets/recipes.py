"""Each asset's recipe version: the one number to bump when a stage's way of making its output changes
(an ffmpeg command, a filter graph, a loudness constant, a drawing routine).

It is both the asset's Dagster `code_version` (the UI shows an asset whose code changed since it was
made) and a part of every fingerprint that stage computes (`recipe(tag)`), so the next render re-makes
that stage's outputs, and what depends on them, and nothing upstream. Pure: no Dagster here.
"""

from __future__ import annotations

from collections.abc import Mapping

RECIPES: Mapping[str, str] = {
    "video_spec": "1",
    "storyboard": "1",
    "chunk_pairs": "2",  # 2: every chunk checked, failing ones re-taken, every take kept
    "music": "2",  # 2: the mix finished to the loudness target (two passes: gain + true-peak limiter)
    "voice": "1",
    "soundtrack": "3",  # 2: the ducking key padded, the mix's end never cut; 3: finished to the loudness target
    "stitched_video": "2",  # 2: every bridge checked, failing ones re-taken, every take kept
    "final_video": "3",  # 2: the delivered loudness measured (metadata and a check); 3: final.otio beside it
    "report": "1",
}
"""asset -> recipe version."""

TAGS: Mapping[str, str] = {
    "storyboard": "storyboard",
    "storyboard-image": "storyboard",
    "chunk_pair": "chunk_pairs",
    "music": "music",
    "voice_line": "voice",
    "voice": "voice",
    "soundtrack": "soundtrack",
    "bridge": "stitched_video",
    "stitched": "stitched_video",
    "final": "final_video",
}
"""A fingerprint's tag -> the asset whose recipe it follows (a bridge is made by the stitched video's step)."""


def recipe(tag: str) -> str:
    """A fingerprint's leading part: its tag and the recipe version of the asset that makes it."""
    return f"{tag}@{RECIPES[TAGS[tag]]}"
