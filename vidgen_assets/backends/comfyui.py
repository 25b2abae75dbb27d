"""The `comfyui` backend: storyboard images, chunks, bridges (and optionally the music bed and the voice)
from the team's own ComfyUI workflows on the team's own servers.

Every call goes through `_generate`:
1. the generation cache (`cache.py`, as for Replicate) answers an identical request with no HTTP call.
   The key is the job, the workflow file's bytes (sha256), the binding and every value bound (prompt,
   seed, size, frames, and the sha256 of each image sent): editing a workflow re-makes what it makes;
2. a free server is checked out of the pool (`comfyui_pool`: one prompt per server at a time), the
   images are uploaded (`POST /upload/image`, the name it answers is the one bound), the workflow is
   bound (`core.comfy_workflow.bind`) and queued (`POST /prompt`); a 400 becomes a message naming the node
   and input ComfyUI objected to, and fails at once (fixing the workflow or the server is needed);
3. the prompt is waited on: `GET /history/{id}` until it has an entry, `GET /queue` meanwhile (history is
   `{}` while queued, running, or lost with a restarted server), until `VIDGEN_COMFYUI_DEADLINE`, after
   which it is interrupted (`POST /interrupt`, `POST /queue {delete}`) and the call fails;
4. a server that stops answering (connection errors and timeouts past the client's retries), or that
   lost the prompt, is taken out of the pool and the job goes to another server; the render names it
   (a progress line and `failed_over_from` in the artifact's record). A node error during execution
   fails the call with ComfyUI's message (`retryable`: the pair's RetryPolicy tries again); an interrupted
   prompt is queued again, within `PROMPT_ATTEMPTS`;
5. the `output` node's files are downloaded (`GET /view`), judged by their bytes, not the list they are
   under (`images`, `gifs`, `audio`): a PNG, a video file, an animated WebP or GIF, or an image sequence,
   which are made into an MP4 at the workflow's fps; then, as for a hosted model, images are cover-fitted
   to the plan's size, chunks normalised to exactly the planned frames at the plan's size and fps, and
   bridges retimed to exactly their frames.

Without a music or voice workflow the animatic's local bed and espeak-ng speak (free), and the plan says
so. Cost: $0 unless `price_per_second` is set; then each call costs its measured execution time (the
server's `execution_start` to `execution_success` stamps, else the time vidgen saw it run) at that
price, failed runs included, and a render never starts a call that could take its spend past
`budget_usd` (the call's stated `seconds` reserved while it runs).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.backends.base import Backend
from vidgen_assets.backends.cache import GenerationCache, request_key
from vidgen_assets.backends.comfyui_client import (
    ComfyClient,
    ComfyUIFailed,
    Done,
    PromptRefused,
    ServerUnreachable,
    display_url,
)  # fmt: skip
from vidgen_assets.backends.comfyui_pool import NoServer, ServerPool, shared_pool
from vidgen_assets.backends.replicate_inputs import image_prompt, motion_prompt, music_prompt, reference_words
from vidgen_assets.backends.replicate_output import fit_clip, fit_image, write_speech_wav, write_wav
from vidgen_assets.backends.replicate_retry import Clock, SystemClock, is_transient_model_error
from vidgen_assets.comfy_workflows import LoadedWorkflow
from vidgen_assets.core.comfy_workflow import (
    NativeClip,
    bind,
    binding_map,
    frames_to_ask,
    gpu_cost,
    size_to_ask,
    stage_price,
)  # fmt: skip
from vidgen_assets.core.cost import as_float, music_seconds, usd
from vidgen_assets.core.fingerprint import digest_bytes, fingerprint
from vidgen_assets.core.generation import Generation, ImageRequest, MusicRequest, SpeechRequest, VideoRequest
from vidgen_assets.core.spec import Spec
from vidgen_assets.media import ops
from vidgen_assets.media.files import private_dir
from vidgen_assets.storage.store import ArtifactStore

log = logging.getLogger("vidgen.comfyui")
PROGRESS = logging.getLogger("vidgen.progress")
"""The render's progress lines (the CLI prints them): a server that stopped answering is named there."""
PROMPT_ATTEMPTS = 4
"""Prompts queued for one call at most: after a server stopped answering or lost it, or an interruption."""


class ExecutionFailed(Exception):
    """A prompt that ran and ended in an error (or was interrupted): its message and measured seconds."""

    def __init__(self, message: str, seconds: float, transient: bool) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.transient = transient


class PromptLost(Exception):
    """The server no longer knows the prompt (restarted): neither in its history nor in its queue."""


@dataclass
class Ledger:
    """What a video's render spent on GPU time in this process, and what running calls may still cost."""

    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, amount: Decimal, budget: Decimal | None, what: str) -> None:
        with self.lock:
            if budget is not None and self.spent + self.reserved + amount > budget:
                raise ComfyUIFailed(
                    f"{what}: not started: budget_usd {usd(budget)} would be passed (spent {usd(self.spent)} in GPU "
                    f"time so far, {usd(self.reserved)} reserved by calls running, this call is estimated at "
                    f"{usd(amount)})",
                    retryable=False,
                )
            self.reserved += amount

    def settle(self, reserved: Decimal, cost: Decimal) -> None:
        with self.lock:
            self.reserved -= reserved
            self.spent += cost


_LEDGERS: dict[str, Ledger] = {}
_LEDGERS_LOCK = threading.Lock()


def ledger(video_id: str, fresh: bool = False) -> Ledger:
    """The video's ledger in this process (`fresh`: a new render begins)."""
    with _LEDGERS_LOCK:
        if fresh or video_id not in _LEDGERS:
            _LEDGERS[video_id] = Ledger()
        return _LEDGERS[video_id]


@dataclass
class _Result:
    path: Path
    ext: str
    cost: Decimal
    cache_hit: bool
    seconds: float
    server: str = ""
    prompt_id: str = ""
    failed_over_from: list[str] = field(default_factory=list)
    prompts: int = 0


class ComfyUIBackend(Backend):
    """Images, chunks and bridges (and music and speech when bound) from ComfyUI workflows on a pool."""

    name = "comfyui"

    def __init__(
        self,
        spec: Spec,
        workflows: Sequence[LoadedWorkflow],
        store: ArtifactStore | None = None,
        deadline_s: float = 1800.0,
        poll_s: float = 0.5,
        pool: ServerPool | None = None,
        clock: Clock | None = None,
    ) -> None:
        if spec.comfyui is None:
            raise ValueError("backend comfyui needs the spec's comfyui section")
        self.spec = spec
        self.section = spec.comfyui
        self.video_id = spec.id
        self.flows: dict[str, LoadedWorkflow] = {flow.stage: flow for flow in workflows}
        missing = [s for s in ("image", "video") if s not in self.flows]
        if missing:
            raise ValueError(f"backend comfyui needs the {' and '.join(missing)} workflow(s)")
        self.pool = pool or shared_pool(self.section.servers)
        self.max_concurrency = len(self.pool.servers)
        """Storyboard images (and voice lines) made at once: one per server."""
        self.clock: Clock = clock or SystemClock()
        self.deadline_s = deadline_s
        self.poll_s = poll_s
        self.cache = GenerationCache(store) if store is not None else None
        native = self.native("video")
        self.chunk_seconds = native.seconds
        """The video workflow's clip as exported (its frames after the first, at the fps it writes)."""
        self.identity = "comfyui:" + ",".join(f"{s}={self._flow_identity(s)}" for s in sorted(self.flows))
        """What the stages fingerprint: any workflow's bytes or binding changing changes every output."""
        self.reference_identity = f"comfyui:image={self._flow_identity('image')}"
        voice = self.flows.get("voice")
        self.speech_identity = f"comfyui:voice={self._flow_identity('voice')}" if voice else None
        """What a voice line is fingerprinted by (None: the local engine's, as the animatic's)."""
        self._local = AnimaticBackend(chunk_seconds=self.chunk_seconds)
        self.budget = Decimal(str(spec.budget_usd)) if spec.budget_usd is not None else None
        self.spent = Decimal(0)
        self._spent_lock = threading.Lock()

    def _flow_identity(self, stage: str) -> str:
        flow = self.flows[stage]
        return f"{flow.sha256[:16]}:{fingerprint(binding_map(flow.binding))[:12]}"

    def native(self, stage: str) -> NativeClip:
        found = self.flows[stage].native
        assert found is not None, stage
        return found

    # -- before a render -----------------------------------------------------------------------------

    def start_render(self) -> None:
        """Before any work: ask every server for its queue. A server that does not answer is left out of the
        pool (and named); none answering is one clear `BackendUnavailable`. The video's GPU ledger starts
        again (the budget counts this render's calls)."""
        from vidgen_assets.backends import BackendUnavailable

        failed = self.pool.probe(self._say)
        if len(failed) == len(self.pool.servers):
            raise BackendUnavailable(
                "no ComfyUI server reachable: " + "; ".join(f"{s} ({why})" for s, why in failed.items())
                + ". Start ComfyUI there (e.g. `python main.py --listen 0.0.0.0 --port 8188`) or fix comfyui.servers"
            )  # fmt: skip
        ledger(self.video_id, fresh=True)

    # -- the Backend interface -----------------------------------------------------------------------

    def image(self, request: ImageRequest, out: Path) -> Generation:
        """A storyboard image from the image workflow, cover-fitted to the frame as PNG (a beat's
        references give their `describe` words to the prompt)."""
        width, height = size_to_ask(request.frame.width, request.frame.height)
        values = {"prompt": image_prompt(request), "seed": request.seed, "width": width, "height": height}
        with self._workdir(out.parent) as work:
            result = self._generate("image", values, {}, "image", work)
            fit_image(result.path, out, request.frame.width, request.frame.height)
        return self._generation("image", request.seed, result)

    def video(self, request: VideoRequest, source_image: Path, out: Path) -> Generation:
        """A chunk from the video workflow started on `source_image` (a bridge: from the bridge workflow,
        ending on `request.end_image`), normalised to exactly the planned frames. The workflow is asked for
        the 4n+1 frames at its own fps that cover the chunk (a continuous chunk drops its first, the start
        image) at the plan's size floored to a multiple of 16; a bridge's whole clip is retimed to exactly
        its frames, so it ends on the end image."""
        bridge = request.kind == "bridge"
        stage = "bridge" if bridge else "video"
        if bridge and ("bridge" not in self.flows or request.end_image is None):
            raise ComfyUIFailed("a bridge needs comfyui.workflows.bridge (a first and last frame workflow)", False)
        frame = request.frame
        native = self.native(stage)
        asked = frames_to_ask(request.frames, frame.fps, native.fps)
        width, height = size_to_ask(frame.width, frame.height)
        values = {
            "prompt": motion_prompt(request) + reference_words(request.reference_images),
            "seed": request.seed, "width": width, "height": height, "frames": asked,
        }  # fmt: skip
        images = {"start_image": source_image.read_bytes()}
        if bridge and request.end_image:
            images["end_image"] = Path(request.end_image).read_bytes()
        with self._workdir(out.parent) as work:
            result = self._generate(stage, values, images, "clip", work)
            fit_clip(result.path, out, request)
        gen = self._generation(stage, request.seed, result)
        gen.extra["source_image_sha256"] = digest_bytes(images["start_image"])
        gen.extra["frames_asked"] = str(asked)
        if "end_image" in images:
            gen.extra["end_image_sha256"] = digest_bytes(images["end_image"])
        return gen

    def music(self, request: MusicRequest, out: Path) -> Generation:
        """The music bed from the music workflow as a 48 kHz stereo WAV of exactly `request.seconds`;
        without one, the animatic's local bed."""
        if "music" not in self.flows:
            return self._local.music(request, out)
        asked = music_seconds(request.seconds)
        values = {"prompt": music_prompt(request), "seed": request.seed, "duration": asked}
        with self._workdir(out.parent) as work:
            result = self._generate("music", values, {}, "sound", work)
            write_wav(result.path, out, request.seconds)
        gen = self._generation("music", request.seed, result)
        gen.extra["seconds_asked"] = str(asked)
        return gen

    def speech(self, request: SpeechRequest, out: Path) -> Generation:
        """A voiceover line from the voice workflow (its `prompt` bound to the text) as a mono WAV; without
        one, spoken locally by espeak-ng."""
        if "voice" not in self.flows:
            return self._local.speech(request, out)
        values = {"prompt": request.text, "seed": request.seed}
        with self._workdir(out.parent) as work:
            result = self._generate("voice", values, {}, "sound", work)
            write_speech_wav(result.path, out)
        return self._generation("voice", request.seed, result)

    # -- one workflow call ---------------------------------------------------------------------------

    def _generate(
        self, stage: str, values: Mapping[str, Any], images: Mapping[str, bytes], kind: str, work: Path
    ) -> _Result:
        flow = self.flows[stage]
        hashed = {**values, **{k: f"sha256:{digest_bytes(v)}" for k, v in images.items()},
                  "binding": binding_map(flow.binding)}  # fmt: skip
        key = request_key(f"comfyui:{stage}", flow.sha256, hashed)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                log.info("comfyui %s: cache hit %s", stage, key[:12])
                record = hit.record
                return _Result(hit.path, str(record["ext"]), Decimal(0), True, 0.0, str(record.get("server", "")),
                               str(record.get("prompt_id", "")))  # fmt: skip
        where = f"comfyui.workflows.{stage} ({flow.file})"
        _, price, _ = stage_price(self.spec, stage)
        estimate = price.usd
        books = ledger(self.video_id)
        rate = self.section.price_per_second
        failed: list[str] = []
        seconds_billed = 0.0
        last = ""
        for attempt in range(1, PROMPT_ATTEMPTS + 1):
            books.reserve(estimate, self.budget, where)  # before a server is taken: a refusal holds none
            try:
                server = self.pool.checkout(avoid=failed)
            except NoServer as exc:
                books.settle(estimate, Decimal(0))
                self._add_spent(gpu_cost(rate, seconds_billed))
                raise ComfyUIFailed(f"{where}: {exc}" + (f"; last error: {last}" if last else ""), True) from None
            ran = 0.0
            try:
                path, ext, ran, prompt_id = self._attempt(server, flow, values, images, kind, work, where)
            except PromptLost as exc:  # the server answers again, without the prompt: queue it again
                last = str(exc)
                self._say(f"{exc}: its {stage} job is queued again")
                continue
            except ServerUnreachable as exc:
                if not exc.retryable:
                    raise ComfyUIFailed(f"{where}: {exc}", False) from None
                why = str(exc).rsplit("last error: ", 1)[-1]
                self.pool.mark_down(server, why)
                failed.append(server)
                last = f"{display_url(server)}: {why}"
                self._say(f"comfyui server {display_url(server)} stopped answering ({why}): its {stage} job goes to "
                          "another server")  # fmt: skip
                continue
            except ExecutionFailed as exc:
                ran = exc.seconds
                seconds_billed += ran
                if exc.transient and attempt < PROMPT_ATTEMPTS:
                    last = str(exc)
                    log.warning("%s: %s; queueing it again (%d/%d)", where, exc, attempt + 1, PROMPT_ATTEMPTS)
                    continue
                self._add_spent(gpu_cost(rate, seconds_billed))
                raise ComfyUIFailed(f"{where}: {exc}", retryable=True) from None
            finally:
                books.settle(estimate, gpu_cost(rate, ran))
                self.pool.release(server)
            seconds_billed += ran
            cost = gpu_cost(rate, seconds_billed)
            self._add_spent(cost)
            record = {
                "model": f"comfyui:{stage}",
                "workflow": flow.file,
                "workflow_sha256": flow.sha256,
                "server": display_url(server),
                "prompt_id": prompt_id,
                "gpu_seconds": round(seconds_billed, 3),
                "cost_usd": as_float(cost),
                "failed_over_from": [display_url(s) for s in failed],
                "inputs": hashed,
            }
            if self.cache is not None:
                self.cache.put(key, path, ext, record)
            return _Result(path, ext, cost, False, seconds_billed, display_url(server), prompt_id,
                           [display_url(s) for s in failed], attempt)  # fmt: skip
        self._add_spent(gpu_cost(rate, seconds_billed))
        raise ComfyUIFailed(f"{where}: no result after {PROMPT_ATTEMPTS} prompt(s); last error: {last}", True)

    def _attempt(
        self,
        server: str,
        flow: LoadedWorkflow,
        values: Mapping[str, Any],
        images: Mapping[str, bytes],
        kind: str,
        work: Path,
        where: str,
    ) -> tuple[Path, str, float, str]:
        """Upload, bind, queue, wait and fetch on one server: (file, its extension, measured seconds, id)."""
        client = self.pool.client(server)
        sent = dict(values)
        for name, data in images.items():
            sent[name] = client.upload_image(data, f"vidgen-{digest_bytes(data)[:16]}.png")
        prompt = bind(flow.nodes, flow.binding, sent)
        try:
            prompt_id = client.queue_prompt(prompt)
        except PromptRefused as exc:
            raise ComfyUIFailed(f"{where}: {client.shown} refused the workflow: {exc}", retryable=False) from None
        done, seconds = self._wait(client, prompt_id, where)
        if done.status != "success":
            error = done.message("execution_error")
            if error is not None:
                node = f"node {error.get('node_id')} ({error.get('node_type')})"
                text = str(error.get("exception_message") or error.get("exception_type") or "error").strip()
                transient = is_transient_model_error(text) or "OutOfMemory" in str(error.get("exception_type"))
                raise ExecutionFailed(f"{client.shown}, prompt {prompt_id}: {node} failed: {text}", seconds, transient)
            stopped = done.message("execution_interrupted")
            what = f"interrupted at node {stopped.get('node_id')}" if stopped else f"ended {done.status}"
            raise ExecutionFailed(f"{client.shown}, prompt {prompt_id}: {what}", seconds, True)
        files = done.files(flow.binding.output)
        if not files:
            others = ", ".join(n for n in done.output_nodes() if done.files(n)) or "none"
            raise ComfyUIFailed(
                f"{where}: output node {flow.binding.output} wrote no files (nodes that did: {others}); bind output "
                "to the node that saves the result",
                retryable=False,
            )
        path, ext = self._fetch(client, files, kind, work, where, flow)
        return path, ext, seconds, prompt_id

    def _wait(self, client: ComfyClient, prompt_id: str, where: str) -> tuple[Done, float]:
        """Until the prompt has a history entry; (it, its execution seconds). `PromptLost` when the server
        no longer knows it; a prompt past the deadline is interrupted and the call fails."""
        start = self.clock.monotonic()
        running_since: float | None = None
        unseen = 0
        polls = 0
        while True:
            done = client.history(prompt_id)
            if done is not None:
                measured = done.execution_seconds()
                now = self.clock.monotonic()
                return done, measured if measured is not None else now - (running_since or start)
            running, pending = client.queue()
            if prompt_id in running:
                running_since = running_since or self.clock.monotonic()
                unseen = 0
            elif prompt_id in pending:
                unseen = 0
            else:
                unseen += 1  # it may have ended between the two reads: the history is read again first
                if unseen >= 2:
                    raise PromptLost(f"{client.shown} no longer knows prompt {prompt_id} (restarted?)")
            if self.clock.monotonic() - start > self.deadline_s:
                client.cancel(prompt_id)
                state = "running" if prompt_id in running else "queued"
                raise ComfyUIFailed(
                    f"{where}: prompt {prompt_id} on {client.shown} still {state} after {self.deadline_s:g} s "
                    "(VIDGEN_COMFYUI_DEADLINE); interrupted it",
                    retryable=False,
                )
            self.clock.sleep(min(self.poll_s, 0.05 * 2**polls))
            polls += 1

    def _fetch(
        self, client: ComfyClient, files: list[dict[str, Any]], kind: str, work: Path, where: str, flow: LoadedWorkflow
    ) -> tuple[Path, str]:
        """The output as one validated local file: an image, an MP4 (or the server's video file), audio."""
        wanted = "image" if kind == "image" else kind
        picked = files[:1] if kind != "clip" else files
        paths: list[tuple[Path, str]] = []
        for index, item in enumerate(picked):
            dest = work / f"output_{index:04d}"
            ext = client.download(item, dest, wanted)
            final = dest.with_suffix("." + ext)
            dest.rename(final)
            paths.append((final, ext))
        if kind != "clip":
            return paths[0]
        moving = [(p, ext) for p, ext in paths if ext not in ("png", "jpg") and _frame_count(p, ext) > 1]
        if len(moving) == 1:  # one video (beside, say, a preview image)
            path, ext = moving[0]
            return (_to_mp4([path], work / "clip.mp4", flow.native), "mp4") if ext in ("webp", "gif") else (path, ext)
        if not moving and len(paths) > 1:  # an image sequence: its frames in order
            return _to_mp4([p for p, _ in paths], work / "clip.mp4", flow.native), "mp4"
        what = "one still image" if not moving else f"{len(moving)} videos"
        raise ComfyUIFailed(f"{where}: output node {flow.binding.output} wrote {what}, not one video; bind the node "
                            "that saves the video", False)  # fmt: skip

    # -- helpers -------------------------------------------------------------------------------------

    def _generation(self, stage: str, seed: int, result: _Result) -> Generation:
        flow = self.flows[stage]
        extra = {
            "cache": "hit" if result.cache_hit else "miss",
            "workflow": flow.file,
            "workflow_sha256": flow.sha256,
            "server": result.server,
            "prompt_id": result.prompt_id,
            "gpu_seconds": f"{result.seconds:.3f}",
        }
        if result.failed_over_from:
            extra["failed_over_from"] = ", ".join(result.failed_over_from)
        return Generation(
            model=f"comfyui:{stage}", seed=seed, cost_usd=as_float(result.cost), cache_hit=result.cache_hit, extra=extra
        )

    def _say(self, message: str) -> None:
        """A line of the render's progress (the CLI prints it; in a run's log without a CLI)."""
        PROGRESS.warning(message, extra={"video_id": self.video_id})

    def _add_spent(self, amount: Decimal) -> None:
        with self._spent_lock:
            self.spent += amount

    @staticmethod
    def _workdir(parent: Path | None) -> contextlib.AbstractContextManager[Path]:
        return private_dir(parent, ".comfyui.")

    def __repr__(self) -> str:
        return f"ComfyUIBackend({self.identity}, servers={[display_url(s) for s in self.pool.servers]})"


def _frame_count(path: Path, ext: str) -> int:
    """Frames in an animated WebP or GIF (1 for a still one); video files count as moving."""
    if ext not in ("webp", "gif"):
        return 2
    with Image.open(path) as image:
        return int(getattr(image, "n_frames", 1))


def _to_mp4(paths: Sequence[Path], out: Path, native: NativeClip | None) -> Path:
    """An animated WebP or GIF, or an image sequence, as an MP4 of its every frame at the workflow's fps
    (the size cropped to even numbers, which H.264 needs)."""
    fps = native.fps if native is not None else Fraction(16)

    def frames() -> Iterator[Any]:
        for path in paths:
            with Image.open(path) as image:
                for index in range(getattr(image, "n_frames", 1)):
                    image.seek(index)
                    yield np.asarray(image.convert("RGB"))

    first = next(iter(frames()))
    height, width = first.shape[0] // 2 * 2, first.shape[1] // 2 * 2
    ops.encode_frames((f[:height, :width] for f in frames()), out, width, height, round(fps))
    return out
