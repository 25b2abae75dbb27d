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

    # Edit the second line and render again: that line, the soundtrack and the final are re-made, nothing else.
    spec.write_text(json.dumps({**SPEC, "music": {"bpm": 100, "volume": 0.8},
                                "beats": [BEATS[0], {**BEATS[1], "say": "Pour it over ice."}]}))  # fmt: skip
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0

    def made(manifest: str) -> bool:
        return not json.loads((folder / manifest).read_text()).get("cached", False)

    voice = json.loads((folder / "voice" / "voice.json").read_text())
    assert (voice["made"], voice["reused"]) == (["line_01"], ["line_00"])
    assert made("soundtrack.json") and made("final.json")
    assert not any(made(m) for m in ["storyboard/storyboard.json", "chunks/p000.json", "chunks/p001.json",
                                     "music.json", "stitched.json"])  # fmt: skip
    assert [c.content for c in srt.parse((folder / "final.srt").read_text(encoding="utf-8"))][1] == "Pour it over ice."


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
    assert diff[0][top].mean() > 8 and diff[0][bottom].mean() < 3
    assert diff[1][bottom].mean() > 8 and diff[1][top].mean() < 3


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
