"""The final video's checks (`media.qc.check_final`) on synthesized finals made with real ffmpeg: a good
one passes; a black stretch, a freeze, a flashing stretch, audio cut short and a frame missing each fail
the check they should (and only when the plan does not allow them: a fadeblack, a static beat)."""

from __future__ import annotations

import wave
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from vidgen_assets.core import qc
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.qc import CheckResult, FinalAllowances, blocking_failures
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.defs.checks import final_picture_and_sound_qc
from vidgen_assets.media import ops
from vidgen_assets.media.qc import check_final
from vidgen_assets.media.runner import run
from vidgen_tests.media.test_qc import FPS, HEIGHT, WIDTH, A, Frame, pan

SECONDS = 6
FRAMES = SECONDS * FPS


def tone(path: Path, seconds: float) -> Path:
    """A quiet 48 kHz stereo sine of `seconds`, encoded as AAC (`path`, .m4a)."""
    t = np.arange(round(48000 * seconds)) / 48000
    samples = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    pcm = path.with_suffix(".wav")
    with wave.open(str(pcm), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(np.repeat(samples, 2).tobytes())
    run(["-i", str(pcm), "-c:a", "aac", "-b:a", "128k", str(path)])
    return path


def final(folder: Path, name: str, frames: list[Frame], audio_s: float | None = SECONDS) -> Path:
    """An MP4 of `frames` (H.264) and, unless None, `audio_s` of AAC, as the final stage muxes them."""
    picture = folder / f"{name}.picture.mp4"
    ops.encode_frames(frames, picture, WIDTH, HEIGHT, FPS)
    out = folder / f"{name}.mp4"
    ops.mux_copy(picture, tone(folder / f"{name}.m4a", audio_s) if audio_s else None, out, len(frames))
    return out


@pytest.fixture(scope="module")
def finals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("finals")
    moving = list(pan(A, 0, FRAMES))
    black = np.zeros_like(moving[0])
    flashing = [f if (n % 6) < 3 else (f // 5 + 8) for n, f in enumerate(moving)]  # 5 a second
    return {
        "good": final(d, "good", moving),
        "silent": final(d, "silent", moving, None),
        # 1 s of black from 2 s: a hole in the picture; 8 frames (0.27 s) of black: a short dip.
        "black_1s": final(d, "black", moving[:60] + [black] * 30 + moving[90:]),
        "black_short": final(d, "black_short", moving[:60] + [black] * 8 + moving[68:]),
        # The picture stops for 2 s from 2 s; for 0.5 s.
        "frozen_2s": final(d, "frozen", moving[:60] + [moving[59]] * 60 + moving[120:]),
        "frozen_half_s": final(d, "frozen_short", moving[:60] + [moving[59]] * 15 + moving[75:]),
        # 2 s of 5 flashes a second from 2 s.
        "flashing": final(d, "flashing", moving[:60] + flashing[60:120] + moving[120:]),
        "audio_short": final(d, "audio_short", moving, SECONDS - 0.5),
    }


def checks(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def failing(results: list[CheckResult]) -> list[str]:
    return [r.name for r in results if not r.passed]


def test_a_good_final_passes_every_check(finals: dict[str, Path]) -> None:
    results = checks(check_final(finals["good"], FPS, FRAMES))
    assert list(results) == ["duration", "av_length", "black_stretch", "frozen_stretch", "flashes"]
    assert all(r.passed for r in results.values()), results
    assert results["duration"].value == FRAMES
    assert results["av_length"].value < 1.0  # frames apart
    assert results["black_stretch"].value == 0.0 and results["frozen_stretch"].value == 0.0
    silent = checks(check_final(finals["silent"], FPS, FRAMES))
    assert silent["av_length"].passed and silent["av_length"].detail == "no audio stream"


def test_a_frame_short_of_the_plan_and_audio_cut_short_are_blocking(finals: dict[str, Path]) -> None:
    longer = checks(check_final(finals["good"], FPS, FRAMES + 1))["duration"]
    assert not longer.passed and longer.blocks and longer.value == FRAMES
    short = checks(check_final(finals["audio_short"], FPS, FRAMES))["av_length"]
    assert not short.passed and short.blocks
    assert short.value == pytest.approx(0.5 * FPS, abs=1.0)  # half a second = 15 frames apart


def test_a_black_second_fails_a_short_dip_passes_a_fadeblack_allows_it(finals: dict[str, Path]) -> None:
    black = check_final(finals["black_1s"], FPS, FRAMES)
    assert failing(black) == ["black_stretch"] and blocking_failures(black)[0].name == "black_stretch"
    assert checks(black)["black_stretch"].value == pytest.approx(1.0)
    assert checks(black)["black_stretch"].detail.endswith("from frame 60")
    short = checks(check_final(finals["black_short"], FPS, FRAMES))["black_stretch"]
    assert short.passed and short.value == pytest.approx(8 / FPS)
    through_black = FinalAllowances(dark=((55, 95),), still=())
    assert failing(check_final(finals["black_1s"], FPS, FRAMES, through_black)) == []


def test_a_freeze_is_a_warning_unless_the_beat_is_static(finals: dict[str, Path]) -> None:
    frozen = check_final(finals["frozen_2s"], FPS, FRAMES)
    assert failing(frozen) == ["frozen_stretch"] and blocking_failures(frozen) == []
    found = checks(frozen)["frozen_stretch"]
    assert found.severity == qc.WARNING and found.value == pytest.approx(2.0, abs=0.1)
    short = checks(check_final(finals["frozen_half_s"], FPS, FRAMES))["frozen_stretch"]
    assert short.passed and short.value == pytest.approx(0.5, abs=0.1)
    static_beat = FinalAllowances(dark=(), still=((60, 120),))
    assert failing(check_final(finals["frozen_2s"], FPS, FRAMES, static_beat)) == []


def test_a_flashing_stretch_is_blocking(finals: dict[str, Path]) -> None:
    flashing = check_final(finals["flashing"], FPS, FRAMES)
    assert failing(flashing) == ["flashes"]
    assert checks(flashing)["flashes"].value == 5 and checks(flashing)["flashes"].blocks


def test_the_plan_allows_black_in_through_black_transitions_and_stillness_in_static_beats() -> None:
    spec = read_spec_text(
        """
id: allowances
prompt: p
duration: 12
fps: 24
beats:
  - {name: a, duration: 4, prompt: a, camera: push_in, transition: fadeblack, transition_duration: 1}
  - {name: b, duration: 4, prompt: b, camera: static, transition: fade}
  - {name: c, duration: 4, prompt: c, camera: pan_left, transition: fadewhite}
""",
        "allowances.yaml",
    )
    allowed = qc.final_allowances(plan_spec(spec, 5.0))
    assert allowed.dark == ((96, 120),)  # beat b's first second: the fadeblack out of a
    assert allowed.still == ((96, 192),)  # beat b, static


def test_longest_outside_counts_only_frames_outside_the_allowed_ranges() -> None:
    flags = [False, True, True, True, False, True, True]
    assert qc.longest_outside(flags, ()) == (3, 1)
    assert qc.longest_outside(flags, ((2, 3),)) == (2, 5)
    assert qc.longest_outside(flags, ((0, 7),)) == (0, 0)


def test_the_asset_check_fails_with_error_on_a_blocking_failure_and_warn_on_a_warning_alone(
    finals: dict[str, Path],
) -> None:
    good = final_picture_and_sound_qc(check_final(finals["good"], FPS, FRAMES))
    assert good.passed and good.metadata["blocking_failures"].value == "none"
    assert good.metadata["duration"].value == FRAMES
    assert good.metadata["black_stretch_threshold"].value == qc.FINAL_BLACK_MAX_S
    black = final_picture_and_sound_qc(check_final(finals["black_1s"], FPS, FRAMES))
    assert not black.passed and black.severity == dg.AssetCheckSeverity.ERROR
    assert str(black.metadata["blocking_failures"].value).startswith("black_stretch: longest black or blank stretch")
    frozen = final_picture_and_sound_qc(check_final(finals["frozen_2s"], FPS, FRAMES))
    assert not frozen.passed and frozen.severity == dg.AssetCheckSeverity.WARN
    assert frozen.metadata["blocking_failures"].value == "none"
    assert str(frozen.metadata["warnings"].value).startswith("frozen_stretch:")
    off = final_picture_and_sound_qc(None)
    assert off.passed and off.metadata["qc"].value == "off (qc: false)"
