"""The `replicate` backend: storyboard images, chunks, music, speech and beat plans from models on Replicate.

Every call goes through `_generate`:
1. the generation cache (`cache.py`) answers an identical earlier request with zero HTTP calls;
2. the prediction is created (`predictions.create(model=...)`), retried on 429 (honouring Retry-After),
   5xx, connection errors and timeouts with exponential backoff and full jitter, bounded in attempts and
   in total time. (The official client retries some GETs itself but never a POST that got a 429.) A
   create whose request was sent but whose answer timed out may have made the prediction: before it is
   sent again, the recent predictions are searched for it so it is never paid twice;
3. the create asks the API to hold the request until the prediction ends (`Prefer: wait=N`) and sets a
   server-side deadline (`Cancel-After`, `VIDGEN_REPLICATE_DEADLINE`); a reply still `starting` or
   `processing` is then polled until it ends (never `run()`, which can return early on `processing`). A
   failed prediction is re-created only when its error is transient (timeout, overloaded, temporarily
   unavailable...); one that ran before failing was billed, and is counted. An `aborted` one (its deadline
   passed before it started) is not billed and is re-created within the same bounds. Predictions are read
   from the API's JSON directly: the client's model (replicate 1.0.7) rejects the `aborted` status;
4. the output is downloaded at once (Replicate deletes outputs after an hour) with a timeout and a size
   cap, its magic bytes checked against the media type expected, then its content probed; only then is it
   cached;
5. images are cover-fitted to the plan's size as PNG, chunks normalised (`media.ops.normalise_chunk`) to
   exactly the planned frames at the plan's size and fps, music converted to a WAV of exact length,
   speech to a mono WAV.

This module is the prediction lifecycle (cache, create, adopt, poll, cancel, fetch); the seams around it
are modules of their own: `replicate_inputs` (requests as model inputs), `replicate_retry` (which
failures are retried, backoff, the injectable `Clock`), `replicate_download` (downloading and
validating outputs) and `replicate_output` (post-processing).

The API token (`REPLICATE_API_TOKEN`, from `Settings`) is given to the client and to nothing else: it is
redacted from every message built here, and no record holds the client or its headers.
"""

from __future__ import annotations

import contextlib
import io
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction

from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.cache import GenerationCache, request_key
from vidgen_assets.backends.registry import ReplicateModel
from vidgen_assets.backends.replicate_download import (
    MEDIA_KINDS,
    Downloader,
    Limits,
    check_content,
    output_text,
    output_url,
    sniff,
)
from vidgen_assets.backends.replicate_inputs import (
    FLUX_ASPECTS,
    IMAGE_MIMES,
    data_uri,
    flux_aspect,
    image_inputs,
    llm_inputs,
    music_inputs,
    speech_inputs,
    speech_voice,
    video_inputs,
)
from vidgen_assets.backends.replicate_output import (
    MUSIC_RATE,
    fit_clip,
    fit_image,
    music_to_wav,
    speech_to_wav,
    write_speech_wav,
    write_wav,
)
from vidgen_assets.backends.replicate_retry import (
    TRANSIENT_MODEL_ERRORS,
    Clock,
    Permanent,
    ReplicateFailed,
    Retrier,
    RetryPolicy,
    SystemClock,
    Transient,
    is_transient_model_error,
    reset_seconds,
)
from vidgen_assets.backends.selection import ModelSelection
from vidgen_assets.core.cost import as_float, call_cost, speech_characters
from vidgen_assets.core.fingerprint import digest_bytes
from vidgen_assets.core.generation import Generation, ImageRequest, MusicRequest, SpeechRequest, VideoRequest
from vidgen_assets.media.files import private_dir
from vidgen_assets.settings import DEFAULT_BASE_URL, TOKEN_ENV
from vidgen_assets.storage.store import ArtifactStore

__all__ = [
    "FLUX_ASPECTS", "MEDIA_KINDS", "MUSIC_RATE", "TRANSIENT_MODEL_ERRORS", "Clock", "Limits", "Permanent",
    "ReplicateBackend", "ReplicateFailed", "RetryPolicy", "SystemClock", "Transient", "check_content",
    "flux_aspect", "music_to_wav", "output_text", "output_url", "parse_prediction", "reset_seconds", "sniff",
    "speech_to_wav", "speech_voice",
]  # fmt: skip

TERMINAL = ("succeeded", "failed", "canceled", "aborted")
CLOCK_SKEW_S = 30.0
"""How far the API's clock (a prediction's `created_at`, whole seconds) may be behind this machine's."""
log = logging.getLogger("vidgen.replicate")
T = TypeVar("T")


def parse_prediction(data: Any) -> Prediction:
    """A prediction from the API's JSON, any status (the client's own parser rejects `aborted`)."""
    if not isinstance(data, dict) or "id" not in data or "status" not in data:
        raise Transient(f"not a prediction: {str(data)[:200]!r}")
    return Prediction.construct(**data)


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


class ReplicateBackend(Backend):
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
        clock: Clock | None = None,
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
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._retrier = Retrier(self.retry, self.clock, self._rng, self._redact, log.warning)
        timeout = httpx.Timeout(self.limits.read_s, connect=self.limits.connect_s)
        self._client = Client(
            api_token=token, base_url=self.base_url, timeout=timeout,
            event_hooks={"response": [self._retrier.on_response]},
        )  # fmt: skip
        self._client.poll_interval = poll_interval  # not the client's own read of REPLICATE_POLL_INTERVAL
        self._downloader = Downloader(
            httpx.Client(timeout=timeout, follow_redirects=True), self.limits, self.clock, token, self.base_url
        )
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
        images: dict[str, bytes | list[bytes]] = {}
        used = refs[: max(1, model.max_input_images)] if model.input_images_key else ()
        if model.input_images_key and used:
            data = [Path(r.path).read_bytes() for r in used]
            images[model.input_images_key] = data if model.input_images_list else data[0]
        with self._workdir(out.parent) as work:
            result = self._generate(model, image_inputs(model, request), images, "image", Decimal(0), work)
            fit_image(result.path, out, frame.width, frame.height)
        gen = self._generation(model, request.seed, result)
        if used:
            gen.extra["reference_images"] = ",".join(f"{r.name}:{r.sha256[:12]}" for r in used)
        return gen

    def video(self, request: VideoRequest, source_image: Path, out: Path) -> Generation:
        """A chunk from the video model started on `source_image`, normalised to exactly the planned frames.

        A continuous chunk drops the model's first frame (it repeats the start image, which already ends
        the chunk before); a clip shorter than the chunk holds its last frame. A `bridge` also sends
        `request.end_image` as the model's end frame, asks for the shortest clip that covers it, and
        retimes the whole clip to exactly its frames (so it ends on the end image, nothing paid is cut).
        """
        model = self.models.video
        if model.image_key is None:
            raise ValueError(f"{model.id} takes no start image")
        bridge = request.kind == "bridge"
        if bridge and (model.end_image_key is None or request.end_image is None):
            raise ValueError(f"{model.id} has no end-frame input: it cannot make a bridge (see `vidgen models`)")
        frame = request.frame
        seconds = model.bridge_seconds(request.frames, frame.fps) if bridge else None
        # No reference images with an end frame: veo-3.1 ignores last_frame when given reference images.
        refs = request.reference_images if model.reference_images_key and not bridge else ()
        refs = refs[: model.max_reference_images or len(refs)]
        inputs = video_inputs(model, request, seconds)
        images: dict[str, bytes | list[bytes]] = {model.image_key: source_image.read_bytes()}
        if bridge and model.end_image_key and request.end_image:
            images[model.end_image_key] = Path(request.end_image).read_bytes()
        if model.reference_images_key and refs:
            images[model.reference_images_key] = [Path(r.path).read_bytes() for r in refs]
        billed = Decimal(seconds) if seconds is not None else model.billed_seconds
        with self._workdir(out.parent) as work:
            result = self._generate(model, inputs, images, "video", billed, work)
            fit_clip(result.path, out, request)
        gen = self._generation(model, request.seed, result)
        gen.extra["source_image_sha256"] = digest_bytes(source_image.read_bytes())
        if refs:
            gen.extra["reference_images"] = ",".join(f"{r.name}:{r.sha256[:12]}" for r in refs)
        if bridge and request.end_image:
            gen.extra["end_image_sha256"] = digest_bytes(Path(request.end_image).read_bytes())
            gen.extra["billed_seconds"] = str(seconds)
        return gen

    def music(self, request: MusicRequest, out: Path) -> Generation:
        """A music bed from the music model, as a 48 kHz stereo WAV of exactly `request.seconds`."""
        model = self.models.music
        inputs, asked = music_inputs(model, request)
        with self._workdir(out.parent) as work:
            result = self._generate(model, inputs, {}, "audio", Decimal(asked), work)
            write_wav(result.path, out, request.seconds)
        gen = self._generation(model, request.seed, result)
        gen.extra["seconds_asked"] = str(asked)
        return gen

    def speech(self, request: SpeechRequest, out: Path) -> Generation:
        """A voiceover line from the text-to-speech model, as a mono WAV (billed per character or per run)."""
        model = self.models.voice
        voice = speech_voice(model, request.voice)
        if voice is None:
            raise ReplicateFailed(
                f"replicate model {model.id} has no voice {request.voice!r}; known: {', '.join(model.voices)}", False
            )
        inputs = speech_inputs(model, request, voice)
        with self._workdir(out.parent) as work:
            result = self._generate(model, inputs, {}, "audio", Decimal(speech_characters(request.text)), work)
            write_speech_wav(result.path, out)
        gen = self._generation(model, request.seed, result)
        gen.extra["voice"] = voice
        return gen

    def ask_llm(self, system: str, prompt: str) -> tuple[str, str]:
        """The planner model's reply to `prompt` (cached like every call); returns (text, model id)."""
        model = self.models.planner
        inputs = llm_inputs(model, system, prompt)
        with self._workdir(None) as work:
            result = self._generate(model, inputs, {}, "text", Decimal(0), work)
            text = result.path.read_text(encoding="utf-8")
        return text, model.id

    def ask_with_images(
        self, model: ReplicateModel, system: str, prompt: str, images: list[bytes]
    ) -> tuple[str, Decimal, bool]:
        """A vision-language model's reply to `prompt` about `images` (sent in order as its
        `input_images_key` list; the judge, `backends.judge`): (text, cost, answered from the cache).
        Cached and retried like every call; each image keyed by its bytes' sha256."""
        if not model.input_images_key:
            raise ValueError(f"{model.id} takes no input images")
        inputs = llm_inputs(model, system, prompt)
        with self._workdir(None) as work:
            result = self._generate(model, inputs, {model.input_images_key: images}, "text", Decimal(0), work)
            text = result.path.read_text(encoding="utf-8")
        return text, result.cost, result.cache_hit

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
            aborted = str(prediction.status) == "aborted"
            ran = not aborted and (bool((prediction.metrics or {}).get("predict_time")) or bool(prediction.started_at))
            billed_failures += int(ran)
            error = self._redact(str(prediction.error or prediction.status))
            if aborted:
                error = f"aborted: its {self.limits.deadline_s} s deadline passed before it started (not billed)"
            transient = aborted or (prediction.status == "failed" and is_transient_model_error(error))
            if transient and attempt < self.retry.prediction_attempts:
                delay = self.retry.delay(attempt, self._rng)
                log.warning(
                    "%s: prediction %s failed (%s); creating another in %.1f s (%d/%d)",
                    model.id, prediction.id, error, delay, attempt + 1, self.retry.prediction_attempts,
                )  # fmt: skip
                self.clock.sleep(delay)
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
        mime = IMAGE_MIMES.get(sniff(data[:16]) or "", "")
        if not mime:
            raise ValueError(f"{model.id}: the {key} image is not PNG, JPEG or WEBP")
        if len(data) <= self.limits.data_uri_max_bytes:
            return data_uri(data, mime)
        suffix = mime.split("/")[1]

        def upload() -> str:
            uploaded = self._client.files.create(io.BytesIO(data), filename=f"{key}.{suffix}", content_type=mime)
            return str(uploaded.urls["get"])

        return self._retrying(model, f"upload the {key} image", upload)

    def _create(self, model: ReplicateModel, sent: dict[str, Any]) -> Prediction:
        started = self.clock.time()
        state = {"sent": False}
        wait = max(1, min(60, self.limits.wait_s, round(self.limits.read_s)))
        headers = {"Prefer": f"wait={wait}"}
        if self.limits.deadline_s:
            headers["Cancel-After"] = f"{self.limits.deadline_s}s"
        # The API holds the request up to `wait` s: the read timeout covers that, and the request's own.
        timeout = httpx.Timeout(self.limits.read_s + wait, connect=self.limits.connect_s)

        def create() -> Prediction:
            if state["sent"]:
                # The last create was sent but its answer never came: it may exist. Never pay twice.
                found = self._find_created(model, sent, started)
                if found is not None:
                    log.warning("%s: adopting prediction %s created by a create that timed out", model.id, found.id)
                    return found
            try:
                response = self._client._request(
                    "POST", f"/v1/models/{model.id}/predictions", json={"input": sent}, headers=headers,
                    timeout=timeout,
                )  # fmt: skip
            except (httpx.ReadTimeout, httpx.RemoteProtocolError):
                state["sent"] = True
                raise
            return parse_prediction(response.json())

        return self._retrying(model, "create a prediction", create)

    def _find_created(self, model: ReplicateModel, sent: dict[str, Any], since: float) -> Prediction | None:
        """A prediction of `model` with exactly these inputs created since `since` (epoch seconds, less
        the clock skew allowed between this machine and the API): the one a timed-out create made."""
        try:
            results = self._client._request("GET", "/v1/predictions").json().get("results", [])
        except (ReplicateError, httpx.HTTPError, ValueError):
            return None
        for candidate in results:
            if not isinstance(candidate, dict) or candidate.get("model") != model.id or candidate.get("input") != sent:
                continue
            found = parse_prediction(candidate)
            if _created_since(found, since):
                return found
        return None

    def _wait(self, model: ReplicateModel, prediction: Prediction) -> Prediction:
        """Poll until the prediction ends; cancel it when it runs past the timeout."""
        deadline = self.clock.monotonic() + self.retry.prediction_timeout_s
        polls = 0
        while prediction.status not in TERMINAL:
            if self.clock.monotonic() > deadline:
                with contextlib.suppress(ReplicateError, httpx.HTTPError):
                    self._client._request("POST", f"/v1/predictions/{prediction.id}/cancel")
                raise ReplicateFailed(
                    f"replicate model {model.id}: prediction {prediction.id} still {prediction.status} after "
                    f"{self.retry.prediction_timeout_s:g} s; canceled it",
                    retryable=False,
                )
            self.clock.sleep(min(self._client.poll_interval, 0.05 * 2**polls))
            polls += 1
            prediction = self._poll(model, prediction.id)
        return prediction

    def _poll(self, model: ReplicateModel, prediction_id: str) -> Prediction:
        def get() -> Prediction:
            return parse_prediction(self._client._request("GET", f"/v1/predictions/{prediction_id}").json())

        return self._retrying(model, "poll the prediction", get, prediction_id)

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
        ext = self._retrying(
            model, "download the output", lambda: self._downloader.download(url, dest, kind), prediction.id
        )
        final = dest.with_suffix("." + ext)
        dest.rename(final)
        return final, ext

    # -- retries -------------------------------------------------------------------------------------

    def _retrying(self, model: ReplicateModel, what: str, op: Callable[[], T], prediction_id: str = "") -> T:
        """`op`, retried on transient failures within the policy's bounds (`replicate_retry.Retrier`)."""
        return self._retrier.run(model.id, what, op, prediction_id)

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

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    @staticmethod
    def _workdir(parent: Path | None) -> contextlib.AbstractContextManager[Path]:
        """A private directory for downloads (beside the output, so moves are cheap), removed after."""
        return private_dir(parent, ".replicate.")

    def __repr__(self) -> str:
        return f"ReplicateBackend({self.identity}, base_url={self.base_url!r})"


def _created_since(prediction: Prediction, since: float) -> bool:
    created = getattr(prediction, "created_at", None)
    if not created:
        return True  # no time to go by: the model and the inputs matched
    try:
        stamp = datetime.fromisoformat(str(created).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return True
    return stamp >= since - CLOCK_SKEW_S
