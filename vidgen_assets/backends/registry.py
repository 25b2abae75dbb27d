"""The Replicate model registry: which models vidgen can call, how to call them, what they cost.

Data only. Each entry says how vidgen's request maps onto the model's inputs (the prompt key, the
start-image key, the duration / frame / fps / resolution / aspect keys and fixed defaults), the native clip it
returns, and its price with where the number comes from and when it was read. Prices change: override them
without code with a JSON file named by `VIDGEN_PRICES` (see `prices.load_prices`); a spec's models are
picked in `selection.py`, its cost estimated in `estimate.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from vidgen_assets.core.cost import Price

ModelKind = Literal["image", "video", "music", "llm", "tts", "vlm"]
"""`vlm`: a vision-language model (images + a prompt -> text), the judge of `qc.judge: replicate`."""


STAGE_KINDS: dict[str, ModelKind] = {
    "image": "image", "video": "video", "music": "music", "planner": "llm", "voice": "tts",
}  # fmt: skip
"""The keys of a spec's `models:` field and the kind of model each takes."""


# Where the prices come from. replicate.com/pricing lists the official models' per-output prices; the
# flux figures were checked against a transcript of that page dated 2026-10-07. The others were read from
# each model's page and could not be re-checked from here (no network): verify before a large render.
PRICING_PAGE = "replicate.com/pricing"


MODEL_PAGE = "replicate.com/{id} model page"


SCHEMA_PAGE = "replicate.com/{id} API schema page"


CHECKED = "2026-12-01"
"""When the 2026-12 entries were written, from stored copies of public pages (no network here)."""


@dataclass(frozen=True)
class ReplicateModel:
    """One model on Replicate and how vidgen calls it."""

    id: str
    """`owner/name`; predictions are created at `/v1/models/{owner}/{name}/predictions`."""
    kind: ModelKind
    price: Price
    version: str = "latest"
    """The version the cache is keyed by: official models run their latest version."""
    prompt_key: str = "prompt"
    image_key: str | None = None
    """The start-image input of an image-to-video model: `image`, `first_frame_image`, `start_image`."""
    seed_key: str | None = "seed"
    duration_key: str | None = None
    num_frames_key: str | None = None
    fps_key: str | None = None
    resolution_key: str | None = None
    aspect_key: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Fixed inputs sent with every call (resolution tier, output format, ...)."""
    clip_seconds: float | None = None
    """Video: the usable native clip length (after its first frame, which repeats the start image)."""
    duration: int | None = None
    """Video: the `duration` input sent (seconds), when the model takes one."""
    num_frames: int | None = None
    fps: int | None = None
    size: tuple[int, int] | None = None
    """The output size for a 16:9 input, where known."""
    output: str = ""
    """The output's media type: png, mp4, wav, text."""
    # What the model can do beyond text (+ a start image). The references, bridge and voice stages pick
    # models by these; `vidgen models` shows them.
    input_images_key: str | None = None
    """Image models that take input images (editing / multi-reference models): the input's name."""
    input_images_list: bool = False
    """Whether that input takes a list of images (else a single image)."""
    max_input_images: int = 0
    end_image_key: str | None = None
    """Video: the end-frame input (`last_frame`, `last_frame_image`, `end_image`), for bridges."""
    reference_images_key: str | None = None
    """Video: the reference-image input (a list), for models that keep subjects consistent."""
    max_reference_images: int = 0
    audio_key: str | None = None
    """Video models that can generate sound: the switch (`generate_audio`); vidgen sends False unless asked."""
    native_audio: bool = False
    """Whether the model makes sound when not told otherwise."""
    clip_lengths: tuple[int, ...] = ()
    """Video: the clip lengths (s) the `duration` input accepts."""
    voice_key: str | None = None
    """Speech: the voice input's name."""
    voices: tuple[str, ...] = ()
    """Speech: the voices vidgen knows; the first is what `narrator` maps to."""
    speed_key: str | None = None
    unconfirmed: str = ""
    """What could not be confirmed from here (input names, price, sizes): shown by `vidgen models`."""
    audio_price: Price | None = None
    """Video models with `audio_key`: the price with sound on (`price` is with sound off, what vidgen sends)."""
    confirmed: str = ""
    """Where the input names were confirmed (shown by `vidgen models`)."""

    @property
    def billed_seconds(self) -> Decimal:
        """Output seconds one video call is billed for (the whole native clip)."""
        if self.num_frames and self.fps:
            return Decimal(self.num_frames) / Decimal(self.fps)
        if self.duration:
            return Decimal(self.duration)
        return Decimal(str(self.clip_seconds or 0))

    def bridge_seconds(self, frames: int, fps: int) -> int:
        """The `duration` asked for a bridge of `frames`: the shortest clip the model makes that covers it
        (then retimed to exactly `frames`, so no paid frame is thrown away beyond that minimum)."""
        lengths = sorted(self.clip_lengths or ((self.duration,) if self.duration else ()))
        if not lengths:
            raise ValueError(f"{self.id} has no clip length to ask for")
        wanted = frames / fps
        return next((n for n in lengths if n >= wanted), lengths[-1])


def _price(usd: str, unit: Literal["run", "second", "character"], source: str, date: str) -> Price:
    return Price(Decimal(usd), unit, source, date)


REGISTRY: dict[str, ReplicateModel] = {
    m.id: m
    for m in (
        ReplicateModel(
            "black-forest-labs/flux-schnell", "image",
            _price("0.003", "run", PRICING_PAGE + " ($3.00 per thousand output images)", "2026-10-07"),
            aspect_key="aspect_ratio",
            defaults={"num_outputs": 1, "output_format": "png", "go_fast": True, "megapixels": "1"},
            output="png",
        ),
        ReplicateModel(
            "black-forest-labs/flux-dev", "image",
            _price("0.025", "run", PRICING_PAGE + " ($0.025 per output image)", "2026-10-07"),
            aspect_key="aspect_ratio",
            defaults={"num_outputs": 1, "output_format": "png", "go_fast": True, "megapixels": "1"},
            output="png",
        ),
        # Image models that take input images: a beat that uses references gets its storyboard image from
        # one of these (input names from each model's API page on replicate.com, read 2026-12-01).
        ReplicateModel(
            "google/nano-banana", "image",
            _price("0.039", "run", MODEL_PAGE.format(id="google/nano-banana") + ", per output image", "2025-09"),
            seed_key=None, aspect_key="aspect_ratio", defaults={"output_format": "png"}, output="png",
            input_images_key="image_input", input_images_list=True, max_input_images=3,
            confirmed=SCHEMA_PAGE.format(id="google/nano-banana") + " (version f0a9d34b): prompt, image_input "
            "(array), output_format; aspect_ratio (with match_input_image) per a stored copy of its schema",
            unconfirmed="price ($0.039/image) and the number of input images it uses well (3) not re-checked "
            "from here; input names confirmed on the model's API page",
        ),
        ReplicateModel(
            "black-forest-labs/flux-kontext-pro", "image",
            _price("0.04", "run", MODEL_PAGE.format(id="black-forest-labs/flux-kontext-pro") + ", per output image",
                   "2025-07"),
            aspect_key="aspect_ratio", defaults={"output_format": "png", "safety_tolerance": 2}, output="png",
            input_images_key="input_image", input_images_list=False, max_input_images=1,
            confirmed=SCHEMA_PAGE.format(id="black-forest-labs/flux-kontext-pro") + " (version 0a138193): prompt, "
            "input_image (string), aspect_ratio, seed, output_format, safety_tolerance (2 at most with an image)",
            unconfirmed="price ($0.04/image) not re-checked from here; one input image (input_image), "
            "safety_tolerance at most 2 with an input image, per the model's API page",
        ),
        ReplicateModel(
            "bytedance/seedream-4", "image",
            _price("0.03", "run", MODEL_PAGE.format(id="bytedance/seedream-4") + ", per output image", "2025-09"),
            seed_key=None, aspect_key="aspect_ratio",
            defaults={"size": "1K", "sequential_image_generation": "disabled", "max_images": 1}, output="png",
            input_images_key="image_input", input_images_list=True, max_input_images=10,
            confirmed=SCHEMA_PAGE.format(id="bytedance/seedream-4") + " (version e6cff243): prompt, image_input "
            "(array, 1-10), size, aspect_ratio, sequential_image_generation, max_images; output a list of URLs",
            unconfirmed="price ($0.03/image, at 2K; 1K may be billed differently) and its output format (JPEG "
            "or PNG) not re-checked from here; image_input takes 1-10 images per the model's API page",
        ),
        ReplicateModel(
            "wan-video/wan-2.2-i2v-fast", "video",
            _price("0.05", "run", MODEL_PAGE.format(id="wan-video/wan-2.2-i2v-fast") + ", 480p per video", "2025-08"),
            image_key="image", num_frames_key="num_frames", fps_key="frames_per_second",
            resolution_key="resolution", defaults={"resolution": "480p", "go_fast": True},
            clip_seconds=5.0, num_frames=81, fps=16, size=(832, 480), output="mp4",
            unconfirmed="price (2025-08 reading, not re-checked from here)",
        ),
        ReplicateModel(
            "minimax/hailuo-02", "video",
            _price("0.045", "second", MODEL_PAGE.format(id="minimax/hailuo-02") + ", 768p per second", "2025-08"),
            image_key="first_frame_image", seed_key=None, duration_key="duration", resolution_key="resolution",
            defaults={"resolution": "768p", "prompt_optimizer": False},
            clip_seconds=6.0, duration=6, fps=25, size=(1366, 768), output="mp4",
            end_image_key="last_frame_image", clip_lengths=(6, 10),
            confirmed=SCHEMA_PAGE.format(id="minimax/hailuo-02") + " (version c43b610e): first_frame_image, "
            "last_frame_image, duration 6 (10 only at 768p), resolution 512p/768p/1080p, prompt_optimizer",
            unconfirmed="price (2025-08 reading); output fps 25 and 1366x768",
        ),
        ReplicateModel(
            "kwaivgi/kling-v2.1", "video",
            _price("0.05", "second", MODEL_PAGE.format(id="kwaivgi/kling-v2.1") + ", standard 720p per second",
                   "2025-08"),
            image_key="start_image", seed_key=None, duration_key="duration",
            defaults={"mode": "standard"}, clip_seconds=5.0, duration=5, fps=24, size=(1280, 720), output="mp4",
            unconfirmed="price (2025-08 reading; a third-party table matched it on 2026-07-13); an end-frame input",
        ),
        ReplicateModel(
            "bytedance/seedance-1-lite", "video",
            _price("0.018", "second", MODEL_PAGE.format(id="bytedance/seedance-1-lite") + ", 480p per second",
                   "2025-08"),
            image_key="image", duration_key="duration", resolution_key="resolution", fps_key="fps",
            defaults={"resolution": "480p", "camera_fixed": False},
            clip_seconds=5.0, duration=5, fps=24, size=(864, 480), output="mp4",
            unconfirmed="price (2025-08 reading, not re-checked from here); an end-frame input",
        ),
        ReplicateModel(
            "google/veo-3.1", "video",
            _price("0.20", "second", "Google's Veo 3.1 list rate without audio, as third-party price pages "
                   "quote it; Replicate's own page could not be read here", CHECKED),
            audio_price=_price("0.40", "second", "Google's Veo 3.1 list rate with audio (bytespike.ai, "
                               "veo3.1: $0.40/s)", CHECKED),
            image_key="image", duration_key="duration", resolution_key="resolution",
            defaults={"resolution": "720p"}, clip_seconds=8.0, duration=8, fps=24, size=(1280, 720),
            output="mp4", end_image_key="last_frame", reference_images_key="reference_images",
            max_reference_images=3, audio_key="generate_audio", native_audio=True, clip_lengths=(4, 6, 8),
            confirmed=SCHEMA_PAGE.format(id="google/veo-3.1") + " (version ed5b1767): image, last_frame, "
            "reference_images (1-3, only 16:9 and 8 s; last_frame ignored with them), duration, resolution "
            "(default 1080p), generate_audio (default true), seed; readme: 720p/1080p at 24 fps, 4/6/8 s",
            unconfirmed="price on Replicate (Google's list rate used); aspect_ratio is not sent (16:9 default, "
            "9:16 specs are cover-cropped)",
        ),
        ReplicateModel(
            "google/veo-3.1-fast", "video",
            _price("0.10", "second", "Google's Veo 3.1 Fast list rate without audio (lumenfall.ai, Gemini API: "
                   "$0.10/s no audio)", CHECKED),
            audio_price=_price("0.15", "second", "Google's Veo 3.1 Fast list rate with audio (runflow.io "
                               "$0.15/s; another page says $0.20/s)", CHECKED),
            image_key="image", duration_key="duration", resolution_key="resolution",
            defaults={"resolution": "720p"}, clip_seconds=8.0, duration=8, fps=24, size=(1280, 720),
            output="mp4", end_image_key="last_frame", audio_key="generate_audio", native_audio=True,
            clip_lengths=(4, 6, 8),
            confirmed="a stored copy of its Replicate model page (Volpestyle/game-asset-pipeline, "
            "docs/models/replicate/veo-3.1-fast.md): image, last_frame, duration, resolution, generate_audio, "
            "seed; no reference_images input",
            unconfirmed="price on Replicate; the durations it accepts (4/6/8 s like veo-3.1, one page says 5 or "
            "8 s); fps 24",
        ),
        ReplicateModel(
            "kwaivgi/kling-v2.5-turbo-pro", "video",
            _price("0.07", "second", "replicate.com/kwaivgi/kling-v2.5-turbo-pro: $0.07 per second of output "
                   "video (stored copies of the page, one checked 2026-10-08)", CHECKED),
            image_key="start_image", seed_key=None, duration_key="duration",
            clip_seconds=5.0, duration=5, fps=24, output="mp4", clip_lengths=(5, 10),
            confirmed="stored copies of its Replicate page (Volpestyle/llmhub): prompt, start_image, duration "
            "5/10, aspect_ratio (ignored with start_image), negative_prompt; no end-frame input listed",
            unconfirmed="output size and fps; whether an end-frame input exists (not used for bridges)",
        ),
        ReplicateModel(
            "bytedance/seedance-1-pro", "video",
            _price("0.03", "second", MODEL_PAGE.format(id="bytedance/seedance-1-pro") + ", 480p per second, "
                   "as read in 2025; not re-checked", "2025-08"),
            image_key="image", duration_key="duration", resolution_key="resolution", fps_key="fps",
            defaults={"resolution": "480p", "camera_fixed": False},
            clip_seconds=5.0, duration=5, fps=24, size=(864, 480), output="mp4",
            end_image_key="last_frame_image", clip_lengths=(5, 10),
            confirmed="third-party code calling replicate seedance-1-pro with image, last_frame_image, "
            "duration, resolution, fps 24, camera_fixed, seed",
            unconfirmed="price; last_frame_image on Replicate's own schema page; clip lengths other than 5/10 s; "
            "864x480 at 480p",
        ),
        ReplicateModel(
            "bytedance/seedance-1.5-pro", "video",
            _price("0.013", "second", "replicate.com/bytedance/seedance-1.5-pro, 480p without audio (a stored "
                   "price table checked against Replicate on 2026-10-08)", CHECKED),
            image_key="image", duration_key="duration", resolution_key="resolution",
            defaults={"resolution": "480p"}, clip_seconds=5.0, duration=5, fps=24, output="mp4",
            audio_key="generate_audio", native_audio=True, clip_lengths=(4, 5, 6, 7, 8, 9, 10, 11, 12),
            confirmed="a stored schema check (2026-10-08): prompt, image, duration 2-12, resolution "
            "480p/720p/1080p, aspect_ratio, generate_audio",
            unconfirmed="the price with audio; an end-frame input on Replicate (other hosts name one); size, fps",
        ),
        ReplicateModel(
            "wan-video/wan-2.5-i2v", "video",
            _price("0.05", "second", MODEL_PAGE.format(id="wan-video/wan-2.5-i2v") + ", 480p per second, as "
                   "remembered; not confirmed", CHECKED),
            image_key="image", duration_key="duration", resolution_key="resolution",
            defaults={"resolution": "480p", "enable_prompt_expansion": False},
            clip_seconds=5.0, duration=5, fps=24, size=(832, 480), output="mp4", native_audio=True,
            clip_lengths=(5, 10),
            confirmed="a stored copy of its Replicate schema (api.core.today llms.txt): image, prompt, duration "
            "(up to 10), resolution 480p/720p/1080p, audio (a file to sync to), negative_prompt, seed, "
            "enable_prompt_expansion",
            unconfirmed="price; it makes sound with no switch to turn it off (vidgen drops the track); size, fps",
        ),
        ReplicateModel(
            "meta/musicgen", "music",
            _price("0.0021", "second",
                   MODEL_PAGE.format(id="meta/musicgen") + ": billed by A100 time ($0.0014/s); about 1.5 s of "
                   "GPU per second of audio, charged here per second of output", "2025-08"),
            duration_key="duration",
            defaults={"model_version": "stereo-large", "output_format": "wav", "normalization_strategy": "peak"},
            output="wav",
            unconfirmed="price: billed by GPU time, so per second of audio is an estimate",
        ),
        ReplicateModel(
            "meta/meta-llama-3-8b-instruct", "llm",
            _price("0.0004", "run",
                   MODEL_PAGE.format(id="meta/meta-llama-3-8b-instruct") + ": $0.05/M input + $0.25/M output "
                   "tokens; charged as the bound for 1,500 input + 1,024 output tokens", "2025-08"),
            seed_key="seed", defaults={"max_tokens": 1024, "temperature": 0.2}, output="text",
            unconfirmed="price (2025-08 reading, not re-checked from here)",
        ),
        # The judge (`qc.judge: replicate`, `backends.judge`): scores sampled frames of each take.
        ReplicateModel(
            "openai/gpt-4o-mini", "vlm",
            _price("0.008", "run",
                   "OpenAI's gpt-4o-mini rates, $0.15/M input + $0.60/M output tokens (Replicate bills its official "
                   "OpenAI models per token at OpenAI's rates: replicate.com/openai/gpt-4o lists OpenAI's $2.50/M "
                   "input); charged as the bound for 6 images of one 512-px tile (8,500 tokens each at "
                   "gpt-4o-mini's image rate, 2,833 + 5,667 per tile) + 1,000 prompt tokens in and 300 out",
                   CHECKED),
            seed_key=None, defaults={"temperature": 0, "max_completion_tokens": 300}, output="text",
            input_images_key="image_input", input_images_list=True, max_input_images=6,
            confirmed=SCHEMA_PAGE.format(id="openai/gpt-4o-mini") + " (version 167a3b6f): prompt, system_prompt, "
            "image_input (array of images), temperature (0-2), max_completion_tokens, top_p; output an array of "
            "strings (concatenated)",
            unconfirmed="price on Replicate (OpenAI's list rates used; billed per token there, images as OpenAI "
            "counts their tokens, which for gpt-4o-mini is about what gpt-4o charges per image)",
        ),
        ReplicateModel(
            "minimax/speech-02-turbo", "tts",
            _price("0.00006", "character",
                   "replicate.com/minimax/speech-2.6-turbo readme: $0.06 per 1,000 input tokens (a token is about "
                   "a character); charged here per character as sent", "2026-12"),
            prompt_key="text", seed_key=None, voice_key="voice_id", speed_key="speed",
            defaults={"audio_format": "wav", "sample_rate": 32000, "channel": "mono", "emotion": "auto"},
            voices=("Wise_Woman", "Friendly_Person", "Inspirational_girl", "Deep_Voice_Man", "Calm_Woman",
                    "Casual_Guy", "Lively_Girl", "Patient_Man", "Young_Knight", "Determined_Man", "Lovely_Girl",
                    "Decent_Boy", "Imposing_Manner", "Elegant_Man", "Abbess", "Sweet_Girl_2", "Exuberant_Girl"),
            output="wav",
            unconfirmed=(
                "price: $0.06/1k characters is the figure Replicate gives for speech-2.6-turbo, whose readme also "
                "says 2.6 costs 4x 2.0 per character (which would make this $0.015/1k); a third-party table says "
                "$0.03/1k. Charged at the highest until confirmed. `audio_format` exists in the newest version "
                "only (older versions return MP3, which vidgen also accepts)."
            ),
        ),
        ReplicateModel(
            "jaaari/kokoro-82m", "tts",
            _price("0.0005", "run",
                   MODEL_PAGE.format(id="jaaari/kokoro-82m") + ": a community model billed by GPU time; about "
                   "1 s of T4 time per line, charged here as a bound per run", "2026-12"),
            prompt_key="text", seed_key=None, voice_key="voice", speed_key="speed",
            voices=("af_bella", "af_heart", "af_nicole", "af_sarah", "af_sky", "am_adam", "am_michael",
                    "bf_emma", "bf_isabella", "bm_george", "bm_lewis"),
            output="wav",
            unconfirmed=(
                "input names (text, voice, speed) seen on a copy of the same model (alphanumericuser/kokoro-82m, "
                "which also takes language_code); the price is an estimate of GPU time, not a listed price"
            ),
        ),
    )
}  # fmt: skip


DEFAULT_REFERENCE_IMAGE = "google/nano-banana"
"""The image model of beats that use references when the spec's image model takes no input images."""


DEFAULTS: dict[str, str] = {
    "image": "black-forest-labs/flux-schnell",
    "video": "wan-video/wan-2.2-i2v-fast",
    "music": "meta/musicgen",
    "planner": "meta/meta-llama-3-8b-instruct",
    "voice": "minimax/speech-02-turbo",
}


JUDGE_MODEL = "openai/gpt-4o-mini"
"""The judge of `qc.judge: replicate` (a current vision-language model that takes several images and a
prompt; `backends.judge`)."""


BRIDGE_DEFAULTS: dict[str, str] = {"video": "minimax/hailuo-02"}
"""The defaults that change when a spec uses `transition: bridge`: a video model with an end-frame input
(hailuo-02: `last_frame_image` confirmed on its schema page, and the cheapest such clip, 6 s at 768p)."""
