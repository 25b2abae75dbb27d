"""The copy path's command builders, by exact argument lists."""

from pathlib import Path

import pytest

from vidgen_assets.media import commands


def test_piece_trims_the_concatenated_clips_and_burns_the_text_in():
    args = commands.piece([Path("c0.mp4"), Path("c1.mp4")], 12, 228, [Path("t.png")], 24, Path("p.mp4"))
    assert args == [
        "-i", "c0.mp4", "-i", "c1.mp4", "-i", "t.png",
        "-filter_complex",
        "[0:v]fps=24,settb=AVTB,format=yuv420p[cc0];[1:v]fps=24,settb=AVTB,format=yuv420p[cc1];"
        "[cc0][cc1]concat=n=2:v=1:a=0[c];[c]trim=start_frame=12:end_frame=240,setpts=PTS-STARTPTS[m];"
        "[m][2:v]overlay=format=auto[o0];[o0]format=yuv420p[v]",
        "-map", "[v]", "-an",
        "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p", "-r", "24", "-fps_mode", "cfr",
        "-bf", "0", "-frames:v", "228",
        "-movflags", "+faststart", "-f", "mp4", "p.mp4",
    ]  # fmt: skip


def test_transition_piece_blends_with_the_stitch_weights():
    graph = commands.transition_piece_filter(1, 120, 1, 12, "dissolve", 0, 24)
    assert graph == (
        "[0:v]fps=24,settb=AVTB,format=yuv420p[a];[a]trim=start_frame=119:end_frame=132,setpts=PTS-STARTPTS[at];"
        "[1:v]fps=24,settb=AVTB,format=yuv420p[b];[b]trim=end_frame=12,setpts=PTS-STARTPTS[bt];"
        "[at][bt]xfade=transition=dissolve:duration=0.500000:offset=0.020833,trim=start_frame=1,"
        "setpts=PTS-STARTPTS[m];[m]format=yuv420p[v]"
    )
    with pytest.raises(ValueError, match="a_start >= 1"):
        commands.transition_piece_filter(1, 0, 1, 12, "fade", 0, 24)


def test_concat_list_quotes_paths():
    text = commands.concat_list([Path("/tmp/a.mp4"), Path("/tmp/it's.mp4")])
    assert text == "file '/tmp/a.mp4'\nfile '/tmp/it'\\''s.mp4'\n"


def test_concat_copy_and_music_mux_copy_the_video_stream():
    assert commands.concat_copy(Path("l.txt"), Path("s.mp4")) == [
        "-f", "concat", "-safe", "0", "-i", "l.txt", "-map", "0:v", "-c", "copy", "-an",
        "-movflags", "+faststart", "-f", "mp4", "s.mp4",
    ]  # fmt: skip
    assert commands.mux_music(Path("s.mp4"), Path("f.mp4"), None, 0.8, 240, 24, 1, 2) == [
        "-i", "s.mp4", "-map", "0:v", "-c:v", "copy", "-an", "-movflags", "+faststart", "-f", "mp4", "f.mp4",
    ]  # fmt: skip
    args = commands.mux_music(Path("s.mp4"), Path("f.mp4"), Path("m.wav"), 0.8, 240, 24, 1, 2)
    assert args[args.index("-c:v") + 1] == "copy"
    assert args[args.index("-filter_complex") + 1] == (
        "[1:a]aformat=sample_rates=48000:channel_layouts=stereo,volume=0.800000,atrim=end=10.000000,"
        "asetpts=PTS-STARTPTS,apad=whole_dur=10.000000,afade=t=in:st=0:d=1.000000,"
        "afade=t=out:st=8.000000:d=2.000000[a]"
    )
