"""The finished timeline (`core.editorial.EditTimeline`) as an OpenTimelineIO timeline, and back.

Every time is a `RationalTime` in frames at the video's frame rate, so nothing is rounded anywhere. A
clip's media is an `ExternalReference` to a path relative to the exported file (its `available_range`
is the whole file), so the export opens wherever the video's folder is copied. Transitions are OTIO
transitions at the cut with `in_offset` 0 and `out_offset` T (see `core.editorial`); `fade` and
`dissolve` are `SMPTE_Dissolve`, other xfade names `Custom` with the name kept. The beats are markers
on the timeline's stack, and `vidgen` metadata carries the video's frame, every clip's beat, prompt,
model, seed, take and cost, and where the media are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio

from vidgen_assets.core.editorial import VIDEO_TRACK, EditClip, EditTimeline, EditTrack, Media

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange

DISSOLVES = ("fade", "dissolve")
"""xfade names that are a plain cross-dissolve (xfade's `fade` blends the two pictures, it does not
pass through black)."""
NAMESPACE = "vidgen"


def frames_range(start: int, frames: int, fps: int) -> Any:
    return TimeRange(RationalTime(start, fps), RationalTime(frames, fps))


def _clip(clip: EditClip, fps: int, path: str) -> Any:
    reference = otio.schema.ExternalReference(target_url=path, available_range=frames_range(0, clip.media.frames, fps))
    return otio.schema.Clip(
        name=clip.name,
        media_reference=reference,
        source_range=frames_range(clip.source_start, clip.frames, fps),
        metadata={NAMESPACE: {**clip.metadata, "media": clip.media.kind}},
    )


def _track(track: EditTrack, fps: int, path_of: Callable[[Media], str]) -> Any:
    kind = otio.schema.TrackKind.Video if track.kind == "video" else otio.schema.TrackKind.Audio
    out = otio.schema.Track(name=track.name, kind=kind)
    at = {t.at_frame: t for t in track.transitions}
    cursor = 0
    for clip in track.clips:
        if clip.start_frame > cursor:
            out.append(otio.schema.Gap(source_range=frames_range(0, clip.start_frame - cursor, fps)))
        transition = at.get(clip.start_frame) if cursor else None
        if transition is not None:
            out.append(
                otio.schema.Transition(
                    name=transition.name,
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve
                    if transition.name in DISSOLVES
                    else otio.schema.TransitionTypes.Custom,
                    in_offset=RationalTime(transition.in_offset, fps),
                    out_offset=RationalTime(transition.out_offset, fps),
                    metadata={NAMESPACE: {"xfade": transition.name, "from_beat": transition.from_beat,
                                          "to_beat": transition.to_beat}},
                )
            )  # fmt: skip
        out.append(_clip(clip, fps, path_of(clip.media)))
        cursor = clip.end_frame
    return out


def to_otio(edit: EditTimeline, path_of: Callable[[Media], str], media: Mapping[str, str] | None = None) -> Any:
    """The OTIO timeline of `edit`; `path_of` gives each media file's path relative to the export,
    `media` says where those are (recorded in the timeline's metadata)."""
    fps = edit.fps
    timeline = otio.schema.Timeline(name=edit.video_id, global_start_time=RationalTime(0, fps))
    timeline.metadata[NAMESPACE] = {
        "video_id": edit.video_id, "fps": fps, "width": edit.width, "height": edit.height,
        "total_frames": edit.total_frames, "media": dict(media or {}),
    }  # fmt: skip
    for track in edit.tracks:
        timeline.tracks.append(_track(track, fps, path_of))
    for beat in edit.beats:
        timeline.tracks.markers.append(
            otio.schema.Marker(
                name=f"{beat.index + 1:02d} {beat.name}",
                marked_range=frames_range(beat.start_frame, beat.frames, fps),
                color=otio.schema.MarkerColor.PURPLE,
                metadata={NAMESPACE: beat.model_dump()},
            )
        )
    return timeline


def to_json(timeline: Any) -> str:
    text: str = otio.adapters.write_to_string(timeline, "otio_json")
    return text


def from_json(text: str) -> Any:
    return otio.adapters.read_from_string(text, "otio_json")


@dataclass(frozen=True)
class ReadBack:
    """What an editor's timeline says, in frames: the beats (name, first frame, frames), each
    transition (name, cut frame, in and out offsets) and the whole duration."""

    beats: list[tuple[str, int, int]]
    transitions: list[tuple[str, int, int, int]]
    duration: int


def frames(time: Any, fps: int) -> int:
    """A time as a whole number of frames at `fps`; anything else is an error (nothing is rounded)."""
    value = time.value_rescaled_to(fps)
    if value != int(value):
        raise ValueError(f"{time} is not a whole number of frames at {fps} fps")
    return int(value)


def video_track(timeline: Any) -> Any:
    tracks = [t for t in timeline.tracks if t.name == VIDEO_TRACK] or timeline.video_tracks()
    return tracks[0]


def read_back(timeline: Any, fps: int) -> ReadBack:
    """The beats (from the stack's markers), the video track's transitions and the duration."""
    beats = [
        (str(m.metadata.get(NAMESPACE, {}).get("name", m.name)), frames(m.marked_range.start_time, fps),
         frames(m.marked_range.duration, fps))
        for m in timeline.tracks.markers
    ]  # fmt: skip
    track = video_track(timeline)
    transitions = []
    for index, item in enumerate(track):
        if isinstance(item, otio.schema.Transition):
            cut = frames(track.range_of_child_at_index(index + 1).start_time, fps)
            transitions.append((item.name, cut, frames(item.in_offset, fps), frames(item.out_offset, fps)))
    return ReadBack(beats=beats, transitions=transitions, duration=frames(timeline.duration(), fps))
