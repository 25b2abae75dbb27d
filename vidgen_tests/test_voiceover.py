"""The voiceover end to end with the local engine: lines in their beats, per-line caching, the final
video's soundtrack and subtitles (track, sidecars, burnt in), and bad input refused before anything."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import srt
import webvtt

from vidgen_assets import stages, voiceover
from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.cli import main
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import parse_spec
from vidgen_assets.media import probe
from vidgen_assets.storage.artifacts import Artifacts, load_artifacts, save_artifacts
from vidgen_assets.storage.store import LocalStore

ODD = '"Don\'t" stop:\n100% שלום 😀'
BEATS: list[dict[str, Any]] = [
    {"name": "hero", "duration": 5, "prompt": "a bottle", "say": "Steeped for twenty hours.", "text": "Cold brew"},
    {"name": "pour", "duration": 5, "prompt": "a glass", "say": ODD},
]
SPEC: dict[str, Any] = {
    "id": "talk", "prompt": "p", "duration": 10, "resolution": "480p", "fps": 24,
    "beats": BEATS,
}  # fmt: skip


def saved(store: LocalStore, out: Artifacts) -> Artifacts:
    save_artifacts(store, out)
    loaded = load_artifacts(store, out.video_id, out.manifest)
    assert loaded is not None
    return loaded


def line_records(data: Path, video: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((data / "videos" / video / "voice").glob("line_*.json"))]


def test_lines_fit_their_beats_and_editing_one_remakes_only_it(tmp_path):
    store = LocalStore(tmp_path / "data")
    backend = AnimaticBackend()
    plan = plan_spec(parse_spec(SPEC), 5.0)
    out = saved(store, voiceover.voice(plan, backend, store, tmp_path / "s1"))
    assert out.record["made"] == ["line_00", "line_01"] and out.record["reused"] == []
    for record, beat in zip(line_records(tmp_path / "data", "talk"), plan.beats, strict=True):
        spoken = probe.probe(out.path(f"voice/{record['key']}.wav")).audio_duration_s or 0.0
        assert spoken == pytest.approx(record["spoken_s"], abs=0.002) and spoken > 0.5
        assert record["start_frame"] >= beat.start_frame
        assert record["start_frame"] / 24 + spoken <= beat.end_frame / 24  # inside its beat
        assert record["text"] == beat.say and record["voice"] == "narrator (gmw/en-US)"
    first = (tmp_path / "data" / "videos" / "talk" / "voice" / "line_00.wav").read_bytes()

    edited = {**SPEC, "beats": [BEATS[0], {**BEATS[1], "say": "Pour it over ice."}]}
    plan2 = plan_spec(parse_spec(edited), 5.0)
    again = saved(store, voiceover.voice(plan2, backend, store, tmp_path / "s2"))
    assert again.record["made"] == ["line_01"] and again.record["reused"] == ["line_00"]
    assert (tmp_path / "data" / "videos" / "talk" / "voice" / "line_00.wav").read_bytes() == first
    assert line_records(tmp_path / "data", "talk")[1]["text"] == "Pour it over ice."
    # Unchanged again: the whole stage is answered from the store.
    assert voiceover.voice(plan2, backend, store, tmp_path / "s3").record["cached"] is True


def test_a_line_too_long_for_its_beat_fails_naming_it_and_keeps_the_lines_before(tmp_path):
    store = LocalStore(tmp_path / "data")
    long_line = (
        "Steeped for twenty hours, slowly and patiently, in cold filtered mountain water, until it is smooth, "
        "sweet and ready to pour over ice."
    )
    spec = {**SPEC, "beats": [BEATS[0], {**BEATS[1], "say": long_line}]}
    plan = plan_spec(parse_spec(spec), 5.0)
    with pytest.raises(stages.StageError) as caught:
        voiceover.voice(plan, AnimaticBackend(), store, tmp_path / "s")
    message = str(caught.value)
    assert "beats[1].say ('pour'): the line lasts" in message and "its beat leaves 4.75 s" in message
    assert "1.25x faster" in message
    assert [r["key"] for r in line_records(tmp_path / "data", "talk")] == ["line_00"]


def test_a_slightly_long_line_is_sped_up_to_fit(tmp_path):
    store = LocalStore(tmp_path / "data")
    line = "Steeped for twenty hours in cold water, then poured."  # 5.1 s spoken at speed 0.6, for 4.75 s
    spec = {**SPEC, "voice": {"speed": 0.6}, "beats": [{**BEATS[0], "say": line},
                                                        {**BEATS[1], "say": "Pour."}]}  # fmt: skip
    plan = plan_spec(parse_spec(spec), 5.0)
    record = voiceover.voice(plan, AnimaticBackend(), store, tmp_path / "s").record["lines"][0]
    assert 4.75 < record["measured_s"] <= 4.75 * 1.25
    assert 1.0 < record["tempo"] <= 1.25 and record["spoken_s"] <= 4.75


@pytest.mark.slow
def test_render_speaks_ducks_and_subtitles_soft(tmp_path):
    spec = tmp_path / "talk.yaml"
    spec.write_text(json.dumps({**SPEC, "music": {"bpm": 100, "volume": 0.8}}))
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0
    folder = data / "videos" / "talk"
    info = probe.probe(folder / "final.mp4")
    assert info.frames == 240 and info.audio_duration_s == pytest.approx(info.duration_s, abs=0.001)

    import av

    with av.open(str(folder / "final.mp4")) as container:
        (track,) = container.streams.subtitles
        assert track.codec_context.name == "mov_text"
        # mov_text samples: a 2-byte length, then the text (2-byte empty samples fill the gaps).
        packets = [p for p in container.demux(track) if p.size > 2]
        samples = [(float((p.pts or 0) * p.time_base), bytes(p)[2:].decode()) for p in packets]
    assert [text for _, text in samples] == [BEATS[0]["say"], ODD]

    lines = line_records(data, "talk")
    expected = [(r["start_s"], round(r["start_s"] + r["spoken_s"], 3), r["text"]) for r in lines]
    cues = list(srt.parse((folder / "final.srt").read_text(encoding="utf-8")))
    got = [(c.start.total_seconds(), c.end.total_seconds(), c.content) for c in cues]
    assert [(s, e) for s, e, _ in got] == [(s, pytest.approx(e, abs=0.001)) for s, e, _ in expected]
    assert got[1][2] == ODD  # quotes, newline, emoji and Hebrew unharmed
    assert [start for start, _ in samples] == [s for s, _, _ in expected]
    vtt = webvtt.from_buffer(io.StringIO((folder / "final.vtt").read_text(encoding="utf-8")))
    assert [c.text for c in vtt.captions] == [BEATS[0]["say"], ODD]
    assert [c.start for c in vtt.captions] == ["00:00:00.250", "00:00:05.250"]
    assert [c.end for c in vtt.captions] == [srt.timedelta_to_srt_timestamp(c.end).replace(",", ".") for c in cues]
    final = json.loads((folder / "final.json").read_text())
    assert final["subtitles"] == "soft" and [c[0] for c in final["cues"]] == [0.25, 5.25]
    assert final["cost_by_stage"]["voice"] == 0.0

    # Edit the second line and render again: that line, the soundtrack and the final are re-made, nothing else
    # (a stage that is current is not run at all; one that runs and finds its output answers from the store).
    manifests = ["storyboard/storyboard.json", "chunks/p000.json", "chunks/p001.json", "music.json", "stitched.json",
                 "soundtrack.json", "final.json"]  # fmt: skip
    before = {m: (folder / m).read_text() for m in manifests}
    spec.write_text(json.dumps({**SPEC, "music": {"bpm": 100, "volume": 0.8},
                                "beats": [BEATS[0], {**BEATS[1], "say": "Pour it over ice."}]}))  # fmt: skip
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0

    def made(manifest: str) -> bool:
        text = (folder / manifest).read_text()
        return text != before[manifest] and not json.loads(text).get("cached", False)

    voice = json.loads((folder / "voice" / "voice.json").read_text())
    assert (voice["made"], voice["reused"]) == (["line_01"], ["line_00"])
    assert made("soundtrack.json") and made("final.json")
    assert not any(made(m) for m in ["storyboard/storyboard.json", "chunks/p000.json", "chunks/p001.json",
                                     "music.json", "stitched.json"])  # fmt: skip
    assert [c.content for c in srt.parse((folder / "final.srt").read_text(encoding="utf-8"))][1] == "Pour it over ice."


@pytest.mark.slow
def test_burnt_subtitles_are_drawn_clear_of_the_beat_text(tmp_path):
    spec = tmp_path / "talk.yaml"
    spec.write_text(json.dumps({**SPEC, "id": "burn", "subtitles": "burn", "music": False}))
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0
    folder = data / "videos" / "burn"
    assert (folder / "final.srt").exists() and (folder / "final.vtt").exists()
    import av

    with av.open(str(folder / "final.mp4")) as container:
        assert not container.streams.subtitles and container.streams.audio  # voice alone, no music
    # Beat 0 shows its text in the lower third: its subtitle goes to the top; beat 1 has none: bottom.
    at = [12, 132]  # 0.5 s into each line
    final = probe.read_frames(folder / "final.mp4", at)
    plain = probe.read_frames(folder / "stitched.mp4", at)
    diff = [np.abs(f.astype(int) - p.astype(int)).mean(axis=2) for f, p in zip(final, plain, strict=True)]
    top, bottom = slice(0, 80), slice(400, 480)
    drawn = [d > 40 for d in diff]  # the caption's glyphs and box, against the picture under them
    assert drawn[0][top].sum() > 300 and drawn[0][bottom].sum() < 30
    assert drawn[1][bottom].sum() > 300 and drawn[1][top].sum() < 30
    # `final.ass` beside them holds the captions as libass drew them.
    assert "Steeped for twenty hours." in (folder / "final.ass").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_reencode_path_speaks_and_subtitles_too(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDGEN_STITCH", "reencode")
    spec = tmp_path / "talk.yaml"
    spec.write_text(json.dumps({**SPEC, "id": "again", "music": False}))
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0
    folder = data / "videos" / "again"
    info = probe.probe(folder / "final.mp4")
    assert info.frames == 240 and info.audio_duration_s == pytest.approx(info.duration_s, abs=0.001)
    import av

    with av.open(str(folder / "final.mp4")) as container:
        assert [s.codec_context.name for s in container.streams.subtitles] == ["mov_text"]
    # The full re-encode draws the beat's text in the final stage: it is there, in the lower third.
    final, plain = (probe.read_frames(folder / name, [60])[0] for name in ("final.mp4", "stitched.mp4"))
    assert np.abs(final.astype(int) - plain.astype(int)).mean(axis=2)[360:420].mean() > 8
    assert len(list(srt.parse((folder / "final.srt").read_text(encoding="utf-8")))) == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"voice": {"voice": "klingon"}},
         "voice.voice: unknown voice 'klingon' for backend animatic; allowed: narrator, en-us"),
        ({"subtitles": "hard"}, "subtitles: got 'hard'; allowed: 'soft', 'burn' or 'off'"),
        ({"subtitles": {"mode": "burn", "style": {"font": "Comic Sans MS"}}},
         "subtitles.style.font: no font family 'Comic Sans MS' here; installed: DejaVu Sans, "),
        ({"subtitles": {"mode": "burn", "style": {"highlight": "yellow"}}},
         "subtitles.style.highlight: 'yellow' is not a colour; use #rrggbb"),
        ({"beats": [{**BEATS[0], "say": "x" * 601}]}, "beats[0].say: "),
        ({"beats": [{**BEATS[0], "say": "   "}]}, "beats[0].say: say is empty or only whitespace"),
        ({"beats": [{**BEATS[0], "say": "bell\x07"}]}, "beats[0].say: say contains the control character"),
    ],
)  # fmt: skip
def test_bad_voice_input_exits_2_and_writes_nothing(tmp_path, capsys, change, expected):
    spec = tmp_path / "bad.yaml"
    spec.write_text(json.dumps({**SPEC, **change}))
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 2
    assert expected in capsys.readouterr().err
    assert not data.exists() and not (tmp_path / "dh").exists()


KARAOKE: dict[str, Any] = {
    "id": "karaoke", "prompt": "p", "duration": 6, "aspect_ratio": "9:16", "resolution": "480p", "fps": 24,
    "music": False,
    "beats": [{"name": "one", "duration": 6, "prompt": "a bottle", "say": "Steeped for twenty hours.",
               "text": "Cold brew"}],
    "subtitles": {"mode": "burn", "words": True, "safe_area": "tiktok",
                  "style": {"size": 0.045, "highlight": "#ffd400", "background": None}},
}  # fmt: skip


@pytest.mark.slow
def test_word_highlighted_captions_at_the_engines_times_inside_the_tiktok_safe_area(tmp_path):
    """A 9:16 video with `words: true` and `safe_area: tiktok`: on the decoded final frames the highlight
    moves word by word at espeak-ng's word times (within two frames), and the caption and the beat's
    text keep out of TikTok's margins; `final.ass` is beside the video; the checks passed."""
    from itertools import pairwise

    from vidgen_assets.core.captions import SAFE_AREAS

    spec = tmp_path / "karaoke.json"
    spec.write_text(json.dumps(KARAOKE))
    data, home = tmp_path / "data", tmp_path / "dh"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(home)]) == 0
    folder = data / "videos" / "karaoke"
    line = json.loads((folder / "voice" / "line_00.json").read_text())
    final_record = json.loads((folder / "final.json").read_text())
    assert final_record["word_timing"] == ["engine"] and (folder / "final.ass").exists()
    starts = [line["start_s"] + offset for _, offset in line["words"]]
    assert len(starts) == 4

    plain_frames = {}

    def highlight(index: int) -> tuple[float, float] | None:
        """The centre (y, x) of the highlight colour that the final draws over the stitched picture."""
        frame = probe.read_frames(folder / "final.mp4", [index])[0].astype(int)
        if index not in plain_frames:
            plain_frames[index] = probe.read_frames(folder / "stitched.mp4", [index])[0].astype(int)
        r, g, b = (frame[..., i] for i in range(3))
        drawn = np.abs(frame - plain_frames[index]).max(axis=2) > 40
        ys, xs = np.nonzero(drawn & (r > 180) & (g > 150) & (b < 90))
        return (float(ys.mean()), float(xs.mean())) if xs.size > 20 else None

    lit = [highlight(round(t * 24) + 2) for t in starts]  # two frames into each word
    assert all(c is not None for c in lit)
    centres = [c for c in lit if c is not None]
    for (y0, x0), (y1, x1) in pairwise(centres):  # reading order: on, or down a line
        assert (abs(y1 - y0) < 5 and x1 > x0 + 5) or y1 > y0 + 10
    before = [highlight(round(t * 24) - 2) for t in starts[1:]]  # two frames before the next word
    for seen, expected in zip(before, centres, strict=False):
        assert seen is not None and abs(seen[0] - expected[0]) < 1.5 and abs(seen[1] - expected[1]) < 1.5

    # Inside TikTok's margins: what the final draws over the stitched picture (the caption), and the
    # beat's text as the stitched picture carries it (against the storyboard card's own picture).
    width, height = 480, 854
    margins = SAFE_AREAS["tiktok"]
    at = round((starts[1] + 0.1) * 24)
    final, plain = (probe.read_frames(folder / name, [at])[0] for name in ("final.mp4", "stitched.mp4"))
    ys, xs2 = np.nonzero(np.abs(final.astype(int) - plain.astype(int)).max(axis=2) > 40)
    assert ys.max() < height * (1 - margins.bottom) and ys.min() > height * margins.top
    assert xs2.max() < width * (1 - margins.right) and xs2.min() > width * margins.left
    safe = final_record["safe_area"]
    assert safe["area"] == "tiktok" and all(b["inside"] for b in safe["boxes"]) and len(safe["boxes"]) == 2
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey("final_video"), "final_text_in_safe_area")
        )
        assert record is not None and record.event is not None and record.event.dagster_event is not None
        assert record.event.dagster_event.event_specific_data.passed  # type: ignore[union-attr]
