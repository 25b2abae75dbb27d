"""The replicate backend against the fake Replicate API: the real client over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import time
import wave
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image
from replicate.client import Client
from replicate.helpers import FileOutput

from vidgen_assets.backends.registry import REGISTRY
from vidgen_assets.backends.replicate import Limits, ReplicateBackend, ReplicateFailed, RetryPolicy, output_url, sniff
from vidgen_assets.backends.selection import select_models
from vidgen_assets.core.generation import Frame, ImageRequest, MusicRequest, VideoRequest
from vidgen_assets.media import probe
from vidgen_assets.storage.store import LocalStore
from vidgen_tests.fakes import FakeReplicate, Outcome
from vidgen_tests.fakes.replicate_server import png_for

FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05, total_s=5.0, prediction_attempts=3, prediction_timeout_s=10)
FRAME = Frame(160, 90, 24)
SHORT_WAIT = Limits(connect_s=5, read_s=10, download_s=20, wait_s=1)
"""A create held 1 s at most (`Prefer: wait=1`): a prediction left processing is polled after 1 s, not 10."""
WAN = "wan-video/wan-2.2-i2v-fast"
FLUX = "black-forest-labs/flux-schnell"


def backend(
    fake: FakeReplicate, tmp_path: Path, retry: RetryPolicy = FAST, cache: bool = True, **kw
) -> ReplicateBackend:
    models = kw.pop("models", {})
    limits = kw.pop("limits", Limits(connect_s=5, read_s=10, download_s=20))
    store = LocalStore(tmp_path / "data") if cache else None
    kw.setdefault("poll_interval", 0.05)
    return ReplicateBackend(select_models(models), fake.token, store=store, base_url=fake.url, retry=retry,
                            limits=limits, **kw)  # fmt: skip


class FakeClock:
    """A clock whose sleeps take no time: they move it on (and are noted). Epoch time moves with it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.epoch = time.time()
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.epoch + self.now - 100.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def image_request(seed: int = 0, prompt: str = "a bottle on a counter") -> ImageRequest:
    return ImageRequest(
        video_id="v", beat_index=0, beat_count=1, beat_name="hero", prompt=prompt, camera="push_in",
        start_frame=0, end_frame=120, frame=FRAME, palette=("#112233",), aesthetic="warm", seed=seed,
    )  # fmt: skip


def video_request(frames: int = 120, kind: str = "reference", seed: int = 0) -> VideoRequest:
    return VideoRequest(
        video_id="v", chunk_index=0, beat_index=0, kind=kind, prompt="a bottle", camera="pan_left",  # type: ignore[arg-type]
        frames=frames, motion_offset=0, frame=FRAME, seed=seed,
    )  # fmt: skip


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "start.png"
    path.write_bytes(png_for("16:9", 7))
    return path


def test_image_is_generated_fitted_costed_then_cached(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)
    out = tmp_path / "beat_00.png"
    gen = b.image(image_request(), out)
    with Image.open(out) as image:
        assert (image.format, image.size) == ("PNG", (160, 90))
    assert (gen.model, gen.cost_usd, gen.cache_hit, gen.extra["cache"]) == (FLUX, 0.003, False, "miss")
    assert fake.create_count(FLUX) == 1
    sent = fake.creates[0][1]
    assert sent["aspect_ratio"] == "16:9" and sent["seed"] == 0 and "a bottle on a counter" in sent["prompt"]
    assert all(r.authorized for r in fake.calls(prefix="/v1/"))
    assert gen.extra["prediction_id"] in fake.predictions

    # The same request again: answered by the cache, zero HTTP calls, free.
    before = len(fake.requests)
    again = b.image(image_request(), tmp_path / "again.png")
    assert (again.cache_hit, again.cost_usd, again.extra["cache"]) == (True, 0.0, "hit")
    assert len(fake.requests) == before
    assert (tmp_path / "again.png").read_bytes() == out.read_bytes()
    # Another seed is another request.
    b.image(image_request(seed=1), tmp_path / "other.png")
    assert fake.create_count(FLUX) == 2


def test_wan_chunk_is_normalised_to_exact_frames_from_its_native_832x480_16fps(replicate_env, tmp_path, source):
    fake = replicate_env
    b = backend(fake, tmp_path)
    assert b.chunk_seconds == 5.0
    out = tmp_path / "chunk_000.mp4"
    gen = b.video(video_request(frames=132, kind="continuous"), source, out)
    info = probe.probe(out)
    assert (info.frames, info.width, info.height, info.fps) == (132, 160, 90, Fraction(24))
    sent = fake.creates[0][1]
    assert sent["image"].startswith("data:image/png;base64,")
    assert (sent["num_frames"], sent["frames_per_second"], sent["resolution"]) == (81, 16, "480p")
    assert gen.cost_usd == 0.05 and gen.extra["cache"] == "miss"
    # The downloaded clip really had the model's shape.
    downloaded = next(iter(fake.files.values()))[0]
    (tmp_path / "raw.mp4").write_bytes(downloaded)
    raw = probe.probe(tmp_path / "raw.mp4")
    assert (raw.width, raw.height, raw.fps, raw.frames) == (832, 480, Fraction(16), 81)

    # Same start image and prompt: cached. A different start image: a new call.
    before = len(fake.requests)
    assert b.video(video_request(frames=132, kind="continuous"), source, tmp_path / "c2.mp4").cache_hit
    assert len(fake.requests) == before
    other = tmp_path / "other.png"
    other.write_bytes(png_for("16:9", 8))
    assert not b.video(video_request(frames=132, kind="continuous"), other, tmp_path / "c3.mp4").cache_hit
    assert fake.create_count(WAN) == 2


@pytest.mark.parametrize(
    ("model", "image_key", "price"),
    [
        ("minimax/hailuo-02", "first_frame_image", Decimal("0.045") * 6),
        ("kwaivgi/kling-v2.1", "start_image", Decimal("0.05") * 5),
        ("bytedance/seedance-1-lite", "image", Decimal("0.018") * 5),
    ],
)
def test_each_video_family_gets_its_start_image_key_and_duration(
    replicate_env, tmp_path, source, model, image_key, price
):
    fake = replicate_env
    b = backend(fake, tmp_path, models={"video": model})
    out = tmp_path / "chunk.mp4"
    gen = b.video(video_request(frames=150), source, out)  # longer than the clip: the last frame is held
    assert probe.probe(out).frames == 150
    sent = fake.creates[0][1]
    assert sent[image_key].startswith("data:image/png;base64,")
    assert sent["duration"] == REGISTRY[model].duration
    assert Decimal(str(gen.cost_usd)) == price


def test_large_start_images_are_uploaded_first(replicate_env, tmp_path, source):
    fake = replicate_env
    b = backend(fake, tmp_path, limits=Limits(connect_s=5, read_s=10, data_uri_max_bytes=0))
    b.video(video_request(), source, tmp_path / "c.mp4")
    assert len(fake.uploads) == 1 and source.read_bytes() in fake.uploads[0]
    assert fake.creates[0][1]["image"].startswith(f"{fake.url}/files/upload-")


def test_music_is_an_exact_length_wav(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)
    out = tmp_path / "music.wav"
    gen = b.music(MusicRequest(video_id="v", mood="upbeat", bpm=110, seconds=6.5, seed=0), out)
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (48000, 2, 6.5 * 48000)
    assert fake.creates[0][1]["duration"] == 7 and "110 bpm" in fake.creates[0][1]["prompt"]
    assert Decimal(str(gen.cost_usd)) == Decimal("0.0021") * 7


def test_429_on_create_is_retried_honouring_retry_after(replicate_env, tmp_path):
    fake = replicate_env
    clock = FakeClock()
    b = backend(fake, tmp_path, clock=clock)
    fake.faults.create.extend([(429, "3"), (500, None)])
    gen = b.image(image_request(), tmp_path / "i.png")
    assert gen.cost_usd == 0.003
    assert len(fake.calls("POST", "/v1/models/")) == 3 and fake.create_count() == 1
    assert clock.slept[0] == 0.05  # Retry-After 3 s, bounded by the policy's cap (0.05 s here)


def test_retries_are_bounded_in_attempts_and_name_the_model_and_last_error(replicate_env, tmp_path):
    fake = replicate_env
    clock = FakeClock()
    b = backend(fake, tmp_path, clock=clock)
    fake.faults.create.extend([(429, None)] * 20)
    with pytest.raises(ReplicateFailed) as failed:
        b.image(image_request(), tmp_path / "i.png")
    assert len(clock.slept) == 3 and all(0 <= s <= FAST.cap_s for s in clock.slept)  # 3 waits between 4 attempts
    message = str(failed.value)
    assert FLUX in message and "after 4 attempt(s)" in message and "HTTP 429" in message
    assert len(fake.calls("POST", "/v1/models/")) == 4 and fake.create_count() == 0
    assert failed.value.retryable, "nothing was created: a later run may try again"


def test_retries_are_bounded_in_total_time(replicate_env, tmp_path):
    fake = replicate_env
    policy = RetryPolicy(attempts=100, base_s=5.0, cap_s=60.0, total_s=120.0)
    clock = FakeClock()
    b = backend(fake, tmp_path, retry=policy, clock=clock)
    fake.faults.create.extend([(503, None)] * 200)
    with pytest.raises(ReplicateFailed, match="HTTP 503") as failed:
        b.image(image_request(), tmp_path / "i.png")
    # The waits stop before they would pass the total (in the clock's time, not the wall's), long before
    # the attempts run out; the message says how long the operation took.
    assert sum(clock.slept) <= policy.total_s and len(clock.slept) < 99
    assert len(fake.calls("POST", "/v1/models/")) == len(clock.slept) + 1
    assert f"in {sum(clock.slept):.1f} s" in str(failed.value)


def test_a_hung_poll_times_out_and_is_retried(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, limits=Limits(connect_s=2, read_s=0.5))
    fake.fail_next(FLUX, Outcome(processing_polls=2))  # still processing when the create's wait ends: polled
    fake.faults.hang.append(("/v1/predictions/", 3.0))
    gen = b.image(image_request(), tmp_path / "i.png")
    assert gen.cost_usd == 0.003 and fake.create_count() == 1
    polls = fake.calls("GET", "/v1/predictions/")
    assert len(polls) >= 2 and polls[0].path == polls[1].path  # the hung poll timed out and was sent again


def test_a_create_that_hangs_before_creating_is_sent_again(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, limits=Limits(connect_s=2, read_s=0.5))
    fake.faults.hang.append(("/v1/models/", 3.0))
    gen = b.image(image_request(), tmp_path / "i.png")
    assert len(fake.calls("POST", "/v1/models/")) == 2 and fake.create_count() == 1
    assert gen.cost_usd == 0.003


def test_a_create_that_hangs_after_creating_is_adopted_not_paid_twice(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, limits=Limits(connect_s=2, read_s=0.5))
    fake.faults.hang_after_create.append(3.0)
    gen = b.image(image_request(), tmp_path / "i.png")
    assert len(fake.calls("POST", "/v1/models/")) == 1, "the create was not sent again"
    assert fake.create_count() == 1, "the prediction the timed-out create made was reused"
    assert [r.path for r in fake.calls("GET") if r.path == "/v1/predictions"] == ["/v1/predictions"]
    assert gen.cost_usd == 0.003 and gen.extra["prediction_id"] == next(iter(fake.predictions))


def test_only_a_prediction_created_since_the_timed_out_create_is_adopted(replicate_env, tmp_path):
    """Seen from a clock an hour ahead, the prediction the timed-out create made is older than the create:
    it cannot be that create's, so it is not adopted, and the create is sent again."""
    fake = replicate_env
    clock = FakeClock()
    clock.epoch += 3600
    b = backend(fake, tmp_path, limits=Limits(connect_s=2, read_s=0.5), clock=clock)
    fake.faults.hang_after_create.append(3.0)
    gen = b.image(image_request(), tmp_path / "i.png")
    assert len(fake.calls("POST", "/v1/models/")) == 2 and fake.create_count() == 2
    assert gen.extra["prediction_id"] == list(fake.predictions)[-1]


def test_a_hung_download_times_out_and_is_fetched_again(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, limits=Limits(connect_s=2, read_s=0.5))
    fake.faults.hang.append(("/files/", 3.0))
    assert b.image(image_request(), tmp_path / "i.png").cost_usd == 0.003
    assert len(fake.calls("GET", "/files/")) == 2 and fake.create_count() == 1


def test_storyboard_images_are_generated_concurrently_in_beat_order(replicate_env, tmp_path):
    from vidgen_assets import stages
    from vidgen_assets.core.planner import plan_spec
    from vidgen_assets.core.spec import parse_spec

    fake = replicate_env
    fake.hold_creates_together(3)  # made one at a time, the first would wait alone: none gets through together
    beats = [{"name": f"b{i}", "duration": 5, "prompt": f"shot {i}"} for i in range(3)]
    spec = parse_spec({"id": "v", "prompt": "p", "duration": 15, "backend": "replicate", "beats": beats})
    b = backend(fake, tmp_path)
    out = stages.storyboard(plan_spec(spec, 5.0), b, LocalStore(tmp_path / "data"), tmp_path / "scratch")
    assert fake.held_together == 3 and fake.create_count() == 3, "all three were being created at once"
    assert list(out.files) == [f"storyboard/beat_{i:02d}.png" for i in range(3)]
    assert [g["beat"] for g in out.record["generations"]] == [0, 1, 2]
    assert out.record["cost_usd"] == 0.009


def test_500s_on_poll_are_retried(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, clock=FakeClock(), limits=SHORT_WAIT)
    # Still processing when the create's 1 s wait ends, so the client polls: its first two polls get a 500
    # and a 502, the third sees it processing, the fourth succeeded.
    fake.fail_next(FLUX, Outcome(processing_polls=1))
    fake.faults.get_errors.extend([500, 502])
    gen = b.image(image_request(), tmp_path / "i.png")
    assert not fake.faults.get_errors, "both errors were answered to polls"
    polls = fake.calls("GET", "/v1/predictions/")
    assert [r.path for r in polls] == [f"/v1/predictions/{gen.extra['prediction_id']}"] * 4
    assert (gen.cost_usd, fake.create_count()) == (0.003, 1), "polled again, not created again"
    with Image.open(tmp_path / "i.png") as image:
        assert image.size == (160, 90)


def test_a_prediction_processing_for_a_while_is_waited_on(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, limits=SHORT_WAIT)
    fake.fail_next(FLUX, Outcome(processing_polls=6))
    b.image(image_request(), tmp_path / "i.png")
    assert len(fake.calls("GET", "/v1/predictions/")) >= 7


def test_a_prediction_past_its_timeout_is_canceled(replicate_env, tmp_path):
    fake = replicate_env
    policy = RetryPolicy(attempts=3, base_s=0.01, cap_s=0.02, total_s=2, prediction_timeout_s=0.4)
    b = backend(fake, tmp_path, retry=policy, limits=SHORT_WAIT)
    fake.fail_next(FLUX, Outcome(processing_polls=10_000))
    with pytest.raises(ReplicateFailed, match=r"still processing after 0\.4 s; canceled it"):
        b.image(image_request(), tmp_path / "i.png")
    assert len(fake.calls("POST", "/v1/predictions/")) == 1  # the cancel


def test_a_transient_model_failure_is_retried_and_its_billed_run_counted(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)
    fake.fail_next(FLUX, Outcome("failed", "CUDA error: GPU temporarily unavailable", ran=True))
    gen = b.image(image_request(), tmp_path / "i.png")
    assert fake.create_count() == 2
    assert gen.cost_usd == 0.006 and gen.extra["billed_failures"] == "1"
    assert b.spent == Decimal("0.006")


def test_a_failure_before_running_is_not_billed(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)
    fake.fail_next(FLUX, Outcome("failed", "Service overloaded, try again", ran=False))
    assert b.image(image_request(), tmp_path / "i.png").cost_usd == 0.003


def test_a_permanent_model_failure_names_model_prediction_and_error(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)
    fake.fail_next(FLUX, Outcome("failed", "NSFW content detected in the output", ran=True))
    with pytest.raises(ReplicateFailed) as failed:
        b.image(image_request(), tmp_path / "i.png")
    prediction_id = next(iter(fake.predictions))
    assert str(failed.value) == (
        f"replicate model {FLUX}: prediction {prediction_id} failed: NSFW content detected in the output; "
        "1 failed prediction(s) ran and were billed"
    )
    assert fake.create_count() == 1 and b.spent == Decimal("0.003")
    assert not failed.value.retryable, "a paid, permanent failure is not retried by the orchestrator"


def test_transient_failures_stop_after_the_bounded_number_of_predictions(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)
    fake.fail_next(FLUX, *[Outcome("failed", "request timed out", ran=False)] * 5)
    with pytest.raises(ReplicateFailed, match=r"failed \(transient, after 3 prediction\(s\)\): request timed out"):
        b.image(image_request(), tmp_path / "i.png")
    assert fake.create_count() == 3


def test_a_truncated_download_is_fetched_again_and_only_a_whole_file_is_cached(replicate_env, tmp_path, source):
    fake = replicate_env
    b = backend(fake, tmp_path)
    fake.faults.downloads.append("truncate")
    out = tmp_path / "c.mp4"
    b.video(video_request(), source, out)
    assert probe.probe(out).frames == 120
    assert len(fake.calls("GET", "/files/")) == 2 and fake.create_count() == 1

    fake.faults.downloads.extend(["truncate"] * 10)
    with pytest.raises(ReplicateFailed, match=r"could not download the output \(prediction \w+\) after 4 attempt"):
        b.video(video_request(seed=5), source, tmp_path / "d.mp4")
    cached = sorted(p.name for p in (tmp_path / "data" / "cache").iterdir())
    assert len(cached) == 2, f"only the first, whole download is cached: {cached}"


def test_a_download_over_the_size_cap_fails_at_once(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path, limits=Limits(connect_s=5, read_s=10, max_download_bytes=100))
    with pytest.raises(ReplicateFailed, match=r"after 1 attempt\(s\).*over the 100-byte cap"):
        b.image(image_request(), tmp_path / "i.png")
    assert len(fake.calls("GET", "/files/")) == 1


def test_html_instead_of_media_is_rejected(replicate_env, tmp_path, source):
    fake = replicate_env
    b = backend(fake, tmp_path)
    fake.faults.downloads.extend(["html"] * 10)
    with pytest.raises(ReplicateFailed) as failed:
        b.video(video_request(), source, tmp_path / "c.mp4")
    assert "expected video (mp4/mov/webm), got unknown content starting '<!DOCTYPE ht'" in str(failed.value)
    assert not (tmp_path / "c.mp4").exists()
    assert not (tmp_path / "data" / "cache").exists()


def test_a_wrong_token_fails_at_once_without_showing_it(replicate_env, tmp_path):
    fake = replicate_env
    wrong = "r8_WRONG0token0that0must0not0leak"
    b = ReplicateBackend(select_models({}), wrong, base_url=fake.url, retry=FAST)
    with pytest.raises(ReplicateFailed) as failed:
        b.image(image_request(), tmp_path / "i.png")
    assert "HTTP 401" in str(failed.value) and "check REPLICATE_API_TOKEN" in str(failed.value)
    assert wrong not in str(failed.value) and wrong not in repr(b)
    assert len(fake.calls("POST")) == 1


def test_the_token_is_never_in_errors_logs_or_files(replicate_env, tmp_path, source, caplog):
    fake = replicate_env
    caplog.set_level(logging.DEBUG)
    b = backend(fake, tmp_path)
    errors = []
    fake.faults.create.extend([(429, "0"), (500, None)])
    fake.fail_next(WAN, Outcome("failed", f"worker crashed holding {fake.token}", ran=True))
    try:
        b.video(video_request(), source, tmp_path / "c.mp4")
    except ReplicateFailed as exc:
        errors.append(f"{exc!s} {exc!r}")
    fake.faults.downloads.extend(["html"] * FAST.attempts)
    try:
        b.image(image_request(), tmp_path / "i.png")
    except ReplicateFailed as exc:
        errors.append(f"{exc!s} {exc!r}")
    b.music(MusicRequest(video_id="v", mood="calm", bpm=90, seconds=2, seed=0), tmp_path / "m.wav")
    assert len(errors) == 2 and "[redacted]" in errors[0]
    assert all(r.authorized for r in fake.calls(prefix="/v1/"))
    for text in [*errors, caplog.text, repr(b)]:
        assert fake.token not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert fake.token.encode() not in path.read_bytes(), path


def test_llm_reply_is_joined_text_and_cached(replicate_env, tmp_path):
    fake = replicate_env
    fake.llm_reply = '[{"name": "a", "duration": 5, "prompt": "x"}]'
    b = backend(fake, tmp_path)
    assert b.ask_llm("system", "plan it") == (fake.llm_reply, "meta/meta-llama-3-8b-instruct")
    assert fake.creates[0][1]["system_prompt"] == "system"
    before = len(fake.requests)
    assert b.ask_llm("system", "plan it")[0] == fake.llm_reply
    assert len(fake.requests) == before
    assert b.spent == Decimal("0.0004")


def test_output_forms_and_magic_bytes(tmp_path):
    client = Client(api_token="x", base_url="http://127.0.0.1:9")
    assert (
        output_url(FileOutput("https://replicate.delivery/a/out.mp4", client)) == "https://replicate.delivery/a/out.mp4"
    )
    assert output_url("http://127.0.0.1/files/x.png") == "http://127.0.0.1/files/x.png"
    assert output_url(["http://h/1.png", "http://h/2.png"]) == "http://h/1.png"
    with pytest.raises(ValueError):
        output_url(None)
    assert sniff(png_for("1:1", 0)[:16]) == "png"
    assert sniff(b"\xff\xd8\xff\xe0" + b"\0" * 12) == "jpg"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff(b"\0\0\0\x18ftypisom\0\0\0\0") == "mp4"
    assert sniff(b"\0\0\0\x14ftypqt  \0\0\0\0") == "mov"
    assert sniff(b"\x1a\x45\xdf\xa3" + b"\0" * 12) == "webm"
    assert sniff(b"ID3\x04" + b"\0" * 12) == "mp3"
    assert sniff(b"<!DOCTYPE html>\n") is None
