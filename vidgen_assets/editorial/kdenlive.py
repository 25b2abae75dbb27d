"""A Kdenlive project (MLT XML, Kdenlive document version 1.04) from an OTIO timeline.

Written here rather than with otio-kdenlive-adapter, which writes a fixed 1080p profile and no
transitions. The project has the video's own profile (size, frame rate, square pixels) and, as
Kdenlive lays a project out:
- a bin (`main_bin`) with one producer per media file, paths relative to the project (MLT resolves them
  from the project's folder);
- each track a tractor of two playlists; a transition between two clips of a track is a same-track mix:
  the outgoing clip on one playlist runs on through its handle, the incoming one starts at the cut on
  the other, and a `luma` transition (a dissolve) blends them from `in_offset` before the cut to
  `out_offset` after it (`kdenlive:mixcut`: where the cut is inside the mix);
- the timeline tractor: the black background, the audio tracks (mixed with `mix`), the video tracks
  bottom to top, each composited over the ones below with `qtblend` (the titles are full-frame images
  with alpha, so they lie over the picture as vidgen burns them in).

`melt` (MLT's own player and renderer) renders the file as it is: that is how it is tested.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import opentimelineio as otio

from vidgen_assets.editorial.otio_timeline import NAMESPACE, frames

DOC_VERSION = "1.04"
KDENLIVE_VERSION = "22.12.3"
MLT_VERSION = "7.12.0"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
COMPOSITE = "qtblend"
DISSOLVE = "luma"
CLIP_TYPES = {"audio": "1", "video": "2", "image": "5"}
"""Kdenlive's clip types (its `ClipType` enum: audio, video, image)."""


@dataclass
class _Producer:
    id: str
    kdenlive_id: int
    resource: str
    name: str
    length: int
    kind: str
    """`video`, `audio` or `image`."""


@dataclass
class _Entry:
    producer: _Producer
    start: int
    """Where the entry starts on the timeline."""
    source_in: int
    frames: int


@dataclass
class _Mix:
    start: int
    end: int
    """The frame after the last frame the two clips share."""
    cut: int
    outgoing_playlist: int
    name: str


@dataclass
class _Track:
    name: str
    audio: bool
    playlists: tuple[list[_Entry], list[_Entry]] = field(default_factory=lambda: ([], []))
    mixes: list[_Mix] = field(default_factory=list)


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})


def _props(element: ET.Element, props: dict[str, str]) -> None:
    for name, value in props.items():
        _sub(element, "property", name=name).text = value


def _profile(root: ET.Element, width: int, height: int, fps: int) -> None:
    aspect = Fraction(width, height)
    _sub(
        root, "profile", description=f"{width}x{height} {fps} fps (vidgen)", width=str(width), height=str(height),
        progressive="1", sample_aspect_num="1", sample_aspect_den="1", display_aspect_num=str(aspect.numerator),
        display_aspect_den=str(aspect.denominator), frame_rate_num=str(fps), frame_rate_den="1", colorspace="601",
    )  # fmt: skip


def _kind(reference: Any, track_kind: str) -> str:
    url = str(getattr(reference, "target_url", ""))
    if url.lower().endswith(IMAGE_SUFFIXES):
        return "image"
    return "audio" if track_kind == otio.schema.TrackKind.Audio else "video"


class _Project:
    def __init__(self, fps: int) -> None:
        self.fps = fps
        self.producers: dict[str, _Producer] = {}

    def producer(self, clip: Any, track_kind: str) -> _Producer:
        reference = clip.media_reference
        url = str(getattr(reference, "target_url", "") or "")
        if not url:
            raise ValueError(f"clip {clip.name!r} has no media file: a Kdenlive project needs one for every clip")
        found = self.producers.get(url)
        if found is None:
            available = reference.available_range
            length = frames(available.duration, self.fps) if available is not None else 0
            kind = _kind(reference, track_kind)
            found = _Producer(f"producer{len(self.producers)}", len(self.producers) + 2, url, clip.name, length, kind)
            self.producers[url] = found
        return found

    def track(self, track: Any) -> _Track:
        out = _Track(name=track.name, audio=track.kind == otio.schema.TrackKind.Audio)
        playlist = 0
        items = list(track)
        for index, item in enumerate(items):
            if not isinstance(item, otio.schema.Clip):
                continue
            placed = track.range_of_child_at_index(index)
            start, length = frames(placed.start_time, self.fps), frames(placed.duration, self.fps)
            source_in = frames(item.trimmed_range().start_time, self.fps)
            before = items[index - 1] if index > 0 else None
            after = items[index + 1] if index + 1 < len(items) else None
            if isinstance(before, otio.schema.Transition):
                lead = frames(before.in_offset, self.fps)
                start, source_in, length = start - lead, source_in - lead, length + lead
                playlist = 1 - playlist
            if isinstance(after, otio.schema.Transition):
                length += frames(after.out_offset, self.fps)
                cut = start + length - frames(after.out_offset, self.fps)
                out.mixes.append(
                    _Mix(start=cut - frames(after.in_offset, self.fps), end=cut + frames(after.out_offset, self.fps),
                         cut=cut, outgoing_playlist=playlist, name=after.name)
                )  # fmt: skip
            out.playlists[playlist].append(_Entry(self.producer(item, track.kind), start, source_in, length))
        return out


def _playlist(root: ET.Element, pid: str, entries: list[_Entry], audio: bool) -> None:
    element = _sub(root, "playlist", id=pid)
    if audio:
        _props(element, {"kdenlive:audio_track": "1"})
    cursor = 0
    for entry in sorted(entries, key=lambda e: e.start):
        if entry.start < cursor:
            raise ValueError(f"clips overlap on one playlist at frame {entry.start}")
        if entry.start > cursor:
            _sub(element, "blank", length=str(entry.start - cursor))
        node = _sub(element, "entry", producer=entry.producer.id, in_=str(entry.source_in),
                    out=str(entry.source_in + entry.frames - 1))  # fmt: skip
        _props(node, {"kdenlive:id": str(entry.producer.kdenlive_id)})
        cursor = entry.start + entry.frames


def _track_tractor(root: ET.Element, track: _Track, number: int) -> str:
    ids = (f"playlist{2 * number}", f"playlist{2 * number + 1}")
    for pid, entries in zip(ids, track.playlists, strict=True):
        _playlist(root, pid, entries, track.audio)
    tid = f"tractor{number}"
    tractor = _sub(root, "tractor", id=tid, in_="0")
    props = {"kdenlive:track_name": track.name, "kdenlive:trackheight": "67", "kdenlive:timeline_active": "1",
             "kdenlive:collapsed": "0", "kdenlive:thumbs_format": "", "kdenlive:audio_rec": ""}  # fmt: skip
    if track.audio:
        props = {"kdenlive:audio_track": "1", **props}
    _props(tractor, props)
    for pid in ids:
        _sub(tractor, "track", hide="video" if track.audio else "audio", producer=pid)
    for i, mix in enumerate(track.mixes):
        node = _sub(tractor, "transition", id=f"mix{number}_{i}", in_=str(mix.start), out=str(mix.end))
        _props(node, {
            "a_track": "0", "b_track": "1", "factory": "loader", "resource": "", "mlt_service": DISSOLVE,
            "kdenlive_id": DISSOLVE, "kdenlive:mixcut": str(mix.cut - mix.start), "softness": "0", "alpha_over": "0",
            "reverse": str(mix.outgoing_playlist), "vidgen:transition": mix.name,
        })  # fmt: skip
    return tid


def _bin(root: ET.Element, project: _Project, doc: dict[str, str], notes: str) -> None:
    for p in project.producers.values():
        service = {"image": "qimage", "audio": "avformat-novalidate", "video": "avformat-novalidate"}[p.kind]
        node = _sub(root, "producer", id=p.id, in_="0", out=str(max(0, p.length - 1)))
        props = {"length": str(p.length), "eof": "pause", "resource": p.resource, "mlt_service": service,
                 "kdenlive:clipname": p.name, "kdenlive:folderid": "-1", "kdenlive:id": str(p.kdenlive_id),
                 "kdenlive:clip_type": CLIP_TYPES[p.kind]}  # fmt: skip
        if p.kind == "image":
            props |= {"ttl": "25", "aspect_ratio": "1", "kdenlive:duration": str(p.length)}
        else:
            props |= {"seekable": "1", "audio_index": "0" if p.kind == "audio" else "-1",
                      "video_index": "-1" if p.kind == "audio" else "0"}  # fmt: skip
        _props(node, props)
    main_bin = _sub(root, "playlist", id="main_bin")
    _props(
        main_bin,
        {f"kdenlive:docproperties.{k}": v for k, v in doc.items()}
        | {"kdenlive:documentnotes": notes, "xml_retain": "1"},
    )
    for p in project.producers.values():
        _sub(main_bin, "entry", producer=p.id, in_="0", out=str(max(0, p.length - 1)))


def _tracks_of(timeline: Any) -> Iterator[Any]:
    yield from (t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio)
    yield from (t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video)


def write_kdenlive(timeline: Any, width: int | None = None, height: int | None = None, fps: int | None = None) -> str:
    """The Kdenlive project of an OTIO timeline (its frame from the `vidgen` metadata unless given)."""
    meta = timeline.metadata.get(NAMESPACE, {})
    width, height, fps = int(width or meta["width"]), int(height or meta["height"]), int(fps or meta["fps"])
    total = frames(timeline.duration(), fps)
    project = _Project(fps)
    tracks = [project.track(t) for t in _tracks_of(timeline)]

    root = ET.Element("mlt", {"LC_NUMERIC": "C", "producer": "main_bin", "version": MLT_VERSION})
    _profile(root, width, height, fps)
    media = meta.get("media", {})
    notes = " ".join(f"{k}: {v}" for k, v in media.items()) if isinstance(media, dict) else ""
    doc = {
        "version": DOC_VERSION, "kdenliveversion": KDENLIVE_VERSION, "profile": "", "audioChannels": "2",
        "enableproxy": "0", "position": "0", "zonein": "0", "zoneout": str(max(0, total - 1)),
        "documentid": "1", "vidgen_video": str(meta.get("video_id", timeline.name)),
    }  # fmt: skip
    _bin(root, project, doc, notes)
    black = _sub(root, "producer", id="black_track", in_="0", out=str(max(0, total - 1)))
    _props(black, {"length": str(total), "eof": "continue", "resource": "black", "aspect_ratio": "1",
                   "mlt_service": "color", "mlt_image_format": "rgba", "set.test_audio": "0"})  # fmt: skip
    track_ids = [_track_tractor(root, track, n) for n, track in enumerate(tracks)]
    guides = [
        {"comment": m.name, "pos": frames(m.marked_range.start_time, fps), "type": 0}
        for m in timeline.tracks.markers
    ]  # fmt: skip
    main = _sub(root, "tractor", id=f"tractor{len(tracks)}", in_="0", out=str(max(0, total - 1)))
    _props(main, {"kdenlive:docproperties.guides": _json(guides)})
    _sub(main, "track", producer="black_track")
    for tid in track_ids:
        _sub(main, "track", producer=tid)
    for number, track in enumerate(tracks, start=1):
        node = _sub(main, "transition", id=f"transition{number}")
        if track.audio:
            props = {"mlt_service": "mix", "kdenlive_id": "mix", "sum": "1", "accepts_blanks": "1"}
        else:
            props = {"mlt_service": COMPOSITE, "kdenlive_id": COMPOSITE, "compositing": "0", "distort": "0",
                     "rotate_center": "0"}  # fmt: skip
        _props(node, {"a_track": "0", "b_track": str(number), **props, "internal_added": "237", "always_active": "1"})
    ET.indent(root, space=" ")
    return "<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
