"""The animatic backend on real files: PNG cards, MP4 chunks through the real ffmpeg, WAV music."""

from __future__ import annotations

import itertools
import wave
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageFilter

from vidgen_assets.backends.animatic import (
    CARD_MODEL,
    MOTION_MODEL,
    MUSIC_MODEL,
    AnimaticBackend,
    render_frames,
)
from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.camera_motion import PAN_PER_SECOND, chunk_affines
from vidgen_assets.backends.music_synth import SAMPLE_RATE, style_for_mood
from vidgen_assets.core.generation import Camera, Frame, ImageRequest, MusicRequest, VideoRequest

Pixels = npt.NDArray[np.float64]
W, H, FPS = 320, 180, 24
N = 24  # frames per test chunk: one second


def card_request(**changes: object) -> ImageRequest:
    request = ImageRequest(
        video_id="cold-brew",
        beat_index=2,
        beat_count=6,
        beat_name="hero_shot",
        prompt="cold brew bottle on a sunlit counter, warm morning light",
        camera="push_in",
        start_frame=120,
        end_frame=240,
        frame=Frame(W, H, FPS),
        palette=("#3b2314", "#c8a27a"),
        aesthetic="warm cinematic",
        seed=0,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def video_request(camera: Camera, kind: str = "reference", offset: int = 0, frames: int = N) -> VideoRequest:
    return VideoRequest(
        video_id="cold-brew",
        chunk_index=0 if kind == "reference" else 1,
        beat_index=0,
        kind=kind,  # type: ignore[arg-type]
        prompt="cold brew bottle",
        camera=camera,
        frames=frames,
        motion_offset=offset,
        frame=Frame(W, H, FPS),
        seed=0,
    )


def decode(path: Path) -> tuple[list[Pixels], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate is not None
        rate = float(stream.average_rate)
        frames = [frame.to_ndarray(format="rgb24").astype(np.float64) for frame in container.decode(stream)]
    return frames, rate


def mad(a: Pixels, b: Pixels) -> float:
    return float(np.mean(np.abs(a - b)))


def pixels(path: Path) -> Pixels:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64)


def horizontal_shift(a: Pixels, b: Pixels, limit: float = 6.0) -> float:
    """How far (px, sub-pixel) the content of `b` sits to the right of `a`, from column profiles."""
    profile_a, profile_b = a.mean(axis=(0, 2)), b.mean(axis=(0, 2))
    x = np.arange(profile_a.size, dtype=np.float64)
    core = slice(40, -40)  # away from the mirrored border

    def error(shift: float) -> float:
        return float(((profile_b[core] - np.interp(x[core] - shift, x, profile_a)) ** 2).sum())

    return min((float(s) for s in np.arange(-limit, limit + 1e-9, 0.01)), key=error)


def test_is_a_backend() -> None:
    backend: Backend = AnimaticBackend()
    assert backend.name == "animatic"
    assert backend.chunk_seconds == 5.0
    assert AnimaticBackend(chunk_seconds=4.0).chunk_seconds == 4.0
    with pytest.raises(ValueError):
        AnimaticBackend(chunk_seconds=0)


# ------------------------------------------------------------------------------------------------- images


@pytest.mark.parametrize("size", [(320, 180), (180, 320), (240, 240), (854, 480)])
def test_image_has_the_exact_size(tmp_path: Path, size: tuple[int, int]) -> None:
    out = tmp_path / "cards" / "beat_02.png"
    result = AnimaticBackend().image(card_request(frame=Frame(*size, FPS)), out)
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == size
        assert image.mode == "RGB"
    assert result.model == CARD_MODEL
    assert result.cost_usd == 0.0
    assert result.seed == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["beat_02.png"]  # no temp file left behind


def test_image_is_deterministic(tmp_path: Path) -> None:
    backend = AnimaticBackend()
    backend.image(card_request(), tmp_path / "a.png")
    backend.image(card_request(), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


@pytest.mark.parametrize(
    "changes",
    [{"seed": 1}, {"beat_index": 3}, {"beat_name": "detail"}, {"camera": "pan_left"}, {"palette": ()}],
)
def test_image_differs_when_the_request_does(tmp_path: Path, changes: dict[str, object]) -> None:
    backend = AnimaticBackend()
    backend.image(card_request(), tmp_path / "a.png")
    backend.image(card_request(**changes), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()


NASTY_PROMPTS = [
    "☕🍕🚀 emoji 👩‍👩‍👧‍👦 and flags 🇫🇷",
    "冷萃咖啡在阳光明媚的柜台上，温暖的晨光" * 10,
    "\"double\" 'single' «guillemets» `back` 100% %s %d {0} {name} \\n",
    " ".join(["word"] * 200),
    "x" * 5000,
    "control\x00chars\x07 \t\r\n and a lone \ud800 surrogate, RTL \u202e mark, مرحبا بالعالم",
    "",
]


@pytest.mark.parametrize("prompt", NASTY_PROMPTS)
@pytest.mark.parametrize("size", [(320, 180), (180, 320)])
def test_image_survives_any_text(tmp_path: Path, prompt: str, size: tuple[int, int]) -> None:
    request = card_request(
        prompt=prompt,
        beat_name=prompt[:40],
        aesthetic=prompt[:60],
        frame=Frame(*size, FPS),
        palette=("not-a-colour", "#12"),
    )
    out = tmp_path / "card.png"
    AnimaticBackend().image(request, out)
    with Image.open(out) as image:
        assert image.size == size


# ------------------------------------------------------------------------------------------------- chunks


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("card") / "beat_00.png"
    AnimaticBackend().image(card_request(beat_index=0, start_frame=0, end_frame=2 * N), out)
    return out


@pytest.mark.parametrize("camera", ["push_in", "pull_out", "pan_left", "pan_right", "static"])
def test_video_has_exact_frames_size_and_rate(tmp_path: Path, card: Path, camera: Camera) -> None:
    out = tmp_path / "chunks" / "chunk_000.mp4"
    result = AnimaticBackend().video(video_request(camera, frames=13), card, out)
    frames, rate = decode(out)
    assert len(frames) == 13
    assert frames[0].shape == (H, W, 3)
    assert rate == FPS
    assert mad(frames[0], pixels(card)) < 3.5  # frame 0 is the card itself (up to H.264 loss)
    assert result.model == MOTION_MODEL
    assert result.cost_usd == 0.0
    assert result.extra["camera"] == camera
    assert sorted(p.name for p in out.parent.iterdir()) == ["chunk_000.mp4"]


def test_video_fits_a_source_of_another_size(tmp_path: Path) -> None:
    source = tmp_path / "big.png"
    Image.new("RGB", (640, 480), (200, 100, 50)).save(source)
    out = tmp_path / "chunk.mp4"
    AnimaticBackend().video(video_request("push_in", frames=5), source, out)
    frames, _ = decode(out)
    assert len(frames) == 5
    assert frames[0].shape == (H, W, 3)


@pytest.mark.parametrize("camera", ["pan_right", "pull_out"])
def test_video_survives_moves_that_leave_the_card_far_behind(tmp_path: Path, camera: Camera) -> None:
    """A long move needs more border than the source is wide: the mirrored fill repeats."""
    source = tmp_path / "small.png"
    Image.new("RGB", (64, 36), (200, 100, 50)).save(source)
    request = replace(video_request(camera, frames=3), frame=Frame(64, 36, FPS), motion_offset=60 * FPS)
    AnimaticBackend().video(request, source, tmp_path / "far.mp4")
    frames, _ = decode(tmp_path / "far.mp4")
    assert len(frames) == 3


def test_video_rejects_empty_chunks(tmp_path: Path, card: Path) -> None:
    with pytest.raises(ValueError):
        AnimaticBackend().video(video_request("static", frames=0), card, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def rendered(source: Image.Image, camera: Camera, kind: str, offset: int, frames: int) -> list[Pixels]:
    affines = chunk_affines(camera, kind, offset, frames, W, H, FPS)  # type: ignore[arg-type]
    return [np.frombuffer(f, np.uint8).reshape(H, W, 3).astype(np.float64) for f in render_frames(source, affines)]


def blurred(frame: Pixels) -> Pixels:
    """Compare geometry, not the slight softening that a second resampling adds."""
    image = Image.fromarray(frame.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5))
    return np.asarray(image, dtype=np.float64)


@pytest.mark.parametrize("camera", ["push_in", "pull_out", "pan_left", "pan_right"])
def test_rendered_frames_chain_exactly(card: Path, camera: Camera) -> None:
    """Before encoding: a continuous chunk rendered from the reference chunk's last frame moves on by one
    frame's worth of motion, and its frame j shows beat frame N + j, as if rendered from the card itself."""
    with Image.open(card) as opened:
        source = opened.convert("RGB")
    direct = rendered(source, camera, "reference", 0, 2 * N + 2)
    chained = rendered(Image.fromarray(direct[N - 1].astype(np.uint8)), camera, "continuous", N, N)
    assert len(chained) == N
    assert np.array_equal(direct[0], np.asarray(source, dtype=np.float64))  # frame 0 is the card
    assert not np.array_equal(chained[0], direct[N - 1])  # the seam moves on: no duplicated frame
    ideal = mad(direct[N - 1], direct[N])  # the step the card itself takes from frame N - 1 to N
    assert 0.5 * ideal < mad(chained[0], direct[N - 1]) < 1.5 * ideal
    region = (slice(None), slice(None)) if camera == "push_in" else (slice(30, -30), slice(53, -53))
    for j in (0, N // 2, N - 1):  # closest to beat frame N + j among its neighbours
        errors = [mad(blurred(chained[j])[region], blurred(direct[N + j + k])[region]) for k in (-2, -1, 0, 1, 2)]
        assert int(np.argmin(errors)) == 2, errors


@pytest.fixture(scope="module")
def chained_chunks(
    card: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[list[Pixels], Pixels, list[Pixels]]]:
    """Per camera: the reference chunk, its exact last decoded frame, and the continuous chunk after it."""
    root = tmp_path_factory.mktemp("chunks")
    backend = AnimaticBackend()
    out: dict[str, tuple[list[Pixels], Pixels, list[Pixels]]] = {}
    cameras: list[Camera] = ["push_in", "pan_left", "pan_right", "static"]
    for camera in cameras:
        backend.video(video_request(camera), card, root / f"{camera}_0.mp4")
        reference, _ = decode(root / f"{camera}_0.mp4")
        last = root / f"{camera}_0.last.png"
        Image.fromarray(reference[-1].astype(np.uint8)).save(last)
        result = backend.video(video_request(camera, "continuous", offset=N), last, root / f"{camera}_1.mp4")
        assert result.extra["kind"] == "continuous"
        continuous, _ = decode(root / f"{camera}_1.mp4")
        out[camera] = (reference, pixels(last), continuous)
    return out


@pytest.mark.parametrize("camera", ["push_in", "pan_left", "pan_right"])
def test_continuous_chunk_joins_without_jump_or_freeze(
    chained_chunks: dict[str, tuple[list[Pixels], Pixels, list[Pixels]]], camera: str
) -> None:
    reference, source, continuous = chained_chunks[camera]
    assert (len(reference), len(continuous)) == (N, N)
    assert np.array_equal(source, reference[-1])
    seam = mad(source, continuous[0])
    assert 0.3 < seam < 6.0  # moved on, but only by one frame's motion
    inside = [mad(a, b) for a, b in itertools.pairwise(reference)]
    inside += [mad(a, b) for a, b in itertools.pairwise(continuous)]
    median = float(np.median(inside))
    assert 0.5 * median < seam < 2.5 * median


@pytest.mark.parametrize("camera", ["pan_left", "pan_right"])
def test_pan_speed_is_constant_across_the_seam(
    chained_chunks: dict[str, tuple[list[Pixels], Pixels, list[Pixels]]], camera: str
) -> None:
    """Measured on decoded frames: five frame steps straddling the seam move the content five steps."""
    reference, _, continuous = chained_chunks[camera]
    step = PAN_PER_SECOND * W / FPS * (1 if camera == "pan_left" else -1)  # content moves against the camera
    assert horizontal_shift(reference[N - 6], reference[N - 1]) == pytest.approx(5 * step, abs=0.3)
    assert horizontal_shift(reference[N - 3], continuous[2]) == pytest.approx(5 * step, abs=0.3)
    assert horizontal_shift(continuous[2], continuous[7]) == pytest.approx(5 * step, abs=0.3)
    assert abs(horizontal_shift(reference[-1], continuous[0])) > 0.25  # no freeze at the seam


def test_static_camera_repeats_the_source(
    chained_chunks: dict[str, tuple[list[Pixels], Pixels, list[Pixels]]],
) -> None:
    reference, source, continuous = chained_chunks["static"]
    assert max(mad(frame, reference[0]) for frame in reference) < 0.5
    assert max(mad(frame, source) for frame in continuous) < 3.0  # one more H.264 generation, no motion
    assert max(mad(a, b) for a, b in itertools.pairwise(continuous)) < 0.5


# -------------------------------------------------------------------------------------------------- music


def music_request(**changes: object) -> MusicRequest:
    request = MusicRequest(video_id="cold-brew", mood="upbeat", bpm=110, seconds=12.0, seed=0)
    return replace(request, **changes)  # type: ignore[arg-type]


def read_wav(path: Path) -> tuple[wave._wave_params, npt.NDArray[np.int16]]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        data = np.frombuffer(wav.readframes(params.nframes), dtype="<i2").reshape(-1, params.nchannels)
    return params, data


@pytest.mark.parametrize("seconds", [5.0, 7.3, 12.345678])
def test_music_has_the_exact_length_and_format(tmp_path: Path, seconds: float) -> None:
    out = tmp_path / "music.wav"
    result = AnimaticBackend().music(music_request(seconds=seconds), out)
    params, data = read_wav(out)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, SAMPLE_RATE)
    assert params.nframes == round(seconds * SAMPLE_RATE) == data.shape[0]
    assert result.model == MUSIC_MODEL
    assert result.cost_usd == 0.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music.wav"]


@pytest.mark.parametrize("mood", ["upbeat", "sad", "calm", "something else"])
def test_music_is_loud_enough_and_never_clips(tmp_path: Path, mood: str) -> None:
    out = tmp_path / "music.wav"
    AnimaticBackend().music(music_request(mood=mood), out)
    _, data = read_wav(out)
    samples = data.astype(np.float64) / 32768
    peak = float(np.abs(samples).max())
    assert 20 * np.log10(peak) == pytest.approx(-3.0, abs=0.1)
    assert float(np.sqrt(np.mean(samples**2))) > 0.05
    assert not np.array_equal(data[:, 0], data[:, 1])  # stereo, not two copies of one channel


def beat_period_from_envelope(data: npt.NDArray[np.int16], bpm: float) -> float:
    """The lag (s) between 0.6 and 2.5 beats where the onset envelope's autocorrelation peaks."""
    hop = 240  # 5 ms
    power = data[:, 0].astype(np.float64) ** 2  # one channel: the mono sum would beat between detuned pads
    frames = np.sqrt(power[: power.size // hop * hop].reshape(-1, hop).mean(axis=1))
    frames = np.convolve(frames, np.ones(4) / 4, mode="same")  # 20 ms RMS
    onsets = np.maximum(np.diff(frames), 0.0)
    onsets -= onsets.mean()
    period = 60.0 / bpm * SAMPLE_RATE / hop
    lags = np.arange(int(0.6 * period), int(2.5 * period) + 1)
    scores = [float(np.dot(onsets[:-lag], onsets[lag:])) for lag in lags]
    return float(lags[int(np.argmax(scores))] * hop / SAMPLE_RATE)


@pytest.mark.parametrize(
    ("mood", "bpm"), [("upbeat", 110), ("energetic", 128), ("sad", 90), ("calm", 72), ("calm ambient", 60)]
)
def test_music_pulses_at_the_tempo(tmp_path: Path, mood: str, bpm: int) -> None:
    out = tmp_path / "music.wav"
    AnimaticBackend().music(music_request(mood=mood, bpm=bpm, seconds=15.0), out)
    _, data = read_wav(out)
    assert beat_period_from_envelope(data, bpm) == pytest.approx(60 / bpm, abs=0.011)


def test_music_is_deterministic_per_seed(tmp_path: Path) -> None:
    backend = AnimaticBackend()
    backend.music(music_request(), tmp_path / "a.wav")
    backend.music(music_request(), tmp_path / "b.wav")
    backend.music(music_request(seed=1), tmp_path / "c.wav")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    assert (tmp_path / "a.wav").read_bytes() != (tmp_path / "c.wav").read_bytes()


def test_music_harmony_follows_the_mood(tmp_path: Path) -> None:
    """The first chord's third: major moods carry the major third, minor moods the minor one."""
    for mood, third, other in (("happy", 4, 3), ("melancholic", 3, 4)):
        result = AnimaticBackend().music(music_request(mood=mood, seconds=2.0), tmp_path / f"{mood}.wav")
        _, data = read_wav(tmp_path / f"{mood}.wav")
        pad_root = int(result.extra["root_midi"]) + 12
        window = data[:SAMPLE_RATE, 0].astype(np.float64) * np.hanning(SAMPLE_RATE)
        spectrum = np.abs(np.fft.rfft(window))  # 1 Hz bins

        def level(midi: int, spectrum: npt.NDArray[np.float64] = spectrum) -> float:
            hz = 440.0 * 2 ** ((midi - 69) / 12)
            return float(spectrum[round(hz) - 2 : round(hz) + 3].max())

        assert level(pad_root + third) > 5 * level(pad_root + other), mood


def test_mood_styles() -> None:
    assert style_for_mood("upbeat").harmony == "major"
    assert style_for_mood("Upbeat, energetic").hats
    assert style_for_mood("sad").harmony == "minor"
    assert style_for_mood("dark and moody").harmony == "minor"
    assert style_for_mood("calm ambient").harmony == "calm"
    assert not style_for_mood("calm").hats
    assert style_for_mood("").harmony == "major"


def test_music_rejects_bad_requests(tmp_path: Path) -> None:
    backend = AnimaticBackend()
    with pytest.raises(ValueError, match="WAV"):
        backend.music(music_request(), tmp_path / "music.m4a")
    with pytest.raises(ValueError, match="bpm"):
        backend.music(music_request(bpm=0), tmp_path / "music.wav")
    assert list(tmp_path.iterdir()) == []
