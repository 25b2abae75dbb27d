"""The music stage: the bed for the whole video, generated or from the user's own track, mixed as the final
video carries it. (The voice and the soundtrack are the voiceover's stages, `voiceover.py`.)"""

from __future__ import annotations

from pathlib import Path

from vidgen_assets.backends.base import Backend
from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.core.generation import MusicRequest
from vidgen_assets.core.plan import Plan, PlannedMusic
from vidgen_assets.media import ops
from vidgen_assets.music_file import music_key
from vidgen_assets.recipes import recipe
from vidgen_assets.stages.common import _cached, _generation_record, backend_identity, loudness_target
from vidgen_assets.stitching import music_fades
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts
from vidgen_assets.storage.store import ArtifactStore


def music_fingerprint(plan: Plan, identity: str) -> str:
    """What the music bed depends on (nothing but its absence with `music: false`)."""
    spec = plan.spec
    if spec.music is None:
        return fingerprint(recipe("music"), None)
    if plan.music_track is not None:  # the user's own track: its bytes, not a backend, make the bed
        return fingerprint(
            recipe("music"), "file", plan.music_track.sha256, spec.music.volume, plan.total_frames, plan.fps,
            music_fades(plan), "mix", loudness_target(plan),
        )  # fmt: skip
    return fingerprint(
        recipe("music"), identity, spec.music.model_dump(exclude={"file", "sync"}), spec.music_mood,
        plan.total_frames, plan.fps, spec.seed, music_fades(plan), "mix", loudness_target(plan),
    )  # fmt: skip


def music(plan: Plan, backend: Backend, store: ArtifactStore, scratch: Path) -> Artifacts:
    """The music bed for the whole video, or an empty record when the spec has `music: false`."""
    spec = plan.spec
    manifest = layout.MANIFESTS["music"]
    fp = music_fingerprint(plan, backend_identity(backend))
    if spec.music is None:
        return Artifacts(plan.video_id, manifest, {}, {"fingerprint": fp, "music": None, "cost_usd": 0.0}, scratch)
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    relative = "music.wav"
    out = scratch / relative
    if plan.music_track is not None:
        return _music_from_file(plan, plan.music_track, store, scratch, fp)
    request = MusicRequest(
        video_id=plan.video_id,
        mood=spec.music_mood,
        bpm=spec.music.bpm,
        seconds=plan.total_frames / plan.fps,
        seed=spec.seed,
    )
    gen = backend.music(request, out)
    generation = _generation_record(gen)
    # The bed as the final video carries it (volume, fades, exact length, AAC), made here, alongside the
    # chunk pairs, so that the copy path's final step encodes nothing.
    mix = "music.m4a"
    _, finished = ops.music_mix(
        out, scratch / mix, spec.music.volume, plan.total_frames, plan.fps, *music_fades(plan), loudness_target(plan)
    )
    record = {
        "fingerprint": fp,
        "music": relative,
        "mix": mix,
        "mood": spec.music_mood,
        "bpm": spec.music.bpm,
        "volume": spec.music.volume,
        "seconds": request.seconds,
        "loudness": finished.as_record(*loudness_target(plan)),
        "cost_usd": generation["cost_usd"],
        "generations": [generation],
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {relative: out, mix: scratch / mix}, record, scratch)


def _music_from_file(plan: Plan, track: PlannedMusic, store: ArtifactStore, scratch: Path, fp: str) -> Artifacts:
    """The bed from the user's own track (stored at registration): decoded to 48 kHz stereo as `music.wav`,
    then mixed like a generated bed (volume, fades, cut or padded to the video's length, its loudness)."""
    spec = plan.spec
    assert spec.music is not None
    source = store.local_path(music_key(plan.video_id, track.file))
    out = scratch / "music.wav"
    ops.decode_music(source, out)
    mix = "music.m4a"
    _, finished = ops.music_mix(
        out, scratch / mix, spec.music.volume, plan.total_frames, plan.fps, *music_fades(plan), loudness_target(plan)
    )
    record = {
        "fingerprint": fp,
        "music": "music.wav",
        "mix": mix,
        "file": spec.music.file,
        "sha256": track.sha256,
        "track_seconds": track.seconds,
        "volume": spec.music.volume,
        "seconds": plan.total_frames / plan.fps,
        "loudness": finished.as_record(*loudness_target(plan)),
        "cost_usd": 0.0,
        "generations": [{"model": "user file", "cost_usd": 0.0, "file": spec.music.file}],
        "cached": False,
    }
    return Artifacts(plan.video_id, layout.MANIFESTS["music"], {"music.wav": out, mix: scratch / mix}, record, scratch)
