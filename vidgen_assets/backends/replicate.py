"""The `replicate` backend: storyboard images, chunks, music and beat plans from models on Replicate.

Every call goes through `_generate`:
1. the generation cache (`cache.py`) answers an identical earlier request with zero HTTP calls;
2. the prediction is created (`predictions.create(model=...)`), retried on 429 (honouring Retry-After),
   5xx, connection errors and timeouts with exponential backoff and full jitter, bounded in attempts and
   in total time. (The official client retries some GETs itself but never a POST that got a 429.) A
   create whose request was sent but whose answer timed out may have made the prediction: before it is
   sent again, the recent predictions are searched for it so it is never paid twice;
3. the prediction is polled with `predictions.get` until it ends (never `run()`, which can return early
   on `processing`). A failed prediction is re-created only when its error is transient (timeout,
   overloaded, temporarily unavailable...); one that ran before failing was billed, and is counted;
4. the output is downloaded at once (Replicate deletes outputs after an hour) with a timeout and a size
   cap, its magic bytes checked against the media type expected, then its content probed; only then is it
   cached;
5. images are cover-fitted to the plan's size as PNG, chunks normalised (`media.ops.normalise_chunk`) to
   exactly the planned frames at the plan's size and fps, music converted to a WAV of exact length.

The API token (`REPLICATE_API_TOKEN`, from `Settings`) is given to the client and to nothing else: it is
redacted from every message built here, and no record holds the client or its headers.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from PIL import Image, ImageOps
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.helpers import FileOutput
from replicate.prediction import Prediction

from vidgen_assets.backends import GenerationFailed
from vidgen_assets.backends.cache import GenerationCache, request_key
from vidgen_assets.backends.models import ModelSelection, ReplicateModel
from vidgen_assets.core.cost import as_float, call_cost, music_seconds
from vidgen_assets.core.fingerprint import digest_bytes
from vidgen_assets.core.generation import Generation, ImageRequest, MusicRequest, ReferenceImage, VideoRequest
from vidgen_assets.media import ops, probe
from vidgen_assets.media.files import atomic_output
from vidgen_assets.media.runner import MediaError, run
from vidgen_assets.settings import DEFAULT_BASE_URL, TOKEN_ENV
from vidgen_assets.storage.store import ArtifactStore

TERMINAL = ("succeeded", "failed", "canceled")
TRANSIENT_MODEL_ERRORS = (
    "timeout", "timed out", "overloaded", "temporarily", "temporary", "unavailable", "try again",
    "rate limit", "capacity", "queue is full", "connection reset",
)  # fmt: skip
MEDIA_KINDS = {"image": ("png", "jpg", "webp"), "video": ("mp4", "mov", "webm"), "audio": ("wav", "mp3")}
FLUX_ASPECTS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
MUSIC_RATE = 48000
log = logging.getLogger("vidgen.replicate")
T = TypeVar("T")


class ReplicateFailed(GenerationFailed):
    """A model call failed for good: the message names the model, the prediction and the last error.

    `retryable` is True only when the retries ran out on transient errors (a later run may succeed)."""


class _Transient(Exception):
    """A failure worth another attempt (a short download, a wrong content type, a busy server)."""


class _Permanent(Exception):
    """A failure another attempt will not fix."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: attempts and total seconds per operation, backoff with full jitter."""

    attempts: int = 6
    base_s: float = 1.0
    cap_s: float = 30.0
    total_s: float = 300.0
    prediction_attempts: int = 3
    """Predictions created for one request when they fail transiently."""
    prediction_timeout_s: float = 1800.0
    """How long one prediction may run before it is canceled."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2**attempt))


@dataclass(frozen=True)
class Limits:
    connect_s: float = 10.0
    read_s: float = 60.0
    """A read that stalls this long is a timeout (and is retried)."""
    download_s: float = 600.0
    """The longest one download may take in all."""
    max_download_bytes: int = 512 * 1024 * 1024
    data_uri_max_bytes: int = 1024 * 1024
    """Start images up to this size are sent inline as data URIs; larger ones are uploaded first."""


@dataclass
class _Result:
    path: Path
    ext: str
    cost: Decimal
    cache_hit: bool
    prediction_id: str
    version: str
    predictions: int = 0
    billed_failures: int = 0
    record: dict[str, Any] = field(default_factory=dict)


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file announce: png, jpg, webp, mp4, mov, webm, wav, mp3."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def output_url(output: Any) -> str:
    """The first file of a prediction's output: a `FileOutput`, a URL string, or a list of either."""
    if isinstance(output, FileOutput):
        return output.url
    if isinstance(output, str):
        return output
    if isinstance(output, list | tuple) and output:
        return output_url(output[0])
    if isinstance(output, dict):
        for value in output.values():
            try:
                return output_url(value)
            except ValueError:
                continue
    raise ValueError(f"the prediction's output holds no file URL: {str(output)[:200]!r}")


def output_text(output: Any) -> str:
    """A language model's output: a list of tokens (joined) or a string."""
    if isinstance(output, str):
        return output
    if isinstance(output, list | tuple):
        return "".join(str(part) for part in output)
    raise ValueError(f"the prediction's output is not text: {str(output)[:200]!r}")


def flux_aspect(width: int, height: int) -> str:
    """The supported aspect ratio closest to `width` x `height`."""
    ratio = width / height

    def distance(name: str) -> float:
        w, h = (int(n) for n in name.split(":"))
        return abs(w / h - ratio)

    return min(FLUX_ASPECTS, key=distance)


def music_to_wav(src: Path, out: Path, seconds: float) -> list[str]:
    """ffmpeg arguments: any audio -> 48 kHz stereo 16-bit WAV of exactly `seconds` (padded or cut)."""
    samples = round(seconds * MUSIC_RATE)
    return [
        "-i", str(src), "-vn",
        "-af", f"aresample={MUSIC_RATE},apad=whole_len={samples},atrim=end_sample={samples}",
        "-ar", str(MUSIC_RATE), "-ac", "2", "-c:a", "pcm_s16le", "-f", "wav", str(out),
    ]  # fmt: skip


def _is_transient_model_error(error: str) -> bool:
    text = error.lower()
    return any(word in text for word in TRANSIENT_MODEL_ERRORS)


class ReplicateBackend:
    """Images, chunks, music and beat plans from Replicate models, cached and cost-tracked."""

    name = "replicate"
    max_concurrency = 16
    """Storyboard images generated at once: up to 16, so most storyboards take one image's time."""

    def __init__(
        self,
        models: ModelSelection,
        token: str,
        store: ArtifactStore | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        if not token:
            raise ValueError(f"the replicate backend needs an API token (set {TOKEN_ENV})")
        self.models = models
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.cache = GenerationCache(store) if store is not None else None
        self.chunk_seconds = float(models.video.clip_seconds or 5.0)
        self.identity = "replicate:" + ",".join(
            f"{m.id}@{m.version}" for m in (models.image, models.video, models.music, models.planner)
        )
        """What the stages fingerprint: changing a model changes every affected output."""
        refs = models.reference_image or models.image
        self.reference_identity = f"{refs.id}@{refs.version}"
        """What the stages add to the fingerprints of outputs that use references: their image model."""
        self._token = token
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._local = threading.local()
        timeout = httpx.Timeout(self.limits.read_s, connect=self.limits.connect_s)
        self._client = Client(
            api_token=token, base_url=self.base_url, timeout=timeout, event_hooks={"response": [self._on_response]}
        )
        self._client.poll_interval = poll_interval  # not the client's own read of REPLICATE_POLL_INTERVAL
        self._http = httpx.Client(timeout=timeout, follow_redirects=True)
        self.spent = Decimal(0)
        """Everything this backend paid for so far (cache hits are free)."""
        self._spent_lock = threading.Lock()

    # -- the Backend interface -----------------------------------------------------------------------

    def image(self, request: ImageRequest, out: Path) -> Generation:
        """A storyboard image from the image model, cover-fitted to the frame as PNG.

        A beat that uses references is drawn by the reference-capable image model, from its reference
        images (as many as the model takes) and with their `describe` words in the prompt."""
        refs = request.references
        model = (self.models.reference_image or self.models.image) if refs else self.models.image
        frame = request.frame
        prompt = f"{request.prompt}{_reference_words(refs)}. Style: {request.aesthetic}"
        if request.palette:
            prompt += f"; colour palette {', '.join(request.palette)}"
        inputs: dict[str, Any] = {**model.defaults, model.prompt_key: prompt}
        if model.aspect_key:
            inputs[model.aspect_key] = flux_aspect(frame.width, frame.height)
        if model.seed_key:
            inputs[model.seed_key] = request.seed
        images: dict[str, bytes | list[bytes]] = {}
        used = refs[: max(1, model.max_input_images)] if model.input_images_key else ()
        if model.input_images_key and used:
            data = [Path(r.path).read_bytes() for r in used]
            images[model.input_images_key] = data if model.input_images_list else data[0]
        with self._workdir(out.parent) as work:
            result = self._generate(model, inputs, images, "image", Decimal(0), work)
            with Image.open(result.path) as opened:
                picture = opened.convert("RGB")
            if picture.size != (frame.width, frame.height):
                picture = ImageOps.fit(picture, (frame.width, frame.height), method=Image.Resampling.LANCZOS)
            with atomic_output(out) as tmp:
                picture.save(tmp, format="PNG")
        gen = self._generation(model, request.seed, result)
        if used:
            gen.extra["reference_images"] = ",".join(f"{r.name}:{r.sha256[:12]}" for r in used)
        return gen

    def video(self, request: VideoRequest, source_image: Path, out: Path) -> Generation:
        """A chunk from the video model started on `source_image`, normalised to exactly the planned frames.

        A continuous chunk drops the model's first frame (it repeats the start image, which already ends
        the chunk before); a clip shorter than the chunk holds its last frame.
        """
        model = self.models.video
        if model.image_key is None:
            raise ValueError(f"{model.id} takes no start image")
        refs = request.reference_images if model.reference_images_key else ()
        refs = refs[: model.max_reference_images or len(refs)]
        prompt = _motion_prompt(request) + _reference_words(request.reference_images)
        inputs: dict[str, Any] = {**model.defaults, model.prompt_key: prompt}
        for key, value in (
            (model.duration_key, model.duration),
            (model.num_frames_key, model.num_frames),
            (model.fps_key, model.fps),
            (model.seed_key, request.seed),
        ):
            if key and value is not None:
                inputs[key] = value
        if model.audio_key:
            # Sound is billed extra and vidgen drops the clips' audio: ask for none (priced as `price`).
            inputs[model.audio_key] = False
        images: dict[str, bytes | list[bytes]] = {model.image_key: source_image.read_bytes()}
        if model.reference_images_key and refs:
            images[model.reference_images_key] = [Path(r.path).read_bytes() for r in refs]
        frame = request.frame
        with self._workdir(out.parent) as work:
            result = self._generate(model, inputs, images, "video", model.billed_seconds, work)
            ops.normalise_chunk(
                result.path, out, frame.width, frame.height, frame.fps, request.frames,
                drop_first=request.kind == "continuous",
            )  # fmt: skip
        gen = self._generation(model, request.seed, result)
        gen.extra["source_image_sha256"] = digest_bytes(source_image.read_bytes())
        if refs:
            gen.extra["reference_images"] = ",".join(f"{r.name}:{r.sha256[:12]}" for r in refs)
        return gen

    def music(self, request: MusicRequest, out: Path) -> Generation:
        """A music bed from the music model, as a 48 kHz stereo WAV of exactly `request.seconds`."""
        model = self.models.music
        asked = music_seconds(request.seconds)
        inputs: dict[str, Any] = {
            **model.defaults,
            model.prompt_key: f"{request.mood} instrumental background music for an advert, {request.bpm} bpm",
        }
        if model.duration_key:
            inputs[model.duration_key] = asked
        if model.seed_key:
            inputs[model.seed_key] = request.seed
        with self._workdir(out.parent) as work:
            result = self._generate(model, inputs, {}, "audio", Decimal(asked), work)
            with atomic_output(out) as tmp:
                run(music_to_wav(result.path, tmp, request.seconds))
        gen = self._generation(model, request.seed, result)
        gen.extra["seconds_asked"] = str(asked)
        return gen

    def ask_llm(self, system: str, prompt: str) -> tuple[str, str]:
        """The planner model's reply to `prompt` (cached like every call); returns (text, model id)."""
        model = self.models.planner
        inputs: dict[str, Any] = {**model.defaults, model.prompt_key: prompt, "system_prompt": system}
        if model.seed_key:
            inputs[model.seed_key] = 0
        with self._workdir(None) as work:
            result = self._generate(model, inputs, {}, "text", Decimal(0), work)
            text = result.path.read_text(encoding="utf-8")
        return text, model.id

    # -- one model call ------------------------------------------------------------------------------

    def _generate(
        self,
        model: ReplicateModel,
        inputs: dict[str, Any],
        images: Mapping[str, bytes | list[bytes]],
        kind: str,
        seconds: Decimal,
        work: Path,
    ) -> _Result:
        # Every image is keyed by its bytes' sha256: a changed photo changes exactly the calls that sent it.
        hashed = {
            **inputs,
            **{
                key: [f"sha256:{digest_bytes(d)}" for d in data] if isinstance(data, list)
                else f"sha256:{digest_bytes(data)}"
                for key, data in images.items()
            },
        }  # fmt: skip
        key = request_key(model.id, model.version, hashed)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                log.info("%s: cache hit %s", model.id, key[:12])
                record = hit.record
                return _Result(
                    hit.path, str(record["ext"]), Decimal(0), True, str(record.get("prediction_id", "")),
                    str(record.get("version", "")), record=record,
                )  # fmt: skip
        unit = call_cost(model.price, seconds)
        billed_failures = 0
        prediction: Prediction | None = None
        for attempt in range(1, self.retry.prediction_attempts + 1):
            sent = self._encode_inputs(model, inputs, images)
            prediction = self._wait(model, self._create(model, sent))
            if prediction.status == "succeeded":
                break
            ran = bool((prediction.metrics or {}).get("predict_time")) or bool(prediction.started_at)
            billed_failures += int(ran)
            error = self._redact(str(prediction.error or prediction.status))
            transient = prediction.status == "failed" and _is_transient_model_error(error)
            if transient and attempt < self.retry.prediction_attempts:
                delay = self.retry.delay(attempt, self._rng)
                log.warning(
                    "%s: prediction %s failed (%s); creating another in %.1f s (%d/%d)",
                    model.id, prediction.id, error, delay, attempt + 1, self.retry.prediction_attempts,
                )  # fmt: skip
                self._sleep(delay)
                continue
            self._add_spent(unit * billed_failures)
            raise ReplicateFailed(
                f"replicate model {model.id}: prediction {prediction.id} {prediction.status}"
                f"{' (transient, after ' + str(attempt) + ' prediction(s))' if attempt > 1 else ''}: {error}"
                + (f"; {billed_failures} failed prediction(s) ran and were billed" if billed_failures else ""),
                retryable=False,
            )
        assert prediction is not None and prediction.status == "succeeded"
        cost = unit * (1 + billed_failures)
        self._add_spent(cost)
        path, ext = self._fetch_output(model, prediction, kind, work)
        record = {
            "model": model.id,
            "version": prediction.version or model.version,
            "prediction_id": prediction.id,
            "cost_usd": as_float(cost),
            "billed_failures": billed_failures,
            "predict_time_s": (prediction.metrics or {}).get("predict_time"),
            "inputs": hashed,
        }
        if self.cache is not None:
            self.cache.put(key, path, ext, record)
        return _Result(
            path, ext, cost, False, prediction.id, str(record["version"]),
            predictions=attempt, billed_failures=billed_failures, record=record,
        )  # fmt: skip

    def _encode_inputs(
        self, model: ReplicateModel, inputs: dict[str, Any], images: Mapping[str, bytes | list[bytes]]
    ) -> dict[str, Any]:
        """Inputs as sent: images (start images, reference lists) inline as data URIs, or uploaded when large."""
        sent = dict(inputs)
        for key, data in images.items():
            if isinstance(data, list):
                sent[key] = [self._encode_image(model, key, one) for one in data]
            else:
                sent[key] = self._encode_image(model, key, data)
        return sent

    def _encode_image(self, model: ReplicateModel, key: str, data: bytes) -> str:
        mime = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}.get(sniff(data[:16]) or "", "")
        if not mime:
            raise ValueError(f"{model.id}: the {key} image is not PNG, JPEG or WEBP")
        if len(data) <= self.limits.data_uri_max_bytes:
            return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        suffix = mime.split("/")[1]

        def upload() -> str:
            uploaded = self._client.files.create(io.BytesIO(data), filename=f"{key}.{suffix}", content_type=mime)
            return str(uploaded.urls["get"])

        return self._retrying(model, f"upload the {key} image", upload)

    def _create(self, model: ReplicateModel, sent: dict[str, Any]) -> Prediction:
        started = time.time()
        state = {"sent": False}
        wait = max(1, min(60, round(self.limits.read_s)))

        def create() -> Prediction:
            if state["sent"]:
                # The last create was sent but its answer never came: it may exist. Never pay twice.
                found = self._find_created(model, sent, started)
                if found is not None:
                    log.warning("%s: adopting prediction %s created by a create that timed out", model.id, found.id)
                    return found
            try:
                # `wait` is the client's only way to bound a create: without it the POST has no timeout at
                # all. (The API then holds the request up to that long, `Prefer: wait`, which is harmless.)
                # `client.predictions.create(model=...)` drops `wait` before delegating to this namespace
                # (replicate 1.0.7), so call it directly.
                return self._client.models.predictions.create(model=model.id, input=sent, wait=wait)
            except (httpx.ReadTimeout, httpx.RemoteProtocolError):
                state["sent"] = True
                raise

        return self._retrying(model, "create a prediction", create)

    def _find_created(self, model: ReplicateModel, sent: dict[str, Any], since: float) -> Prediction | None:
        try:
            page = self._client.predictions.list()
        except (ReplicateError, httpx.HTTPError):
            return None
        for candidate in page.results:
            if candidate.model == model.id and candidate.input == sent:
                return candidate
        return None

    def _wait(self, model: ReplicateModel, prediction: Prediction) -> Prediction:
        """Poll until the prediction ends; cancel it when it runs past the timeout."""
        deadline = time.monotonic() + self.retry.prediction_timeout_s
        polls = 0
        while prediction.status not in TERMINAL:
            if time.monotonic() > deadline:
                with contextlib.suppress(ReplicateError, httpx.HTTPError):
                    self._client.predictions.cancel(prediction.id)
                raise ReplicateFailed(
                    f"replicate model {model.id}: prediction {prediction.id} still {prediction.status} after "
                    f"{self.retry.prediction_timeout_s:g} s; canceled it",
                    retryable=False,
                )
            self._sleep(min(self._client.poll_interval, 0.05 * 2**polls))
            polls += 1
            prediction = self._poll(model, prediction.id)
        return prediction

    def _poll(self, model: ReplicateModel, prediction_id: str) -> Prediction:
        return self._retrying(
            model, "poll the prediction", lambda: self._client.predictions.get(prediction_id), prediction_id
        )

    def _fetch_output(self, model: ReplicateModel, prediction: Prediction, kind: str, work: Path) -> tuple[Path, str]:
        """The output as a validated local file (text outputs written as UTF-8)."""
        if kind == "text":
            try:
                text = output_text(prediction.output)
            except ValueError as exc:
                raise ReplicateFailed(f"replicate model {model.id}: prediction {prediction.id}: {exc}", False) from None
            path = work / "reply.txt"
            path.write_text(text, encoding="utf-8")
            return path, "txt"
        try:
            url = output_url(prediction.output)
        except ValueError as exc:
            raise ReplicateFailed(f"replicate model {model.id}: prediction {prediction.id}: {exc}", False) from None
        dest = work / "output"
        ext = self._retrying(model, "download the output", lambda: self._download(url, dest, kind), prediction.id)
        final = dest.with_suffix("." + ext)
        dest.rename(final)
        return final, ext

    def _download(self, url: str, dest: Path, kind: str) -> str:
        """Download `url` to `dest` whole (timeout, size cap), check its type and content; return its ext."""
        cap = self.limits.max_download_bytes
        if url.startswith("data:"):
            dest.write_bytes(base64.b64decode(url.split(",", 1)[1]))
        else:
            headers = {"Authorization": f"Bearer {self._token}"} if self._same_origin(url) else {}
            start = time.monotonic()
            with self._http.stream("GET", url, headers=headers) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Transient(f"download answered HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise _Permanent(f"download answered HTTP {response.status_code}")
                length = response.headers.get("content-length")
                if length is not None and int(length) > cap:
                    raise _Permanent(f"the output is {int(length)} bytes, over the {cap}-byte cap")
                received = 0
                with dest.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        received += len(chunk)
                        if received > cap:
                            raise _Permanent(f"the output is over the {cap}-byte cap")
                        if time.monotonic() - start > self.limits.download_s:
                            raise _Transient(f"the download took over {self.limits.download_s:g} s")
                        handle.write(chunk)
            if length is not None and received != int(length):
                raise _Transient(f"truncated download: {received} of {length} bytes")
        with dest.open("rb") as handle:
            head = handle.read(16)
        found = sniff(head)
        if found not in MEDIA_KINDS[kind]:
            shown = head[:12].decode("latin-1").encode("unicode_escape").decode("ascii")
            raise _Transient(
                f"expected {kind} ({'/'.join(MEDIA_KINDS[kind])}), got {found or 'unknown content'} starting {shown!r}"
            )
        _check_content(dest, kind)
        return str(found)

    # -- retries -------------------------------------------------------------------------------------

    def _retrying(self, model: ReplicateModel, what: str, op: Callable[[], T], prediction_id: str = "") -> T:
        """`op`, retried on transient failures with exponential backoff and full jitter, within bounds."""
        start = time.monotonic()
        last = ""
        attempt = 0
        while True:
            attempt += 1
            self._local.retry_after = None
            try:
                return op()
            except Exception as exc:  # classified below; anything unknown is re-raised
                transient, text = self._classify(exc)
                last = self._redact(text)
                if not transient:
                    message = self._failure(model, what, prediction_id, attempt, start, last)
                    raise ReplicateFailed(message, retryable=False) from None
            if attempt >= self.retry.attempts:
                break
            delay = self.retry.delay(attempt - 1, self._rng)
            retry_after = getattr(self._local, "retry_after", None)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.retry.cap_s))
            if time.monotonic() - start + delay > self.retry.total_s:
                break
            log.warning(
                "%s: %s failed (%s); retrying in %.2f s (attempt %d/%d)",
                model.id, what, last, delay, attempt + 1, self.retry.attempts,
            )  # fmt: skip
            self._sleep(delay)
        # Out of retries on transient errors: a later run may succeed, unless a prediction was already paid for.
        raise ReplicateFailed(self._failure(model, what, prediction_id, attempt, start, last), not prediction_id)

    @staticmethod
    def _failure(model: ReplicateModel, what: str, prediction_id: str, attempts: int, start: float, last: str) -> str:
        where = f" (prediction {prediction_id})" if prediction_id else ""
        return (
            f"replicate model {model.id}: could not {what}{where} after {attempts} attempt(s) in "
            f"{time.monotonic() - start:.1f} s; last error: {last}"
        )

    def _classify(self, exc: Exception) -> tuple[bool, str]:
        """(transient?, what happened) for an exception from a call."""
        if isinstance(exc, ReplicateError):
            status = exc.status or 0
            text = f"HTTP {status}: {exc.detail or exc.title or 'no detail'}"
            if status in (401, 403):
                return False, f"{text} (check {TOKEN_ENV})"
            return status == 429 or status >= 500, text
        if isinstance(exc, httpx.TimeoutException):
            return True, f"timed out ({type(exc).__name__})"
        if isinstance(exc, httpx.TransportError):
            return True, f"connection error ({type(exc).__name__}: {exc})"
        if isinstance(exc, _Transient):
            return True, str(exc)
        if isinstance(exc, _Permanent | MediaError):
            return False, str(exc).splitlines()[0]
        raise exc

    def _on_response(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            value = response.headers.get("retry-after", "").strip()
            self._local.retry_after = float(value) if value.replace(".", "", 1).isdigit() else None

    # -- helpers -------------------------------------------------------------------------------------

    def _generation(self, model: ReplicateModel, seed: int, result: _Result) -> Generation:
        extra = {
            "cache": "hit" if result.cache_hit else "miss",
            "prediction_id": result.prediction_id,
            "version": result.version,
        }
        if result.billed_failures:
            extra["billed_failures"] = str(result.billed_failures)
        return Generation(
            model=model.id, seed=seed, cost_usd=as_float(result.cost), cache_hit=result.cache_hit, extra=extra
        )

    def _add_spent(self, amount: Decimal) -> None:
        with self._spent_lock:
            self.spent += amount

    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    @staticmethod
    @contextlib.contextmanager
    def _workdir(parent: Path | None) -> Iterator[Path]:
        """A private directory for downloads (beside the output, so moves are cheap), removed after."""
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(dir=parent, prefix=".replicate."))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def __repr__(self) -> str:
        return f"ReplicateBackend({self.identity}, base_url={self.base_url!r})"


def _reference_words(references: tuple[ReferenceImage, ...]) -> str:
    """The references' `describe` words for a prompt: `, featuring amber glass bottle; woman in her 30s`."""
    words = [r.describe.strip() for r in references if r.describe and r.describe.strip()]
    return f", featuring {'; '.join(words)}" if words else ""


def _motion_prompt(request: VideoRequest) -> str:
    camera = {"static": "static camera"}.get(request.camera, f"camera {request.camera.replace('_', ' ')}")
    return f"{request.prompt}, {camera}, smooth natural motion"


def _check_content(path: Path, kind: str) -> None:
    """Decode enough of the file to know it is whole; a broken file is transient (download again)."""
    try:
        if kind == "image":
            with Image.open(path) as image:
                image.load()
            return
        info = probe.probe(path)
    except (OSError, MediaError, SyntaxError, ValueError) as exc:
        raise _Transient(f"the downloaded {kind} does not decode: {str(exc).splitlines()[0]}") from None
    if kind == "video" and info.frames < 1:
        raise _Transient("the downloaded video has no frames")
    if kind == "audio" and not info.has_audio:
        raise _Transient("the downloaded audio has no audio stream")
