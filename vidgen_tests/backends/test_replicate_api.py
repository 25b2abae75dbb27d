"""The API details that bite, against the fake Replicate API over real HTTP with the real client:
`Prefer: wait` with a fall-back to polling, `Cancel-After` deadlines, the `aborted` status, `data:` URI
outputs, a 429 whose body says when the limit resets, end frames, reference images and switched-off audio."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.backends.replicate import (
    Limits,
    ReplicateFailed,
    RetryPolicy,
    parse_prediction,
    reset_seconds,
)
from vidgen_assets.core.generation import Frame, ReferenceImage, VideoRequest
from vidgen_assets.media import probe
from vidgen_assets.settings import Settings, SettingsError
from vidgen_tests.backends.test_replicate import FLUX, WAN, backend, image_request, video_request
from vidgen_tests.fakes import Outcome
from vidgen_tests.fakes.replicate_server import png_for

HAILUO = "minimax/hailuo-02"
VEO = "google/veo-3.1"


def polls(fake) -> int:
    return len([r for r in fake.calls("GET", "/v1/predictions/")])


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "start.png"
    path.write_bytes(png_for("16:9", 7))
    return path


def test_prefer_wait_answers_a_quick_prediction_on_create_with_no_polling(replicate_env, tmp_path):
    fake = replicate_env
    b = backend(fake, tmp_path)  # read_s=10: the API may hold the create up to 10 s
    b.image(image_request(), tmp_path / "i.png")
    assert fake.create_headers == [{"Prefer": "wait=10", "Cancel-After": "1800s"}]
    assert polls(fake) == 0


def test_a_create_still_processing_after_the_wait_falls_back_to_polling(replicate_env, tmp_path):
    fake = replicate_env
    fake.run_seconds[FLUX] = 1.6
    b = backend(fake, tmp_path, limits=Limits(connect_s=5, read_s=1, download_s=20))  # holds 1 s at most
    gen = b.image(image_request(), tmp_path / "i.png")
    assert fake.create_headers[0]["Prefer"] == "wait=1"
    assert polls(fake) >= 1 and gen.cost_usd == 0.003
    # Polls a prediction must see are left to the client even with `Prefer: wait`.
    fake.fail_next(FLUX, Outcome(processing_polls=3))
    b.image(image_request(seed=1), tmp_path / "j.png")
    assert polls(fake) >= 4


def test_the_deadline_setting_is_sent_as_cancel_after(replicate_env, tmp_path):
    assert Settings.from_env({}).replicate_deadline == 1800
    assert Settings.from_env({"VIDGEN_REPLICATE_DEADLINE": "90"}).replicate_deadline == 90
    for bad in ("3", "1m", "-5"):
        with pytest.raises(SettingsError, match="VIDGEN_REPLICATE_DEADLINE"):
            Settings.from_env({"VIDGEN_REPLICATE_DEADLINE": bad})
    fake = replicate_env
    from vidgen_assets.backends import get_backend

    def settings(deadline: str) -> Settings:
        return Settings.from_env({"VIDGEN_REPLICATE_DEADLINE": deadline, "REPLICATE_API_TOKEN": fake.token,
                                  "REPLICATE_BASE_URL": fake.url, "VIDGEN_DATA": str(tmp_path / "d")})  # fmt: skip

    get_backend("replicate", settings("45"), {}).image(image_request(), tmp_path / "i.png")
    assert fake.create_headers[-1]["Cancel-After"] == "45s"
    get_backend("replicate", settings("0"), {}).image(image_request(seed=3), tmp_path / "k.png")
    assert "Cancel-After" not in fake.create_headers[-1]


def test_a_prediction_canceled_at_its_deadline_while_running_is_billed_and_reported(replicate_env, tmp_path, source):
    fake = replicate_env
    fake.run_seconds[WAN] = 5.0
    b = backend(fake, tmp_path, limits=Limits(connect_s=5, read_s=10, download_s=20, deadline_s=1))
    with pytest.raises(ReplicateFailed, match=r"canceled: canceled; 1 failed prediction\(s\) ran and were billed"):
        b.video(video_request(), source, tmp_path / "c.mp4")
    assert fake.create_count(WAN) == 1 and b.spent == Decimal("0.05")


def test_aborted_predictions_are_not_billed_and_are_made_again_within_bounds(replicate_env, tmp_path, source):
    fake = replicate_env
    fake.fail_next(WAN, Outcome(status="aborted", ran=False))
    b = backend(fake, tmp_path)
    gen = b.video(video_request(), source, tmp_path / "c.mp4")
    assert fake.create_count(WAN) == 2 and gen.cost_usd == 0.05 and b.spent == Decimal("0.05")
    assert probe.probe(tmp_path / "c.mp4").frames == 120
    # Queued past its deadline every time: aborted three times, nothing paid, a clear failure.
    fake.fail_next(WAN, *[Outcome(queued_s=5.0)] * 3)
    slow = backend(fake, tmp_path, cache=False, limits=Limits(connect_s=5, read_s=10, download_s=20, deadline_s=1))
    with pytest.raises(
        ReplicateFailed, match=r"prediction \w+ aborted \(transient, after 3 prediction\(s\)\).*not billed"
    ):
        slow.video(video_request(seed=9), source, tmp_path / "d.mp4")
    assert slow.spent == 0 and fake.create_count(WAN) == 5


def test_the_client_model_rejects_aborted_so_predictions_are_parsed_from_json():
    found = parse_prediction({"id": "p1", "status": "aborted", "model": WAN, "input": {}, "error": None})
    assert (found.id, found.status) == ("p1", "aborted")
    from replicate.prediction import Prediction

    data: dict[str, Any] = {"id": "p1", "model": WAN, "version": "v", "status": "aborted", "input": {}, "urls": {}}
    with pytest.raises(Exception, match="permitted"):
        Prediction(**data)


def test_data_uri_outputs_are_decoded_and_checked(replicate_env, tmp_path, source):
    fake = replicate_env
    fake.data_uri_outputs = True
    b = backend(fake, tmp_path)
    b.video(video_request(), source, tmp_path / "c.mp4")
    b.image(image_request(), tmp_path / "i.png")
    assert probe.probe(tmp_path / "c.mp4").frames == 120
    assert Image.open(tmp_path / "i.png").size == (160, 90)
    assert fake.calls("GET", "/files/") == []


@pytest.mark.parametrize(
    ("detail", "seconds"),
    [("Request was throttled. Your rate limit resets in ~2s.", 2.0), ("rate limit resets in 1.5 seconds", 1.5),
     ("Rate limit reset in ~1m", 60.0), ("resets in 250ms", 0.25), ("slow down", None), ("", None)],
)  # fmt: skip
def test_reset_seconds_reads_the_429_body(detail, seconds):
    assert reset_seconds(detail) == seconds


def test_a_429_without_retry_after_waits_as_long_as_its_body_says(replicate_env, tmp_path):
    fake = replicate_env
    fake.faults.create.append((429, None, "Request was throttled. Your rate limit resets in ~2s."))
    slept: list[float] = []
    retry = RetryPolicy(attempts=4, base_s=0.001, cap_s=30, total_s=60, prediction_attempts=1)
    b = backend(fake, tmp_path, retry=retry, sleep=slept.append)
    b.image(image_request(), tmp_path / "i.png")
    assert slept[0] == 2.0 and fake.create_count(FLUX) == 1


def test_a_bridge_sends_the_end_frame_asks_the_shortest_clip_and_is_retimed_to_its_frames(
    replicate_env, tmp_path, source
):
    fake = replicate_env
    end = tmp_path / "end.png"
    Image.new("RGB", (320, 180), (250, 20, 20)).save(end)
    b = backend(fake, tmp_path, models={"video": HAILUO})
    request = VideoRequest(
        video_id="v", chunk_index=0, beat_index=0, kind="bridge", prompt="a then b", camera="static", frames=24,
        motion_offset=0, frame=Frame(160, 90, 24), seed=0, end_image=str(end),
    )  # fmt: skip
    gen = b.video(request, source, tmp_path / "b.mp4")
    sent = fake.creates[0][1]
    assert sent["duration"] == 6 and "first_frame_image" in sent  # hailuo's shortest clip covering 1 s
    assert fake.sent_images(0)["last_frame_image"] == [end.read_bytes()]
    assert gen.cost_usd == 0.27 and gen.extra["billed_seconds"] == "6"
    info = probe.probe(tmp_path / "b.mp4")
    assert (info.frames, info.width, info.height) == (24, 160, 90)
    # The whole clip was kept, sped up: it ends on the end frame (the fake's clip blends start -> end).
    last = tmp_path / "last.png"
    probe.last_frame(tmp_path / "b.mp4", last)
    pixel = np.asarray(Image.open(last).convert("RGB"), dtype=float).mean(axis=(0, 1))
    assert abs(pixel[0] - 250) < 12 and pixel[1] < 40
    with pytest.raises(ValueError, match="no end-frame input"):
        backend(fake, tmp_path).video(request, source, tmp_path / "x.mp4")


def test_reference_images_are_sent_as_a_list_and_audio_is_switched_off(replicate_env, tmp_path, source):
    fake = replicate_env
    refs = []
    for i in range(4):
        path = tmp_path / f"ref{i}.png"
        Image.new("RGB", (64, 64), (i * 60, 10, 10)).save(path)
        refs.append(ReferenceImage(name=f"r{i}", path=str(path), sha256=str(i)))
    b = backend(fake, tmp_path, models={"video": VEO})
    request = VideoRequest(
        video_id="v", chunk_index=0, beat_index=0, kind="reference", prompt="p", camera="static", frames=48,
        motion_offset=0, frame=Frame(160, 90, 24), seed=0, reference_images=tuple(refs),
    )  # fmt: skip
    gen = b.video(request, source, tmp_path / "c.mp4")
    sent = fake.creates[0][1]
    assert sent["generate_audio"] is False and sent["duration"] == 8
    assert fake.sent_images(0)["reference_images"] == [Path(r.path).read_bytes() for r in refs[:3]]  # veo: at most 3
    assert gen.cost_usd == 1.6  # 8 s at the no-audio $0.20/s
