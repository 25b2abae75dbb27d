"""A fake Replicate API on 127.0.0.1 that the real `replicate` client talks to over real HTTP.

It speaks the part of the API vidgen uses: `POST /v1/models/{owner}/{name}/predictions`,
`GET /v1/predictions/{id}`, `GET /v1/predictions` (list), `POST /v1/predictions/{id}/cancel`,
`POST /v1/files` and file downloads under `/files/`. Predictions return real small media of the shapes the
real models return (wan: 832x480, 16 fps, 81 frames; flux: PNG; musicgen: 32 kHz stereo WAV; the LLM: a
list of text tokens). Every request is recorded, with whether its Authorization header carried the token.
Image models that take input images (nano-banana, seedream-4, flux-kontext-pro) check the input's type
(422 otherwise, as the real API does), decode each image, sent as a data URI or as the URL of a file
uploaded through `/v1/files`, record its sha256 per create (`images_sent`), and show the first one in
their output.

Faults are queued on demand and consumed in order: a status on create (429 with Retry-After, or with only
a JSON body saying when the limit resets; 500s), a hung request, a prediction that fails (transiently or
not, having run or not) or is `aborted`, a prediction that stays `processing` for some polls, a truncated
download, HTML instead of media.

Like the real API it honours `Prefer: wait=N` on create (the request is held until the prediction ends, or
N seconds) and `Cancel-After` (a prediction still unfinished at its deadline is `canceled` when it was
running, `aborted` when it had not started; aborted ones are not billed). With `data_uri_outputs` set,
outputs come back inline as `data:` URIs. Every create's headers are recorded (`create_headers`), and the
images it was sent (start frame, end frame, reference images) can be decoded (`sent_images`).

The judge (`openai/gpt-4o-mini`, `qc.judge: replicate`) answers JSON tokens with a deterministic score
per request; a test chooses a low one for chosen inputs (`Judge`: a marker in the prompt, or images by
sha256) or an unreadable reply.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import json
import re
import threading
import time
import uuid
import wave
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vidgen_assets.media import ops

TOKEN = "r8_FAKE0secret0token0never0in0logs0abcdef"
START_FRAME_KEYS = ("image", "first_frame_image", "start_image")
END_FRAME_KEYS = ("last_frame", "last_frame_image", "end_image")
JUDGE_MODEL = "openai/gpt-4o-mini"
"""The vision-language judge (`qc.judge: replicate`): replies with JSON `{"score", "reason"}` tokens."""
JUDGE_LOW_MARKER = "[judge-low]"
"""A judge prompt holding this scores `Judge.low` (a test's way to choose a bad verdict for an input)."""
IMAGE_INPUTS = {
    "google/nano-banana": ("image_input", list),
    "bytedance/seedream-4": ("image_input", list),
    "black-forest-labs/flux-kontext-pro": ("input_image", str),
    JUDGE_MODEL: ("image_input", list),
}
"""Image models that take input images: the input's name and type (a list of images, or one)."""
LIST_OUTPUT = ("black-forest-labs/flux-schnell", "black-forest-labs/flux-dev", "bytedance/seedream-4")
"""Image models whose output is a list of URLs (the others return one URL)."""


@dataclass(frozen=True)
class ReceivedImage:
    """One image a create carried: its input's name, position in a list, how it came, its bytes' sha256."""

    model: str
    key: str
    index: int
    via: str
    """`data-uri` or `upload` (a URL of a file uploaded through `POST /v1/files`)."""
    sha256: str


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    authorized: bool
    model: str | None = None
    at: float = 0.0


@dataclass
class Outcome:
    """How one prediction ends: `succeeded`, or `failed` with an error (billed when it `ran`)."""

    status: str = "succeeded"
    error: str | None = None
    ran: bool = True
    processing_polls: int = 0
    queued_s: float = 0.0
    """How long it stays `starting` before it runs (a busy queue): a deadline may pass meanwhile."""


@dataclass
class _Prediction:
    id: str
    model: str
    input: dict[str, Any]
    outcome: Outcome
    created_at: str
    polls_left: int
    created: float = 0.0
    """time.monotonic() at creation."""
    deadline_s: float | None = None
    """From `Cancel-After`."""
    run_s: float = 0.0
    """How long the model runs: the prediction is `processing` until then."""
    status: str = "starting"
    output: Any = None
    error: str | None = None
    file: str | None = None

    def json(self) -> dict[str, Any]:
        done = self.status in ("succeeded", "failed", "canceled")
        return {
            "id": self.id,
            "model": self.model,
            "version": "fakeversion0001",
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "logs": "",
            "error": self.error,
            "metrics": {"predict_time": 1.25} if done and self.outcome.ran else {},
            "created_at": self.created_at,
            "started_at": self.created_at if self.status != "starting" and self.outcome.ran else None,
            "completed_at": self.created_at if done else None,
            "urls": {"get": f"/v1/predictions/{self.id}", "cancel": f"/v1/predictions/{self.id}/cancel"},
        }


DEFECTS = ("still", "freeze", "black", "flashes", "wrong_start", "cut", "seam_jump")
"""The defective takes the fake can return for chosen inputs (`FakeReplicate.defect`): a clip that does not
move, one that freezes after 2 s, a black one, one flashing 5 times a second, one that starts on another
picture, one that cuts to another shot halfway, one whose start jumps away from the picture it was given
(what a continuous chunk's seam shows)."""


@dataclass
class Defect:
    """Video creates whose prompt contains `prompt` (and, when set, whose seed is `seed`) answer a
    defective clip of `kind`, `times` times."""

    prompt: str
    kind: str
    times: int = 1
    seed: int | None = None


@dataclass
class Faults:
    create: deque[tuple[Any, ...]] = field(default_factory=deque)
    """(status, Retry-After[, detail]) answered to the next creates instead of creating."""
    hang: deque[tuple[str, float]] = field(default_factory=deque)
    """(path prefix, seconds): the next matching request sleeps that long before it answers."""
    hang_after_create: deque[float] = field(default_factory=deque)
    """The next creates make the prediction, then sleep this long before answering."""
    outcomes: dict[str, deque[Outcome]] = field(default_factory=dict)
    """Per model id: how its next predictions end (default: succeeded at once)."""
    get_errors: deque[int] = field(default_factory=deque)
    """Statuses answered to the next prediction GETs."""
    downloads: deque[str] = field(default_factory=deque)
    """`truncate` or `html` for the next downloads."""
    defects: list[Defect] = field(default_factory=list)
    """Defective takes to answer to matching video creates."""


@dataclass
class Judge:
    """How the fake judge scores. A take scores `low` when its prompt holds `JUDGE_LOW_MARKER` or one of
    its images' sha256 is in `low_images`; otherwise a deterministic score from `high_range` picked by the
    sha256 of its prompt and images (the same request, the same score). `low_once[text] = n`: the next `n`
    takes whose prompt holds `text` score low (a first take the judge rejects, its retake accepted).
    `reply`, when set, is sent as it is instead (a reply that does not parse)."""

    low: float = 0.2
    high_range: tuple[float, float] = (0.7, 0.95)
    low_images: set[str] = field(default_factory=set)
    low_once: dict[str, int] = field(default_factory=dict)
    reply: str | None = None

    def answer(self, prompt: str, image_digests: list[str]) -> str:
        if self.reply is not None:
            return self.reply
        once = next((text for text, left in self.low_once.items() if left > 0 and text in prompt), None)
        if once is not None:
            self.low_once[once] -= 1
        if once is not None or JUDGE_LOW_MARKER in prompt or self.low_images.intersection(image_digests):
            return json.dumps({"score": self.low, "reason": "the shot does not show what the prompt asks"})
        key = hashlib.sha256("\x1f".join([prompt, *image_digests]).encode("utf-8")).digest()
        low, high = self.high_range
        score = round(low + (high - low) * int.from_bytes(key[:4], "big") / 2**32, 3)
        return json.dumps({"score": score, "reason": f"the shot shows the prompt ({len(image_digests)} images)"})


class FakeReplicate:
    """The server and everything it saw. Start with `start()`, stop with `stop()`."""

    def __init__(self, token: str = TOKEN, llm_reply: str = "[]") -> None:
        self.token = token
        self.llm_reply = llm_reply
        self.latency_s = 0.0
        self.run_seconds: dict[str, float] = {}
        """Per model id (or owner/ prefix): how long a prediction runs before it succeeds (a model's
        real run time, scaled down for benchmarks); 0 when absent."""
        self.faults = Faults()
        self.judge = Judge()
        """The judge model's verdicts (`Judge`)."""
        self.requests: list[Recorded] = []
        self.creates: list[tuple[str, dict[str, Any]]] = []
        self.create_headers: list[dict[str, str]] = []
        """Per create (in order): the Prefer and Cancel-After headers it carried."""
        self.data_uri_outputs = False
        self.predictions: dict[str, _Prediction] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.uploads: list[bytes] = []
        self._served: list[tuple[str, int, str]] = []
        self.received: list[list[ReceivedImage]] = []
        """Per create (in the order of `creates`): the images its inputs carried, decoded."""
        self.held_together = 0
        """How many creates got through `hold_creates_together`'s gate together."""
        self._together: threading.Barrier | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeReplicate:
        wan_mp4()  # made once per process up front, so no request waits on an encode
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what tests read -----------------------------------------------------------------------------

    def calls(self, method: str | None = None, prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and r.path.startswith(prefix)]

    def create_count(self, model: str | None = None) -> int:
        with self._lock:
            return sum(1 for m, _ in self.creates if model is None or m == model)

    def fail_next(self, model: str, *outcomes: Outcome) -> None:
        with self._lock:
            self.faults.outcomes.setdefault(model, deque()).extend(outcomes)

    def hold_creates_together(self, count: int, timeout_s: float = 10.0) -> None:
        """Hold each of the next `count` creates until all `count` have arrived (at most `timeout_s`): creates
        sent at once get through together (`held_together` counts them); creates sent one after another
        do not (the first waits out the timeout, and `held_together` stays 0)."""
        self._together = threading.Barrier(count, timeout=timeout_s)

    def _gather(self) -> None:
        together = self._together
        if together is None:
            return
        try:
            together.wait()
        except threading.BrokenBarrierError:
            return
        with self._lock:
            self.held_together += 1
            self._together = None

    def defect(self, prompt: str, kind: str, times: int = 1, seed: int | None = None) -> None:
        """Answer the next `times` image-to-video creates whose prompt contains `prompt` (and whose seed is
        `seed`, when given) with a defective clip of `kind` (one of `DEFECTS`)."""
        if kind not in DEFECTS:
            raise ValueError(f"unknown defect {kind!r}; one of {', '.join(DEFECTS)}")
        with self._lock:
            self.faults.defects.append(Defect(prompt, kind, times, seed))

    def defects_served(self) -> list[tuple[str, int, str]]:
        """(prompt, seed, defect) of every create answered with a defective clip, in order."""
        with self._lock:
            return list(self._served)

    def _take_defect(self, inputs: dict[str, Any]) -> str | None:
        prompt, seed = str(inputs.get("prompt", "")), inputs.get("seed")
        with self._lock:
            for defect in self.faults.defects:
                if defect.times > 0 and defect.prompt in prompt and defect.seed in (None, seed):
                    defect.times -= 1
                    self._served.append((prompt, int(seed) if seed is not None else -1, defect.kind))
                    return defect.kind
        return None

    def sent_images(self, index: int) -> dict[str, list[bytes]]:
        """The images create number `index` carried, by input name (data URIs or uploaded files)."""
        with self._lock:
            inputs = self.creates[index][1]
            files = dict(self.files)
        out: dict[str, list[bytes]] = {}
        for key, value in inputs.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.startswith("data:image/"):
                    out.setdefault(key, []).append(base64.b64decode(item.split(",", 1)[1]))
                elif isinstance(item, str) and "/files/upload-" in item:
                    out.setdefault(key, []).append(files[item.rsplit("/", 1)[1]][0])
        return out

    # -- the API -------------------------------------------------------------------------------------

    def _create(self, model: str, body: dict[str, Any], deadline_s: float | None = None) -> _Prediction:
        with self._lock:
            queue = self.faults.outcomes.get(model)
            outcome = queue.popleft() if queue else Outcome()
            pid = uuid.uuid4().hex[:20]
            run_s = next((s for prefix, s in self.run_seconds.items() if model.startswith(prefix)), 0.0)
            prediction = _Prediction(
                pid, model, body.get("input", {}), outcome,
                time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), outcome.processing_polls,
                created=time.monotonic(), run_s=run_s, deadline_s=deadline_s,
            )  # fmt: skip
            self.predictions[pid] = prediction
            self.creates.append((model, prediction.input))
            self.received.append(self._images_in(model, prediction.input))
        return prediction

    def _images_in(self, model: str, inputs: dict[str, Any]) -> list[ReceivedImage]:
        """The images in a create's inputs (data URIs, or URLs of uploaded files), decoded and hashed."""
        found = []
        for key, value in inputs.items():
            for index, item in enumerate(value if isinstance(value, list) else [value]):
                data, via = self._image_bytes(item)
                if data is not None:
                    found.append(ReceivedImage(model, key, index, via, hashlib.sha256(data).hexdigest()))
        return found

    def _image_bytes(self, value: Any) -> tuple[bytes | None, str]:
        if not isinstance(value, str):
            return None, ""
        if value.startswith("data:image/"):
            return base64.b64decode(value.split(",", 1)[1]), "data-uri"
        if value.startswith(f"{self.url}/files/upload-"):
            found = self.files.get(value.rsplit("/", 1)[1])
            return (found[0], "upload") if found else (None, "")
        return None, ""

    def input_error(self, model: str, inputs: dict[str, Any]) -> str | None:
        """What the real API answers 422 for here: an image input of the wrong type, or not an image."""
        expected = IMAGE_INPUTS.get(model)
        if expected is None:
            return None
        key, kind = expected
        value = inputs.get(key)
        if value is not None and not isinstance(value, kind):
            given = "array" if isinstance(value, list) else "string"
            return f"input: {key}: Invalid type. Expected: {'array' if kind is list else 'string'}, given: {given}"
        items: list[Any] = value if isinstance(value, list) else [] if value is None else [value]
        for item in items:
            with self._lock:
                data, _ = self._image_bytes(item)
            if data is None:
                return f"input: {key}: {str(item)[:60]!r} is not an image URI"
        return None

    def images_sent(self, model: str | None = None) -> list[list[ReceivedImage]]:
        """Per create of `model` (or of any model): the images it carried."""
        with self._lock:
            return [images for (m, _), images in zip(self.creates, self.received, strict=True) if model in (None, m)]

    def _advance(self, prediction: _Prediction) -> None:
        with self._lock:
            if prediction.status in ("succeeded", "failed", "canceled", "aborted"):
                return
            elapsed = time.monotonic() - prediction.created
            started = elapsed >= prediction.outcome.queued_s
            if prediction.deadline_s is not None and elapsed >= prediction.deadline_s:
                # Cancel-After: a running prediction is canceled (and billed), a queued one aborted (not).
                prediction.status = "canceled" if started and prediction.outcome.ran else "aborted"
                if not started:
                    prediction.outcome = Outcome(status="aborted", ran=False)
                return
            if not started:
                prediction.status = "starting"
                return
            if prediction.polls_left > 0:
                prediction.polls_left -= 1
                prediction.status = "processing"
                return
            if elapsed < prediction.outcome.queued_s + prediction.run_s:
                prediction.status = "processing"
                return
            if prediction.outcome.status != "succeeded":
                prediction.status = prediction.outcome.status
                prediction.error = prediction.outcome.error
                return
        output = self._make_output(prediction)
        with self._lock:
            prediction.output = output
            prediction.status = "succeeded"

    def _image(self, value: str) -> bytes:
        if value.startswith("data:"):
            return base64.b64decode(value.split(",", 1)[1])
        with self._lock:
            return self.files[value.rsplit("/", 1)[1]][0]

    def _hold(self, prediction: _Prediction, wait_s: float) -> None:
        """`Prefer: wait`: hold the create until the prediction ends, or `wait_s`. Polls a prediction must
        see (`processing_polls`) are left to the client's polling."""
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if prediction.polls_left == 0:
                self._advance(prediction)
            if prediction.status in ("succeeded", "failed", "canceled", "aborted"):
                return
            time.sleep(0.01)

    def _make_output(self, prediction: _Prediction) -> Any:
        model, inputs = prediction.model, prediction.input
        if model.startswith("meta/meta-llama"):
            reply = self.llm_reply
            return [reply[i : i + 7] for i in range(0, len(reply), 7)]
        if model == JUDGE_MODEL:
            with self._lock:
                images = [self._image_bytes(v)[0] for v in inputs.get("image_input", [])]
            digests = [hashlib.sha256(data).hexdigest() for data in images if data is not None]
            reply = self.judge.answer(str(inputs.get("prompt", "")), digests)
            return [reply[i : i + 5] for i in range(0, len(reply), 5)]
        if model in IMAGE_INPUTS:
            with self._lock:
                first = self._first_image(model, inputs)
            data = png_for(str(inputs.get("aspect_ratio", "1:1")), int(inputs.get("seed", 0)), first)
            ext = "png"
        elif model.startswith("black-forest-labs/"):
            data, ext = png_for(str(inputs.get("aspect_ratio", "1:1")), int(inputs.get("seed", 0))), "png"
        elif model == "meta/musicgen":
            data, ext = wav_bytes(int(inputs.get("duration", 8))), "wav"
        elif model in TTS_MODELS:  # speech: about 15 characters a second at speed 1, like a person
            data, ext = speech_wav(len(str(inputs.get("text", ""))) / 15 / float(inputs.get("speed", 1))), "wav"
        elif any(key in inputs for key in END_FRAME_KEYS):
            # A first-to-last-frame model: the clip moves from the start image to the end image.
            start = self._image(next(inputs[k] for k in START_FRAME_KEYS if k in inputs))
            end = self._image(next(inputs[k] for k in END_FRAME_KEYS if k in inputs))
            data, ext = morph_mp4(start, end, int(inputs.get("duration", 5)), 24), "mp4"
        elif model == "wan-video/wan-2.2-i2v-fast" or any(key in inputs for key in START_FRAME_KEYS):
            # An image-to-video model: the clip starts on the image it was given and moves (a slow push in).
            start = self._image(next(inputs[k] for k in START_FRAME_KEYS if k in inputs))
            wan = model == "wan-video/wan-2.2-i2v-fast"
            fps = int(inputs.get("frames_per_second", 16)) if wan else 24
            frames = int(inputs.get("num_frames", 81)) if wan else int(inputs.get("duration", 5)) * fps
            size = (832, 480) if wan else (160, 90)
            seed = int(inputs.get("seed") or 0)
            data, ext = i2v_mp4(start, frames, fps, size, self._take_defect(inputs), seed % 5), "mp4"
        elif model == "wan-video/wan-2.2-i2v-fast":
            data, ext = wan_mp4(int(inputs.get("num_frames", 81)), int(inputs.get("frames_per_second", 16))), "mp4"
        else:
            data, ext = small_mp4(int(inputs.get("duration", 5)), 24), "mp4"
        name = f"{prediction.id}.{ext}"
        mime = {"png": "image/png", "wav": "audio/wav", "mp4": "video/mp4"}[ext]
        with self._lock:
            self.files[name] = (data, mime)
        url = f"{self.url}/files/{name}"
        if self.data_uri_outputs:
            url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        return [url] if model in LIST_OUTPUT else url

    def _first_image(self, model: str, inputs: dict[str, Any]) -> bytes | None:
        value = inputs.get(IMAGE_INPUTS[model][0])
        first = value[0] if isinstance(value, list) and value else value
        return self._image_bytes(first)[0]


def _handler(fake: FakeReplicate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any, **headers: str) -> None:
            self._send(status, json.dumps(data).encode(), **headers)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _begin(self, method: str) -> bool:
            """Record the request, apply latency and hangs; False when it is done with (hung, or 401)."""
            path = self.path
            authorized = self.headers.get("Authorization") == f"Bearer {fake.token}"
            model = None
            if path.startswith("/v1/models/") and path.endswith("/predictions"):
                model = "/".join(path.split("/")[3:5])
            with fake._lock:
                fake.requests.append(Recorded(method, path, authorized, model, time.monotonic()))
                hang = next((h for h in fake.faults.hang if path.startswith(h[0])), None)
                if hang is not None:
                    fake.faults.hang.remove(hang)
            if fake.latency_s:
                time.sleep(fake.latency_s)
            if hang is not None:
                # A hung request is never handled: by now the client has given up (a lost request).
                time.sleep(hang[1])
                self.close_connection = True
                return False
            if path.startswith("/v1/") and not authorized:
                self._json(401, {"title": "Unauthenticated", "detail": "Invalid token", "status": 401})
                return False
            return True

        def do_GET(self) -> None:
            try:
                if not self._begin("GET"):
                    return
                path = self.path
                if path.startswith("/files/"):
                    return self._download(path[len("/files/") :])
                if path.rstrip("/") == "/v1/predictions":
                    with fake._lock:
                        results = [p.json() for p in reversed(list(fake.predictions.values()))]
                    return self._json(200, {"results": results, "next": None, "previous": None})
                if path.startswith("/v1/predictions/"):
                    with fake._lock:
                        error = fake.faults.get_errors.popleft() if fake.faults.get_errors else None
                    if error is not None:
                        return self._json(error, {"title": "server error", "detail": "injected", "status": error})
                    prediction = fake.predictions.get(path.split("/")[3])
                    if prediction is None:
                        return self._json(404, {"title": "Not found", "detail": "no such prediction", "status": 404})
                    fake._advance(prediction)
                    return self._json(200, prediction.json())
                self._json(404, {"title": "Not found", "detail": path, "status": 404})
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _download(self, name: str) -> None:
            with fake._lock:
                found = fake.files.get(name)
                fault = fake.faults.downloads.popleft() if fake.faults.downloads and found else None
            if found is None:
                return self._send(404, b"not found", "text/plain")
            data, content_type = found
            if fault == "html":
                return self._send(200, b"<!DOCTYPE html><html><body>Service Unavailable</body></html>", "text/html")
            if fault == "truncate":
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(200, data, content_type)

        def do_POST(self) -> None:
            try:
                body = self._body()
                if not self._begin("POST"):
                    return
                path = self.path
                if path == "/v1/files":
                    fid = uuid.uuid4().hex[:12]
                    data, content_type = uploaded_file(body, self.headers.get("Content-Type", ""))
                    with fake._lock:
                        fake.uploads.append(body)
                        fake.files[f"upload-{fid}"] = (data, content_type)
                    return self._json(
                        201,
                        {
                            "id": fid, "name": "start.png", "content_type": "image/png", "size": len(body),
                            "etag": fid, "checksums": {}, "metadata": {}, "created_at": "2026-01-01T00:00:00Z",
                            "expires_at": None, "urls": {"get": f"{fake.url}/files/upload-{fid}"},
                        },
                    )  # fmt: skip
                if path.startswith("/v1/models/") and path.endswith("/predictions"):
                    model = "/".join(path.split("/")[3:5])
                    with fake._lock:
                        fault = fake.faults.create.popleft() if fake.faults.create else None
                        hang_after = fake.faults.hang_after_create.popleft() if fake.faults.hang_after_create else 0
                    if fault is not None:
                        status, retry_after, *detail = fault
                        headers = {"Retry_After": retry_after} if retry_after is not None else {}
                        title = "Too Many Requests" if status == 429 else "Internal Server Error"
                        text = detail[0] if detail else "injected"
                        return self._json(status, {"title": title, "detail": text, "status": status}, **headers)
                    fake._gather()
                    request = json.loads(body or b"{}")
                    invalid = fake.input_error(model, request.get("input", {}))
                    if invalid is not None:
                        return self._json(422, {"title": "Input validation failed", "detail": invalid, "status": 422})
                    prefer = self.headers.get("Prefer") or ""
                    cancel_after = self.headers.get("Cancel-After")
                    with fake._lock:
                        fake.create_headers.append(
                            {k: v for k, v in (("Prefer", prefer), ("Cancel-After", cancel_after)) if v}
                        )
                    prediction = fake._create(model, request, _duration_s(cancel_after))
                    waited = re.fullmatch(r"wait(?:=(\d+))?", prefer.strip())
                    if waited:
                        fake._hold(prediction, float(waited.group(1) or 60))
                    if hang_after:
                        time.sleep(hang_after)
                    return self._json(201, prediction.json())
                if path.startswith("/v1/predictions/") and path.endswith("/cancel"):
                    found = fake.predictions.get(path.split("/")[3])
                    if found is None:
                        return self._json(404, {"title": "Not found", "status": 404})
                    with fake._lock:
                        found.status = "canceled"
                    return self._json(200, found.json())
                self._json(404, {"title": "Not found", "detail": path, "status": 404})
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def _duration_s(value: str | None) -> float | None:
    """`Cancel-After`'s value (`90s`, `5m`, `1h30m`, or bare seconds) in seconds."""
    if not value:
        return None
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", value.strip())
    scale = {"ms": 0.001, "s": 1, "": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[unit] for n, unit in parts)


def uploaded_file(body: bytes, content_type: str) -> tuple[bytes, str]:
    """The file in a `POST /v1/files` body (multipart/form-data, as the client sends it), and its type."""
    if not content_type.startswith("multipart/"):
        return body, content_type or "application/octet-stream"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "content":
            payload = part.get_payload(decode=True)
            return (payload if isinstance(payload, bytes) else b""), part.get_content_type()
    return body, "application/octet-stream"


# -- media of the shapes real models return ----------------------------------------------------------


def png_for(aspect: str, seed: int, subject: bytes | None = None) -> bytes:
    """A small PNG at the aspect ratio asked (flux returns ~1 MP; small keeps tests fast). An image model
    given input images shows the first one in the middle, as an editing model keeps its subject."""
    w, h = (int(n) for n in aspect.split(":")) if ":" in aspect and aspect[0].isdigit() else (1, 1)
    width, height = (192, round(192 * h / w)) if w >= h else (round(192 * w / h), 192)
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 215, size=3)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(base[i] + (x * (i + 1) + y * (3 - i)) % 40) for i in range(3)], axis=-1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if subject is not None:
        with Image.open(io.BytesIO(subject)) as opened:
            shown = opened.convert("RGBA")
        shown.thumbnail((width // 2, height // 2))
        image.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2), shown)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def wan_mp4(frames: int = 81, fps: int = 16) -> bytes:
    """An 832x480 clip at `fps` with `frames` frames (wan-2.2-i2v-fast's 480p shape)."""
    return _clip(832, 480, frames, fps)


@cache
def small_mp4(seconds: int, fps: int) -> bytes:
    """A 160x90 clip of `seconds` at `fps` (hailuo, kling, seedance, in miniature)."""
    return _clip(160, 90, seconds * fps, fps)


def morph_mp4(start: bytes, end: bytes, seconds: int, fps: int, size: tuple[int, int] = (160, 90)) -> bytes:
    """A clip that starts on `start` and ends on `end` (a linear blend): a first-to-last-frame model."""
    import tempfile

    def load(data: bytes) -> Any:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB").resize(size), dtype=np.float32)

    a, b = load(start), load(end)
    frames = seconds * fps

    def blend() -> Any:
        for n in range(frames):
            t = n / max(1, frames - 1)
            yield ((1 - t) * a + t * b).round().astype(np.uint8)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "morph.mp4"
        ops.encode_frames(blend(), out, size[0], size[1], fps)
        return out.read_bytes()


@cache
def i2v_mp4(
    start: bytes, frames: int, fps: int, size: tuple[int, int], defect: str | None = None, variation: int = 0
) -> bytes:
    """What an image-to-video model returns: `frames` frames at `fps` and `size` that start on `start` and
    push in (12% over the clip, drifting right: slow, but a move on a plain picture too), or, with
    `defect`, one of `DEFECTS`. `variation` (the seed's, 0..4) sets how far it drifts: another seed, another
    take, as a model's."""
    import tempfile

    width, height = size
    with Image.open(io.BytesIO(start)) as opened:
        picture = opened.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    other = Image.fromarray(255 - np.asarray(picture), "RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    def view(image: Image.Image, t: float) -> Any:
        zoom = 1 + 0.12 * t
        w, h = width / zoom, height / zoom
        left = (width - w) / 2 + (0.3 + 0.05 * variation) * (width - w) * t
        top = (height - h) / 2
        box = (left, top, left + w, top + h)
        return np.asarray(image.resize(size, Image.Resampling.BICUBIC, box=box), dtype=np.uint8)

    def clip() -> Any:
        for n in range(frames):
            t = n / max(1, frames - 1)
            if defect == "still":
                yield np.asarray(picture)
            elif defect == "black":
                yield np.zeros((height, width, 3), np.uint8)
            elif defect == "freeze":
                yield view(picture, min(t, 2 * fps / max(1, frames - 1)))
            elif defect == "flashes":  # 5 full flashes a second: 10 changes of bright and dark
                yield view(picture, t) if (n * 10 // fps) % 2 == 0 else np.full((height, width, 3), 250, np.uint8)
            elif defect == "wrong_start":
                yield view(other, t)
            elif defect == "cut":
                yield view(picture if n < frames // 2 else other, t)
            elif defect == "seam_jump":  # starts as far into its move as a whole second of a fast pan
                yield view(picture, 0.6 + 0.4 * t)
            else:
                yield view(picture, t)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "i2v.mp4"
        ops.encode_frames(clip(), out, width, height, fps)
        return out.read_bytes()


def _clip(width: int, height: int, frames: int, fps: int) -> bytes:
    import tempfile

    def moving() -> Any:
        y, x = np.mgrid[0:height, 0:width]
        for n in range(frames):
            frame = np.empty((height, width, 3), np.uint8)
            frame[..., 0] = (x + 4 * n) % 256
            frame[..., 1] = (y + 2 * n) % 256
            frame[..., 2] = (n * 3) % 256
            yield frame

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        ops.encode_frames(moving(), out, width, height, fps)
        return out.read_bytes()


TTS_MODELS = ("minimax/speech-02-turbo", "jaaari/kokoro-82m")


def speech_wav(seconds: float, rate: int = 32000) -> bytes:
    """A mono 16-bit WAV of `seconds` standing in for speech: a 180 Hz tone pulsing four times a second."""
    t = np.arange(round(seconds * rate)) / rate
    wave_ = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((wave_ * 32767).astype(np.int16).tobytes())
    return buffer.getvalue()


@cache
def wav_bytes(seconds: int, rate: int = 32000) -> bytes:
    """A stereo 16-bit WAV of `seconds` (musicgen returns 32 kHz)."""
    t = np.arange(seconds * rate) / rate
    tone = (0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(tone, 2).tobytes())
    return buffer.getvalue()
