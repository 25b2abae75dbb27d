"""The finished timeline as an editor sees it: what vidgen made and where it sits, in integer frames.

Pure: built from the `Plan` (and a few facts the stages recorded: each clip's model, seed, take and
cost, each voiceover line's spoken length), independent of any file format. `editorial/` turns it into
OpenTimelineIO, and from there into an EDL, FCPXML or a Kdenlive project.

The tracks, bottom to top:
- `video`: every generated clip with the range of it the video shows. A beat's clip is its chunks one
  after another; each chunk is a clip of the timeline, trimmed to the frames of its beat. A bridge is a
  clip of its own at the start of the beat it leads into (a cut on each side).
- transitions on that track, as vidgen makes them: an xfade of T frames into beat k+1 covers beat k+1's
  first T frames and blends the T frames beat k's clip plays past its beat. On an editor's timeline that
  is a transition at the cut (beat k+1's first frame) with `in_offset` 0 and `out_offset` T: the
  outgoing clip supplies T frames of handle after its end, the incoming clip none before its start.
  Those handle frames are the rest of the outgoing beat's last chunk. When that chunk lies wholly inside
  the transition (a 5 s beat of two chunks with a 2 s fade: 120 + 48 frames, the second all handle), no
  one chunk holds the beat's last frame and the handle together; the outgoing clip is then the beat's
  last frame from its `tail` (the frames from that one to the end of the handle, kept as one file), and
  the chunks before it are trimmed to end a frame earlier.
- `text` and `cta`: the on-screen text (each beat's caption, the CTA over the last beat) as title clips
  over their frames, each a full-frame image with its text (as vidgen burns it in).
- `music` and `voice`: the music bed as delivered for the whole video, each voiceover line at its start.

Beats are markers (name, first frame, frames); every clip carries its beat, prompt, model, seed, take
and cost in its metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from vidgen_assets.core.plan import Plan, PlannedBeat
from vidgen_assets.core.text import printable

MediaKind = Literal["chunk", "bridge", "tail", "title", "music", "voice"]
TrackKind = Literal["video", "audio"]
Scalar = str | int | float | bool | None

VIDEO_TRACK, TEXT_TRACK, CTA_TRACK, MUSIC_TRACK, VOICE_TRACK = "video", "text", "cta", "music", "voice"
DEFAULT_TAKE = 1
"""vidgen makes one take of each clip: every clip is take 1."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Media(_Frozen):
    """A file the timeline uses, named by what it is (`editorial/` knows where each kind is stored)."""

    kind: MediaKind
    key: str
    """`chunk_003`, `b001` (a bridge), `p002` (a pair's tail), `beat_00` or `cta` (a title), `music`,
    `line_02` (a voiceover line)."""
    frames: int
    """Its length in frames at the video's frame rate: the most of it a clip can use."""


class ClipFacts(_Frozen):
    """What a stage recorded of one generated clip."""

    model: str | None = None
    seed: int | None = None
    take: int = DEFAULT_TAKE
    cost_usd: float = 0.0


class EditClip(_Frozen):
    """Frames [source_start, source_start + frames) of `media`, on the timeline from `start_frame`."""

    name: str
    media: Media
    start_frame: int
    source_start: int
    frames: int
    metadata: dict[str, Scalar]

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        return printable(value)

    @field_validator("metadata")
    @classmethod
    def _printable_metadata(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        return _clean(value)

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frames

    @property
    def handle_after(self) -> int:
        """The media's frames after the range the clip shows (what a transition out of it can use)."""
        return self.media.frames - self.source_start - self.frames


class EditTransition(_Frozen):
    """A transition at the cut `at_frame`, from `in_offset` frames before it to `out_offset` after it."""

    name: str
    """The spec's transition: `fade`, `dissolve` or another ffmpeg xfade name."""
    at_frame: int
    in_offset: int
    out_offset: int
    from_beat: int
    to_beat: int

    @property
    def frames(self) -> int:
        return self.in_offset + self.out_offset


class EditTrack(_Frozen):
    """One track: clips in timeline order (gaps between them are empty), and the transitions between
    adjacent clips (video only)."""

    name: str
    kind: TrackKind
    clips: tuple[EditClip, ...]
    transitions: tuple[EditTransition, ...] = ()


class EditBeat(_Frozen):
    """A beat's place on the timeline (a marker)."""

    index: int
    name: str
    start_frame: int
    frames: int
    prompt: str
    text: str | None = None
    say: str | None = None

    @field_validator("name", "prompt", "text", "say")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return printable(value) if value is not None else None


class EditTimeline(_Frozen):
    """The finished timeline of one video."""

    video_id: str
    fps: int
    width: int
    height: int
    total_frames: int
    tracks: tuple[EditTrack, ...]
    beats: tuple[EditBeat, ...]

    def track(self, name: str) -> EditTrack | None:
        return next((t for t in self.tracks if t.name == name), None)

    @property
    def media(self) -> tuple[Media, ...]:
        """Every file the timeline uses, once each, in track order."""
        seen: dict[tuple[str, str], Media] = {}
        for track in self.tracks:
            for clip in track.clips:
                seen.setdefault((clip.media.kind, clip.media.key), clip.media)
        return tuple(seen.values())


def _clean(metadata: dict[str, Scalar]) -> dict[str, Scalar]:
    return {k: printable(v) if isinstance(v, str) else v for k, v in metadata.items()}


def chunk_key(index: int) -> str:
    return f"chunk_{index:03d}"


def title_key(style: str, beat_index: int) -> str:
    """`beat_02` for beat 2's caption, `cta` for the call to action."""
    return "cta" if style == "cta" else f"beat_{beat_index:02d}"


def needs_tail(beat: PlannedBeat) -> bool:
    """Whether the transition out of `beat` needs the beat's tail: its last chunk holds none of the
    beat's own frames (it lies wholly inside the transition), so no one chunk has both the beat's last
    frame and the frames the transition blends."""
    if not beat.overlap_frames:
        return False
    last = beat.chunks[-1]
    return last.motion_offset >= beat.own_frames


def _facts_metadata(facts: ClipFacts | None, seed: int) -> dict[str, Scalar]:
    found = facts or ClipFacts()
    return {
        "model": found.model,
        "seed": found.seed if found.seed is not None else seed,
        "take": found.take,
        "cost_usd": found.cost_usd,
    }


def _video_track(plan: Plan, facts: Mapping[str, ClipFacts]) -> EditTrack:
    clips: list[EditClip] = []
    transitions: list[EditTransition] = []
    bridges = {b.to_beat: b for b in plan.bridges}
    seed = plan.spec.seed
    for beat in plan.beats:
        bridge = bridges.get(beat.index)
        if bridge is not None:
            clips.append(
                EditClip(
                    name=f"{bridge.key} bridge {plan.beats[bridge.from_beat].name} > {beat.name}",
                    media=Media(kind="bridge", key=bridge.key, frames=bridge.frames),
                    start_frame=bridge.start_frame, source_start=0, frames=bridge.frames,
                    metadata={
                        "kind": "bridge", "beat": beat.index, "beat_name": beat.name, "from_beat": bridge.from_beat,
                        "to_beat": bridge.to_beat, "bridge": bridge.key, "prompt": bridge.prompt,
                        **_facts_metadata(facts.get(bridge.key), seed + bridge.from_beat),
                    },
                )
            )  # fmt: skip
        tail = needs_tail(beat)
        shown = beat.own_frames - 1 if tail else beat.own_frames
        origin = beat.start_frame + beat.bridge_in_frames  # where the beat's clip frame 0 lands
        for chunk in beat.chunks:
            frames = min(chunk.frames, shown - chunk.motion_offset)
            if frames <= 0:
                continue
            key = chunk_key(chunk.index)
            clips.append(
                EditClip(
                    name=f"{beat.pair_key} {beat.name} {key}",
                    media=Media(kind="chunk", key=key, frames=chunk.frames),
                    start_frame=origin + chunk.motion_offset, source_start=0, frames=frames,
                    metadata={
                        "kind": chunk.kind, "beat": beat.index, "beat_name": beat.name, "pair": beat.pair_key,
                        "chunk": chunk.index, "prompt": beat.prompt, "camera": beat.camera,
                        **_facts_metadata(facts.get(key), seed + chunk.index),
                    },
                )
            )  # fmt: skip
        if tail:
            last = beat.chunks[-1]
            clips.append(
                EditClip(
                    name=f"{beat.pair_key} {beat.name} last frame",
                    media=Media(kind="tail", key=beat.pair_key, frames=beat.overlap_frames + 1),
                    start_frame=origin + shown, source_start=0, frames=1,
                    metadata={
                        "kind": "tail", "beat": beat.index, "beat_name": beat.name, "pair": beat.pair_key,
                        "chunk": last.index, "prompt": beat.prompt, "camera": beat.camera,
                        **_facts_metadata(facts.get(chunk_key(last.index)), seed + last.index),
                    },
                )
            )  # fmt: skip
        if beat.overlap_frames:
            transitions.append(
                EditTransition(
                    name=beat.transition, at_frame=beat.end_frame, in_offset=0, out_offset=beat.overlap_frames,
                    from_beat=beat.index, to_beat=beat.index + 1,
                )
            )  # fmt: skip
    return EditTrack(name=VIDEO_TRACK, kind="video", clips=tuple(clips), transitions=tuple(transitions))


def _title_tracks(plan: Plan) -> list[EditTrack]:
    tracks: list[EditTrack] = []
    for name, style in ((TEXT_TRACK, "caption"), (CTA_TRACK, "cta")):
        clips = []
        for overlay in plan.overlays:
            if overlay.style != style:
                continue
            beat = next(b for b in plan.beats if b.start_frame == overlay.start_frame)
            frames = overlay.end_frame - overlay.start_frame
            clips.append(
                EditClip(
                    name=overlay.text if overlay.text.strip() else f"({style})",
                    media=Media(kind="title", key=title_key(style, beat.index), frames=frames),
                    start_frame=overlay.start_frame, source_start=0, frames=frames,
                    metadata={"kind": "title", "style": style, "text": overlay.text, "beat": beat.index},
                )
            )  # fmt: skip
        if clips:
            tracks.append(EditTrack(name=name, kind="video", clips=tuple(clips)))
    return tracks


def _audio_tracks(plan: Plan, music: bool, voice_frames: Mapping[str, int]) -> list[EditTrack]:
    tracks: list[EditTrack] = []
    spec = plan.spec
    if music and spec.music is not None:
        bed = EditClip(
            name=f"music: {spec.music_mood}, {spec.music.bpm} bpm",
            media=Media(kind="music", key="music", frames=plan.total_frames),
            start_frame=0, source_start=0, frames=plan.total_frames,
            metadata={"kind": "music", "mood": spec.music_mood, "bpm": spec.music.bpm, "volume": spec.music.volume},
        )  # fmt: skip
        tracks.append(EditTrack(name=MUSIC_TRACK, kind="audio", clips=(bed,)))
    lines = []
    for line in plan.voice_lines:
        length = voice_frames.get(line.key)
        if not length:
            continue
        frames = min(length, line.max_frames)
        lines.append(
            EditClip(
                name=f"{line.key}: {line.text}",
                media=Media(kind="voice", key=line.key, frames=length),
                start_frame=line.start_frame, source_start=0, frames=frames,
                metadata={"kind": "voice", "beat": line.beat_index, "text": line.text,
                          "voice": spec.voice.voice if spec.voice else None},
            )
        )  # fmt: skip
    if lines:
        tracks.append(EditTrack(name=VOICE_TRACK, kind="audio", clips=tuple(lines)))
    return tracks


def edit_timeline(
    plan: Plan,
    facts: Mapping[str, ClipFacts] | None = None,
    voice_frames: Mapping[str, int] | None = None,
    music: bool = True,
) -> EditTimeline:
    """The finished timeline of `plan`.

    `facts`: what was recorded of each generated clip, by media key (`chunk_003`, `b001`); `voice_frames`:
    each spoken line's length in frames, by line key (a line without one is not on the voice track);
    `music`: whether the music bed was made (a spec with `music: false` has none either way)."""
    beats = tuple(
        EditBeat(index=b.index, name=b.name, start_frame=b.start_frame, frames=b.frames, prompt=b.prompt, text=b.text,
                 say=b.say)
        for b in plan.beats
    )  # fmt: skip
    tracks = (
        _video_track(plan, facts or {}),
        *_title_tracks(plan),
        *_audio_tracks(plan, music, voice_frames or {}),
    )
    return EditTimeline(
        video_id=plan.video_id, fps=plan.fps, width=plan.width, height=plan.height, total_frames=plan.total_frames,
        tracks=tracks, beats=beats,
    )  # fmt: skip
