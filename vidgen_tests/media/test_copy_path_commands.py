"""The copy path's command builders, by exact argument lists."""

from pathlib import Path

import pytest

from vidgen_assets.media import commands


def test_pair_pieces_decode_once_for_the_body_and_both_edges():
    body = commands.Stretch(12, 240, Path("p.mp4"))
    head, tail = commands.Stretch(0, 12, Path("h.mp4")), commands.Stretch(239, 252, Path("t.mp4"))
    args = commands.pair_pieces([Path("c0.mp4"), Path("c1.mp4")], [Path("t.png")], 24, body, [head, tail])
    assert args == [
        "-i", "c0.mp4", "-i", "c1.mp4", "-i", "t.png",
        "-filter_complex",
        "[0:v]fps=24,settb=AVTB,format=yuv420p[cc0];[1:v]fps=24,settb=AVTB,format=yuv420p[cc1];"
        "[cc0][cc1]concat=n=2:v=1:a=0[c];[c]split=3[s0][s1][s2];"
        "[s0]trim=start_frame=12:end_frame=240,setpts=PTS-STARTPTS[m];"
        "[m][2:v]overlay=format=auto[o0];[o0]format=yuv420p[v];"
        "[s1]trim=start_frame=0:end_frame=12,setpts=PTS-STARTPTS[e0];"
        "[s2]trim=start_frame=239:end_frame=252,setpts=PTS-STARTPTS[e1]",
        "-map", "[v]", "-an",
        "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p", "-r", "24", "-fps_mode", "cfr",
        "-bf", "0", "-frames:v", "228", "-movflags", "+faststart", "-f", "mp4", "p.mp4",
        "-map", "[e0]", "-an",
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-r", "24", "-fps_mode", "cfr",
        "-frames:v", "12", "-movflags", "+faststart", "-f", "mp4", "h.mp4",
        "-map", "[e1]", "-an",
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-r", "24", "-fps_mode", "cfr",
        "-frames:v", "13", "-movflags", "+faststart", "-f", "mp4", "t.mp4",
    ]  # fmt: skip


def test_pair_pieces_without_a_body_write_only_the_edges():
    graph = commands.pair_pieces_filter(1, None, [commands.Stretch(0, 24, Path("h.mp4"))], 0, 24)
    assert (
        graph == "[0:v]fps=24,settb=AVTB,format=yuv420p[c];[c]trim=start_frame=0:end_frame=24,setpts=PTS-STARTPTS[e0]"
    )
    with pytest.raises(ValueError, match="a body or an edge"):
        commands.pair_pieces_filter(1, None, [], 0, 24)
    with pytest.raises(ValueError, match="empty or negative frame range"):
        commands.Stretch(5, 5, Path("x.mp4"))


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


def test_transition_pieces_come_from_one_process_with_an_output_each():
    one = commands.Transition((Path("a.mp4"),), 1, (Path("b.mp4"),), 12, "fade", (Path("t.png"),), Path("x0.mp4"))
    two = commands.Transition((Path("c.mp4"),), 1, (Path("d.mp4"),), 6, "wipeleft", (), Path("x1.mp4"))
    args = commands.transition_pieces([one, two], 24)
    assert args[:10] == ["-i", "a.mp4", "-i", "b.mp4", "-i", "t.png", "-i", "c.mp4", "-i", "d.mp4"]
    graph = args[args.index("-filter_complex") + 1]
    # The second transition reads inputs 3 and 4 and its labels cannot clash with the first's.
    assert graph == (
        "[0:v]fps=24,settb=AVTB,format=yuv420p[t0a];[t0a]trim=start_frame=0:end_frame=13,setpts=PTS-STARTPTS[t0at];"
        "[1:v]fps=24,settb=AVTB,format=yuv420p[t0b];[t0b]trim=end_frame=12,setpts=PTS-STARTPTS[t0bt];"
        "[t0at][t0bt]xfade=transition=fade:duration=0.500000:offset=0.020833,trim=start_frame=1,"
        "setpts=PTS-STARTPTS[t0m];[t0m][2:v]overlay=format=auto[t0o0];[t0o0]format=yuv420p[t0v];"
        "[3:v]fps=24,settb=AVTB,format=yuv420p[t1a];[t1a]trim=start_frame=0:end_frame=7,setpts=PTS-STARTPTS[t1at];"
        "[4:v]fps=24,settb=AVTB,format=yuv420p[t1b];[t1b]trim=end_frame=6,setpts=PTS-STARTPTS[t1bt];"
        "[t1at][t1bt]xfade=transition=wipeleft:duration=0.250000:offset=0.020833,trim=start_frame=1,"
        "setpts=PTS-STARTPTS[t1m];[t1m]format=yuv420p[t1v]"
    )
    outputs = args[args.index("-filter_complex") + 2 :]
    assert [outputs[i + 1] for i, a in enumerate(outputs) if a == "-map"] == ["[t0v]", "[t1v]"]
    assert [outputs[i + 1] for i, a in enumerate(outputs) if a == "-frames:v"] == ["12", "6"]
    assert [a for a in outputs if a.endswith(".mp4")] == ["x0.mp4", "x1.mp4"]
    with pytest.raises(ValueError, match="no transitions"):
        commands.transition_pieces([], 24)


def test_concat_list_quotes_paths():
    text = commands.concat_list([Path("/tmp/a.mp4"), Path("/tmp/it's.mp4")])
    assert text == "file '/tmp/a.mp4'\nfile '/tmp/it'\\''s.mp4'\n"


def test_concat_copy_and_the_final_mux_copy_every_stream():
    assert commands.concat_copy(Path("l.txt"), Path("s.mp4")) == [
        "-f", "concat", "-safe", "0", "-i", "l.txt", "-map", "0:v", "-c", "copy", "-an",
        "-movflags", "+faststart", "-f", "mp4", "s.mp4",
    ]  # fmt: skip
    assert commands.mux_copy(Path("s.mp4"), None, Path("f.mp4")) == [
        "-i", "s.mp4", "-map", "0:v", "-c", "copy", "-an", "-movflags", "+faststart", "-f", "mp4", "f.mp4",
    ]  # fmt: skip
    assert commands.mux_copy(Path("s.mp4"), Path("m.m4a"), Path("f.mp4")) == [
        "-i", "s.mp4", "-i", "m.m4a", "-map", "0:v", "-map", "1:a", "-c", "copy",
        "-movflags", "+faststart", "-f", "mp4", "f.mp4",
    ]  # fmt: skip


def test_the_music_mix_is_encoded_once_with_its_fades_and_length():
    args = commands.music_mix(Path("m.wav"), Path("m.m4a"), 0.8, 240, 24, 1, 2)
    assert args == [
        "-i", "m.wav",
        "-filter_complex",
        "[0:a]aformat=sample_rates=48000:channel_layouts=stereo,volume=0.800000,atrim=end=10.000000,"
        "asetpts=PTS-STARTPTS,apad=whole_dur=10.000000,afade=t=in:st=0:d=1.000000,"
        "afade=t=out:st=8.000000:d=2.000000[a]",
        "-map", "[a]", "-vn", "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
        "-movflags", "+faststart", "-f", "mp4", "m.m4a",
    ]  # fmt: skip
