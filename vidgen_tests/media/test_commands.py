"""The pure command builders, by exact argument lists."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from vidgen_assets.core.plan import Join
from vidgen_assets.media import commands
from vidgen_assets.media.commands import (
    CHUNK_CRF,
    CHUNK_PRESET,
    FINAL_CRF,
    FINAL_PRESET,
    STITCH_CRF,
    STITCH_PRESET,
    FrameMatch,
    Overlay,
)


def cfr24(source: str, first: int) -> str:
    """The three links of `cfr` at 24 fps, from `[source]` to `[s<first + 2>]`."""
    a, b, c = (f"s{first + i}" for i in range(3))
    return f"[{source}]fps=24[{a}];[{a}]settb=AVTB[{b}];[{b}]format=yuv420p[{c}]"


def test_decimal_prints_frames_as_seconds_with_six_decimals() -> None:
    assert commands.decimal(Fraction(0, 24)) == "0.000000"
    assert commands.decimal(Fraction(1, 30)) == "0.033333"
    assert commands.decimal(Fraction(2, 30)) == "0.066667"
    assert commands.decimal(Fraction(1437, 24)) == "59.875000"
    assert commands.decimal(Fraction(12, 25)) == "0.480000"


def test_xfade_offset_is_half_a_frame_early() -> None:
    assert commands.xfade_offset(348, 24) == "14.479167"
    assert commands.xfade_offset(1, 25) == "0.020000"
    assert commands.xfade_offset(49, 24) == "2.020833"


def test_normalise_chunk_args() -> None:
    args = commands.normalise_chunk(Path("in.mp4"), Path("out.mp4"), 1024, 576, 24, 120, drop_first=True)
    assert args == [
        "-i", "in.mp4",
        "-filter_complex",
        "[0:v]trim=start_frame=1[s0];[s0]setpts=PTS-STARTPTS[s1];"
        "[s1]scale=1024:576:force_original_aspect_ratio=increase[s2];[s2]crop=1024:576[s3];[s3]setsar=1[s4];"
        "[s4]fps=24[s5];[s5]settb=AVTB[s6];[s6]format=yuv420p[s7];"
        "[s7]tpad=stop=120:stop_mode=clone[s8];[s8]trim=end_frame=120[s9]",
        "-map", "[s9]", "-f", "mp4", "-an",
        "-c:v", "libx264", "-crf", str(CHUNK_CRF), "-fps_mode", "cfr", "-frames:v", "120",
        "-movflags", "+faststart", "-pix_fmt", "yuv420p", "-preset", CHUNK_PRESET, "-r", "24",
        "out.mp4",
    ]  # fmt: skip


def test_normalise_chunk_keeps_first_frame_by_default() -> None:
    args = commands.normalise_chunk(Path("in.mp4"), Path("out.mp4"), 160, 90, 25, 50, drop_first=False)
    assert args[3] == (
        "[0:v]scale=160:90:force_original_aspect_ratio=increase[s0];[s0]crop=160:90[s1];[s1]setsar=1[s2];"
        "[s2]fps=25[s3];[s3]settb=AVTB[s4];[s4]format=yuv420p[s5];"
        "[s5]tpad=stop=50:stop_mode=clone[s6];[s6]trim=end_frame=50[s7]"
    )


def test_encode_raw_frames_reads_rgb24_from_standard_input() -> None:
    assert commands.encode_raw_frames(Path("c.mp4"), 160, 90, 30) == [
        "-f", "rawvideo", "-framerate", "30", "-pix_fmt", "rgb24", "-s", "160x90", "-i", "pipe:0",
        "-f", "mp4", "-an", "-c:v", "libx264", "-crf", str(CHUNK_CRF), "-fps_mode", "cfr",
        "-movflags", "+faststart", "-pix_fmt", "yuv420p", "-preset", CHUNK_PRESET, "-r", "30", "c.mp4",
    ]  # fmt: skip


def test_stitch_args_with_a_cut_a_fade_and_a_two_chunk_beat() -> None:
    beats = [[Path("a.mp4")], [Path("b0.mp4"), Path("b1.mp4")], [Path("c.mp4")]]
    joins = [Join(transition="cut", frames=0, offset_frame=120), Join(transition="fade", frames=12, offset_frame=348)]
    args = commands.stitch(beats, joins, 24, Path("s.mp4"))
    assert args == [
        "-i", "a.mp4", "-i", "b0.mp4", "-i", "b1.mp4", "-i", "c.mp4",
        "-filter_complex",
        f"{cfr24('0:v', 0)};"
        f"{cfr24('1:v', 3)};{cfr24('2:v', 6)};[s5][s8]concat=a=0:n=2:v=1[s9];"
        "[s2][s9]concat=a=0:n=2:v=1[s10];"
        f"{cfr24('3:v', 11)};"
        "[s10][s13]xfade=duration=0.500000:offset=14.479167:transition=fade[s14]",
        "-map", "[s14]", "-f", "mp4", "-an",
        "-c:v", "libx264", "-crf", str(STITCH_CRF), "-fps_mode", "cfr",
        "-movflags", "+faststart", "-pix_fmt", "yuv420p", "-preset", STITCH_PRESET, "-r", "24",
        "s.mp4",
    ]  # fmt: skip


def test_stitch_one_beat_has_no_join() -> None:
    args = commands.stitch([[Path("a.mp4")]], [], 30, Path("s.mp4"))
    assert args[:6] == [
        "-i", "a.mp4", "-filter_complex", "[0:v]fps=30[s0];[s0]settb=AVTB[s1];[s1]format=yuv420p[s2]", "-map", "[s2]"
    ]  # fmt: skip


def test_stitch_one_beat_of_three_chunks() -> None:
    args = commands.stitch([[Path("a.mp4"), Path("b.mp4"), Path("c.mp4")]], [], 25, Path("s.mp4"))
    cfr = "[{i}:v]fps=25[s{n}];[s{n}]settb=AVTB[s{n1}];[s{n1}]format=yuv420p[s{n2}]"
    chains = ";".join(cfr.format(i=i, n=3 * i, n1=3 * i + 1, n2=3 * i + 2) for i in range(3))
    assert args[7:10] == [f"{chains};[s2][s5][s8]concat=a=0:n=3:v=1[s9]", "-map", "[s9]"]


def test_a_command_never_reads_the_same_file_twice() -> None:
    # ffmpeg-python would make one input of the two: refused instead.
    with pytest.raises(ValueError, match=r"same file twice: a\.mp4"):
        commands.stitch(
            [[Path("a.mp4")], [Path("a.mp4")]], [Join(transition="cut", frames=0, offset_frame=10)], 24, Path("s.mp4")
        )


def test_stitch_rejects_wrong_number_of_joins() -> None:
    with pytest.raises(ValueError, match="2 beats need 1 joins"):
        commands.stitch([[Path("a.mp4")], [Path("b.mp4")]], [], 24, Path("s.mp4"))
    with pytest.raises(ValueError, match="at least one clip"):
        commands.stitch([[Path("a.mp4")], []], [Join(transition="cut", frames=0, offset_frame=10)], 24, Path("s.mp4"))


@pytest.mark.parametrize(
    ("transition", "frames"),
    [("cut", 3), ("fade", 0), ("fade;drawtext", 5), ("", 0), ("fade", -1)],
)
def test_join_rejects_inconsistent_values(transition: str, frames: int) -> None:
    with pytest.raises(ValueError):
        Join(transition=transition, frames=frames, offset_frame=10)
    with pytest.raises(ValueError):
        Join(transition="fade", frames=5, offset_frame=0)


def test_finalise_args_with_the_finished_audio_and_an_overlay() -> None:
    args = commands.finalise(Path("s.mp4"), Path("f.mp4"), [Overlay(Path("t.png"), 0, 48)], Path("m.m4a"), 720, 24)
    assert args == [
        "-i", "s.mp4", "-i", "t.png", "-i", "m.m4a",
        "-filter_complex",
        f"{cfr24('0:v', 0)};[s2]tpad=stop=720:stop_mode=clone[s3];[s3]trim=end_frame=720[s4];"
        "[s4][1:v]overlay=enable=between(n\\,0\\,47):eof_action=repeat:format=auto[s5];"
        "[s5]format=yuv420p[s6]",
        "-map", "[s6]", "-map", "2:a", "-f", "mp4", "-c:a", "copy",
        "-c:v", "libx264", "-crf", str(FINAL_CRF), "-fps_mode", "cfr", "-frames:v", "720",
        "-movflags", "+faststart", "-pix_fmt", "yuv420p", "-preset", FINAL_PRESET, "-r", "24",
        "f.mp4",
    ]  # fmt: skip


def test_finalise_args_without_music_or_overlays() -> None:
    args = commands.finalise(Path("s.mp4"), Path("f.mp4"), [], None, 100, 25)
    assert args == [
        "-i", "s.mp4",
        "-filter_complex",
        "[0:v]fps=25[s0];[s0]settb=AVTB[s1];[s1]format=yuv420p[s2];"
        "[s2]tpad=stop=100:stop_mode=clone[s3];[s3]trim=end_frame=100[s4];[s4]format=yuv420p[s5]",
        "-map", "[s5]", "-f", "mp4", "-an",
        "-c:v", "libx264", "-crf", str(FINAL_CRF), "-fps_mode", "cfr", "-frames:v", "100",
        "-movflags", "+faststart", "-pix_fmt", "yuv420p", "-preset", FINAL_PRESET, "-r", "25",
        "f.mp4",
    ]  # fmt: skip


def test_finalise_chains_several_overlays() -> None:
    overlays = [Overlay(Path("a.png"), 0, 10), Overlay(Path("b.png"), 90, 100)]
    args = commands.finalise(Path("s.mp4"), Path("f.mp4"), overlays, Path("m.m4a"), 100, 25)
    assert args[:8] == ["-i", "s.mp4", "-i", "a.png", "-i", "b.png", "-i", "m.m4a"]
    graph = args[9]
    assert "[s4][1:v]overlay=enable=between(n\\,0\\,9):eof_action=repeat:format=auto[s5]" in graph
    assert "[s5][2:v]overlay=enable=between(n\\,90\\,99):eof_action=repeat:format=auto[s6];" in graph
    assert graph.endswith("[s6]format=yuv420p[s7]")
    assert args[10:14] == ["-map", "[s7]", "-map", "3:a"]


def test_overlay_rejects_empty_range() -> None:
    with pytest.raises(ValueError):
        Overlay(Path("a.png"), 5, 5)


def test_building_commands_never_imports_the_future_module_that_runs_a_local_test_py(tmp_path: Path) -> None:
    # ffmpeg-python needs the `future` package, whose `future.standard_library` imports `test` (and so
    # runs a `test.py` in the working directory: CVE-2025-50817). Only `past.builtins` may be loaded.
    (tmp_path / "test.py").write_text("open('ran', 'w').close()\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from vidgen_assets.core.plan import Join\n"
        "from vidgen_assets.media import commands, ops\n"
        "join = Join(transition='fade', frames=12, offset_frame=100)\n"
        "commands.stitch([[Path('a.mp4')], [Path('b.mp4')]], [join], 24, Path('s.mp4'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('future', 'test')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert not (tmp_path / "ran").exists()
    assert done.stdout.strip() == "['future', 'future.utils']"


def test_clip_analysis_runs_every_detector_in_one_decode_and_prints_each_frame() -> None:
    args = commands.clip_analysis(Path("c.mp4"), Path("m.txt"), 32, -60.0, 0.2, 5.0)
    assert args == [
        "-nostats", "-i", "c.mp4", "-filter_complex",
        "[0:v]signalstats[s0];[s0]blackframe=amount=0:threshold=32[s1];[s1]freezedetect=d=0.200000:n=-60dB[s2];"
        "[s2]scdet=threshold=5[s3];[s3]metadata=file=m.txt:mode=print[s4]",
        "-map", "[s4]", "-f", "null", "-",
    ]  # fmt: skip


def test_clip_analysis_can_shrink_the_frames_before_the_detectors() -> None:
    args = commands.clip_analysis(Path("c.mp4"), Path("m.txt"), 32, -60.0, 0.2, 5.0, analysis_width=320)
    assert args[4].startswith("[0:v]scale=320:-2:flags=area[s0];[s0]signalstats[s1];")
    with pytest.raises(ValueError, match="even analysis width"):
        commands.clip_analysis(Path("c.mp4"), Path("m.txt"), 32, -60.0, 0.2, 5.0, analysis_width=321)


def test_clip_analysis_compares_frames_with_pictures_in_the_same_decode() -> None:
    matches = [FrameMatch(0, Path("a.png"), Path("a.txt")), FrameMatch(47, Path("b.png"), Path("b.txt"))]
    args = commands.clip_analysis(Path("c.mp4"), Path("m.txt"), 32, -60.0, 0.2, 5.0, matches, (32, 18))
    assert args == [
        "-nostats", "-i", "c.mp4", "-i", "a.png", "-i", "b.png", "-filter_complex",
        "[0:v]split=3[s0][s1][s2];[s0]signalstats[s3];[s3]blackframe=amount=0:threshold=32[s4];"
        "[s4]freezedetect=d=0.200000:n=-60dB[s5];[s5]scdet=threshold=5[s6];[s6]metadata=file=m.txt:mode=print[s7];"
        "[s1]trim=end_frame=1:start_frame=0[s8];[s8]setpts=PTS-STARTPTS[s9];[s9]format=rgb24[s10];"
        "[s10]scale=32:18:flags=area[s11];[1:v]format=rgb24[s12];[s12]scale=32:18:flags=area[s13];"
        "[s11][s13]psnr=stats_file=a.txt[s14];"
        "[s2]trim=end_frame=48:start_frame=47[s15];[s15]setpts=PTS-STARTPTS[s16];[s16]format=rgb24[s17];"
        "[s17]scale=32:18:flags=area[s18];[2:v]format=rgb24[s19];[s19]scale=32:18:flags=area[s20];"
        "[s18][s20]psnr=stats_file=b.txt[s21]",
        "-map", "[s7]", "-f", "null", "-", "-map", "[s14]", "-f", "null", "-", "-map", "[s21]", "-f", "null", "-",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="frame >= 0"):
        FrameMatch(-1, Path("a.png"), Path("a.txt"))
