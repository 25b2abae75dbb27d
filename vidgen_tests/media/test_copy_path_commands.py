"""The copy path's command builders, by exact argument lists."""

from pathlib import Path

import pytest

from vidgen_assets.media import commands
from vidgen_assets.media.commands import (
    AUDIO_BITRATE,
    AUDIO_CHANNELS,
    AUDIO_RATE,
    FINAL_CRF,
    FINAL_PRESET,
    TRANSITION_PRESET,
)


def cfr24(source: str, first: int) -> str:
    """The three links of `cfr` at 24 fps, from `[source]` to `[s<first + 2>]`."""
    a, b, c = (f"s{first + i}" for i in range(3))
    return f"[{source}]fps=24[{a}];[{a}]settb=AVTB[{b}];[{b}]format=yuv420p[{c}]"


def test_pair_pieces_decode_once_for_the_body_and_both_edges():
    body = commands.Stretch(12, 240, Path("p.mp4"))
    head, tail = commands.Stretch(0, 12, Path("h.mp4")), commands.Stretch(239, 252, Path("t.mp4"))
    args = commands.pair_pieces([Path("c0.mp4"), Path("c1.mp4")], [Path("t.png")], 24, body, [head, tail])
    lossless = ["-c:v", "libx264", "-fps_mode", "cfr"]
    assert args == [
        "-i", "c0.mp4", "-i", "c1.mp4", "-i", "t.png",
        "-filter_complex",
        f"{cfr24('0:v', 0)};{cfr24('1:v', 3)};[s2][s5]concat=a=0:n=2:v=1[s6];[s6]split=3[s7][s8][s9];"
        "[s7]trim=end_frame=240:start_frame=12[s10];[s10]setpts=PTS-STARTPTS[s11];"
        "[s11][2:v]overlay=eof_action=repeat:format=auto[s12];[s12]format=yuv420p[s13];"
        "[s8]trim=end_frame=12:start_frame=0[s14];[s14]setpts=PTS-STARTPTS[s15];"
        "[s9]trim=end_frame=252:start_frame=239[s16];[s16]setpts=PTS-STARTPTS[s17]",
        "-map", "[s13]", "-f", "mp4", "-an", "-bf", "0", "-c:v", "libx264", "-crf", str(FINAL_CRF),
        "-fps_mode", "cfr", "-frames:v", "228", "-movflags", "+faststart", "-pix_fmt", "yuv420p",
        "-preset", FINAL_PRESET, "-r", "24", "p.mp4",
        "-map", "[s15]", "-f", "mp4", "-an", *lossless, "-frames:v", "12", "-movflags", "+faststart",
        "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-qp", "0", "-r", "24", "h.mp4",
        "-map", "[s17]", "-f", "mp4", "-an", *lossless, "-frames:v", "13", "-movflags", "+faststart",
        "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-qp", "0", "-r", "24", "t.mp4",
    ]  # fmt: skip


def test_pair_pieces_without_a_body_write_only_the_edges():
    args = commands.pair_pieces([Path("c.mp4")], [], 24, None, [commands.Stretch(0, 24, Path("h.mp4"))])
    assert args[:6] == [
        "-i", "c.mp4", "-filter_complex",
        f"{cfr24('0:v', 0)};[s2]trim=end_frame=24:start_frame=0[s3];[s3]setpts=PTS-STARTPTS[s4]",
        "-map", "[s4]",
    ]  # fmt: skip
    assert args.count("-map") == 1 and args[-1] == "h.mp4"
    with pytest.raises(ValueError, match="a body or an edge"):
        commands.pair_pieces([Path("c.mp4")], [], 24, None, [])
    with pytest.raises(ValueError, match="empty or negative frame range"):
        commands.Stretch(5, 5, Path("x.mp4"))


def test_transition_piece_blends_with_the_stitch_weights():
    piece = commands.Transition((Path("a.mp4"),), 120, (Path("b.mp4"),), 12, "dissolve", (), Path("x.mp4"))
    args = commands.transition_pieces([piece], 24)
    assert args == [
        "-i", "a.mp4", "-i", "b.mp4",
        "-filter_complex",
        f"{cfr24('0:v', 0)};[s2]trim=end_frame=132:start_frame=119[s3];[s3]setpts=PTS-STARTPTS[s4];"
        f"{cfr24('1:v', 5)};[s7]trim=end_frame=12[s8];[s8]setpts=PTS-STARTPTS[s9];"
        "[s4][s9]xfade=duration=0.500000:offset=0.020833:transition=dissolve[s10];"
        "[s10]trim=start_frame=1[s11];[s11]setpts=PTS-STARTPTS[s12];[s12]format=yuv420p[s13]",
        "-map", "[s13]", "-f", "mp4", "-an", "-bf", "0", "-c:v", "libx264", "-crf", str(FINAL_CRF),
        "-fps_mode", "cfr", "-frames:v", "12", "-movflags", "+faststart", "-pix_fmt", "yuv420p",
        "-preset", TRANSITION_PRESET, "-r", "24", "-x264-params", "ref=2:chroma-qp-offset=-2", "x.mp4",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="a_start >= 1"):
        commands.Transition((Path("a.mp4"),), 0, (Path("b.mp4"),), 12, "fade", (), Path("x.mp4"))
    with pytest.raises(ValueError, match="invalid transition name"):
        commands.Transition((Path("a.mp4"),), 1, (Path("b.mp4"),), 12, "fade;drawtext", (), Path("x.mp4"))


def test_transition_pieces_come_from_one_process_with_an_output_each():
    one = commands.Transition((Path("a.mp4"),), 1, (Path("b.mp4"),), 12, "fade", (Path("t.png"),), Path("x0.mp4"))
    two = commands.Transition((Path("c.mp4"),), 1, (Path("d.mp4"),), 6, "wipeleft", (), Path("x1.mp4"))
    args = commands.transition_pieces([one, two], 24)
    assert args[:10] == ["-i", "a.mp4", "-i", "b.mp4", "-i", "t.png", "-i", "c.mp4", "-i", "d.mp4"]
    graph = args[args.index("-filter_complex") + 1]
    # The second transition reads inputs 3 and 4, and ffmpeg-python's link names cannot clash.
    assert graph == (
        f"{cfr24('0:v', 0)};[s2]trim=end_frame=13:start_frame=0[s3];[s3]setpts=PTS-STARTPTS[s4];"
        f"{cfr24('1:v', 5)};[s7]trim=end_frame=12[s8];[s8]setpts=PTS-STARTPTS[s9];"
        "[s4][s9]xfade=duration=0.500000:offset=0.020833:transition=fade[s10];"
        "[s10]trim=start_frame=1[s11];[s11]setpts=PTS-STARTPTS[s12];"
        "[s12][2:v]overlay=eof_action=repeat:format=auto[s13];[s13]format=yuv420p[s14];"
        f"{cfr24('3:v', 15)};[s17]trim=end_frame=7:start_frame=0[s18];[s18]setpts=PTS-STARTPTS[s19];"
        f"{cfr24('4:v', 20)};[s22]trim=end_frame=6[s23];[s23]setpts=PTS-STARTPTS[s24];"
        "[s19][s24]xfade=duration=0.250000:offset=0.020833:transition=wipeleft[s25];"
        "[s25]trim=start_frame=1[s26];[s26]setpts=PTS-STARTPTS[s27];[s27]format=yuv420p[s28]"
    )
    outputs = args[args.index("-filter_complex") + 2 :]
    assert [outputs[i + 1] for i, a in enumerate(outputs) if a == "-map"] == ["[s14]", "[s28]"]
    assert [outputs[i + 1] for i, a in enumerate(outputs) if a == "-frames:v"] == ["12", "6"]
    assert [a for a in outputs if a.endswith(".mp4")] == ["x0.mp4", "x1.mp4"]
    with pytest.raises(ValueError, match="no transitions"):
        commands.transition_pieces([], 24)


def test_concat_list_quotes_paths():
    text = commands.concat_list([Path("/tmp/a.mp4"), Path("/tmp/it's.mp4")])
    assert text == "file '/tmp/a.mp4'\nfile '/tmp/it'\\''s.mp4'\n"


def test_concat_copy_and_the_final_mux_copy_every_stream():
    assert commands.concat_copy(Path("l.txt"), Path("s.mp4")) == [
        "-f", "concat", "-safe", "0", "-i", "l.txt", "-map", "0:v", "-f", "mp4", "-an", "-c", "copy",
        "-movflags", "+faststart", "s.mp4",
    ]  # fmt: skip
    assert commands.mux_copy(Path("s.mp4"), None, Path("f.mp4")) == [
        "-i", "s.mp4", "-map", "0:v", "-f", "mp4", "-an", "-c", "copy", "-movflags", "+faststart", "f.mp4",
    ]  # fmt: skip
    assert commands.mux_copy(Path("s.mp4"), Path("m.m4a"), Path("f.mp4")) == [
        "-i", "s.mp4", "-i", "m.m4a", "-map", "0:v", "-map", "1:a", "-f", "mp4", "-c", "copy",
        "-movflags", "+faststart", "f.mp4",
    ]  # fmt: skip


AAC = ["-ac", str(AUDIO_CHANNELS), "-ar", str(AUDIO_RATE), "-b:a", AUDIO_BITRATE, "-c:a", "aac"]
BED = (
    "[0:a]aformat=channel_layouts=stereo:sample_rates=48000[s0];[s0]volume=0.800000[s1];"
    "[s1]atrim=end=10.000000[s2];[s2]asetpts=PTS-STARTPTS[s3];[s3]apad=whole_dur=10.000000[s4];"
    "[s4]afade=d=1.000000:st=0:t=in[s5];[s5]afade=d=2.000000:st=8.000000:t=out[s6]"
)


WAV = ["-ac", str(AUDIO_CHANNELS), "-ar", str(AUDIO_RATE), "-c:a", "pcm_s24le"]


def test_the_music_mix_is_made_once_with_its_fades_and_length_then_finished_to_its_loudness():
    args = commands.music_mix(Path("m.wav"), Path("mix.wav"), 0.8, 240, 24, 1, 2)
    assert args == ["-i", "m.wav", "-filter_complex", BED, "-map", "[s6]", "-f", "wav", *WAV, "-vn", "mix.wav"]
    # The second pass: one gain; the limiter at 4x the rate only where the gained peaks would pass the ceiling.
    exact = "atrim=end=10.000000[{0}];[{0}]asetpts=PTS-STARTPTS[{1}];[{1}]apad=whole_dur=10.000000[{2}]"
    assert commands.finish_audio(Path("mix.wav"), Path("m.m4a"), 5.8, -2.0, False, 240, 24) == [
        "-i", "mix.wav", "-filter_complex", "[0:a]volume=5.80dB[s0];[s0]" + exact.format("s1", "s2", "s3"),
        "-map", "[s3]", "-f", "mp4", *AAC, "-movflags", "+faststart", "-vn", "m.m4a",
    ]  # fmt: skip
    limited = commands.finish_audio(Path("mix.wav"), Path("m.m4a"), -3.25, -2.0, True, 240, 24)
    assert limited[3] == (
        "[0:a]volume=-3.25dB[s0];[s0]aresample=192000[s1];[s1]apad[s2];"
        "[s2]alimiter=latency=1:level=0:limit=0.794328[s3];[s3]aresample=48000[s4];[s4]"
        + exact.format("s5", "s6", "s7")
    )


def test_voice_over_music_ducks_the_bed_under_the_voice_and_limits_the_mix():
    args = commands.voice_over_music(Path("m.wav"), Path("v.wav"), Path("a.wav"), 0.8, 1.5, 240, 24, 1, 2)
    c = commands
    assert args == [
        "-i", "m.wav", "-i", "v.wav",
        "-filter_complex",
        f"{BED};[s6]apad[s7];"  # every input of the two-input filters runs on; the mix is cut at the end
        "[1:a]aformat=channel_layouts=stereo:sample_rates=48000[s8];[s8]volume=1.500000[s9];"
        "[s9]atrim=end=10.000000[s10];[s10]asetpts=PTS-STARTPTS[s11];[s11]apad=whole_dur=10.000000[s12];"
        "[s12]apad[s13];[s13]asplit=2[s14][s15];"
        f"[s7][s14]sidechaincompress=attack={c.DUCK_ATTACK_MS}:level_sc={c.DUCK_KEY_GAIN}:ratio={c.DUCK_RATIO}"
        f":release={c.DUCK_RELEASE_MS}"
        f":threshold={c.DUCK_THRESHOLD}[s16];"
        "[s16][s15]amix=duration=first:inputs=2:normalize=0[s17];"
        f"[s17]alimiter=latency=1:level=0:limit={c.MIX_LIMIT}[s18];"
        "[s18]atrim=end=10.000000[s19];[s19]asetpts=PTS-STARTPTS[s20];[s20]apad=whole_dur=10.000000[s21]",
        "-map", "[s21]", "-f", "wav", *WAV, "-vn", "a.wav",
    ]  # fmt: skip
