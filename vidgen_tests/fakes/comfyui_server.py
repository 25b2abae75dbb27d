"""A fake ComfyUI server on 127.0.0.1 that vidgen's client talks to over real HTTP.

Written from ComfyUI's `server.py` and `execution.py`: the routes vidgen uses, also under `/api/`
(`POST /upload/image`, `POST /prompt`, `GET /history/{id}`, `GET /queue`, `GET /view`, `POST /interrupt`,
`POST /queue` with `delete`, `GET /system_stats`), one prompt executed at a time in queue order, and the
replies' shapes: `{prompt_id, number, node_errors}`; a 400 with `error` and `node_errors` (an unknown node
type named only in `error.details`, a model file not installed as `value_not_in_list` with its
`input_name`, an image not uploaded as `Invalid image file`); history `{}` until a prompt ends, then
`{outputs, status: {status_str, completed, messages}}` with `execution_start` / `execution_success` /
`execution_error` messages stamped in milliseconds. Inputs a node does not declare are ignored, as
ComfyUI does. An upload of a name already there with other bytes is renamed `name (1).png`.

It makes real media of the shapes the workflow asks for: a PNG of the latent's size (floored to a
multiple of 8) for an image workflow; for a video workflow `4n+1` frames (the Wan rule: `length` floored
to 4n+1) at the size floored to 8 and at the fps the workflow writes, starting on the uploaded start
image (and ending on the end image), as an H.264 MP4 (`SaveVideo`, VideoHelperSuite's
`VHS_VideoCombine` under `gifs`) or an animated WebP (`SaveAnimatedWEBP`, under `images` with
`animated: [true]`); a FLAC for `SaveAudio` of the seconds an `EmptyAceStepLatentAudio` asks.

Faults: a node error during execution (`fail_next`), a server that dies when a prompt starts running
(`die_on_next`: it stops answering, its queue and history gone; `restart()` brings it back empty on the
same port), a run time per prompt (`run_s`). Everything it saw is recorded: requests, uploads, prompts,
interrupts, deletions, and the most prompts it ever held at once (`max_outstanding`).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import json
import math
import os
import subprocess
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image, ImageOps

from vidgen_assets.media import ops
from vidgen_assets.media.runner import ffmpeg_exe
from vidgen_tests.fakes.replicate_server import wav_bytes


@dataclass(frozen=True)
class NodeDef:
    """What a node type declares: its required and optional inputs, whether it is an output node, and
    which of its inputs name a model file of a folder."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    output: bool = False
    models: tuple[tuple[str, str], ...] = ()


NODES: dict[str, NodeDef] = {
    "CheckpointLoaderSimple": NodeDef(("ckpt_name",), models=(("ckpt_name", "checkpoints"),)),
    "UNETLoader": NodeDef(("unet_name", "weight_dtype"), models=(("unet_name", "diffusion_models"),)),
    "CLIPLoader": NodeDef(("clip_name", "type"), ("device",), models=(("clip_name", "text_encoders"),)),
    "VAELoader": NodeDef(("vae_name",), models=(("vae_name", "vae"),)),
    "CLIPVisionLoader": NodeDef(("clip_name",), models=(("clip_name", "clip_vision"),)),
    "CLIPVisionEncode": NodeDef(("clip_vision", "image", "crop")),
    "CLIPTextEncode": NodeDef(("text", "clip")),
    "LoadImage": NodeDef(("image",)),
    "EmptyLatentImage": NodeDef(("width", "height", "batch_size")),
    "EmptySD3LatentImage": NodeDef(("width", "height", "batch_size")),
    "ModelSamplingSD3": NodeDef(("model", "shift")),
    "KSampler": NodeDef(("model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative",
                         "latent_image", "denoise")),
    "KSamplerAdvanced": NodeDef(("model", "add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                                 "positive", "negative", "latent_image", "start_at_step", "end_at_step",
                                 "return_with_leftover_noise")),
    "VAEDecode": NodeDef(("samples", "vae")),
    "WanImageToVideo": NodeDef(("positive", "negative", "vae", "width", "height", "length", "batch_size"),
                               ("clip_vision_output", "start_image")),
    "WanFirstLastFrameToVideo": NodeDef(
        ("positive", "negative", "vae", "width", "height", "length", "batch_size"),
        ("clip_vision_start_image", "clip_vision_end_image", "start_image", "end_image"),
    ),
    "CreateVideo": NodeDef(("images", "fps"), ("audio",)),
    "SaveImage": NodeDef(("images", "filename_prefix"), output=True),
    "SaveVideo": NodeDef(("video", "filename_prefix", "format", "codec"), output=True),
    "SaveAnimatedWEBP": NodeDef(("images", "filename_prefix", "fps", "lossless", "quality", "method"), output=True),
    "VHS_VideoCombine": NodeDef(("images", "frame_rate", "loop_count", "filename_prefix", "format", "pingpong",
                                 "save_output"), output=True),
    "EmptyAceStepLatentAudio": NodeDef(("seconds", "batch_size")),
    "TextEncodeAceStepAudio": NodeDef(("clip", "tags", "lyrics", "lyrics_strength")),
    "VAEDecodeAudio": NodeDef(("samples", "vae")),
    "SaveAudio": NodeDef(("audio", "filename_prefix"), output=True),
}  # fmt: skip
"""The node types this server knows (core ComfyUI's, and VideoHelperSuite's VHS_VideoCombine)."""
LATENT_NODES = ("EmptyLatentImage", "EmptySD3LatentImage", "WanImageToVideo", "WanFirstLastFrameToVideo",
                "EmptyAceStepLatentAudio")  # fmt: skip
INSTALLED: dict[str, tuple[str, ...]] = {
    "checkpoints": ("flux1-schnell-fp8.safetensors",),
    "diffusion_models": (
        "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
        "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors",
        "wan2.1_flf2v_720p_14B_fp8_e4m3fn.safetensors",
    ),
    "text_encoders": ("umt5_xxl_fp8_e4m3fn_scaled.safetensors",),
    "vae": ("wan_2.1_vae.safetensors",),
    "clip_vision": ("clip_vision_h.safetensors",),
}
"""The model files "installed" on this server: what the example workflows load."""


@dataclass
class _Job:
    number: int
    prompt_id: str
    prompt: dict[str, Any]
    outputs: list[str]
    interrupted: bool = False


@dataclass
class Faults:
    node_errors: deque[tuple[str, str, str]] = field(default_factory=deque)
    """(class type, exception type, message): the next prompt holding such a node fails there."""
    die: deque[list[Any]] = field(default_factory=deque)
    """[output class (or `*`), prompts still to run first, the output class they are counted of]: the
    server dies when the next prompt of the first class starts running once those have run."""


class FakeComfyUI:
    """The server and everything it saw. Start with `start()`, stop with `stop()`."""

    def __init__(self, run_s: float = 0.0, port: int = 0) -> None:
        self.run_s = run_s
        """How long a prompt runs (a GPU's time, scaled down)."""
        self.rename_uploads = False
        """Answer every upload with a name other than the one sent (`x (1).png`), as a server whose input
        folder already holds another file of that name does."""
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []
        self.uploads: dict[str, bytes] = {}
        """The input folder: file name -> bytes."""
        self.prompts: list[tuple[str, dict[str, Any]]] = []
        """Every prompt queued (id, the workflow as sent)."""
        self.ran: list[str] = []
        """Prompt ids in the order they started running."""
        self.refused: list[dict[str, Any]] = []
        self.interrupts: list[str] = []
        self.deleted: list[str] = []
        self.max_outstanding = 0
        self.dead = False
        self._files: dict[tuple[str, str], bytes] = {}
        self._history: dict[str, dict[str, Any]] = {}
        self._queue: deque[_Job] = deque()
        self._running: _Job | None = None
        self._number = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._port = port
        self._life = 0
        """Counts the starts: a worker of an earlier life (before a kill) touches nothing."""
        self._server: ThreadingHTTPServer | None = None
        self._worker: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FakeComfyUI:
        self.dead = False
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self))
        server.daemon_threads = True
        self._server = server
        self._port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        with self._lock:
            self._life += 1
            life = self._life
        self._worker = threading.Thread(target=self._work, args=(life,), daemon=True)
        self._worker.start()
        return self

    def kill(self) -> None:
        """Die as a crashed server does: no more answers, the queue and history gone."""
        with self._lock:
            self.dead = True
            self._queue.clear()
            if self._running is not None:
                self._running.interrupted = True
            self._running = None
            self._history.clear()
            self._wake.notify_all()
        server, self._server = self._server, None
        if server is not None:

            def close() -> None:
                server.shutdown()
                server.server_close()

            threading.Thread(target=close, daemon=True).start()

    def restart(self) -> None:
        """Come back on the same port, with an empty queue and history (its prompts are lost)."""
        if not self.dead:
            self.kill()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                self.start()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the fake ComfyUI could not bind its port again")

    def stop(self) -> None:
        self.kill()

    # -- what tests read -----------------------------------------------------------------------------

    def calls(self, method: str, prefix: str = "") -> list[str]:
        with self._lock:
            return [path for m, path in self.requests if m == method and path.startswith(prefix)]

    def outputs_of(self, kind: str) -> list[str]:
        """Prompt ids that ran a workflow whose output node is of class `kind`."""
        with self._lock:
            return [pid for pid, prompt in self.prompts if pid in self.ran and _output_classes(prompt) & {kind}]

    def fail_next(self, class_type: str, message: str, exception_type: str = "RuntimeError") -> None:
        with self._lock:
            self.faults.node_errors.append((class_type, exception_type, message))

    def die_on_next(self, output_class: str = "*", after: int = 0, of: str | None = None) -> None:
        """Die when a prompt whose output node is of `output_class` (`*`: any) starts running, once `after`
        prompts of class `of` (default: `output_class`) have run."""
        with self._lock:
            self.faults.die.append([output_class, after, of or output_class])

    # -- the API -------------------------------------------------------------------------------------

    def queue_info(self) -> dict[str, Any]:
        with self._lock:
            running = [] if self._running is None else [_item(self._running)]
            return {"queue_running": running, "queue_pending": [_item(j) for j in self._queue]}

    def post_prompt(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prompt = body.get("prompt")
        if not isinstance(prompt, dict):
            error = {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided",
                     "extra_info": {}}  # fmt: skip
            return 400, {"error": error, "node_errors": {}}
        problem = self.validate(prompt)
        if problem is not None:
            with self._lock:
                self.refused.append(problem)
            return 400, problem
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        with self._lock:
            number = self._number
            self._number += 1
            outputs = [k for k, v in prompt.items() if NODES[v["class_type"]].output]
            self._queue.append(_Job(number, prompt_id, prompt, outputs))
            self.prompts.append((prompt_id, prompt))
            self._note_outstanding()
            self._wake.notify_all()
        return 200, {"prompt_id": prompt_id, "number": number, "node_errors": {}}

    def validate(self, prompt: dict[str, Any]) -> dict[str, Any] | None:
        """`execution.validate_prompt`'s answer for `prompt`: None when it is valid, else the 400 body."""
        outputs = []
        for node_id, node in prompt.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return _invalid("Cannot execute because a node is missing the class_type property.", node_id)
            if node["class_type"] not in NODES:
                return _invalid(f"Cannot execute because node {node['class_type']} does not exist.", node_id)
            if NODES[node["class_type"]].output:
                outputs.append(node_id)
        if not outputs:
            error = {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "", "extra_info": {}}
            return {"error": error, "node_errors": {}}
        node_errors: dict[str, Any] = {}
        for node_id, node in prompt.items():
            spec = NODES[node["class_type"]]
            inputs = node.get("inputs", {})
            errors = []
            for name in spec.required:
                if name not in inputs:
                    errors.append({"type": "required_input_missing", "message": "Required input is missing",
                                   "details": name, "extra_info": {"input_name": name}})  # fmt: skip
                elif isinstance(inputs[name], list) and str(inputs[name][0]) not in prompt:
                    errors.append({"type": "bad_linked_input", "message": "Bad linked input",
                                   "details": f"{name}: node {inputs[name][0]} does not exist",
                                   "extra_info": {"input_name": name}})  # fmt: skip
            for name, folder in spec.models:
                value = inputs.get(name)
                if isinstance(value, str) and value not in INSTALLED[folder]:
                    errors.append({"type": "value_not_in_list", "message": "Value not in list",
                                   "details": f"{name}: '{value}' not in {list(INSTALLED[folder])}",
                                   "extra_info": {"input_name": name, "received_value": value}})  # fmt: skip
            if node["class_type"] == "LoadImage":
                with self._lock:
                    known = inputs.get("image") in self.uploads
                if not known:
                    errors.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                                   "details": f"image - Invalid image file: {inputs.get('image')}",
                                   "extra_info": {"input_name": "image"}})  # fmt: skip
            if errors:
                node_errors[node_id] = {
                    "errors": errors,
                    "dependent_outputs": outputs,
                    "class_type": node["class_type"],
                }
        if node_errors:
            details = "\n".join(f"{e['message']}: {e['details']}" for n in node_errors.values() for e in n["errors"])
            error = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                     "details": details, "extra_info": {}}  # fmt: skip
            return {"error": error, "node_errors": node_errors}
        return None

    def upload(self, name: str, data: bytes, overwrite: bool) -> str:
        with self._lock:
            stem, dot, ext = name.rpartition(".")
            if self.rename_uploads and not overwrite:
                name = f"{stem} (1).{ext}"
            i = 1
            while not overwrite and name in self.uploads and self.uploads[name] != data:
                name = f"{stem} ({i}){dot}{ext}"
                i += 1
            self.uploads[name] = data
            return name

    def interrupt(self, prompt_id: str | None) -> None:
        with self._lock:
            if self._running is not None and prompt_id in (None, self._running.prompt_id):
                self._running.interrupted = True
                self.interrupts.append(self._running.prompt_id)

    def delete(self, ids: list[str]) -> None:
        with self._lock:
            self.deleted += ids
            self._queue = deque(j for j in self._queue if j.prompt_id not in ids)

    def history(self, prompt_id: str) -> dict[str, Any]:
        with self._lock:
            entry = self._history.get(prompt_id)
            return {prompt_id: entry} if entry is not None else {}

    def view(self, filename: str, subfolder: str) -> bytes | None:
        with self._lock:
            return self._files.get((subfolder, filename))

    # -- execution -----------------------------------------------------------------------------------

    def _note_outstanding(self) -> None:
        self.max_outstanding = max(self.max_outstanding, len(self._queue) + (self._running is not None))

    def _work(self, life: int) -> None:
        while True:
            with self._wake:
                while not self._queue and not self.dead and life == self._life:
                    self._wake.wait(0.1)
                if self.dead or life != self._life:
                    return
                job = self._queue.popleft()
                self._running = job
                self.ran.append(job.prompt_id)
                classes = _output_classes(job.prompt)
                die = None
                for fault in self.faults.die:
                    if fault[1] > 0 and (fault[2] == "*" or fault[2] in classes):
                        fault[1] -= 1  # one of the prompts it waits for: this one runs
                    elif fault[1] == 0 and (fault[0] == "*" or fault[0] in classes):
                        die = fault
                if die is not None:
                    self.faults.die.remove(die)
            if die is not None:
                self.kill()
                return
            started = int(time.time() * 1000)
            messages: list[list[Any]] = [["execution_start", {"prompt_id": job.prompt_id, "timestamp": started}]]
            try:
                outputs = self._execute(job)
                status = "success"
                messages.append(
                    ["execution_success", {"prompt_id": job.prompt_id, "timestamp": int(time.time() * 1000)}]
                )
            except _NodeFailure as failure:
                outputs, status = {}, "error"
                messages.append(["execution_error", {
                    "prompt_id": job.prompt_id, "node_id": failure.node_id, "node_type": failure.node_type,
                    "executed": [], "exception_message": failure.message, "exception_type": failure.exception_type,
                    "traceback": ["  File \"execution.py\", line 1, in execute\n"], "current_inputs": {},
                    "current_outputs": {}, "timestamp": int(time.time() * 1000),
                }])  # fmt: skip
            except _Interrupted as stop:
                outputs, status = {}, "error"
                stamp = int(time.time() * 1000)
                messages.append(["execution_interrupted", {"prompt_id": job.prompt_id, "node_id": stop.node_id,
                                 "node_type": stop.node_type, "executed": [], "timestamp": stamp}])  # fmt: skip
            with self._lock:
                if self.dead or life != self._life:
                    return
                self._history[job.prompt_id] = {
                    "prompt": [job.number, job.prompt_id, job.prompt, {}, job.outputs],
                    "outputs": outputs,
                    "status": {"status_str": status, "completed": status == "success", "messages": messages},
                    "meta": {},
                }
                self._running = None

    def _execute(self, job: _Job) -> dict[str, Any]:
        prompt = job.prompt
        with self._lock:
            classes = {n["class_type"] for n in prompt.values()}
            failure = next((f for f in self.faults.node_errors if f[0] in classes), None)
            if failure is not None:
                self.faults.node_errors.remove(failure)
        end = time.monotonic() + self.run_s
        while time.monotonic() < end:
            if job.interrupted:
                node_id = job.outputs[0]
                raise _Interrupted(node_id, prompt[node_id]["class_type"])
            time.sleep(0.01)
        if failure is not None:
            node_id = next(k for k, n in prompt.items() if n["class_type"] == failure[0])
            raise _NodeFailure(node_id, failure[0], failure[1], failure[2])
        results = {}
        for node_id in job.outputs:
            results[node_id] = self._make(prompt, node_id, job.prompt_id)
        return results

    def _make(self, prompt: dict[str, Any], node_id: str, prompt_id: str) -> dict[str, Any]:
        node = prompt[node_id]
        kind = node["class_type"]
        inputs = node["inputs"]
        chain = _upstream(prompt, node_id)
        latent = next((prompt[n] for n in chain if prompt[n]["class_type"] in LATENT_NODES), None)
        text, seed = _prompt_text(prompt, chain), _seed(prompt, chain)
        prefix = str(inputs.get("filename_prefix", "ComfyUI"))
        subfolder, _, stem = prefix.rpartition("/")
        name = f"{stem}_{prompt_id[:8]}_00001_"
        if kind == "SaveAudio":
            seconds = float(latent["inputs"].get("seconds", 8)) if latent else 8.0
            return {"audio": [self._store(subfolder, f"{name}.flac", flac_tone(seconds))]}
        if latent is None:
            raise _NodeFailure(node_id, kind, "RuntimeError", "no latent upstream of the output node (fake)")
        width, height = (int(latent["inputs"]["width"]) // 8 * 8, int(latent["inputs"]["height"]) // 8 * 8)
        if kind == "SaveImage" and "length" not in latent["inputs"]:
            return {"images": [self._store(subfolder, f"{name}.png", png_image(width, height, text, seed))]}
        length = int(latent["inputs"].get("length", 1))
        frames = max(1, (length - 1) // 4 * 4 + 1)  # Wan latents: 4n+1 frames
        start = self._loaded(prompt, latent["inputs"].get("start_image"))
        end = self._loaded(prompt, latent["inputs"].get("end_image"))
        fps = _fps(prompt, node_id)
        pictures = video_frames(width, height, frames, text, seed, start, end)
        if kind == "SaveImage":  # a video's frames saved as images: one PNG each, as SaveImage saves a batch
            return {"images": [self._store(subfolder, f"{stem}_{prompt_id[:8]}_{n + 1:05d}_.png", png_of(p))
                               for n, p in enumerate(pictures)]}  # fmt: skip
        if kind == "SaveAnimatedWEBP":
            item = self._store(subfolder, f"{name}.webp", webp_bytes(pictures, fps))
            return {"images": [item], "animated": [True]}
        data = mp4_bytes(pictures, width, height, fps)
        if kind == "VHS_VideoCombine":
            item = {**self._store(subfolder, f"{name}.mp4", data), "format": "video/h264-mp4", "frame_rate": fps}
            return {"gifs": [item]}
        return {"images": [self._store(subfolder, f"{name}.mp4", data)], "animated": [True]}

    def _loaded(self, prompt: dict[str, Any], link: Any) -> bytes | None:
        if not isinstance(link, list):
            return None
        node = prompt[str(link[0])]
        if node["class_type"] != "LoadImage":
            return None
        with self._lock:
            return self.uploads.get(node["inputs"]["image"])

    def _store(self, subfolder: str, filename: str, data: bytes) -> dict[str, Any]:
        with self._lock:
            self._files[(subfolder, filename)] = data
        return {"filename": filename, "subfolder": subfolder, "type": "output"}


class _NodeFailure(Exception):
    def __init__(self, node_id: str, node_type: str, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.node_id, self.node_type, self.exception_type, self.message = node_id, node_type, exception_type, message


class _Interrupted(Exception):
    def __init__(self, node_id: str, node_type: str) -> None:
        super().__init__(node_id)
        self.node_id, self.node_type = node_id, node_type


def _invalid(message: str, node_id: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_prompt", "message": message, "details": f"Node ID '#{node_id}'",
                      "extra_info": {}}, "node_errors": {}}  # fmt: skip


def _item(job: _Job) -> list[Any]:
    return [job.number, job.prompt_id, job.prompt, {}, job.outputs]


def _output_classes(prompt: dict[str, Any]) -> set[str]:
    return {n["class_type"] for n in prompt.values() if n.get("class_type") in NODES and NODES[n["class_type"]].output}


def _upstream(prompt: dict[str, Any], node_id: str) -> list[str]:
    """The nodes `node_id` depends on, nearest first (breadth first over linked inputs)."""
    seen, order, todo = {node_id}, [], deque([node_id])
    while todo:
        current = todo.popleft()
        order.append(current)
        for value in prompt[current].get("inputs", {}).values():
            if isinstance(value, list) and len(value) == 2 and str(value[0]) not in seen:
                seen.add(str(value[0]))
                todo.append(str(value[0]))
    return order


def _prompt_text(prompt: dict[str, Any], chain: list[str]) -> str:
    texts = [str(prompt[n]["inputs"].get("text", "")) for n in chain if prompt[n]["class_type"] == "CLIPTextEncode"]
    return texts[0] if texts else ""


def _seed(prompt: dict[str, Any], chain: list[str]) -> int:
    for n in chain:
        inputs = prompt[n]["inputs"]
        for key in ("seed", "noise_seed"):
            if isinstance(inputs.get(key), int):
                return int(inputs[key])
    return 0


def _fps(prompt: dict[str, Any], node_id: str) -> int:
    for n in _upstream(prompt, node_id):
        inputs = prompt[n]["inputs"]
        for key in ("fps", "frame_rate"):
            value = inputs.get(key)
            if isinstance(value, int | float):
                return round(value)
    return 16


# -- media of the shapes ComfyUI's nodes write -------------------------------------------------------


def _colour(text: str, seed: int) -> np.ndarray[Any, Any]:
    digest = hashlib.sha256(f"{text}|{seed}".encode()).digest()
    return np.array([40 + digest[0] % 170, 40 + digest[1] % 170, 40 + digest[2] % 170], dtype=np.int32)


def png_image(width: int, height: int, text: str, seed: int) -> bytes:
    """A PNG of `width` x `height` whose colours follow the prompt and the seed."""
    base = _colour(text, seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(base[i] + (x * (i + 1) + y * (3 - i)) // 8 % 48) for i in range(3)], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def png_of(frame: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _fit(data: bytes, width: int, height: int) -> np.ndarray[Any, Any]:
    with Image.open(io.BytesIO(data)) as image:
        fitted = ImageOps.fit(image.convert("RGB"), (width, height))
    return np.asarray(fitted, dtype=np.float32)


def video_frames(
    width: int, height: int, frames: int, text: str, seed: int, start: bytes | None, end: bytes | None
) -> list[np.ndarray[Any, Any]]:
    """Frames that start on the start image (a still of the prompt's colour without one) and move: toward
    the end image when there is one (a first-last-frame model), else a slow pan of the start image."""
    first = _fit(start, width, height) if start is not None else np.full((height, width, 3), _colour(text, seed), float)
    last = _fit(end, width, height) if end is not None else None
    out = []
    for n in range(frames):
        t = n / max(1, frames - 1)
        frame = (1 - t) * first + t * last if last is not None else np.roll(first, shift=n * 2, axis=1)
        out.append(frame.round().clip(0, 255).astype(np.uint8))
    return out


def mp4_bytes(frames: list[np.ndarray[Any, Any]], width: int, height: int, fps: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        ops.encode_frames(iter(frames), out, width, height, fps)
        return out.read_bytes()


def webp_bytes(frames: list[np.ndarray[Any, Any]], fps: int) -> bytes:
    """An animated WebP, as `SaveAnimatedWEBP` writes one (a frame duration of 1000/fps ms)."""
    images = [Image.fromarray(f, "RGB") for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="WEBP", save_all=True, append_images=images[1:], duration=round(1000 / fps),
                   loop=0, quality=80, method=0)  # fmt: skip
    return buffer.getvalue()


def flac_tone(seconds: float) -> bytes:
    """A stereo FLAC of `seconds` (whole seconds: what `SaveAudio` writes of an ACE-Step latent)."""
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0", "-c:a", "flac", "-f", "flac",
         "pipe:1"],
        input=wav_bytes(max(1, math.ceil(seconds))), capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout


def multipart_parts(body: bytes, content_type: str) -> dict[str, tuple[bytes, str | None]]:
    """A multipart/form-data body's fields: name -> (bytes, the file name when it is a file)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out: dict[str, tuple[bytes, str | None]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str):
            out[name] = (payload if isinstance(payload, bytes) else b"", part.get_filename())
    return out


def _handler(fake: FakeComfyUI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode())

        def _route(self, method: str) -> tuple[str, dict[str, list[str]]] | None:
            """The route without `/api`, and the query; None when the server is dead (the connection is
            dropped, as a crashed server's is)."""
            if fake.dead:
                self.close_connection = True
                return None
            parts = urlsplit(self.path)
            path = parts.path.removeprefix("/api") or "/"
            with fake._lock:
                fake.requests.append((method, path))
            return path, parse_qs(parts.query)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self) -> None:
            try:
                found = self._route("GET")
                if found is None:
                    return
                path, query = found
                if path == "/queue":
                    return self._json(200, fake.queue_info())
                if path.startswith("/history/"):
                    return self._json(200, fake.history(path.split("/", 2)[2]))
                if path == "/system_stats":
                    return self._json(200, {"system": {"os": os.name, "comfyui_version": "fake"}, "devices": []})
                if path == "/prompt":
                    info = fake.queue_info()
                    remaining = len(info["queue_running"]) + len(info["queue_pending"])
                    return self._json(200, {"exec_info": {"queue_remaining": remaining}})
                if path == "/view":
                    name = query.get("filename", [""])[0]
                    if not name or name.startswith("/") or ".." in name:
                        return self._send(400, b"", "text/plain")
                    data = fake.view(name, query.get("subfolder", [""])[0])
                    if data is None:
                        return self._send(404, b"", "text/plain")
                    kind = {"png": "image/png", "webp": "image/webp", "mp4": "video/mp4", "flac": "audio/flac"}
                    return self._send(200, data, kind.get(name.rsplit(".", 1)[-1], "application/octet-stream"))
                self._send(404, b"404: Not Found", "text/plain")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:
            try:
                body = self._body()
                found = self._route("POST")
                if found is None:
                    return
                path, _ = found
                if path == "/prompt":
                    status, answer = fake.post_prompt(json.loads(body or b"{}"))
                    return self._json(status, answer)
                if path == "/upload/image":
                    fields = multipart_parts(body, self.headers.get("Content-Type", ""))
                    data, filename = fields.get("image", (b"", None))
                    if not filename:
                        return self._send(400, b"", "text/plain")
                    overwrite = fields.get("overwrite", (b"", None))[0].decode() in ("true", "1")
                    subfolder = fields.get("subfolder", (b"", None))[0].decode()
                    name = fake.upload(filename, data, overwrite)
                    return self._json(200, {"name": name, "subfolder": subfolder, "type": "input"})
                if path == "/interrupt":
                    fake.interrupt(json.loads(body or b"{}").get("prompt_id"))
                    return self._send(200, b"", "text/plain")
                if path == "/queue":
                    fake.delete(list(json.loads(body or b"{}").get("delete", [])))
                    return self._send(200, b"", "text/plain")
                self._send(404, b"404: Not Found", "text/plain")
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
