"""FCPXML (version 1.8) from an OTIO timeline.

Written here rather than with otio-fcpx-xml-adapter, which drops transitions and fails on title clips.
The video track is the primary storyline (`spine`): an `asset-clip` per clip, laid edit to edit, and a
`transition` (Cross Dissolve) from `in_offset` before a cut to `out_offset` after it, which FCP fills
from the outgoing clip's handle. The other tracks are connected to the spine clip under their start:
the titles as `title` elements (Basic Title, their text in a `text-style`) in lanes above it, the audio
(music bed, voiceover lines) as `asset-clip`s in lanes below. Times are rational seconds in whole frames
(`N/fps s`). Media are `src` URLs relative to the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import quote

import opentimelineio as otio

from vidgen_assets.editorial.otio_timeline import NAMESPACE, frames, video_track

VERSION = "1.8"
DISSOLVE_UID = "FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"
TITLE_UID = ".../Titles.localized/Bumper:Opener.localized/Basic Title.localized/Basic Title.moti"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def fcp_time(frame_count: int, fps: int) -> str:
    """A frame count as FCPXML time: `0s`, `5s`, `61/24s`."""
    value = Fraction(frame_count, fps)
    if value.denominator == 1:
        return f"{value.numerator}s"
    return f"{value.numerator}/{value.denominator}s"


def parse_seconds(text: str | None) -> Fraction:
    """FCPXML time (`61/24s`, `5s`) as an exact number of seconds."""
    if not text:
        return Fraction(0)
    body = text.removesuffix("s")
    return Fraction(body) if "/" not in body else Fraction(*map(int, body.split("/")))


@dataclass
class _Placed:
    item: Any
    start: int
    length: int
    lane: int


class _Writer:
    def __init__(self, timeline: Any, fps: int, width: int, height: int) -> None:
        self.timeline, self.fps = timeline, fps
        self.root = ET.Element("fcpxml", version=VERSION)
        self.resources = ET.SubElement(self.root, "resources")
        ET.SubElement(self.resources, "format", id="r1", name=f"vidgen {width}x{height} {fps}",
                      frameDuration=fcp_time(1, fps), width=str(width), height=str(height))  # fmt: skip
        self.assets: dict[str, str] = {}
        self.effects: dict[str, str] = {}
        self.next_id = 2

    def _id(self) -> str:
        found = f"r{self.next_id}"
        self.next_id += 1
        return found

    def effect(self, name: str, uid: str) -> str:
        if uid not in self.effects:
            self.effects[uid] = self._id()
            ET.SubElement(self.resources, "effect", id=self.effects[uid], name=name, uid=uid)
        return self.effects[uid]

    def asset(self, clip: Any, audio: bool) -> str:
        reference = clip.media_reference
        url = str(getattr(reference, "target_url", "") or "")
        if not url:
            raise ValueError(f"clip {clip.name!r} has no media file: FCPXML needs one for every clip")
        if url not in self.assets:
            self.assets[url] = self._id()
            available = reference.available_range
            length = frames((available or clip.trimmed_range()).duration, self.fps)
            attrs = {"id": self.assets[url], "name": url.rsplit("/", 1)[-1], "src": quote(url), "start": "0s",
                     "duration": fcp_time(length, self.fps), "hasVideo": "0" if audio else "1",
                     "hasAudio": "1" if audio else "0", "format": "r1"}  # fmt: skip
            if audio:
                attrs |= {"audioSources": "1", "audioChannels": "2", "audioRate": "48000"}
            asset = ET.SubElement(self.resources, "asset", attrs)
            ET.SubElement(ET.SubElement(asset, "metadata"), "md", key="vidgen.file", value=url)
        return self.assets[url]

    def clip_element(self, parent: ET.Element, clip: Any, start: int, length: int, audio: bool, lane: int = 0) -> None:
        attrs = {"ref": self.asset(clip, audio), "name": clip.name, "offset": fcp_time(start, self.fps),
                 "start": fcp_time(frames(clip.trimmed_range().start_time, self.fps), self.fps),
                 "duration": fcp_time(length, self.fps), "format": "r1", "tcFormat": "NDF"}  # fmt: skip
        if lane:
            attrs["lane"] = str(lane)
        element = ET.SubElement(parent, "asset-clip", attrs)
        facts = clip.metadata.get(NAMESPACE, {})
        if facts:
            metadata = ET.SubElement(element, "metadata")
            for key, value in facts.items():
                if value is not None:
                    ET.SubElement(metadata, "md", key=f"vidgen.{key}", value=str(value))

    def title_element(self, parent: ET.Element, clip: Any, offset: int, length: int, lane: int) -> None:
        text = str(clip.metadata.get(NAMESPACE, {}).get("text", clip.name))
        title = ET.SubElement(parent, "title", ref=self.effect("Basic Title", TITLE_UID), lane=str(lane),
                              offset=fcp_time(offset, self.fps), name=clip.name, duration=fcp_time(length, self.fps),
                              start="0s")  # fmt: skip
        style_id = f"ts{self.next_id}"
        self.next_id += 1
        ET.SubElement(ET.SubElement(title, "text"), "text-style", ref=style_id).text = text
        definition = ET.SubElement(title, "text-style-def", id=style_id)
        ET.SubElement(definition, "text-style", font="DejaVu Sans", fontSize="48", fontColor="1 1 1 1",
                      alignment="center")  # fmt: skip


def _placed(track: Any, fps: int, lane: int) -> list[_Placed]:
    out = []
    for index, item in enumerate(track):
        if isinstance(item, otio.schema.Clip):
            where = track.range_of_child_at_index(index)
            out.append(_Placed(item, frames(where.start_time, fps), frames(where.duration, fps), lane))
    return out


def write_fcpxml(timeline: Any) -> str:
    """The FCPXML of an OTIO timeline made by `otio_timeline.to_otio` (its frame from the `vidgen`
    metadata)."""
    meta = timeline.metadata.get(NAMESPACE, {})
    fps, width, height = int(meta["fps"]), int(meta["width"]), int(meta["height"])
    total = frames(timeline.duration(), fps)
    writer = _Writer(timeline, fps, width, height)
    main = video_track(timeline)
    library = ET.SubElement(writer.root, "library")
    event = ET.SubElement(library, "event", name="vidgen")
    project = ET.SubElement(event, "project", name=str(meta.get("video_id", timeline.name)))
    media = meta.get("media", {})
    if isinstance(media, dict) and media:
        ET.SubElement(project, "note").text = "; ".join(f"{k}: {v}" for k, v in media.items())
    sequence = ET.SubElement(project, "sequence", format="r1", duration=fcp_time(total, fps), tcStart="0s",
                             tcFormat="NDF", audioLayout="stereo", audioRate="48k")  # fmt: skip
    spine = ET.SubElement(sequence, "spine")
    spine_clips: list[tuple[_Placed, ET.Element]] = []
    items = list(main)
    placed_clips = iter(_placed(main, fps, 0))
    for index, item in enumerate(items):
        if isinstance(item, otio.schema.Gap):
            length = frames(item.duration(), fps)
            start = frames(main.range_of_child_at_index(index).start_time, fps)
            ET.SubElement(spine, "gap", name="Gap", offset=fcp_time(start, fps), duration=fcp_time(length, fps))
        elif isinstance(item, otio.schema.Transition):
            cut = frames(main.range_of_child_at_index(index + 1).start_time, fps)
            before, after = frames(item.in_offset, fps), frames(item.out_offset, fps)
            node = ET.SubElement(spine, "transition", name="Cross Dissolve", offset=fcp_time(cut - before, fps),
                                 duration=fcp_time(before + after, fps))  # fmt: skip
            dissolve = writer.effect("Cross Dissolve", DISSOLVE_UID)
            ET.SubElement(node, "filter-video", ref=dissolve, name="Cross Dissolve")
            ET.SubElement(node, "note").text = f"vidgen transition: {item.name}"
        elif isinstance(item, otio.schema.Clip):
            placed = next(placed_clips)
            writer.clip_element(spine, item, placed.start, placed.length, audio=False)
            spine_clips.append((placed, spine[-1]))
    video_lane, audio_lane = 0, 0
    for track in timeline.tracks:
        if track is main:
            continue
        audio = track.kind == otio.schema.TrackKind.Audio
        if audio:
            audio_lane -= 1
        else:
            video_lane += 1
        for placed in _placed(track, fps, audio_lane if audio else video_lane):
            parent, element = next((p, e) for p, e in reversed(spine_clips) if p.start <= placed.start)
            # A connected item's offset is in its parent's own time: the parent's start plus the way into it.
            parent_start = frames(parent.item.trimmed_range().start_time, fps)
            offset = parent_start + placed.start - parent.start
            url = str(getattr(placed.item.media_reference, "target_url", ""))
            if not audio and url.lower().endswith(IMAGE_SUFFIXES):
                writer.title_element(element, placed.item, offset, placed.length, placed.lane)
            else:
                writer.clip_element(element, placed.item, offset, placed.length, audio=audio, lane=placed.lane)
    for _, element in spine_clips:  # a clip's metadata comes after what is connected to it
        for metadata in element.findall("metadata"):
            element.remove(metadata)
            element.append(metadata)
    ET.indent(writer.root, space="  ")
    body = ET.tostring(writer.root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n'
