"""The voiceover's stages as plain functions: the voice lines and the soundtrack mix.

- `voice`: one clip per `say` line (`voice/line_02.wav` + `voice/line_02.json`), each cached by its own
  fingerprint (its text, voice, speed, room, the speech model), so editing one line re-makes that line
  only. Each is stored as soon as it is made: a failure on a later line keeps the ones before it. A clip
  too long for its beat is sped up within `core.voice.MAX_SPEEDUP`, or the stage fails naming the beat
  and the lengths. Runs alongside the chunk pairs, like the music.
- `soundtrack`: the music bed ducked under the voice, the lines placed at their starts, limited, exactly
  the video's length (`soundtrack.m4a`); the final video stream-copies it instead of the music mix.
The subtitle cues of the lines, timed from each clip's measured length, are `core.voice.cues`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vidgen_assets.backends import espeak
from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.selection import select_models, spec_models
from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.core.generation import SpeechRequest
from vidgen_assets.core.plan import Plan, VoiceLine
from vidgen_assets.core.voice import MAX_SPEEDUP, LineTooLong, check_fit, estimate_seconds, line_seconds
from vidgen_assets.media import commands, ops, probe, sound
from vidgen_assets.recipes import recipe
from vidgen_assets.settings import ContextPool
from vidgen_assets.stages.common import _cached, _cost, _generation_record, loudness_target
from vidgen_assets.stitching import StageError, music_fades
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, cached_artifacts, save_artifacts
from vidgen_assets.storage.store import ArtifactStore

SOUNDTRACK = "soundtrack.m4a"


def speech_identity(plan: Plan, backend: Backend | None = None) -> str:
    """What a line's clip is fingerprinted by: the backend and its speech model (from the spec alone, so
    the pipeline can tell what is stale without a backend), or the one the backend gives (`comfyui`: its
    voice workflow's bytes and binding)."""
    if backend is not None and backend.speech_identity:
        return backend.speech_identity
    spec = plan.spec
    if spec.backend == "replicate":
        model = select_models(spec_models(spec)).voice
        return f"replicate:{model.id}@{model.version}"
    return f"{spec.backend}:{espeak.ENGINE}"


def line_fingerprint(plan: Plan, line: VoiceLine, backend: Backend | None = None) -> str:
    voice = plan.spec.voice
    assert voice is not None
    return fingerprint(
        recipe("voice_line"), speech_identity(plan, backend), line.text, voice.voice, voice.speed, line.max_frames,
        plan.fps, plan.spec.seed + line.beat_index, MAX_SPEEDUP, sound.SPEECH_LUFS,
    )  # fmt: skip


def _unvoiced(plan: Plan) -> list[dict[str, Any]]:
    """The lines of a spec with `voice: false`: not spoken, timed for cues from their estimated length."""
    out = []
    for line in plan.voice_lines:
        spoken = min(estimate_seconds(line.text), line_seconds(plan, line))
        out.append({**_summary(plan, line), "clip": None, "spoken_s": round(spoken, 6)})
    return out


def voice_fingerprint(plan: Plan, backend: Backend | None = None) -> str:
    """The voice stage's fingerprint: its lines' own fingerprints and places (pure: from the plan, and
    the backend's own speech identity when it has one)."""
    lines = plan.voice_lines
    if plan.spec.voice is None or not lines:
        return fingerprint(recipe("voice"), None, _unvoiced(plan))
    return fingerprint(recipe("voice"), [line_fingerprint(plan, line, backend) for line in lines],
                       [(line.start_frame, line.end_frame) for line in lines])  # fmt: skip


def speaks(plan: Plan) -> bool:
    """Whether the video has a voice track (lines, and not `voice: false`)."""
    return plan.spec.voice is not None and bool(plan.voice_lines)


def _duck() -> dict[str, float]:
    return {"threshold": commands.DUCK_THRESHOLD, "ratio": commands.DUCK_RATIO, "attack_ms": commands.DUCK_ATTACK_MS,
            "release_ms": commands.DUCK_RELEASE_MS, "key_gain": commands.DUCK_KEY_GAIN,
            "limit": commands.MIX_LIMIT}  # fmt: skip


def soundtrack_fingerprint(plan: Plan, music_fp: str | None, voice_fp: str) -> str:
    """The soundtrack's fingerprint from the music's and the voice's (pure: the pipeline can use it)."""
    spec = plan.spec
    if not speaks(plan):
        return fingerprint(recipe("soundtrack"), None)
    return fingerprint(
        recipe("soundtrack"), music_fp if spec.music is not None else None, voice_fp,
        spec.music.volume if spec.music else None, music_fades(plan), spec.voice.volume if spec.voice else None,
        plan.total_frames, plan.fps, _duck(), loudness_target(plan),
    )  # fmt: skip


def _summary(plan: Plan, line: VoiceLine) -> dict[str, Any]:
    return {
        "key": line.key,
        "beat": line.beat_index,
        "text": line.text,
        "start_frame": line.start_frame,
        "end_frame": line.end_frame,
        "start_s": round(line.start_frame / plan.fps, 6),
        "room_s": round(line_seconds(plan, line), 6),
    }


def voice(plan: Plan, backend: Backend, store: ArtifactStore, scratch: Path) -> Artifacts:
    """Every voiceover line spoken and fitted into its beat; an empty record without lines or with
    `voice: false` (whose lines still give subtitle cues, timed from their estimated length)."""
    spec = plan.spec
    manifest = layout.MANIFESTS["voice"]
    lines = plan.voice_lines
    fp = voice_fingerprint(plan, backend)
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached  # also an unchanged empty record: nothing to make
    if spec.voice is None or not lines:
        empty = {"fingerprint": fp, "voice": None, "lines": _unvoiced(plan), "cost_usd": 0.0, "cached": False}
        return Artifacts(plan.video_id, manifest, {}, empty, scratch)
    fingerprints = [line_fingerprint(plan, line, backend) for line in lines]

    def make(line: VoiceLine, line_fp: str) -> tuple[bool, dict[str, Any], Path]:
        """(made?, the line's record, its clip): reused when stored with this fingerprint, else spoken and
        stored at once (a later line's failure keeps it)."""
        clip_key = layout.voice_line(line.key)
        found = cached_artifacts(store, plan.video_id, layout.voice_line_manifest(line.key), line_fp)
        if found is not None:
            return False, found.record, found.path(clip_key)
        record, clip = _speak(plan, line, line_fp, backend, scratch)
        save_artifacts(store, Artifacts(plan.video_id, layout.voice_line_manifest(line.key), {clip_key: clip}, record))
        return True, record, clip

    # A model backend speaks a few lines at once (`max_concurrency`); the local engine one at a time.
    workers = max(1, min(backend.max_concurrency, len(lines)))
    with ContextPool(workers) as pool:
        results = list(pool.map(make, lines, fingerprints))
    files: dict[str, Path] = {}
    summaries: list[dict[str, Any]] = []
    made: list[str] = []
    reused: list[str] = []
    for line, (was_made, record, clip) in zip(lines, results, strict=True):
        files[layout.voice_line(line.key)] = clip
        (made if was_made else reused).append(line.key)
        summaries.append(
            {**_summary(plan, line), "clip": layout.voice_line(line.key), "spoken_s": record["spoken_s"],
             "measured_s": record["measured_s"], "tempo": record["tempo"], "voice": record["voice"],
             "words": record.get("words"), "cost_usd": record["cost_usd"]}
        )  # fmt: skip
    stage_record: dict[str, Any] = {
        "fingerprint": fp,
        "voice": spec.voice.voice,
        "speed": spec.voice.speed,
        "volume": spec.voice.volume,
        "lines": summaries,
        "made": made,
        "reused": reused,
        "cost_usd": _cost(summaries),
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, files, stage_record, scratch, stored=frozenset(files))


def _speak(plan: Plan, line: VoiceLine, line_fp: str, backend: Backend, scratch: Path) -> tuple[dict[str, Any], Path]:
    """One line: spoken by the backend, measured, fitted into its beat (sped up within the bound)."""
    voice = plan.spec.voice
    assert voice is not None
    raw = scratch / f"{line.key}.spoken.wav"
    request = SpeechRequest(
        video_id=plan.video_id, beat_index=line.beat_index, text=line.text, voice=voice.voice, speed=voice.speed,
        max_seconds=line_seconds(plan, line), seed=plan.spec.seed + line.beat_index,
    )  # fmt: skip
    gen = backend.speech(request, raw)
    measured = probe.probe(raw).audio_duration_s or 0.0
    try:
        tempo = check_fit(plan, line, measured)
    except LineTooLong as exc:
        raise StageError(f"video {plan.video_id!r}: {exc}") from None
    clip = scratch / f"{line.key}.wav"
    spoken = ops.fit_speech(raw, clip, tempo, line_seconds(plan, line)).audio_duration_s or 0.0
    words = json.loads(gen.extra.get("words", "[]"))
    generation = _generation_record(gen)
    generation.pop("words", None)
    record = {
        "fingerprint": line_fp,
        **_summary(plan, line),
        "voice": gen.extra.get("voice", voice.voice),
        "voice_asked": voice.voice,
        "speed": voice.speed,
        "measured_s": round(measured, 6),
        "tempo": tempo,
        "spoken_s": round(spoken, 6),
        "words": [[text, round(start / tempo, 3)] for text, start in words],
        "cost_usd": float(gen.cost_usd),
        "generation": generation,
        "cached": False,
    }
    return record, clip


def soundtrack(
    plan: Plan, music_out: Artifacts, voice_out: Artifacts, store: ArtifactStore, scratch: Path
) -> Artifacts:
    """The music ducked under the voice and the voice lines at their starts, limited, exactly the video's
    length (`soundtrack.m4a`); an empty record when nothing is spoken (the music mix is then the audio)."""
    spec = plan.spec
    manifest = layout.MANIFESTS["soundtrack"]
    spoken = [s for s in voice_out.record.get("lines", []) if s.get("clip")]
    if not spoken or spec.voice is None:
        silent = fingerprint(recipe("soundtrack"), None)
        unchanged = _cached(store, plan.video_id, manifest, silent, scratch)
        if unchanged is not None:
            return unchanged
        empty: dict[str, Any] = {"fingerprint": silent, "soundtrack": None, "cost_usd": 0.0, "cached": False}
        return Artifacts(plan.video_id, manifest, {}, empty, scratch)
    music_rel = music_out.record.get("music")
    duck = _duck()
    fp = soundtrack_fingerprint(plan, music_out.fingerprint, str(voice_out.fingerprint))
    cached = _cached(store, plan.video_id, manifest, fp, scratch)
    if cached is not None:
        return cached
    out = scratch / SOUNDTRACK
    placed = [sound.Placed(voice_out.path(str(s["clip"])), int(s["start_frame"])) for s in spoken]
    info, finished = ops.soundtrack(
        music_out.path(str(music_rel)) if music_rel else None, spec.music.volume if spec.music else 0.0,
        music_fades(plan), placed, spec.voice.volume, plan.total_frames, plan.fps, out, loudness_target(plan),
    )  # fmt: skip
    record = {
        "fingerprint": fp,
        "soundtrack": SOUNDTRACK,
        "lines": len(placed),
        "music": bool(music_rel),
        "duck": duck,
        "seconds": info.audio_duration_s,
        "loudness": finished.as_record(*loudness_target(plan)),
        "cost_usd": 0.0,
        "cached": False,
    }
    return Artifacts(plan.video_id, manifest, {SOUNDTRACK: out}, record, scratch)
