"""The plan: a validated spec laid out on the timeline in integer frames.

Beat rules (from the original system, made exact):
1. at most `ceil(duration / 5)` beats; extra beats are dropped from the end (a warning and a
   `Truncation` record for the truncation log);
2. start times are recomputed from the kept beats' durations;
3. beats are fitted to the duration: a beat starting at or after the end, or lasting less than one frame,
   is dropped, and the last beat is trimmed or extended to end exactly at `duration`. Every change is a
   warning.

Timeline maths. Beat k covers frames [start_k, start_k + frames_k); the frames sum to the video's total.
A transition of T_k frames into beat k+1 starts at beat k+1's first frame: beat k's clip is T_k frames
longer than the beat, and xfade plays it over the first T_k frames of beat k+1. So with clip_k = frames_k
+ T_k, the stitched length is sum(clip) - sum(T) = sum(frames) = total, whatever the transitions, and
offset_k (the frame where the k-th transition starts) is start_{k+1}.

A `bridge` of T frames into beat k+1 is a generated clip of its own, from beat k's last frame to beat
k+1's storyboard image. It occupies the first T frames of beat k+1's slot (where an xfade would overlap):
beat k's clip is then just frames_k, and beat k+1's clip starts T frames into its beat (`bridge_in_frames`),
on its storyboard image, where the bridge ended. Clips and bridges still sum to the total, exactly.

Each beat's clip is cut into chunks of the backend's native length L (see `layout_chunks`): the first is a
reference-image chunk (from the storyboard image), the rest are continuous chunks (each from the exact
last frame of the one before). A beat's chunks form its chunk pair, keyed `p000`, `p001`, ...
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from vidgen_assets.core.beat_sync import beat_grid_s, snap_starts
from vidgen_assets.core.spec import BRIDGE, CUT, BeatSpec, Camera, Spec, comfyui_notes

MIN_BEAT_SECONDS = 5
VOICE_LEAD_IN_S = 0.25
"""A voiceover line starts this long after its beat starts (never later than the beat's middle)."""
PAIR_KEY_DIGITS = 3
ABSORB_FRACTION = 0.25


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlannedChunk(_Frozen):
    """One chunk: `frames` frames of beat `beat_index`'s clip, starting `motion_offset` frames into it."""

    index: int
    """Position among all of the video's chunks (chunk_000.mp4 ...)."""
    beat_index: int
    position: int
    """Position inside its beat (0 = the reference-image chunk)."""
    kind: Literal["reference", "continuous"]
    frames: int
    motion_offset: int


class PlannedBeat(_Frozen):
    """A beat placed on the timeline."""

    index: int
    name: str
    prompt: str
    camera: Camera
    text: str | None
    start_frame: int
    frames: int
    transition: str
    """Into the next beat (`cut` for the last beat)."""
    transition_frames: int
    chunks: tuple[PlannedChunk, ...]
    uses: tuple[str, ...] = ()
    """The reference names this beat shows (its `uses`, or every reference of the spec)."""
    say: str | None = None
    """Its voiceover line, if any."""
    bridge_in_frames: int = 0
    """The first frames of this beat that the bridge from the beat before fills (its clip starts after)."""
    take: int | None = None
    """The take of its clips to use, already made (`beats[i].take`); None: the best take."""

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frames

    @property
    def overlap_frames(self) -> int:
        """The frames this beat's clip plays into the next beat: an xfade's, none for a bridge or cut."""
        return 0 if self.transition == BRIDGE else self.transition_frames

    @property
    def own_frames(self) -> int:
        """The frames of this beat its own clip shows (all but those a bridge into it fills)."""
        return self.frames - self.bridge_in_frames

    @property
    def clip_frames(self) -> int:
        """The frames generated for this beat: its own, plus an xfade's overlap into the next."""
        return self.own_frames + self.overlap_frames

    @property
    def pair_key(self) -> str:
        return pair_key(self.index)


class PlannedBridge(_Frozen):
    """A generated clip from beat `from_beat`'s last frame to beat `to_beat`'s storyboard image, filling
    frames [start_frame, start_frame + frames) of the timeline (the first frames of `to_beat`)."""

    from_beat: int
    to_beat: int
    start_frame: int
    frames: int
    prompt: str

    @property
    def key(self) -> str:
        """`b003`: the bridge out of beat 3 (named by its outgoing beat, like the pairs)."""
        return f"b{self.from_beat:0{PAIR_KEY_DIGITS}d}"


class Truncation(_Frozen):
    """A record for the truncation log: a spec had more beats than its duration allows."""

    video_id: str
    original: int
    kept: int


class Join(_Frozen):
    """A beat boundary on the stitched timeline: how one beat flows into the next.

    `transition` is `"cut"` or an ffmpeg `xfade` transition name (fade, dissolve, wipeleft, ...) or
    `bridge`; `frames` is its length (0 for a cut); `offset_frame` is the frame of the output timeline
    where the transition starts, which is also where the next beat starts.
    """

    transition: str
    frames: int
    offset_frame: int

    @model_validator(mode="after")
    def _consistent(self) -> Join:
        if not self.transition or not self.transition.replace("_", "").isalnum():
            raise ValueError(f"invalid transition name {self.transition!r}")
        if self.frames < 0 or self.offset_frame < 0:
            raise ValueError(f"negative frames in {self!r}")
        if self.is_cut and self.frames != 0:
            raise ValueError(f"a cut has no length, got frames={self.frames}")
        if not self.is_cut and (self.frames == 0 or self.offset_frame == 0):
            raise ValueError(f"transition {self.transition!r} needs frames > 0 after frame 0, got {self!r}")
        return self

    @property
    def is_cut(self) -> bool:
        return self.transition == CUT


class PlannedReference(_Frozen):
    """A reference image as stored with the video (`videos/<id>/references/<file>`), keyed by its bytes."""

    name: str
    file: str
    """The stored file name, `<name>.<ext>`."""
    sha256: str
    describe: str | None = None
    width: int
    height: int
    has_alpha: bool = False


class VoiceLine(_Frozen):
    """A `say` line: spoken from `start_frame`, and never past `end_frame` (its beat's end)."""

    beat_index: int
    text: str
    start_frame: int
    end_frame: int

    @property
    def key(self) -> str:
        """`line_02` for beat 2's line (named by beat, so editing one line renames nothing else)."""
        return f"line_{self.beat_index:02d}"

    @property
    def max_frames(self) -> int:
        return self.end_frame - self.start_frame


class TextOverlay(_Frozen):
    """On-screen text over frames [start_frame, end_frame)."""

    text: str
    style: Literal["caption", "cta"]
    start_frame: int
    end_frame: int


class PlannedMusic(_Frozen):
    """The user's own music track as stored with the video (`videos/<id>/music/<file>`), keyed by its bytes."""

    file: str
    """The stored file name, `track.<ext>`."""
    sha256: str
    seconds: float
    beats: tuple[float, ...] = ()
    """The track's beats (seconds from its start) as a beat tracker found them, read at registration when
    the spec has `music.sync` (empty otherwise): the grid its cuts move onto."""
    tempo_bpm: float | None = None
    """The tracker's tempo estimate, for people (the cuts use `beats`, not tempo x count, which drifts)."""


class SyncMove(_Frozen):
    """A boundary moved onto the music: beat `index` starts at `new_frame` instead of `old_frame`, on the
    music's beat number `music_beat` (an index into `MusicSync.grid_s`)."""

    index: int
    old_frame: int
    new_frame: int
    music_beat: int


class MusicSync(_Frozen):
    """`music: {sync: beats}` as planned: the music's beat grid under the video and the boundaries moved."""

    source: Literal["bed", "tracked"]
    """`bed`: the animatic's bed, `k * 60 / bpm`; `tracked`: the user's track, its beats as tracked."""
    grid_s: tuple[float, ...]
    """The music's beat times (seconds) within the video."""
    moves: tuple[SyncMove, ...] = ()


class Plan(_Frozen):
    """Everything the pipeline needs to render a spec, in integer frames."""

    spec: Spec
    """The spec with its beats as planned (filled by the planner when the spec had none)."""
    width: int
    height: int
    fps: int
    total_frames: int
    chunk_frames: int
    """The backend's native chunk length in frames."""
    beats: tuple[PlannedBeat, ...]
    planner: str
    """`spec` when the beats came from the spec, else the planner that made them."""
    warnings: tuple[str, ...] = ()
    truncation: Truncation | None = None
    references: tuple[PlannedReference, ...] = ()
    """The spec's references as stored (filled at registration, when the files are read)."""
    music_track: PlannedMusic | None = None
    """The spec's `music.file` as stored (read at registration, like the references)."""
    music_sync: MusicSync | None = None
    """With `music: {sync: beats}`: the beat grid the boundaries were moved onto, and the moves."""

    @property
    def video_id(self) -> str:
        return self.spec.id

    @property
    def chunks(self) -> tuple[PlannedChunk, ...]:
        return tuple(chunk for beat in self.beats for chunk in beat.chunks)

    @property
    def pair_keys(self) -> tuple[str, ...]:
        return tuple(beat.pair_key for beat in self.beats)

    @property
    def bridges(self) -> tuple[PlannedBridge, ...]:
        """The bridges between beats, in timeline order."""
        return tuple(
            PlannedBridge(
                from_beat=beat.index, to_beat=nxt.index, start_frame=nxt.start_frame, frames=beat.transition_frames,
                prompt=f"{beat.prompt}, then {nxt.prompt}; one continuous shot",
            )
            for beat, nxt in zip(self.beats, self.beats[1:], strict=False)
            if beat.transition == BRIDGE and beat.transition_frames
        )  # fmt: skip

    @property
    def joins(self) -> tuple[Join, ...]:
        return tuple(
            Join(transition=beat.transition, frames=beat.transition_frames, offset_frame=nxt.start_frame)
            for beat, nxt in zip(self.beats, self.beats[1:], strict=False)
        )

    @property
    def overlays(self) -> tuple[TextOverlay, ...]:
        out = [
            TextOverlay(text=b.text, style="caption", start_frame=b.start_frame, end_frame=b.end_frame)
            for b in self.beats
            if b.text
        ]
        if self.spec.cta:
            last = self.beats[-1]
            out.append(
                TextOverlay(text=self.spec.cta, style="cta", start_frame=last.start_frame, end_frame=last.end_frame)
            )
        return tuple(out)

    @property
    def voice_lines(self) -> tuple[VoiceLine, ...]:
        """One line per beat with `say`, placed at its beat's start plus a short lead-in."""
        out = []
        for beat in self.beats:
            if beat.say:
                lead = min(round(VOICE_LEAD_IN_S * self.fps), beat.frames // 2)
                out.append(
                    VoiceLine(beat_index=beat.index, text=beat.say, start_frame=beat.start_frame + lead,
                              end_frame=beat.end_frame)
                )  # fmt: skip
        return tuple(out)

    def reference(self, name: str) -> PlannedReference | None:
        return next((r for r in self.references if r.name == name), None)

    @property
    def duration_s(self) -> float:
        return self.total_frames / self.fps


def pair_key(index: int) -> str:
    """`p003` for the fourth beat's chunk pair."""
    return f"p{index:0{PAIR_KEY_DIGITS}d}"


def pair_index(key: str) -> int:
    """Inverse of `pair_key`; raises ValueError for anything else."""
    if len(key) != PAIR_KEY_DIGITS + 1 or key[0] != "p" or not key[1:].isdigit():
        raise ValueError(f"not a chunk pair key: {key!r} (expected like 'p003')")
    return int(key[1:])


def seconds(frames: int, fps: int) -> str:
    """Frames as a short human string in seconds: 120 at 24 fps -> '5s', 60 -> '2.5s'."""
    return f"{frames / fps:.3f}".rstrip("0").rstrip(".") + "s"


def max_beats(duration_s: float) -> int:
    """At most one beat per 5 s of video."""
    return math.ceil(duration_s / MIN_BEAT_SECONDS)


def fit_beats(
    beats: tuple[BeatSpec, ...], duration_s: float, fps: int, video_id: str
) -> tuple[list[tuple[BeatSpec, int, int]], list[str], Truncation | None]:
    """Apply the beat rules. Return (beat, start_frame, frames) triples, warnings and any truncation."""
    warnings: list[str] = []
    truncation = None
    limit = max_beats(duration_s)
    if len(beats) > limit:
        warnings.append(
            f"the spec has {len(beats)} beats but a {duration_s:g} s video allows at most {limit} "
            f"(one per {MIN_BEAT_SECONDS} s): kept the first {limit}, dropped "
            + ", ".join(b.name for b in beats[limit:])
        )
        truncation = Truncation(video_id=video_id, original=len(beats), kept=limit)
        beats = beats[:limit]

    total = round(duration_s * fps)
    placed: list[tuple[BeatSpec, int, int]] = []
    elapsed_s = 0.0
    for beat in beats:
        start = round(elapsed_s * fps)
        elapsed_s += beat.duration
        end = round(elapsed_s * fps)
        if start >= total:
            warnings.append(
                f"beat {beat.name!r} starts at {seconds(start, fps)}, at or after the video's end "
                f"({seconds(total, fps)}): dropped"
            )
            continue
        if end == start:
            warnings.append(f"beat {beat.name!r} lasts {beat.duration:g} s, less than one frame at {fps} fps: dropped")
            continue
        placed.append((beat, start, end - start))
    if not placed:  # every beat was shorter than a frame: the first one fills the video
        placed.append((beats[0], 0, 0))

    beat, start, frames = placed[-1]
    if start + frames != total:
        verb = "trimmed" if start + frames > total else "extended"
        warnings.append(
            f"last beat {beat.name!r} {verb} from {seconds(frames, fps)} to {seconds(total - start, fps)} "
            f"to end exactly at {seconds(total, fps)}"
        )
        placed[-1] = (beat, start, total - start)
    return placed, warnings, truncation


def layout_chunks(beat_index: int, clip_frames: int, chunk_frames: int, first_index: int) -> tuple[PlannedChunk, ...]:
    """Cut a beat's clip into chunks of the native length L; the last one takes the remainder.

    A remainder of at most L/4 (typically the few frames a transition adds to a beat of whole chunks) is
    absorbed by the chunk before it rather than paid for as a chunk of its own: that chunk is then up to
    1.25 L long (a backend that cannot make it that long holds its last frame; see the backends).
    """
    count = math.ceil(clip_frames / chunk_frames)
    remainder = clip_frames - (count - 1) * chunk_frames
    if count > 1 and remainder <= chunk_frames * ABSORB_FRACTION:
        count -= 1
    return tuple(
        PlannedChunk(
            index=first_index + position,
            beat_index=beat_index,
            position=position,
            kind="reference" if position == 0 else "continuous",
            frames=chunk_frames if position < count - 1 else clip_frames - position * chunk_frames,
            motion_offset=position * chunk_frames,
        )
        for position in range(count)
    )


def music_grid(spec: Spec, track: PlannedMusic | None) -> tuple[Literal["bed", "tracked"], list[float]] | None:
    """The beat grid the boundaries move onto with `music: {sync: beats}`: the user's track's tracked
    beats (those inside the video), or the generated bed's `k * 60 / bpm` s (the animatic's bed has a
    kick on every one of them); None without sync or when a track's beats were not read."""
    music = spec.music
    if music is None or music.sync != "beats":
        return None
    if music.file is None:
        return "bed", beat_grid_s(music.bpm, spec.duration)
    if track is None or not track.beats:
        return None
    return "tracked", [t for t in track.beats if t <= spec.duration + 1e-9]


def sync_to_music(
    spec: Spec, placed: list[tuple[BeatSpec, int, int]], fps: int, track: PlannedMusic | None = None
) -> tuple[list[tuple[BeatSpec, int, int]], list[str], MusicSync | None]:
    """With `music: {sync: beats}`, the beats' boundaries moved onto the music's beat grid
    (`core.beat_sync`), a line for each boundary moved (or not), and the sync as planned; unchanged
    otherwise."""
    music = spec.music
    if music is None or music.sync != "beats":
        return placed, [], None
    found = music_grid(spec, track)
    if found is None:
        reason = "its beats were not tracked" if track is not None else "the track was not read"
        return placed, [f"music sync: the boundaries stay where they are: {reason}"], None
    source, grid = found
    if len(placed) < 2:
        return placed, [], MusicSync(source=source, grid_s=tuple(grid))
    total = round(spec.duration * fps)
    starts = [start for _, start, _ in placed]
    new, moved, notes = snap_starts(starts, total, fps, grid)
    ends = [*new[1:], total]

    def on(k: int) -> str:
        if source == "bed":
            return f"on beat {k} of the music ({grid[k]:.3f} s at {music.bpm:g} bpm)"
        return f"on your track's beat at {grid[k]:.3f} s (beat {k + 1} of the {len(grid)} tracked in the video)"

    lines = [
        f"music sync: beat {m.index} ({placed[m.index][0].name}) starts at {m.new_frame / fps:.3f} s, not "
        f"{m.old_frame / fps:.3f} s: {on(m.music_beat)}"
        for m in moved
    ]
    sync = MusicSync(
        source=source,
        grid_s=tuple(round(t, 4) for t in grid),
        moves=tuple(SyncMove(index=m.index, old_frame=m.old_frame, new_frame=m.new_frame, music_beat=m.music_beat)
                    for m in moved),
    )  # fmt: skip
    return [(beat, s, e - s) for (beat, _, _), s, e in zip(placed, new, ends, strict=True)], lines + notes, sync


def build_plan(
    spec: Spec, chunk_seconds: float, planner: str = "spec", music_track: PlannedMusic | None = None
) -> Plan:
    """Lay a spec (with beats) out in frames. `chunk_seconds` is the backend's native chunk length;
    `music_track` the spec's `music.file` as read (its tracked beats place the cuts with `sync: beats`)."""
    if spec.beats is None:
        raise ValueError("build_plan needs a spec with beats; run the planner first")
    if chunk_seconds <= 0:
        raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
    fps = spec.fps
    placed, warnings, truncation = fit_beats(spec.beats, spec.duration, fps, spec.id)
    placed, synced, music_sync = sync_to_music(spec, placed, fps, music_track)
    warnings += synced
    warnings += comfyui_notes(spec)
    chunk_frames = max(1, round(chunk_seconds * fps))

    transition_frames: list[int] = []
    for k, (beat, _, _) in enumerate(placed):
        if k == len(placed) - 1 or beat.transition == "cut":
            transition_frames.append(0)
            continue
        wanted = round(beat.transition_duration * fps)
        next_frames = placed[k + 1][2]
        # The transition plays over the first frames of the next beat, so it cannot outlast that beat; a
        # bridge leaves that beat at least half of its frames for its own clip.
        allowed = min(wanted, next_frames // 2 if beat.transition == BRIDGE else next_frames)
        if allowed < wanted:
            warnings.append(
                f"transition {beat.transition!r} after beat {beat.name!r} shortened from "
                f"{seconds(wanted, fps)} to {seconds(allowed, fps)}: the next beat lasts only that long"
            )
        transition_frames.append(allowed)

    planned: list[PlannedBeat] = []
    next_chunk = 0
    for k, (beat, start, frames) in enumerate(placed):
        t = transition_frames[k]
        transition = "cut" if t == 0 else beat.transition
        bridge_in = transition_frames[k - 1] if k > 0 and placed[k - 1][0].transition == BRIDGE else 0
        overlap = 0 if transition == BRIDGE else t
        chunks = layout_chunks(k, frames - bridge_in + overlap, chunk_frames, next_chunk)
        next_chunk += len(chunks)
        planned.append(
            PlannedBeat(
                index=k, name=beat.name, prompt=beat.prompt, camera=beat.camera, text=beat.text,
                start_frame=start, frames=frames, transition=transition, transition_frames=t, chunks=chunks,
                uses=spec.beat_references(beat), say=beat.say, bridge_in_frames=bridge_in, take=beat.take,
            )
        )  # fmt: skip

    kept = tuple(beat.model_copy(update={"duration": frames / fps}) for beat, _, frames in placed)
    width, height = spec.size
    return Plan(
        spec=spec.model_copy(update={"beats": kept}),
        width=width,
        height=height,
        fps=fps,
        total_frames=round(spec.duration * fps),
        chunk_frames=chunk_frames,
        beats=tuple(planned),
        planner=planner,
        warnings=tuple(warnings),
        truncation=truncation,
        music_track=music_track,
        music_sync=music_sync,
    )
