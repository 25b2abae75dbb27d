"""The OTIO timeline over generated plans: read back (through its JSON), it gives the plan's beat
boundaries, transition lengths and total duration exactly; each adapter's output read back by the same
library agrees."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import opentimelineio as otio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidgen_assets.core.editorial import EditTimeline, Media, edit_timeline
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import SpecError, parse_spec
from vidgen_assets.core.text import printable
from vidgen_assets.editorial import fcpxml, kdenlive, otio_timeline
from vidgen_assets.editorial.export import edl_text
from vidgen_tests.core.spec_strategies import specs

EXAMPLES = 80


def path_of(media: Media) -> str:
    return f"{media.kind}/{media.key}.{'png' if media.kind == 'title' else 'mp4'}"


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """Plans of generated valid specs, with chunk lengths from 1 s to 8 s."""
    data, valid = draw(specs().filter(lambda case: case[1]))
    assert valid
    try:
        spec = parse_spec({**data, "id": "gen"})
    except SpecError:
        spec = None
    if spec is None:  # a drawn combination the spec refuses as a whole (rare): a plain one instead
        spec = parse_spec({"id": "gen", "prompt": "p"})
    return plan_spec(spec, draw(st.sampled_from([1.0, 2.0, 5.0, 8.0])))


def voiced(plan: Plan) -> EditTimeline:
    return edit_timeline(plan, voice_frames={line.key: max(1, line.max_frames - 3) for line in plan.voice_lines})


def blends(plan: Plan) -> list[tuple[str, int, int, int]]:
    """The plan's transitions as an editor's timeline has them: name, cut, in and out offsets."""
    return [(j.transition, j.offset_frame, 0, j.frames) for j in plan.joins if j.frames and j.transition != "bridge"]


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(plan=plans())
def test_the_otio_file_read_back_gives_the_plans_beats_transitions_and_duration(plan: Plan):
    timeline = otio_timeline.to_otio(voiced(plan), path_of)
    back = otio_timeline.from_json(otio_timeline.to_json(timeline))
    found = otio_timeline.read_back(back, plan.fps)
    assert found.beats == [(printable(b.name), b.start_frame, b.frames) for b in plan.beats]
    assert found.transitions == blends(plan)
    assert found.duration == plan.total_frames
    video = otio_timeline.video_track(back)
    assert otio_timeline.frames(video.duration(), plan.fps) == plan.total_frames
    for index, item in enumerate(video):
        if isinstance(item, otio.schema.Transition):  # the outgoing clip has the frames the transition blends
            before, after = video.neighbors_of(item)
            used = before.trimmed_range().end_time_exclusive() + item.out_offset
            assert used <= before.media_reference.available_range.end_time_exclusive()
            assert otio_timeline.frames(item.in_offset, plan.fps) == 0
            assert after.trimmed_range().start_time.value == 0
        elif isinstance(item, otio.schema.Clip):
            meta = item.metadata["vidgen"]
            assert {"beat", "prompt", "model", "seed", "take", "cost_usd"} <= set(meta)
            assert (
                item.trimmed_range().end_time_exclusive() <= item.media_reference.available_range.end_time_exclusive()
            )
        del index


def edl_events(text: str, fps: int) -> Any:
    return otio.adapters.read_from_string(text, "cmx_3600", rate=fps)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(plan=plans())
def test_the_edl_read_back_has_events_that_sum_to_the_duration_and_every_dissolve(plan: Plan):
    timeline = otio_timeline.to_otio(voiced(plan), path_of)
    back = edl_events(edl_text(timeline), plan.fps)
    [track] = back.tracks
    assert otio_timeline.frames(track.duration(), plan.fps) == plan.total_frames
    clips = [i for i in track if isinstance(i, otio.schema.Clip)]
    assert sum(otio_timeline.frames(c.duration(), plan.fps) for c in clips) == plan.total_frames
    dissolves = [otio_timeline.frames(t.out_offset, plan.fps) for t in track if isinstance(t, otio.schema.Transition)]
    assert dissolves == [t[3] for t in blends(plan)]


def parse_fcpxml_spine(text: str, fps: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[str]]:
    """(each spine clip's offset and duration, each transition's offset and duration, the titles' texts),
    in frames, read exactly."""
    root = ET.fromstring(text)
    spine = root.find("./library/event/project/sequence/spine")
    assert spine is not None

    def f(value: str | None) -> int:
        found = fcpxml.parse_seconds(value) * fps
        assert found.denominator == 1
        return int(found)

    clips = [(f(e.get("offset")), f(e.get("duration"))) for e in spine if e.tag == "asset-clip"]
    transitions = [(f(e.get("offset")), f(e.get("duration"))) for e in spine if e.tag == "transition"]
    titles = [t.findtext("./text/text-style") or "" for t in spine.iter("title")]
    return clips, transitions, titles


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(plan=plans())
def test_fcpxml_holds_the_cuts_transitions_and_titles_and_the_fcpx_adapter_reads_it(plan: Plan):
    timeline = otio_timeline.to_otio(voiced(plan), path_of)
    text = fcpxml.write_fcpxml(timeline)
    clips, transitions, titles = parse_fcpxml_spine(text, plan.fps)
    assert sum(d for _, d in clips) == plan.total_frames
    assert [o for o, _ in clips] == [sum(d for _, d in clips[:i]) for i in range(len(clips))]  # edit to edit
    assert transitions == [(cut, frames) for _, cut, _, frames in blends(plan)]
    assert titles == [printable(o.text) for o in plan.overlays]
    # OTIO's FCP X reader (which skips titles and transitions) reads the picture and the sound back.
    [read] = list(otio.adapters.read_from_string(text, "fcpx_xml"))
    video = [t for t in read.tracks if t.kind == otio.schema.TrackKind.Video]
    audio = [t for t in read.tracks if t.kind == otio.schema.TrackKind.Audio]
    spine_clips = [c for t in video for c in t if isinstance(c, otio.schema.Clip)]
    assert [c.name for c in spine_clips] == [c.name for c in otio_timeline.video_track(timeline).find_clips()]
    assert bool(audio) == bool(plan.spec.music or plan.voice_lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(plan=plans())
def test_the_kdenlive_project_lays_every_clip_and_mix_on_the_timeline(plan: Plan):
    timeline = otio_timeline.to_otio(voiced(plan), path_of)
    root = ET.fromstring(kdenlive.write_kdenlive(timeline))
    profile = root.find("profile")
    assert profile is not None
    assert (profile.get("width"), profile.get("height"), profile.get("frame_rate_num")) == (
        str(plan.width), str(plan.height), str(plan.fps),
    )  # fmt: skip
    mixes = [(int(t.get("in", 0)), int(t.get("out", 0))) for t in root.iter("transition")
             if t.findtext("property[@name='mlt_service']") == "luma"]  # fmt: skip
    assert mixes == [(cut, cut + frames) for _, cut, _, frames in blends(plan)]
    # Every clip of the video track is an entry of the first video tractor, of its length.
    entries = sum(1 for t in root.iter("playlist") if t.get("id") != "main_bin" for _ in t.iter("entry"))
    assert entries == sum(len(t.clips) for t in voiced(plan).tracks)
