"""The pipeline's stages as plain functions: plan in, artifacts out.

Each stage computes a fingerprint of everything it depends on; when the store already holds an output
with that fingerprint, the stage returns it unchanged (`cached: true` in its record) instead of making
it again. That is how a re-run continues from what a failed run finished, and why nothing is paid twice.
The Dagster assets in `defs/` call these and attach metadata; the stages know nothing of Dagster. The
two stitch paths live in `stitching/`. Every fingerprint starts with its stage's recipe version
(`recipes.py`), so a changed recipe re-makes that stage's outputs.
"""

from vidgen_assets.recipes import RECIPES
from vidgen_assets.stages.assembly import (
    check_pairs,
    final_fingerprint,
    final_video,
    safe_area_boxes,
    stitched_fingerprint,
    stitched_video,
)
from vidgen_assets.stages.audio import music, music_fingerprint
from vidgen_assets.stages.bridge_clips import bridge, bridge_fingerprint, bridge_sources, bridges
from vidgen_assets.stages.common import backend_identity, beat_references, loudness_target, reference_identity
from vidgen_assets.stages.pairs import PairResults, chunk_pair, pair_fingerprint, run_pairs
from vidgen_assets.stages.storyboards import (
    image_fingerprint,
    image_request,
    storyboard,
    storyboard_contact_sheet,
    storyboard_fingerprint,
)
from vidgen_assets.stitching import StageError, beat_texts, incoming_frames, music_fades

__all__ = [
    "RECIPES",
    "PairResults",
    "StageError",
    "backend_identity",
    "beat_references",
    "beat_texts",
    "bridge",
    "bridge_fingerprint",
    "bridge_sources",
    "bridges",
    "check_pairs",
    "chunk_pair",
    "final_fingerprint",
    "final_video",
    "image_fingerprint",
    "image_request",
    "incoming_frames",
    "loudness_target",
    "music",
    "music_fades",
    "music_fingerprint",
    "pair_fingerprint",
    "reference_identity",
    "run_pairs",
    "safe_area_boxes",
    "stitched_fingerprint",
    "stitched_video",
    "storyboard",
    "storyboard_contact_sheet",
    "storyboard_fingerprint",
]
