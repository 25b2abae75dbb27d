"""The pure command builders, by exact argument lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidgen_assets.media import commands
from vidgen_assets.media.commands import Join, Overlay

CFR24 = "fps=24,settb=AVTB,format=yuv420p"


def test_seconds_prints_six_decimals() -> None:
    assert commands.seconds(0, 24) == "0.000000"
    assert commands.seconds(1, 30) == "0.033333"
    assert commands.seconds(2, 30) == "0.066667"
    assert commands.seconds(1437, 24) == "59.875000"
    assert commands.seconds(12, 25) == "0.480000"


def test_xfade_offset_is_half_a_frame_early() -> None:
    assert commands.xfade_offset(348, 24) == "14.479167"
    assert commands.xfade_offset(1, 25) == "0.020000"
    assert commands.xfade_offset(49, 24) == "2.020833"


def test_chain_and_graph() -> None:
    assert commands.chain(["0:v", "1:v"], ["a=1", "b"], "out") == "[0:v][1:v]a=1,b[out]"
    assert commands.graph(["[a]x[b]", "[b]y[c]"]) == "[a]x[b];[b]y[c]"


def test_normalise_chunk_args() -> None:
    args = commands.normalise_chunk(Path("in.mp4"), Path("out.mp4"), 1024, 576, 24, 120, drop_first=True)
    assert args == [
        "-i", "in.mp4",
        "-filter_complex",
        "[0:v]trim=start_frame=1,setpts=PTS-STARTPTS,"
        "scale=1024:576:force_original_aspect_ratio=increase,crop=1024:576,setsar=1,"
        "fps=24,settb=AVTB,format=yuv420p,tpad=stop_mode=clone:stop=120,trim=end_frame=120[v]",
        "-map", "[v]",
        "-an",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
        "-r", "24", "-fps_mode", "cfr",
        "-frames:v", "120",
        "-movflags", "+faststart", "-f", "mp4", "out.mp4",
    ]  # fmt: skip


def test_normalise_chunk_keeps_first_frame_by_default() -> None:
    args = commands.normalise_chunk(Path("in.mp4"), Path("out.mp4"), 160, 90, 25, 50, drop_first=False)
    assert args[3] == (
        "[0:v]scale=160:90:force_original_aspect_ratio=increase,crop=160:90,setsar=1,"
        "fps=25,settb=AVTB,format=yuv420p,tpad=stop_mode=clone:stop=50,trim=end_frame=50[v]"
    )


def test_stitch_args_with_a_cut_a_fade_and_a_two_chunk_beat() -> None:
    beats = [[Path("a.mp4")], [Path("b0.mp4"), Path("b1.mp4")], [Path("c.mp4")]]
    joins = [Join("cut", 0, 120), Join("fade", 12, 348)]
    args = commands.stitch(beats, joins, 24, Path("s.mp4"))
    assert args == [
        "-i", "a.mp4", "-i", "b0.mp4", "-i", "b1.mp4", "-i", "c.mp4",
        "-filter_complex",
        f"[0:v]{CFR24}[b0];"
        f"[1:v]{CFR24}[b1c0];[2:v]{CFR24}[b1c1];[b1c0][b1c1]concat=n=2:v=1:a=0[b1];"
        f"[3:v]{CFR24}[b2];"
        "[b0][b1]concat=n=2:v=1:a=0[j1];"
        "[j1][b2]xfade=transition=fade:duration=0.500000:offset=14.479167[v]",
        "-map", "[v]",
        "-an",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-r", "24", "-fps_mode", "cfr",
        "-movflags", "+faststart", "-f", "mp4", "s.mp4",
    ]  # fmt: skip


def test_stitch_one_beat_has_no_join() -> None:
    args = commands.stitch([[Path("a.mp4")]], [], 30, Path("s.mp4"))
    assert args[:4] == ["-i", "a.mp4", "-filter_complex", "[0:v]fps=30,settb=AVTB,format=yuv420p[v]"]


def test_stitch_one_beat_of_three_chunks() -> None:
    args = commands.stitch([[Path("a.mp4"), Path("b.mp4"), Path("c.mp4")]], [], 25, Path("s.mp4"))
    cfr = "fps=25,settb=AVTB,format=yuv420p"
    assert args[7] == (f"[0:v]{cfr}[b0c0];[1:v]{cfr}[b0c1];[2:v]{cfr}[b0c2];[b0c0][b0c1][b0c2]concat=n=3:v=1:a=0[v]")


def test_stitch_rejects_wrong_number_of_joins() -> None:
    with pytest.raises(ValueError, match="2 beats need 1 joins"):
        commands.stitch([[Path("a.mp4")], [Path("b.mp4")]], [], 24, Path("s.mp4"))
    with pytest.raises(ValueError, match="at least one clip"):
        commands.stitch([[Path("a.mp4")], []], [Join("cut", 0, 10)], 24, Path("s.mp4"))


@pytest.mark.parametrize(
    ("transition", "frames"),
    [("cut", 3), ("fade", 0), ("fade;drawtext", 5), ("", 0), ("fade", -1)],
)
def test_join_rejects_inconsistent_values(transition: str, frames: int) -> None:
    with pytest.raises(ValueError):
        Join(transition, frames, 10)
    with pytest.raises(ValueError):
        Join("fade", 5, 0)


def test_finalise_args_with_music_and_an_overlay() -> None:
    args = commands.finalise(
        Path("s.mp4"), Path("f.mp4"), [Overlay(Path("t.png"), 0, 48)], Path("m.wav"), 0.8, 720, 24, 1.0, 2.0
    )
    assert args == [
        "-i", "s.mp4", "-i", "t.png", "-i", "m.wav",
        "-filter_complex",
        f"[0:v]{CFR24},tpad=stop_mode=clone:stop=720,trim=end_frame=720[m0];"
        "[m0][1:v]overlay=format=auto:enable='between(n,0,47)'[m1];"
        "[m1]format=yuv420p[v];"
        "[2:a]aformat=sample_rates=48000:channel_layouts=stereo,volume=0.800000,"
        "atrim=end=30.000000,asetpts=PTS-STARTPTS,apad=whole_dur=30.000000,"
        "afade=t=in:st=0:d=1.000000,afade=t=out:st=28.000000:d=2.000000[a]",
        "-map", "[v]",
        "-map", "[a]", "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
        "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-r", "24", "-fps_mode", "cfr",
        "-frames:v", "720",
        "-movflags", "+faststart", "-f", "mp4", "f.mp4",
    ]  # fmt: skip


def test_finalise_args_without_music_or_overlays() -> None:
    args = commands.finalise(Path("s.mp4"), Path("f.mp4"), [], None, 1.0, 100, 25, 0.0, 0.0)
    assert args == [
        "-i", "s.mp4",
        "-filter_complex",
        "[0:v]fps=25,settb=AVTB,format=yuv420p,tpad=stop_mode=clone:stop=100,trim=end_frame=100[m0];"
        "[m0]format=yuv420p[v]",
        "-map", "[v]",
        "-an",
        "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-r", "25", "-fps_mode", "cfr",
        "-frames:v", "100",
        "-movflags", "+faststart", "-f", "mp4", "f.mp4",
    ]  # fmt: skip


def test_finalise_chains_several_overlays_and_skips_zero_fades() -> None:
    overlays = [Overlay(Path("a.png"), 0, 10), Overlay(Path("b.png"), 90, 100)]
    args = commands.finalise(Path("s.mp4"), Path("f.mp4"), overlays, Path("m.m4a"), 0.5, 100, 25, 0, 0)
    assert args[:8] == ["-i", "s.mp4", "-i", "a.png", "-i", "b.png", "-i", "m.m4a"]
    graph = args[9]
    assert "[m0][1:v]overlay=format=auto:enable='between(n,0,9)'[m1]" in graph
    assert "[m1][2:v]overlay=format=auto:enable='between(n,90,99)'[m2];[m2]format=yuv420p[v]" in graph
    assert graph.endswith("[3:a]aformat=sample_rates=48000:channel_layouts=stereo,volume=0.500000,"
                          "atrim=end=4.000000,asetpts=PTS-STARTPTS,apad=whole_dur=4.000000[a]")  # fmt: skip


def test_overlay_rejects_empty_range() -> None:
    with pytest.raises(ValueError):
        Overlay(Path("a.png"), 5, 5)
