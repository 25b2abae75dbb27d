"""The checks on real clips: synthetic clips made with real ffmpeg either side of each threshold, measured
by ffmpeg's own detectors (`media.qc`). The values asserted are what ffmpeg measured on these clips."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vidgen_assets import stages
from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.core import qc
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.qc import CheckResult, blocking_failures
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.media import ops
from vidgen_assets.media.qc import check_clip
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, load_artifacts, save_artifacts
from vidgen_assets.storage.store import LocalStore

Frame = npt.NDArray[np.uint8]
WIDTH, HEIGHT, FPS = 640, 360, 30
PAN = 2  # pixels a frame


def canvas(seed: int, width: int = WIDTH * 3) -> Frame:
    """A smooth, detailed picture wider than the frame (blobs of colour): something for a pan to cross."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(30, 226, (HEIGHT // 24, width // 24, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, HEIGHT), Image.Resampling.BICUBIC), dtype=np.uint8)


def pan(picture: Frame, first: int, count: int) -> Iterator[Frame]:
    """Frames `first` .. of a pan of `PAN` pixels a frame across `picture`."""
    for n in range(first, first + count):
        yield picture[:, n * PAN : n * PAN + WIDTH]


def clip(path: Path, frames: Iterator[Frame] | list[Frame]) -> Path:
    ops.encode_frames(frames, path, WIDTH, HEIGHT, FPS)
    return path


def png(path: Path, frame: Frame) -> Path:
    Image.fromarray(frame).save(path)
    return path


A, B, C = canvas(1), canvas(2), canvas(3)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("qc")
    moving = list(pan(A, 0, 120))  # 4 s
    made = {
        "moving": clip(d / "moving.mp4", moving),
        "still": clip(d / "still.mp4", [moving[0]] * 120),
        "freeze_after_2s": clip(d / "freeze.mp4", moving[:60] + [moving[59]] * 60),
        "freeze_last_half_s": clip(d / "short_freeze.mp4", moving[:105] + [moving[104]] * 15),
        "black_first_1s": clip(d / "black.mp4", [np.zeros_like(A[:, :WIDTH])] * 30 + moving[30:]),
        "black_first_quarter_s": clip(d / "black_short.mp4", [np.zeros_like(A[:, :WIDTH])] * 8 + moving[8:]),
        "blank_grey": clip(d / "blank.mp4", [np.full_like(A[:, :WIDTH], 128)] * 60),
        "a_first": png(d / "a_first.png", moving[0]),
        "b_first": png(d / "b_first.png", B[:, :WIDTH]),
        "a_last": png(d / "a_last.png", moving[-1]),
        # A continuous chunk: the next frames of the pan, or frames one second further on (a jump).
        "continues": clip(d / "continues.mp4", pan(A, 120, 60)),
        "jumps": clip(d / "jumps.mp4", pan(A, 150, 60)),
        # A hidden cut: the pan over A, then over C from 1.5 s.
        "cut": clip(d / "cut.mp4", list(pan(A, 0, 45)) + list(pan(C, 45, 45))),
    }
    # Flashes: the pan with every other stretch of frames dimmed to a fifth, 5 and 2 times a second.
    for hz in (5, 2):
        period = FPS // hz
        flashing = [f if (n % period) < period // 2 else (f // 5 + 8) for n, f in enumerate(moving)]
        made[f"flashes_{hz}hz"] = clip(d / f"flash{hz}.mp4", flashing)
    # A bridge: a crossfade from A's last frame into B's first over 1 s; and one that ends on C instead.
    start, end, wrong = moving[-1].astype(np.float64), B[:, :WIDTH].astype(np.float64), C[:, :WIDTH]
    blend = [((1 - t) * start + t * end).round().astype(np.uint8) for t in np.linspace(0, 1, 30)]
    made["bridge"] = clip(d / "bridge.mp4", blend)
    made["bridge_wrong_end"] = clip(d / "bridge_wrong.mp4", [*blend[:-1], wrong])
    return made


def checks(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_a_moving_clip_that_starts_on_its_picture_passes_every_check(media: dict[str, Path]) -> None:
    results = checks(check_clip(media["moving"], "reference", media["a_first"], None, FPS))
    assert all(r.passed for r in results.values()), results
    assert results["still"].value > 1.0  # mean luma difference between frames, in levels
    assert results["frozen"].value == 0.0
    assert results["black"].value == 0.0
    assert results["flashes"].value == 0
    assert results["start"].value >= 45.0
    assert results["cut"].value < 2.0


def test_a_still_and_a_freeze_after_two_seconds_fail_a_short_freeze_passes(media: dict[str, Path]) -> None:
    still = checks(check_clip(media["still"], "reference", None, None, FPS))
    assert not still["still"].passed and still["still"].value < 0.05
    assert not still["frozen"].passed and still["frozen"].value == 1.0
    frozen = checks(check_clip(media["freeze_after_2s"], "reference", None, None, FPS))
    assert frozen["still"].passed  # it moves for two seconds
    assert not frozen["frozen"].passed and frozen["frozen"].value == pytest.approx(0.5, abs=0.02)
    assert [r.name for r in blocking_failures(list(frozen.values()))] == ["frozen"]
    short = checks(check_clip(media["freeze_last_half_s"], "reference", None, None, FPS))
    assert short["frozen"].passed and short["frozen"].value == pytest.approx(15 / 120, abs=0.02)


def test_black_and_blank_frames(media: dict[str, Path]) -> None:
    black = checks(check_clip(media["black_first_1s"], "reference", None, None, FPS))
    assert not black["black"].passed and black["black"].value == pytest.approx(0.25)
    # The black second is also a frozen stretch that ends (`freezedetect`'s end read back): 30 of 120 frames.
    assert black["frozen"].value == pytest.approx(0.25) and black["frozen"].passed
    short = checks(check_clip(media["black_first_quarter_s"], "reference", None, None, FPS))
    assert short["black"].passed and short["black"].value == pytest.approx(8 / 120)
    blank = checks(check_clip(media["blank_grey"], "reference", None, None, FPS, moves=False))
    assert not blank["black"].passed and blank["black"].value == 1.0


def test_five_flashes_a_second_fail_two_pass(media: dict[str, Path]) -> None:
    five = checks(check_clip(media["flashes_5hz"], "reference", None, None, FPS))
    assert not five["flashes"].passed and five["flashes"].value == 5
    assert five["flashes"].severity == qc.BLOCKING
    two = checks(check_clip(media["flashes_2hz"], "reference", None, None, FPS))
    assert two["flashes"].passed and two["flashes"].value == 2


def test_a_clip_that_starts_on_another_picture_fails(media: dict[str, Path]) -> None:
    own = checks(check_clip(media["moving"], "reference", media["a_first"], None, FPS))["start"]
    other = checks(check_clip(media["moving"], "reference", media["b_first"], None, FPS))["start"]
    assert own.passed and not other.passed
    assert own.value >= 45.0 and other.value < 25.0, (own.value, other.value)


def test_a_continuous_chunk_continues_the_last_frame_a_jump_at_the_seam_fails(media: dict[str, Path]) -> None:
    seamless = checks(check_clip(media["continues"], "continuous", media["a_last"], None, FPS))["start"]
    jump = checks(check_clip(media["jumps"], "continuous", media["a_last"], None, FPS))["start"]
    # One frame of a 2 px pan over fine, contrasty detail: the hardest step tried, 4 dB over the threshold.
    assert seamless.passed and seamless.value == pytest.approx(34.2, abs=1.5), seamless
    assert not jump.passed and jump.value < 16.0, jump  # one second (60 px of pan) further on
    assert jump.severity == qc.BLOCKING


def test_a_bridge_starts_on_the_outgoing_frame_and_ends_on_the_incoming_picture(media: dict[str, Path]) -> None:
    good = checks(check_clip(media["bridge"], "bridge", media["a_last"], media["b_first"], FPS))
    assert good["start"].passed and good["end"].passed, (good["start"], good["end"])
    assert min(good["start"].value, good["end"].value) >= 42.0
    assert good["cut"].passed  # a dissolve is no cut
    wrong = checks(check_clip(media["bridge_wrong_end"], "bridge", media["a_last"], media["b_first"], FPS))
    assert wrong["start"].passed and not wrong["end"].passed and wrong["end"].value < 25.0


def test_a_hidden_cut_is_a_warning(media: dict[str, Path]) -> None:
    results = check_clip(media["cut"], "reference", None, None, FPS)
    cut = checks(results)["cut"]
    assert not cut.passed and cut.value == pytest.approx(10.0, abs=1.0) and cut.severity == qc.WARNING
    assert cut.detail.endswith("(frame 45)")
    assert blocking_failures(results) == []


# --- the animatic's own clips: every check passes (no false alarms) -----------------------------------
ANIMATIC_SPEC = """
id: qc-animatic
prompt: every camera move and both kinds of seam
duration: 21
aspect_ratio: "16:9"
resolution: 480p
fps: 24
beats:
  - {name: one, duration: 5, prompt: a lighthouse at dawn, camera: push_in, transition: bridge}
  - {name: two, duration: 4, prompt: a red kettle, camera: pull_out, transition: fade}
  - {name: three, duration: 4, prompt: a forest road, camera: pan_left, transition: bridge}
  - {name: four, duration: 4, prompt: a city at night, camera: static, transition: dissolve}
  - {name: five, duration: 4, prompt: a beach, camera: pan_right}
"""


Checked = list[tuple[str, list[CheckResult]]]
"""(clip, its checks)."""


def render_and_check(spec_text: str, tmp: Path) -> Checked:
    """Every chunk and bridge of a spec rendered by the animatic through the stages (2 s chunks), checked
    as takes would check them."""
    plan = plan_spec(read_spec_text(spec_text, "qc-animatic.yaml"), 2.0)
    store, backend = LocalStore(tmp / "store"), AnimaticBackend(chunk_seconds=2.0)

    def saved(out: Artifacts) -> Artifacts:
        save_artifacts(store, out)
        loaded = load_artifacts(store, plan.video_id, out.manifest)
        assert loaded is not None
        return loaded

    def scratch(name: str) -> Path:
        path = tmp / "scratch" / name
        path.mkdir(parents=True)
        return path

    board = saved(stages.storyboard(plan, backend, store, scratch("storyboard")))
    pairs = {}
    for beat in plan.beats:
        image = board.path(layout.storyboard_image(beat.index))
        pairs[beat.pair_key] = saved(
            stages.chunk_pair(plan, beat, image, backend, store, scratch(beat.pair_key), "reencode")
        )
    bridges = stages.bridges(plan, pairs, board, backend, store, scratch("bridges"), "reencode")
    checked: Checked = []
    for beat in plan.beats:
        pair = pairs[beat.pair_key]
        storyboard = board.path(layout.storyboard_image(beat.index))
        previous_last: Path | None = None
        for chunk in beat.chunks:
            video = pair.path(layout.chunk_video(chunk.index))
            if chunk.kind == "reference":
                expected = storyboard  # as drawn: every camera move starts on it
            else:
                assert previous_last is not None
                expected = previous_last
            results = check_clip(video, chunk.kind, expected, None, plan.fps, moves=beat.camera != "static")
            checked.append((f"chunk {chunk.index} ({beat.camera}, {chunk.kind})", results))
            previous_last = pair.path(layout.chunk_last_frame(chunk.index))
    for planned in plan.bridges:
        start, end = stages.bridge_sources(plan, planned, pairs, board)
        video = bridges[planned.key].path(layout.bridge_video(planned.key))
        checked.append((f"bridge {planned.key}", check_clip(video, "bridge", start, end, plan.fps)))
    return checked


def false_alarms(checked: Checked) -> dict[str, list[CheckResult]]:
    return {name: failed for name, results in checked if (failed := [r for r in results if not r.passed])}


@pytest.fixture(scope="module")
def animatic(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    return render_and_check(ANIMATIC_SPEC, tmp_path_factory.mktemp("qc-animatic"))


@pytest.mark.slow
def test_the_animatics_chunks_and_bridges_pass_every_check(
    animatic: Checked,
) -> None:
    names = [name for name, _ in animatic]
    assert sum("bridge" in n for n in names) == 2 and sum("reference" in n for n in names) == 5, names
    assert len(names) == 13, names
    assert false_alarms(animatic) == {}
    for name, results in animatic:
        start = checks(results)["start"].value
        assert start >= 40.0, (name, start)  # 10 dB clear of the threshold
        assert checks(results)["cut"].value < 2.0, name


@pytest.mark.slow
def test_every_animatic_move_starts_on_its_storyboard_image_as_drawn(animatic: Checked) -> None:
    """The storyboard image is the window the move starts on (pull_out: the middle of a larger card,
    a pan: one end of a wider one), so every reference-image chunk is checked against the storyboard
    image itself, as a video model's chunk is, and reads like the same picture."""
    starts = {name.split(" (")[1].split(",")[0]: checks(results)["start"].value
              for name, results in animatic if "reference" in name}  # fmt: skip
    assert set(starts) == set(CAMERAS), starts
    assert min(starts.values()) >= 40.0, starts


CAMERAS = ["push_in", "pull_out", "pan_left", "pan_right", "static"]


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(
    aspect=st.sampled_from(["16:9", "9:16", "1:1"]),
    fps=st.sampled_from([24, 25, 30]),
    beats=st.lists(
        st.tuples(st.sampled_from(CAMERAS), st.sampled_from(["cut", "fade", "bridge"]), st.integers(3, 5)),
        min_size=2,
        max_size=2,
    ),
)
def test_generated_animatic_specs_raise_no_false_alarm(
    aspect: str, fps: int, beats: list[tuple[str, str, int]]
) -> None:
    """A few generated specs (frame shape, frame rate, camera moves, seams, beat lengths): every clip the
    animatic makes passes every check."""
    lines = [f"  - {{name: b{i}, duration: {d}, prompt: shot {i}, camera: {c}, transition: {t}}}"
             for i, (c, t, d) in enumerate(beats)]  # fmt: skip
    total = sum(d for _, _, d in beats)
    spec = f'id: qc-gen\nprompt: generated\nduration: {total}\naspect_ratio: "{aspect}"\nresolution: 480p\n'
    spec += f"fps: {fps}\nbeats:\n" + "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory(prefix="qc-gen-") as tmp:
        checked = render_and_check(spec, Path(tmp))
    assert len(checked) >= len(beats)
    assert false_alarms(checked) == {}


BOTTLE = Path(__file__).resolve().parents[2] / "examples" / "specs" / "refs" / "bottle.png"


def with_bottle(picture: Frame, height_share: float, left: int) -> Frame:
    """`picture` with the example's bottle (its alpha kept) pasted on it, `height_share` of the frame tall."""
    shown = Image.fromarray(picture)
    with Image.open(BOTTLE) as opened:
        bottle = opened.convert("RGBA")
    tall = round(HEIGHT * height_share)
    bottle = bottle.resize((round(bottle.width * tall / bottle.height), tall), Image.Resampling.LANCZOS)
    shown.paste(bottle, (left, (HEIGHT - tall) // 2), bottle)
    return np.asarray(shown)


def test_a_reference_in_the_shot_is_found_and_one_missing_is_a_warning_not_a_retake(tmp_path: Path) -> None:
    frames = list(pan(A, 0, 30))
    shows = clip(tmp_path / "shows.mp4", [with_bottle(f, 0.6, 200 + n) for n, f in enumerate(frames)])
    smaller = clip(tmp_path / "smaller.mp4", [with_bottle(f, 0.3, 400 - n) for n, f in enumerate(frames)])
    lacks = clip(tmp_path / "lacks.mp4", frames)
    found = {
        name: checks(check_clip(path, "reference", None, None, FPS, references=[BOTTLE]))["reference"]
        for name, path in (("shows", shows), ("smaller", smaller), ("lacks", lacks))
    }
    assert found["shows"].passed and found["shows"].value >= 0.9, found["shows"]
    assert found["smaller"].passed and found["smaller"].value >= qc.REFERENCE_MIN_MATCH, found["smaller"]
    assert not found["lacks"].passed and found["lacks"].value < qc.REFERENCE_MIN_MATCH, found["lacks"]
    assert found["lacks"].severity == qc.WARNING and "bottle" in found["lacks"].detail
    # A clip whose beat uses no reference has no reference check at all.
    assert "reference" not in checks(check_clip(lacks, "reference", None, None, FPS))
