"""The comfyui backend against fake ComfyUI servers over real HTTP: real media in, normalised media out,
ComfyUI's refusals and node errors as messages naming the node, servers that die or forget, deadlines,
the pool, the cache, the cost of measured GPU time and a hard budget."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from vidgen_assets.backends import BackendUnavailable
from vidgen_assets.backends.comfyui import ComfyUIBackend, ledger
from vidgen_assets.backends.comfyui_client import ComfyUIFailed
from vidgen_assets.backends.comfyui_pool import ServerPool
from vidgen_assets.comfy_workflows import read_local_workflows
from vidgen_assets.core.generation import Frame, ImageRequest, MusicRequest, SpeechRequest, VideoRequest
from vidgen_assets.core.spec import load_spec
from vidgen_assets.media import probe
from vidgen_assets.storage.store import LocalStore
from vidgen_tests.conftest import free_port
from vidgen_tests.fakes.comfyui_server import FakeComfyUI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "comfyui"
FRAME = Frame(width=854, height=480, fps=24)
MUSIC_WORKFLOW = {
    "14": {"class_type": "EmptyAceStepLatentAudio", "inputs": {"seconds": 30, "batch_size": 1}},
    "15": {
        "class_type": "TextEncodeAceStepAudio",
        "inputs": {"clip": ["40", 1], "tags": "lofi", "lyrics": "", "lyrics_strength": 1.0},
    },
    "40": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "flux1-schnell-fp8.safetensors"}},
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "model": ["40", 0],
            "seed": 0,
            "steps": 50,
            "cfg": 5,
            "sampler_name": "euler",
            "scheduler": "simple",
            "positive": ["15", 0],
            "negative": ["15", 0],
            "latent_image": ["14", 0],
            "denoise": 1,
        },
    },
    "18": {"class_type": "VAEDecodeAudio", "inputs": {"samples": ["3", 0], "vae": ["40", 2]}},
    "19": {"class_type": "SaveAudio", "inputs": {"audio": ["18", 0], "filename_prefix": "audio/vidgen"}},
}


def spec_folder(tmp: Path, servers: list[str], extra: str = "", budget: str = "", price: str = "0") -> Path:
    """The example spec and its workflows in `tmp`, on `servers`."""
    for path in EXAMPLES.glob("*.json"):
        (tmp / path.name).write_text(path.read_text())
    (tmp / "music.json").write_text(json.dumps(MUSIC_WORKFLOW))
    text = (EXAMPLES / "loft-tour.yaml").read_text()
    text = text.replace(
        'servers: ["http://127.0.0.1:8188", "http://127.0.0.1:8189"]', f"servers: {json.dumps(servers)}"
    )
    text = text.replace("price_per_second: 0 ", f"price_per_second: {price} ") + budget + extra
    path = tmp / "loft-tour.yaml"
    path.write_text(text)
    return path


MUSIC_AND_VOICE = """
    music: {file: music.json, prompt: "15.tags", seed: "3.seed", duration: "14.seconds", output: "19"}
    voice: {file: music.json, prompt: "15.lyrics", output: "19"}
"""


def backend_for(
    tmp: Path, fakes: list[FakeComfyUI], extra: str = "", store: bool = True, deadline_s: float = 60, **kwargs: Any
) -> ComfyUIBackend:
    path = spec_folder(tmp, [f.url for f in fakes], **kwargs)
    if extra:
        text = path.read_text().replace("  price_per_second:", extra.strip("\n") + "\n  price_per_second:")
        path.write_text(text)
    spec = load_spec(path)
    flows = read_local_workflows(spec, path)
    pool = ServerPool(tuple(f.url for f in fakes))
    ledger(spec.id, fresh=True)
    return ComfyUIBackend(spec, flows, store=LocalStore(tmp / "data") if store else None, poll_s=0.02, pool=pool,
                          deadline_s=deadline_s)  # fmt: skip


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeComfyUI]:
    server = FakeComfyUI(run_s=0.05).start()
    try:
        yield server
    finally:
        server.stop()


def image_request(beat: int = 0, prompt: str = "a loft", seed: int = 1) -> ImageRequest:
    return ImageRequest(
        video_id="loft-tour", beat_index=beat, beat_count=3, beat_name="b", prompt=prompt, camera="static",
        start_frame=0, end_frame=120, frame=FRAME, palette=(), aesthetic="warm", seed=seed,
    )  # fmt: skip


def video_request(kind: str, frames: int, end_image: Path | None = None, seed: int = 2) -> VideoRequest:
    return VideoRequest(
        video_id="loft-tour", chunk_index=1, beat_index=0, kind=kind, prompt="a door opens",  # type: ignore[arg-type]
        camera="push_in", frames=frames, motion_offset=0, frame=FRAME, seed=seed,
        end_image=str(end_image) if end_image else None,
    )  # fmt: skip


def a_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (854, 480)) -> Path:
    Image.new("RGB", size, colour).save(path, format="PNG")
    return path


def last_prompt(fake: FakeComfyUI) -> dict[str, Any]:
    return fake.prompts[-1][1]


def test_a_storyboard_image_is_a_png_at_the_plan_size_and_a_repeat_is_answered_by_the_cache(fake, tmp_path):
    backend = backend_for(tmp_path, [fake])
    before = len(fake.prompts)
    gen = backend.image(image_request(), tmp_path / "beat_00.png")
    sent = last_prompt(fake)
    assert (sent["5"]["inputs"]["width"], sent["5"]["inputs"]["height"]) == (848, 480)  # floored to 16
    assert sent["6"]["inputs"]["text"].startswith("a loft. Style: warm") and sent["3"]["inputs"]["seed"] == 1
    with Image.open(tmp_path / "beat_00.png") as image:
        assert (image.format, image.size) == ("PNG", (854, 480))
    assert gen.model == "comfyui:image" and gen.extra["server"] == fake.url and gen.extra["cache"] == "miss"
    again = backend.image(image_request(), tmp_path / "again.png")
    assert len(fake.prompts) == before + 1 and again.cache_hit
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "beat_00.png").read_bytes()
    backend.image(image_request(seed=9), tmp_path / "other.png")  # another value bound: another call
    assert len(fake.prompts) == before + 2


def test_a_continuous_chunk_uploads_its_exact_start_frame_asks_4n_plus_1_frames_and_is_normalised(fake, tmp_path):
    fake.rename_uploads = True  # the server answers another name than the one sent: that one is bound
    try:
        backend = backend_for(tmp_path, [fake])
        start = a_png(tmp_path / "chunk_000.last.png", (200, 60, 40))
        gen = backend.video(video_request("continuous", 132), start, tmp_path / "chunk_001.mp4")
    finally:
        fake.rename_uploads = False
    sent = last_prompt(fake)
    assert sent["50"]["inputs"]["length"] == 89 and gen.extra["frames_asked"] == "89"  # 132 frames at 24 -> 88 at 16
    assert (sent["50"]["inputs"]["width"], sent["50"]["inputs"]["height"]) == (848, 480)
    bound = sent["52"]["inputs"]["image"]
    assert bound.endswith(" (1).png") and fake.uploads[bound] == start.read_bytes()
    info = probe.probe(tmp_path / "chunk_001.mp4")
    assert (info.frames, info.width, info.height, info.fps) == (132, 854, 480, Fraction(24))
    assert gen.extra["source_image_sha256"] and float(gen.extra["gpu_seconds"]) > 0


def test_a_bridge_from_an_animated_webp_is_retimed_to_its_frames_and_ends_on_the_end_image(fake, tmp_path):
    backend = backend_for(tmp_path, [fake])
    start = a_png(tmp_path / "start.png", (250, 20, 20))
    end = a_png(tmp_path / "end.png", (20, 20, 250))
    backend.video(video_request("bridge", 24, end_image=end), start, tmp_path / "b000.mp4")
    sent = last_prompt(fake)
    assert sent["50"]["class_type"] == "WanFirstLastFrameToVideo" and sent["50"]["inputs"]["length"] == 17
    assert fake.uploads[sent["53"]["inputs"]["image"]] == end.read_bytes()
    webp = fake.outputs_of("SaveAnimatedWEBP")
    assert webp and fake.history(webp[-1])[webp[-1]]["outputs"]["28"]["animated"] == [True]
    info = probe.probe(tmp_path / "b000.mp4")
    assert (info.frames, info.width, info.height) == (24, 854, 480)
    last = tmp_path / "last.png"
    probe.last_frame(tmp_path / "b000.mp4", last)
    pixel = np.asarray(Image.open(last).convert("RGB"), dtype=np.int32)[240, 427]
    assert abs(pixel - np.array([20, 20, 250])).max() < 30, pixel  # the bridge ends on the end image


def broken_workflow(tmp: Path, fakes: list[FakeComfyUI], change: dict[str, Any]) -> ComfyUIBackend:
    backend = backend_for(tmp, fakes)
    flow = backend.flows["video"]
    nodes = json.loads(flow.data)
    for node_id, inputs in change.items():
        nodes[node_id] = inputs
    object.__setattr__(flow, "nodes", nodes)
    return backend


def test_a_workflow_the_server_refuses_fails_at_once_naming_the_node_and_input(fake, tmp_path):
    start = a_png(tmp_path / "s.png", (1, 2, 3))
    missing_model = {"37": {"class_type": "UNETLoader", "inputs": {"unet_name": "wan2.2_nope.safetensors",
                                                                    "weight_dtype": "default"}}}  # fmt: skip
    backend = broken_workflow(tmp_path, [fake], missing_model)
    with pytest.raises(ComfyUIFailed) as refused:
        backend.video(video_request("reference", 120), start, tmp_path / "x.mp4")
    assert not refused.value.retryable
    assert "node 37 (UNETLoader) input 'unet_name': Value not in list" in str(refused.value)
    assert "comfyui.workflows.video (i2v_wan22_14b.json)" in str(refused.value)
    unknown = {"99": {"class_type": "WanVaceToVideo", "inputs": {}}}
    with pytest.raises(ComfyUIFailed, match=r"node 99: Cannot execute because node WanVaceToVideo does not exist"):
        broken_workflow(tmp_path, [fake], unknown).video(video_request("reference", 120), start, tmp_path / "y.mp4")


def test_a_node_error_fails_the_call_with_comfyuis_message_and_an_out_of_memory_is_queued_again(fake, tmp_path):
    backend = backend_for(tmp_path, [fake])
    start = a_png(tmp_path / "s.png", (9, 9, 9))
    fake.fail_next("KSamplerAdvanced", "mat1 and mat2 shapes cannot be multiplied (77x4096 and 768x320)")
    with pytest.raises(ComfyUIFailed) as failed:
        backend.video(video_request("reference", 120, seed=31), start, tmp_path / "x.mp4")
    text = str(failed.value)
    assert "node 57 (KSamplerAdvanced) failed: mat1 and mat2 shapes cannot be multiplied" in text
    assert failed.value.retryable  # the step's RetryPolicy may try again
    before = len(fake.prompts)
    fake.fail_next("KSamplerAdvanced", "Allocation on device 0 would exceed allowed memory", "torch.OutOfMemoryError")
    gen = backend.video(video_request("reference", 120, seed=32), start, tmp_path / "y.mp4")
    assert len(fake.prompts) == before + 2 and probe.probe(tmp_path / "y.mp4").frames == 120
    assert gen.extra["server"] == fake.url


def test_a_prompt_past_the_deadline_is_interrupted_and_the_call_fails(tmp_path):
    slow = FakeComfyUI(run_s=5).start()
    try:
        backend = backend_for(tmp_path, [slow], deadline_s=0.5)
        with pytest.raises(ComfyUIFailed, match=r"still running after 0.5 s \(VIDGEN_COMFYUI_DEADLINE\); interrupted"):
            backend.image(image_request(), tmp_path / "x.png")
        assert slow.interrupts == [slow.prompts[-1][0]] and slow.deleted == [slow.prompts[-1][0]]
    finally:
        slow.stop()


def test_a_prompt_lost_by_a_restarted_server_is_queued_again_and_a_dead_server_gives_its_job_to_another(tmp_path):
    a, b = FakeComfyUI(run_s=0.3).start(), FakeComfyUI(run_s=0.05).start()
    try:
        backend = backend_for(tmp_path, [a, b])
        restarted = threading.Event()

        def restart_when_dead() -> None:
            deadline = time.monotonic() + 10
            while not a.dead and time.monotonic() < deadline:
                time.sleep(0.01)
            a.restart()
            restarted.set()

        a.die_on_next("SaveImage")
        threading.Thread(target=restart_when_dead, daemon=True).start()
        gen = backend.image(image_request(prompt="lost then found"), tmp_path / "x.png")
        assert restarted.is_set() and gen.extra["server"] in (a.url, b.url)
        assert sum(1 for _, p in a.prompts + b.prompts if "lost then found" in p["6"]["inputs"]["text"]) == 2

        a.die_on_next("SaveImage")  # dies and stays dead: the job goes to b, and the render says so
        gen = backend.image(image_request(prompt="moved"), tmp_path / "y.png")
        assert gen.extra["server"] == b.url and gen.extra["failed_over_from"] == a.url
        assert a.url in backend.pool.down()
    finally:
        a.stop()
        b.stop()


def test_no_server_reachable_is_one_clear_error_before_any_work(tmp_path):
    backend = backend_for(tmp_path, [FakeComfyUI(port=free_port())], store=False)  # never started
    with pytest.raises(BackendUnavailable, match=r"no ComfyUI server reachable: http://127.0.0.1:\d+ \(connection"):
        backend.start_render()


def test_two_servers_take_one_prompt_each_at_a_time(tmp_path):
    a, b = FakeComfyUI(run_s=0.3).start(), FakeComfyUI(run_s=0.3).start()
    try:
        backend = backend_for(tmp_path, [a, b])
        assert backend.max_concurrency == 2
        threads = [
            threading.Thread(target=backend.image, args=(image_request(beat=i, seed=100 + i), tmp_path / f"{i}.png"))
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (len(a.ran), len(b.ran)) == (2, 2) and (a.max_outstanding, b.max_outstanding) == (1, 1)
    finally:
        a.stop()
        b.stop()


def test_gpu_time_is_billed_at_the_price_and_the_budget_stops_a_call_before_it_starts(fake, tmp_path):
    backend = backend_for(tmp_path, [fake], price="0.5", budget="budget_usd: 7\n")
    first = backend.image(image_request(seed=501), tmp_path / "a.png")
    measured = float(first.extra["gpu_seconds"])
    assert measured > 0 and first.cost_usd == pytest.approx(0.5 * measured, abs=1e-3)
    # Each image is estimated at its stated 6 s, $3: once $5 is spent, another would pass $7.
    ledger(backend.video_id).spent += Decimal(5)  # as if earlier calls had run longer than stated
    before = len(fake.prompts)
    with pytest.raises(ComfyUIFailed, match=r"not started: budget_usd \$7.00 would be passed") as refused:
        backend.image(image_request(seed=503), tmp_path / "c.png")
    assert not refused.value.retryable and len(fake.prompts) == before
    ledger(backend.video_id).spent -= Decimal(5)  # the refused call held no server: the next one runs
    backend.image(image_request(seed=504), tmp_path / "d.png")
    assert len(fake.prompts) == before + 1


def test_music_and_voice_workflows_make_the_bed_and_the_lines_and_without_them_the_local_ones_do(fake, tmp_path):
    backend = backend_for(tmp_path, [fake], extra=MUSIC_AND_VOICE)
    gen = backend.music(MusicRequest(video_id="v", mood="calm", bpm=84, seconds=12.5, seed=4), tmp_path / "m.wav")
    sent = last_prompt(fake)
    assert sent["14"]["inputs"]["seconds"] == 13 and "calm instrumental" in sent["15"]["inputs"]["tags"]
    music = probe.probe(tmp_path / "m.wav")
    assert music.has_audio and music.audio_duration_s == pytest.approx(12.5, abs=0.01) and gen.model == "comfyui:music"
    line = SpeechRequest(video_id="v", beat_index=0, text="Home, at last.", voice="narrator", speed=1.0,
                         max_seconds=4.0, seed=1)  # fmt: skip
    backend.speech(line, tmp_path / "line.wav")
    assert last_prompt(fake)["15"]["inputs"]["lyrics"] == "Home, at last."
    assert backend.speech_identity and backend.speech_identity.startswith("comfyui:voice=")
    local = backend_for(_fresh(tmp_path), [fake])
    before = len(fake.prompts)
    assert local.music(MusicRequest("v", "calm", 84, 5.0, 4), tmp_path / "local.wav").model == "animatic-music-v1"
    assert len(fake.prompts) == before and local.speech_identity is None


def _fresh(tmp: Path) -> Path:
    path = tmp / "fresh"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("output", "listed"),
    [
        ({"class_type": "VHS_VideoCombine", "inputs": {"images": ["8", 0], "frame_rate": 16, "loop_count": 0,
          "filename_prefix": "vidgen", "format": "video/h264-mp4", "pingpong": False, "save_output": True}}, "gifs"),
        ({"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "frames/vidgen"}}, "images"),
    ],
)  # fmt: skip
def test_a_video_is_judged_by_its_files_not_the_list_they_come_under(fake, tmp_path, output, listed):
    # VideoHelperSuite's MP4 under `gifs`, or the frames saved one PNG each: both become the chunk.
    backend = broken_workflow(tmp_path, [fake], {"61": output})
    flow = backend.flows["video"]
    if output["class_type"] == "VHS_VideoCombine":
        del flow.nodes["60"]  # its frame rate is the combine node's own
    else:  # frames saved as images carry no rate: the spec gives it (`fps: 16`)
        object.__setattr__(flow, "binding", flow.binding.model_copy(update={"fps": 16}))
    start = a_png(tmp_path / "s.png", (40, 90, 160))
    backend.video(video_request("reference", 60, seed=70 + len(listed)), start, tmp_path / "c.mp4")
    pid = fake.prompts[-1][0]
    files = fake.history(pid)[pid]["outputs"]["61"][listed]
    assert len(files) == (1 if listed == "gifs" else 41)  # 60 frames at 24 fps: 41 at 16
    info = probe.probe(tmp_path / "c.mp4")
    assert (info.frames, info.width, info.height, info.fps) == (60, 854, 480, Fraction(24))


def test_editing_a_workflow_file_changes_the_cache_key_of_what_it_makes(fake, tmp_path):
    backend = backend_for(tmp_path, [fake])
    backend.image(image_request(seed=77), tmp_path / "a.png")
    nodes = json.loads((tmp_path / "t2i_flux_schnell.json").read_text())
    nodes["3"]["inputs"]["steps"] = 8
    (tmp_path / "t2i_flux_schnell.json").write_text(json.dumps(nodes))
    spec = load_spec(tmp_path / "loft-tour.yaml")
    edited = ComfyUIBackend(spec, read_local_workflows(spec, tmp_path / "loft-tour.yaml"),
                            store=LocalStore(tmp_path / "data"), poll_s=0.02, pool=backend.pool)  # fmt: skip
    before = len(fake.prompts)
    edited.image(image_request(seed=77), tmp_path / "b.png")
    assert len(fake.prompts) == before + 1 and last_prompt(fake)["3"]["inputs"]["steps"] == 8
    assert edited.identity != backend.identity


def test_the_fake_answers_every_route_under_api_too(fake):
    import httpx

    assert httpx.get(f"{fake.url}/api/queue").json() == httpx.get(f"{fake.url}/queue").json()
    refused = httpx.post(f"{fake.url}/api/prompt", json={"prompt": {"1": {"class_type": "Nope", "inputs": {}}}})
    assert refused.status_code == 400 and refused.json()["error"]["details"] == "Node ID '#1'"
    assert httpx.get(f"{fake.url}/api/history/unknown").json() == {}
