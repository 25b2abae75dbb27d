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
from PIL import Image

from vidgen_assets.backends.animatic import (
    CARD_MODEL,
    MOTION_MODEL,
    MUSIC_MODEL,
    AnimaticBackend,
    card_canvas,
    card_request,
)
from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.camera_motion import Move
from vidgen_assets.backends.music_synth import SAMPLE_RATE, style_for_mood
from vidgen_assets.core.generation import Camera, Frame, ImageRequest, MusicRequest, VideoRequest

Pixels = npt.NDArray[np.float64]
W, H, FPS = 320, 180, 24
N = 24  # frames per test chunk: one second


def card_request_for(**changes: object) -> ImageRequest:
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
    result = AnimaticBackend().image(card_request_for(frame=Frame(*size, FPS)), out)
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
    backend.image(card_request_for(), tmp_path / "a.png")
    backend.image(card_request_for(), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


@pytest.mark.parametrize(
    "changes",
    [{"seed": 1}, {"beat_index": 3}, {"beat_name": "detail"}, {"camera": "pan_left"}, {"palette": ()}],
)
def test_image_differs_when_the_request_does(tmp_path: Path, changes: dict[str, object]) -> None:
    backend = AnimaticBackend()
    backend.image(card_request_for(), tmp_path / "a.png")
    backend.image(card_request_for(**changes), tmp_path / "b.png")
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
    request = card_request_for(
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
    AnimaticBackend().image(card_request_for(beat_index=0, start_frame=0, end_frame=2 * N), out)
    return out


def psnr(a: Pixels, b: Pixels) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float(10 * np.log10(255**2 / max(mse, 1e-9)))


def expected_view(canvas: Image.Image, move: Move, n: int, shift: int = 0) -> Pixels:
    """Frame `n` of the move, drawn in Python from the card (`shift` px aside, for a control)."""
    view = move.view(n)
    scaled = canvas.resize((view.scaled_width, view.scaled_height), Image.Resampling.BICUBIC)
    x = view.x + shift if view.x + shift <= view.scaled_width - move.width else view.x - shift
    return np.asarray(scaled.crop((x, view.y, x + move.width, view.y + move.height)), dtype=np.float64)


def make_beat(
    tmp_path: Path, card: Path, camera: Camera, chunks: list[int], image: Path | None = None, frame: Frame | None = None
) -> list[Path]:
    """A beat's chunks of `chunks` frames, made as the pipeline makes them: the first from the card, each
    later one from the exact last frame of the one before, with the card as the beat's storyboard image."""
    backend, source, offset, outs = AnimaticBackend(), image or card, 0, []
    for k, frames in enumerate(chunks):
        out = tmp_path / f"{camera}_{k}.mp4"
        request = replace(
            video_request(camera, "reference" if k == 0 else "continuous", offset, frames),
            clip_frames=sum(chunks), storyboard_image=image or card, frame=frame or Frame(W, H, FPS),
        )  # fmt: skip
        backend.video(request, source, out)
        source = tmp_path / f"{camera}_{k}.last.png"
        Image.fromarray(decode(out)[0][-1].astype(np.uint8)).save(source)
        offset += frames
        outs.append(out)
    return outs


@pytest.mark.parametrize("camera", ["pull_out", "pan_left", "pan_right", "push_in"])
def test_every_frame_of_a_three_chunk_beat_shows_only_the_card(tmp_path: Path, card: Path, camera: Camera) -> None:
    """Each decoded frame is the card as the move plans it at that frame (within H.264 loss), over three
    chunks and their seams: no border, no blur, no card nested in itself. A view two pixels off, or the
    previous frame's, matches clearly worse."""
    chunks = [N, N, N + 6]  # the last chunk absorbs a transition's frames
    move = Move(camera, W, H, FPS, sum(chunks))
    canvas = card_canvas(card, move)
    assert canvas.size == move.card_size
    frames = [frame for out in make_beat(tmp_path, card, camera, chunks) for frame in decode(out)[0]]
    assert len(frames) == sum(chunks)
    scores = [psnr(frame, expected_view(canvas, move, n)) for n, frame in enumerate(frames)]
    assert min(scores) > 34, [round(s, 1) for s in scores]
    for n in (0, N - 1, N, 2 * N, len(frames) - 1):  # the test can fail: a wrong view is told apart
        wrong = expected_view(canvas, move, n, shift=2) if "pan" in camera else expected_view(canvas, move, n ^ 8)
        assert psnr(frames[n], wrong) < scores[n] - 4


@pytest.mark.parametrize("camera", ["push_in", "pull_out", "pan_left", "pan_right", "static"])
def test_every_move_starts_on_its_storyboard_image_as_drawn(tmp_path: Path, camera: Camera) -> None:
    """The storyboard image is the window of the card the move starts on, with every text of the card:
    the beat's first frame is that image (as a video model's first frame is its start image), for a
    short beat and a long one; another camera's card is another picture."""
    storyboard = tmp_path / "beat_00.png"
    AnimaticBackend().image(card_request_for(beat_index=0, start_frame=0, end_frame=2 * N, camera=camera), storyboard)
    assert Image.open(storyboard).size == (W, H)
    for chunks in ([N], [N, 4 * N]):
        first = decode(make_beat(tmp_path / f"{len(chunks)}", storyboard, camera, chunks)[0])[0][0]
        assert psnr(first, pixels(storyboard)) > 40, (camera, chunks)
    other = tmp_path / "other.png"
    moved = "pan_left" if camera != "pan_left" else "pull_out"
    AnimaticBackend().image(card_request_for(beat_index=0, start_frame=0, end_frame=2 * N, camera=moved), other)
    assert psnr(first, pixels(other)) < 30


BIG = Frame(1024, 576, FPS)  # where a move covers more than a pixel a frame


@pytest.fixture(scope="module")
def big_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("big_card") / "beat_00.png"
    AnimaticBackend().image(card_request_for(beat_index=0, start_frame=0, end_frame=3 * N, frame=BIG), out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("camera", ["pan_left", "pan_right"])
def test_pan_speed_is_constant_across_the_seams(tmp_path: Path, big_card: Path, camera: Camera) -> None:
    """Measured on decoded frames: five frame steps straddling each seam move the content five steps
    (moves step by whole pixels: within a pixel; a frame frozen at a seam would be 1.7 px short)."""
    chunks = [N, N, N]
    frames = [frame for out in make_beat(tmp_path, big_card, camera, chunks, frame=BIG) for frame in decode(out)[0]]
    move = Move(camera, BIG.width, BIG.height, FPS, sum(chunks))
    speed = move.pan_px / move.steps
    assert speed > 1.5
    sign = 1 if camera == "pan_left" else -1  # the content moves against the camera
    for first in (N - 3, 2 * N - 3, 5, 2 * N + 10):
        shift = horizontal_shift(frames[first], frames[first + 5], limit=12)
        assert shift == pytest.approx(sign * 5 * speed, abs=1.0)


@pytest.mark.parametrize("camera", ["pull_out", "push_in", "pan_right"])
def test_a_continuous_chunk_starts_one_frame_after_its_source(tmp_path: Path, big_card: Path, camera: Camera) -> None:
    """The previous chunk's last frame is the view just before the continuous chunk's first frame: the
    seam moves on by one frame's step, no more (views step by whole pixels, so steps vary a little)."""
    first, second = make_beat(tmp_path, big_card, camera, [N, N], frame=BIG)
    before, after = decode(first)[0], decode(second)[0]
    seam = mad(before[-1], after[0])
    steps = [mad(a, b) for a, b in itertools.pairwise(before)] + [mad(a, b) for a, b in itertools.pairwise(after)]
    assert seam > 0.2
    assert seam < 1.2 * max(steps)
    assert mad(before[-1], after[4]) > mad(before[-1], after[0])  # and on in the same direction


@pytest.mark.parametrize("camera", ["push_in", "pull_out", "pan_left", "pan_right", "static"])
def test_video_has_exact_frames_size_and_rate(tmp_path: Path, card: Path, camera: Camera) -> None:
    out = tmp_path / "chunks" / "chunk_000.mp4"
    result = AnimaticBackend().video(video_request(camera, frames=13), card, out)
    frames, rate = decode(out)
    assert len(frames) == 13
    assert frames[0].shape == (H, W, 3)
    assert rate == FPS
    assert result.model == MOTION_MODEL
    assert result.cost_usd == 0.0
    assert result.extra["camera"] == camera
    assert result.extra["clip_frames"] == "13"  # without clip_frames, the chunk is the whole clip
    assert sorted(p.name for p in out.parent.iterdir()) == ["chunk_000.mp4"]
    if camera in ("push_in", "static"):
        assert mad(frames[0], pixels(card)) < 3.5  # frame 0 is the card itself (up to H.264 loss)


def test_a_pan_over_an_image_without_a_card_request_stays_inside_it(tmp_path: Path) -> None:
    """An image another backend (or a person) made cannot be drawn wider: the pan travels across it
    cover-fitted to the wider canvas, still without a border."""
    source = tmp_path / "photo.png"
    gradient = np.linspace(0, 255, 640, dtype=np.float64)[None, :, None] * np.ones((480, 1, 3))
    Image.fromarray(gradient.astype(np.uint8)).save(source)
    frames = [f for out in make_beat(tmp_path, source, "pan_right", [N, N], image=source) for f in decode(out)[0]]
    assert len(frames) == 2 * N
    assert card_request(source) is None
    for frame in (frames[0], frames[-1]):
        assert frame.shape == (H, W, 3)
        assert np.all(np.diff(frame[H // 2, 8:-8, 0]) > -6)  # the gradient, not a mirrored edge


def test_video_fits_a_source_of_another_size(tmp_path: Path) -> None:
    source = tmp_path / "big.png"
    Image.new("RGB", (640, 480), (200, 100, 50)).save(source)
    out = tmp_path / "chunk.mp4"
    AnimaticBackend().video(video_request("push_in", frames=5), source, out)
    frames, _ = decode(out)
    assert len(frames) == 5
    assert frames[0].shape == (H, W, 3)
    assert mad(frames[0], np.full((H, W, 3), (200.0, 100.0, 50.0))) < 3


def test_card_png_carries_its_request(card: Path) -> None:
    assert card_request(card) == replace(card_request_of_fixture(), video_id="")


def test_the_same_beat_in_two_videos_is_the_same_card(tmp_path: Path) -> None:
    backend = AnimaticBackend()
    backend.image(card_request_for(video_id="cold-brew"), tmp_path / "a.png")
    backend.image(card_request_for(video_id="cold-brew--b"), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def card_request_of_fixture() -> ImageRequest:
    return card_request_for(beat_index=0, start_frame=0, end_frame=2 * N)


def test_video_rejects_empty_chunks_and_continuous_chunks_without_their_card(tmp_path: Path, card: Path) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        AnimaticBackend().video(video_request("static", frames=0), card, tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="storyboard_image"):
        AnimaticBackend().video(video_request("pan_left", "continuous", offset=N), card, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_static_camera_repeats_the_card(tmp_path: Path, card: Path) -> None:
    frames = [f for out in make_beat(tmp_path, card, "static", [N, N]) for f in decode(out)[0]]
    assert max(mad(frame, pixels(card)) for frame in frames) < 3.0
    assert max(mad(a, b) for a, b in itertools.pairwise(frames)) < 1.0


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
