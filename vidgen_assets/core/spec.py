"""The video spec: what a user asks for, validated field by field.

A spec is YAML or JSON. Field names are a contract (docs/spec.md). Every problem is reported as a
`FieldError` with a path such as `beats[2].transition`, what is wrong and what is allowed, gathered into
one `SpecError` that names the file.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
MIN_DURATION_S = 5
MAX_DURATION_S = 300

AspectRatio = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["480p", "576p", "720p", "1080p"]
Fps = Literal[24, 25, 30]
Camera = Literal["push_in", "pull_out", "pan_left", "pan_right", "static"]
BackendName = Literal["animatic", "replicate", "comfyui"]
PlannerName = Literal["library", "llm"]

# Every transition ffmpeg 9's xfade filter knows, plus `cut`.
XFADE_TRANSITIONS: tuple[str, ...] = (
    "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright", "slideup",
    "slidedown", "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite", "radial", "smoothleft",
    "smoothright", "smoothup", "smoothdown", "circleopen", "circleclose", "vertopen", "vertclose",
    "horzopen", "horzclose", "dissolve", "pixelize", "diagtl", "diagtr", "diagbl", "diagbr", "hlslice",
    "hrslice", "vuslice", "vdslice", "hblur", "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr",
    "squeezeh", "squeezev", "zoomin", "fadefast", "fadeslow", "hlwind", "hrwind", "vuwind", "vdwind",
    "coverleft", "coverright", "coverup", "coverdown", "revealleft", "revealright", "revealup",
    "revealdown",
)  # fmt: skip
BRIDGE = "bridge"
CUT = "cut"
"""A generated clip from the outgoing beat's last frame to the incoming beat's storyboard image (Version 2)."""
TRANSITIONS: tuple[str, ...] = (CUT, BRIDGE, *XFADE_TRANSITIONS)
DEFAULT_TRANSITION_S = 0.5
DEFAULT_BRIDGE_S = 1.0

REFERENCE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
_REFERENCE_NAME = re.compile(REFERENCE_NAME_PATTERN)
MAX_SAY_CHARS = 600
"""A voiceover line longer than this cannot be spoken in any beat a spec allows (300 s at ~2 words/s)."""
Subtitles = Literal["soft", "burn", "off"]
SafeArea = Literal["none", "tiktok", "reels", "shorts"]
CaptionPosition = Literal["bottom", "top", "middle"]
Judge = Literal["local", "replicate"]
MAX_RETAKES = 5
MAX_VARIANTS = 50
VARIANT_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,30}$"
_VARIANT_NAME = re.compile(VARIANT_NAME_PATTERN)
VARIANT_SEPARATOR = "--"
"""A variant's video id is `<id>--<name>` (a matrix's names are `v01`, `v02`, ...)."""
BINDING_PATTERN = r"^[^.\s]+\.[A-Za-z_][A-Za-z0-9_]*$"
"""A ComfyUI workflow binding: `NODE_ID.INPUT_NAME` (e.g. `6.text`, `86.noise_seed`)."""
SERVER_PATTERN = r"^https?://\S+$"
# Control characters other than newline and tab are refused in spoken lines: TTS engines and subtitle
# formats treat them unpredictably.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

SHORT_SIDE = {"480p": 480, "576p": 576, "720p": 720, "1080p": 1080}
RATIO = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_HEX_ALPHA = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")


def _colour(value: str, alpha: bool = False) -> str:
    if not (_HEX_ALPHA if alpha else _HEX).match(value):
        allowed = "#rrggbb or #rrggbbaa (aa: opacity, 00 clear to ff solid)" if alpha else "#rrggbb"
        raise ValueError(f"{value!r} is not a colour; use {allowed}, e.g. '#ffd400'")
    return value


def _switch(value: Any) -> Any:
    """`field: false` turns an optional section off (None); `field: true` takes its defaults."""
    if value is False:
        return None
    if value is True:
        return {}
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Style(_Model):
    """Look and feel: carried into image prompts and the animatic's cards."""

    aesthetic: str = "cinematic"
    palette: tuple[str, ...] = ()
    mood: str = "neutral"

    @field_validator("palette")
    @classmethod
    def _hex_colours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for colour in value:
            if not _HEX.match(colour):
                raise ValueError(f"{colour!r} is not a colour; use #rrggbb, e.g. '#3b2314'")
        return value


class ReferenceSpec(_Model):
    """An image that must look the same in every shot that shows it (a product, a person, a logo)."""

    image: Annotated[str, Field(min_length=1, max_length=500)]
    """PNG/JPEG/WEBP, a path relative to the spec file (a local folder or the spec's S3 prefix)."""
    describe: Annotated[str, Field(max_length=500)] | None = None
    """Words added to every prompt of a shot that uses this reference."""


class VoiceSpec(_Model):
    """The voiceover: on when any beat has `say`; `voice: false` mutes it."""

    voice: Annotated[str, Field(min_length=1, max_length=64)] = "narrator"
    """A voice of the backend's speech engine (`vidgen models` lists them); `narrator` is each one's default."""
    speed: Annotated[float, Field(ge=0.5, le=2.0)] = 1.0
    volume: Annotated[float, Field(ge=0, le=2)] = 1.0


class BeatSpec(_Model):
    """A timed story segment with its own shot description."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    duration: Annotated[float, Field(gt=0, le=MAX_DURATION_S)]
    prompt: Annotated[str, Field(min_length=1, max_length=2000)]
    camera: Camera = "static"
    text: str | None = None
    transition: str = "cut"
    transition_duration: Annotated[float, Field(ge=0, le=5)] = DEFAULT_TRANSITION_S
    """Seconds the transition into the next beat lasts (ignored for `cut`; default 1 s for `bridge`)."""
    uses: tuple[str, ...] | None = None
    """Names of the spec's `references` this beat shows: absent = all of them, `[]` = none."""
    say: Annotated[str, Field(max_length=MAX_SAY_CHARS)] | None = None
    """A voiceover line spoken during this beat."""
    take: Annotated[int, Field(ge=1, le=99)] | None = None
    """Use this take of the beat's clips (already made) instead of the best one (Version 3, `qc`)."""

    @model_validator(mode="before")
    @classmethod
    def _bridge_default_length(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("transition") == BRIDGE and "transition_duration" not in data:
            return {**data, "transition_duration": DEFAULT_BRIDGE_S}
        return data

    @field_validator("say")
    @classmethod
    def _speakable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("say is empty or only whitespace; give the words to speak, or leave say out")
        bad = _CONTROL.search(value)
        if bad:
            raise ValueError(
                f"say contains the control character {bad.group()!r} at position {bad.start()}; "
                "allowed: any printable text, newlines and tabs"
            )
        return value

    @field_validator("transition")
    @classmethod
    def _known_transition(cls, value: str) -> str:
        if value not in TRANSITIONS:
            raise ValueError(
                f"unknown transition {value!r}; allowed: cut, bridge, fade, dissolve or another ffmpeg "
                f"xfade name ({', '.join(XFADE_TRANSITIONS)})"
            )
        return value


class MusicSpec(_Model):
    """The music bed under the whole video: generated from `mood` and `bpm`, or the user's own `file`."""

    mood: str | None = None
    """Defaults to the style's mood."""
    bpm: Annotated[int, Field(ge=40, le=220)] = 100
    volume: Annotated[float, Field(ge=0, le=2)] = 0.8
    file: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    """The user's own track (WAV/MP3/M4A/FLAC, <= 50 MB), a path relative to the spec file, instead of
    `mood`/`bpm` (Version 3)."""
    sync: Literal["beats"] | None = None
    """`beats`: move each beat boundary to the nearest beat of the music, at most 0.5 s away (Version 3)."""

    @model_validator(mode="after")
    def _file_or_generated(self) -> MusicSpec:
        # Set and not the default (a stored plan writes every field back, defaults included).
        given = {
            f for f in {"mood", "bpm"} & self.model_fields_set if getattr(self, f) != type(self).model_fields[f].default
        }
        if self.file is not None and given:
            raise ValueError(
                f"a music file has its own tempo and mood: leave {' and '.join(sorted(given))} out with file"
            )
        return self


class QcSpec(_Model):
    """Checks on every generated clip and the final video, and retakes of a clip that fails (Version 3)."""

    retakes: Annotated[int, Field(ge=0, le=MAX_RETAKES)] | None = None
    """Extra takes of a clip that fails a blocking check; default 1 for model backends, 0 for the animatic."""
    judge: Judge = "local"
    """`local`: measured checks only; `replicate`: plus a vision-language model scoring sampled frames."""
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.6
    """The judge's score a take must reach (with `judge: replicate`)."""


class AudioSpec(_Model):
    """The final mix's loudness (Version 3): integrated LUFS and a true-peak ceiling."""

    loudness: Annotated[float, Field(ge=-30, le=-5)] = -14.0
    """Integrated loudness in LUFS: -14 streaming platforms, -23 EBU R128 broadcast, -16 podcasts."""
    true_peak: Annotated[float, Field(ge=-9, le=0)] = -1.0
    """True-peak ceiling in dBTP."""


class CaptionStyle(_Model):
    """How burned captions look (Version 3): font, size (share of the frame height), colours."""

    font: Annotated[str, Field(min_length=1, max_length=100)] = "DejaVu Sans"
    size: Annotated[float, Field(ge=0.02, le=0.2)] | None = None
    """Share of the frame height; default vidgen's caption size (5% of the frame's short side)."""
    color: str = "#ffffff"
    highlight: str = "#ffd400"
    """The colour of the word being spoken (with `words: true`)."""
    outline: Annotated[float, Field(ge=0, le=10)] = 2.0
    background: str | None = "#00000080"
    """A box behind the caption, #rrggbbaa; `null` for none."""
    position: CaptionPosition = "bottom"

    @field_validator("color", "highlight")
    @classmethod
    def _opaque(cls, value: str) -> str:
        return _colour(value)

    @field_validator("background")
    @classmethod
    def _with_alpha(cls, value: str | None) -> str | None:
        return None if value is None else _colour(value, alpha=True)


class SubtitlesSpec(_Model):
    """Subtitles of the voiceover. The string forms `soft`, `burn`, `off` stand for `{mode: ...}`."""

    mode: Subtitles | None = None
    """soft | burn | off; default soft when any beat has `say`, else off."""
    words: bool = False
    """Highlight each word while it is spoken (karaoke), timed by the speech engine (Version 3)."""
    style: CaptionStyle = CaptionStyle()
    safe_area: SafeArea = "none"
    """Keep captions and on-screen text clear of that platform's on-screen controls (Version 3)."""


class Variant(_Model):
    """One more video from this spec: its `name` and the fields it changes. `beats` changes beats by
    index (`{0: {text: ...}}`); every other field replaces the base spec's. The fields are validated as
    part of the variant's whole spec (`variants.expand`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Annotated[str, Field(pattern=VARIANT_NAME_PATTERN)]

    @property
    def changes(self) -> dict[str, Any]:
        """The fields this variant sets, as written."""
        return dict(self.model_extra or {})


class VariantMatrix(_Model):
    """Every combination of some fields' values: `{matrix: {cta: [a, b], voice: [x, y]}}` is 4 variants."""

    matrix: dict[str, Annotated[tuple[Any, ...], Field(min_length=1)]]


class VariantFile(_Model):
    """Variants from a CSV file beside the spec, one row a variant (`core.variant_rows`). The rows are
    read when the spec file is (`variant_sets.read_set`) and carried here, not written in the spec."""

    file: Annotated[str, Field(min_length=1, max_length=500)]
    """The CSV file, a path relative to the spec file (inside its folder)."""
    _rows: tuple[Any, ...] = PrivateAttr(default=())

    @property
    def rows(self) -> tuple[Any, ...]:
        """The variants read from the file (`core.variants.VariantChanges`); none until it is read."""
        return self._rows

    def with_rows(self, rows: tuple[Any, ...]) -> VariantFile:
        out = self.model_copy()
        out._rows = rows
        return out


Binding = Annotated[str, Field(pattern=BINDING_PATTERN)]
"""`NODE_ID.INPUT_NAME` of a workflow in API format."""


class WorkflowBinding(_Model):
    """A ComfyUI workflow in API format and where vidgen's inputs go in it (`NODE_ID.INPUT_NAME`).

    vidgen writes the bound inputs (prompt, seed, size, frames, start and end image, a music bed's length)
    and reads two: `frames` (the workflow's own value is its native length, which lays the chunks out)
    and `fps` (the frame rate it writes). `seconds` is the GPU time one run takes, for estimates."""

    file: Annotated[str, Field(min_length=1, max_length=500)]
    """The workflow JSON (ComfyUI's "Export (API)"), a path relative to the spec file."""
    output: Annotated[str, Field(min_length=1, max_length=64)]
    """The node whose files are the result."""
    prompt: Binding
    seed: Binding | None = None
    width: Binding | None = None
    height: Binding | None = None
    frames: Binding | None = None
    """Video and bridge: the frame count input (e.g. a `WanImageToVideo`'s `length`)."""
    fps: Binding | Annotated[int, Field(ge=1, le=240)] | None = None
    """Video and bridge: the input holding the frame rate the workflow writes (read, never written), or
    the rate itself (a workflow that saves its frames as images has none); found on the output node or
    the node feeding it (`fps`, `frame_rate`) when not given."""
    start_image: Binding | None = None
    end_image: Binding | None = None
    duration: Binding | None = None
    """Music: the input taking the bed's length in seconds."""
    seconds: Annotated[float, Field(gt=0, le=86400)] | None = None
    """The GPU seconds one run of this workflow takes, as the user measured it: with `price_per_second`,
    what the estimate (and so the budget check) counts per call."""


WORKFLOW_STAGES = ("image", "video", "bridge", "music", "voice")
REQUIRED_BINDINGS: dict[str, tuple[str, ...]] = {
    "image": (),
    "video": ("start_image", "frames"),
    "bridge": ("start_image", "end_image", "frames"),
    "music": (),
    "voice": (),
}
"""Besides `file`, `prompt` and `output`, what each workflow must bind."""
FALLBACK_MUSIC = "animatic-music-v1"
FALLBACK_VOICE = "espeak-ng-1.52"
"""What a comfyui render uses without a music or voice workflow (the animatic's bed, espeak-ng)."""


class ComfyWorkflows(_Model):
    image: WorkflowBinding | None = None
    """Text to image: the storyboard."""
    video: WorkflowBinding | None = None
    """Image to video: every chunk, from its start image."""
    bridge: WorkflowBinding | None = None
    """First and last frame to video: every `transition: bridge`."""
    music: WorkflowBinding | None = None
    """Optional: the music bed (else the animatic's local bed)."""
    voice: WorkflowBinding | None = None
    """Optional: the voiceover lines, `prompt` bound to the text (else the local espeak-ng voice)."""


class ComfyUISpec(_Model):
    """Where `backend: comfyui` runs (Version 3): the servers (a pool) and the workflows with their bindings."""

    servers: Annotated[tuple[Annotated[str, Field(pattern=SERVER_PATTERN)], ...], Field(min_length=1)] = (
        "http://127.0.0.1:8188",
    )
    workflows: ComfyWorkflows = ComfyWorkflows()
    price_per_second: Annotated[float, Field(ge=0)] = 0.0
    """What a second of the user's GPU time costs, for estimates and budgets."""


def comfyui_errors(spec: Spec) -> list[FieldError]:
    """What `backend: comfyui` needs of the spec alone: a `comfyui` section, servers that parse (once
    each), the workflows its beats use, each with the bindings its job needs. (A binding against its
    workflow file is checked when the file is read: `comfy_workflows`.)"""
    if spec.backend != "comfyui":
        return []
    section = spec.comfyui
    if section is None:
        return [FieldError("comfyui", "backend comfyui needs a comfyui section: {servers: [...], workflows: "
                           "{image: ..., video: ...}} (see docs/backends.md, 'ComfyUI')")]  # fmt: skip
    errors = []
    seen: set[str] = set()
    for i, server in enumerate(section.servers):
        problem = _server_problem(server)
        if problem:
            errors.append(FieldError(f"comfyui.servers[{i}]", f"{server!r} {problem}; e.g. 'http://127.0.0.1:8188'"))
        elif server.rstrip("/") in seen:
            errors.append(FieldError(f"comfyui.servers[{i}]", f"{server!r} is listed twice; list each server once"))
        seen.add(server.rstrip("/"))
    flows = section.workflows
    for stage in ("image", "video"):
        if getattr(flows, stage) is None:
            job = "the storyboard (text to image)" if stage == "image" else "the chunks (image to video)"
            errors.append(FieldError(f"comfyui.workflows.{stage}", f"required: the workflow that makes {job}"))
    bridged = [i for i, beat in enumerate((spec.beats or ())[:-1]) if beat.transition == BRIDGE]
    if bridged and flows.bridge is None:
        errors.append(FieldError("comfyui.workflows.bridge", "required: beats "
                                 f"{', '.join(str(i) for i in bridged)} have transition bridge (a first and last "
                                 "frame to video workflow makes it)"))  # fmt: skip
        errors += [FieldError(f"beats[{i}].transition", "bridge needs comfyui.workflows.bridge") for i in bridged]
    for stage in WORKFLOW_STAGES:
        binding = getattr(flows, stage)
        for name in REQUIRED_BINDINGS[stage] if binding is not None else ():
            if getattr(binding, name) is None:
                errors.append(FieldError(f"comfyui.workflows.{stage}.{name}", f"required for the {stage} workflow: "
                                         "the NODE_ID.INPUT_NAME vidgen sets (e.g. '52.image')"))  # fmt: skip
        if binding is not None and section.price_per_second and binding.seconds is None and spec.budget_usd:
            errors.append(FieldError(f"comfyui.workflows.{stage}.seconds", "required with price_per_second and "
                                     "budget_usd: the GPU seconds one run takes, which the estimate the budget is "
                                     "checked against counts"))  # fmt: skip
    return errors


def comfyui_notes(spec: Spec) -> list[str]:
    """What a comfyui render makes locally for want of a workflow: the music bed, the voice."""
    if spec.backend != "comfyui" or spec.comfyui is None:
        return []
    flows = spec.comfyui.workflows
    notes = []
    if spec.music is not None and flows.music is None:
        notes.append("comfyui: no music workflow (comfyui.workflows.music): the music bed is the animatic's, made "
                     "locally")  # fmt: skip
    if spec.voice is not None and spec.speaks and flows.voice is None:
        notes.append("comfyui: no voice workflow (comfyui.workflows.voice): the lines are spoken locally by "
                     "espeak-ng")  # fmt: skip
    return notes


def _server_problem(url: str) -> str | None:
    """Why a server URL does not parse (None when it does): http(s), a host, a port that is a number."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"does not parse ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http:// or https:// URL with a host"
    if port == 0:
        return "has port 0"
    if parts.query or parts.fragment:
        return "has a query or fragment; give the server's base URL"
    return None


class Spec(_Model):
    """What the user asks for. Beats are optional: the planner fills them from the prompt."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    prompt: Annotated[str, Field(min_length=1, max_length=4000)]
    duration: Annotated[float, Field(ge=MIN_DURATION_S, le=MAX_DURATION_S)] = 30
    aspect_ratio: AspectRatio = "16:9"
    resolution: Resolution = "576p"
    fps: Fps = 24
    style: Style = Style()
    beats: tuple[BeatSpec, ...] | None = None
    music: MusicSpec | None = MusicSpec()
    cta: Annotated[str, Field(max_length=200)] | None = None
    backend: BackendName = "animatic"
    planner: PlannerName = "library"
    models: dict[str, str] = Field(default_factory=dict)
    """Per-stage model overrides for the replicate backend: image, video, music, planner, voice."""
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    budget_usd: Annotated[float, Field(gt=0)] | None = None
    references: dict[str, ReferenceSpec] = Field(default_factory=dict)
    """What must look the same in every shot that shows it, by name (Version 2)."""
    voice: VoiceSpec | None = VoiceSpec()
    """The voiceover's voice; `voice: false` mutes the `say` lines (subtitles still follow `subtitles`)."""
    subtitles: SubtitlesSpec = SubtitlesSpec()
    """soft | burn | off, or `{mode, words, style, safe_area}`; see `subtitle_mode`."""
    qc: QcSpec | None = QcSpec()
    """Checks on every generated clip and retakes (Version 3); `qc: false` turns them off."""
    audio: AudioSpec = AudioSpec()
    """The final mix's loudness target (Version 3)."""
    variants: tuple[Variant, ...] | VariantMatrix | VariantFile | None = None
    """More videos from this spec, `<id>--<name>` (Version 3; `variants.expand` makes their specs): a list,
    a `{matrix: ...}` or `{file: rows.csv}`."""
    comfyui: ComfyUISpec | None = None
    """Servers and workflows of `backend: comfyui` (Version 3)."""

    @field_validator("voice", "music", "qc", mode="before")
    @classmethod
    def _switches(cls, value: Any) -> Any:
        return _switch(value)

    @field_validator("subtitles", mode="before")
    @classmethod
    def _subtitles_string(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, str):
            if value not in ("soft", "burn", "off"):
                raise ValueError(
                    f"got {value!r}; allowed: 'soft', 'burn' or 'off' (or {{mode, words, style, safe_area}})"
                )
            return {"mode": value}
        return value

    @field_validator("variants", mode="before")
    @classmethod
    def _variants_shape(cls, value: Any) -> Any:
        shaped = isinstance(value, dict) and ("matrix" in value or "file" in value)
        if value is None or isinstance(value, list | tuple) or shaped:
            if isinstance(value, list | tuple) and len(value) == 0:
                raise ValueError("variants is empty: give at least one variant, or leave variants out")
            return value
        raise ValueError(
            "variants is a list of {name, fields to change}, {matrix: {field: [values]}} or {file: rows.csv}, "
            f"got {type(value).__name__}"
        )

    @field_validator("beats", mode="before")
    @classmethod
    def _beats_list(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, list | tuple):
            raise ValueError(f"beats must be a list of beats, got {type(value).__name__}")
        if value is not None and len(value) == 0:
            raise ValueError("beats is empty: give at least one beat, or leave beats out for the planner")
        return value

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels: the short side from `resolution`, the long side rounded to even."""
        return frame_size(self.aspect_ratio, self.resolution)

    @property
    def speaks(self) -> bool:
        """Whether any beat has a voiceover line."""
        return any(beat.say for beat in self.beats or ())

    @property
    def subtitle_mode(self) -> Subtitles:
        """`subtitles.mode` as given, else soft when anything is said, else off."""
        return self.subtitles.mode or ("soft" if self.speaks else "off")

    def beat_references(self, beat: BeatSpec) -> tuple[str, ...]:
        """The reference names a beat shows: its `uses`, or every reference when it has none."""
        return tuple(self.references) if beat.uses is None else beat.uses

    @property
    def music_mood(self) -> str:
        return (self.music.mood if self.music and self.music.mood else None) or self.style.mood


def frame_size(aspect_ratio: str, resolution: str) -> tuple[int, int]:
    """576p 16:9 -> (1024, 576); 720p 9:16 -> (720, 1280); 480p 16:9 -> (854, 480)."""
    short = SHORT_SIDE[resolution]
    w, h = RATIO[aspect_ratio]
    long = 2 * round(short * max(w, h) / min(w, h) / 2)
    return (long, short) if w >= h else (short, long)


@dataclass(frozen=True)
class FieldError:
    """One problem in a spec: where (`beats[2].transition`) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """A spec that cannot be used. `source` names the file; `errors` lists every problem found."""

    def __init__(self, source: str, errors: list[FieldError]) -> None:
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"invalid spec {source}:\n{lines}")


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(spec)"


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; every field is in docs/reference/spec-fields.md)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"got {error['input']!r}; allowed: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch" and error["loc"] == ("id",):
        return (
            f"got {error['input']!r}; an id is 1-63 characters of a-z, 0-9 and '-', starting with a "
            "letter or digit (no '/', '..', spaces or capitals)"
        )
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_HELP:
        return f"got {error['input']!r}; {_PATTERN_HELP[ctx['pattern']]}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and error["loc"] == ("duration",):
        return f"got {error['input']!r}; a video lasts {MIN_DURATION_S} to {MAX_DURATION_S} seconds"
    return f"{error['msg']} (got {error['input']!r})"


_PATTERN_HELP = {
    VARIANT_NAME_PATTERN: "a variant's name is 1-31 characters of a-z, 0-9 and '-', starting with a letter or digit",
    BINDING_PATTERN: "a binding is NODE_ID.INPUT_NAME of the workflow's API format, e.g. '6.text' or '3.seed'",
    SERVER_PATTERN: "a server is an http:// or https:// URL, e.g. 'http://127.0.0.1:8188'",
}
_SHAPE_ERRORS = {"dict_type", "model_type", "model_attributes_type", "is_instance_of", "too_short", "tuple_type"}


def _union_member(part: int | str) -> bool:
    """Whether a location part names a member of a union (`str`, `MusicSpec`, `tuple[str, ...]`), which
    pydantic reports per member, rather than a field."""
    if not isinstance(part, str):
        return False
    return part in ("constrained-str", "float", "str", "int", "bool") or part in _model_names() or "[" in part


def _model_names() -> set[str]:
    """The names of this module's models (a user's key, a reference named `Product`, is not one of them)."""
    names: set[str] = set()
    todo: list[type] = [_Model]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def parse_spec(data: Any, source: str = "<spec>") -> Spec:
    """Validate already-parsed spec data. Raise `SpecError` listing every field problem."""
    if not isinstance(data, dict):
        raise SpecError(source, [FieldError("(spec)", f"a spec is a mapping of fields, got {type(data).__name__}")])
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        errors = []
        shapes: set[str] = set()
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            # pydantic reports `str | None` unions per member; keep the useful one.
            loc = tuple(p for p in loc if not _union_member(p))
            if error["type"] in _SHAPE_ERRORS:
                shapes.add(_path(loc))
            errors.append(FieldError(_path(loc), _message(error)))
        # A value that fails inside (a list's item, a field) is also reported as "not a dict" by the
        # other members of its union, or as a list too short once the item is dropped: say only the inside.
        inside = {e.path for e in errors}
        errors = [
            e for e in errors
            if not (e.path in shapes and any(p.startswith((e.path + ".", e.path + "[")) for p in inside))
        ]  # fmt: skip
        raise SpecError(source, _dedupe(errors)) from None
    problems = cross_field_errors(spec)
    if problems:
        raise SpecError(source, problems)
    return spec


def cross_field_errors(spec: Spec) -> list[FieldError]:
    """Problems a field validator cannot place: reference names, `uses` naming an unknown reference."""
    errors = [
        FieldError(
            f"references.{name}",
            f"reference name {name!r} is not allowed; a name is 1-32 characters of a-z, 0-9 and '_', "
            "starting with a letter (e.g. product, host_portrait)",
        )
        for name in spec.references
        if not _REFERENCE_NAME.match(name)
    ]
    for i, beat in enumerate(spec.beats or ()):
        for j, name in enumerate(beat.uses or ()):
            if name not in spec.references:
                known = ", ".join(sorted(spec.references)) or "none: the spec has no references"
                errors.append(FieldError(f"beats[{i}].uses[{j}]", f"unknown reference {name!r}; defined: {known}"))
    return errors + variant_errors(spec) + comfyui_errors(spec) + not_built_errors(spec)


VARIANT_FIELDS = frozenset(Spec.model_fields) - {"id", "variants"}
"""What a variant may change: any field of the spec but its id and its variants."""


def variant_names(spec: Spec) -> list[str]:
    """The variants' names, in order: as written, or a matrix's `v01`, `v02`, ... (product order)."""
    if spec.variants is None:
        return []
    if isinstance(spec.variants, VariantMatrix):
        count = math.prod(len(values) for values in spec.variants.matrix.values())
        return [f"v{n:02d}" for n in range(1, count + 1)] if count <= MAX_VARIANTS else []
    if isinstance(spec.variants, VariantFile):
        return [row.name for row in spec.variants.rows]
    return [v.name for v in spec.variants]


def variant_errors(spec: Spec) -> list[FieldError]:
    """Variant names that repeat or make an id too long, too many variants, fields no spec has. The
    values a variant sets are validated with the variant's whole spec (`variants.expand`)."""
    if spec.variants is None:
        return []
    allowed = ", ".join(sorted(VARIANT_FIELDS))
    errors: list[FieldError] = []
    if isinstance(spec.variants, VariantFile):  # its rows are checked as they are read (`core.variant_rows`)
        fields = []
    elif isinstance(spec.variants, VariantMatrix):
        count = math.prod(len(values) for values in spec.variants.matrix.values())
        if count > MAX_VARIANTS:
            sizes = " x ".join(str(len(v)) for v in spec.variants.matrix.values())
            errors.append(FieldError("variants.matrix", f"{sizes} = {count} variants; at most {MAX_VARIANTS}"))
        if not spec.variants.matrix:
            errors.append(FieldError("variants.matrix", "no fields: give each field to vary a list of values"))
        fields = [(f"variants.matrix.{name}", name) for name in spec.variants.matrix]
    else:
        if len(spec.variants) > MAX_VARIANTS:
            errors.append(FieldError("variants", f"{len(spec.variants)} variants; at most {MAX_VARIANTS}"))
        seen: set[str] = set()
        fields = []
        for i, variant in enumerate(spec.variants):
            if variant.name in seen:
                errors.append(FieldError(f"variants[{i}].name", f"{variant.name!r} is used twice; a name is unique"))
            seen.add(variant.name)
            fields += [(f"variants[{i}].{name}", name) for name in variant.changes]
            if not variant.changes:
                errors.append(FieldError(f"variants[{i}]", "changes nothing: give the fields it changes"))
    errors += [
        FieldError(
            path, f"unknown field {name!r}; a variant changes any field of the spec but id and variants: {allowed}"
        )
        for path, name in fields
        if name not in VARIANT_FIELDS
    ]
    for name in variant_names(spec):
        video = f"{spec.id}{VARIANT_SEPARATOR}{name}"
        if not re.match(ID_PATTERN, video):
            errors.append(
                FieldError("variants", f"variant id {video!r} is longer than 63 characters; shorten id or name")
            )
    return errors


def not_built_errors(spec: Spec) -> list[FieldError]:
    """Version 3 fields whose shape is agreed (DESIGN.md) but whose feature this version does not have
    yet: refused, so that no spec is rendered as if they had been honoured. Each line goes when its
    feature lands."""
    errors: list[FieldError] = []
    if spec.qc is not None and spec.qc.judge == "replicate" and spec.backend != "replicate":
        errors.append(
            FieldError(
                "qc.judge",
                f"the replicate judge asks a model on Replicate with the render's Replicate token: it needs "
                f"backend: replicate, not {spec.backend!r}; use judge: local (the measured checks) with this backend",
            )
        )
    local_bed = spec.backend == "animatic" or (
        spec.backend == "comfyui" and (spec.comfyui is None or spec.comfyui.workflows.music is None)
    )
    if spec.music is not None and spec.music.sync is not None and spec.music.file is None and not local_bed:
        # The plan's boundaries decide every clip before any is made (and `validate` and `estimate` show
        # them), while a model's music exists only once its call has run: refused, not guessed.
        errors.append(
            FieldError(
                "music",
                "beat sync with a model's music is not supported: the cuts are planned before the clips are "
                "made and paid for, and a model's music exists only after its call. Use your own track "
                "(music: {file: ..., sync: beats}: its beats are tracked when it is read), or the animatic's "
                "bed (backend animatic, or comfyui without a music workflow), or leave sync out",
            )
        )
    return errors


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[str, FieldError] = {}
    for error in errors:
        if error.path not in seen or "none" in seen[error.path].message.lower():
            seen[error.path] = error
    return list(seen.values())


def spec_data(text: str, source: str, default_id: str | None = None) -> Any:
    """Parse YAML or JSON text (JSON first when it looks like JSON) into spec data, not yet validated
    (`id` defaults to `default_id`). Raise `SpecError` for text that is neither."""
    try:
        if text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            stream = io.StringIO(text)
            stream.name = source  # so that YAML's error names the file, not "<unicode string>"
            data = yaml.safe_load(stream)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SpecError(source, [FieldError("(file)", f"not valid YAML or JSON: {exc}")]) from None
    except RecursionError:  # thousands of nested brackets: no spec is shaped like that
        raise SpecError(source, [FieldError("(file)", "nested too deeply to be a spec")]) from None
    if isinstance(data, dict) and "id" not in data and default_id is not None:
        data = {"id": default_id, **data}
    return data


def read_spec_text(text: str, source: str, default_id: str | None = None) -> Spec:
    """Parse YAML or JSON text (JSON first when it looks like JSON) and validate it."""
    data = spec_data(text, source, default_id)
    try:
        return parse_spec(data, source)
    except RecursionError:  # thousands of nested brackets: no spec is shaped like that
        raise SpecError(source, [FieldError("(file)", "nested too deeply to be a spec")]) from None


def id_from_filename(path: Path) -> str:
    """The default id: the file's stem, lower-cased, with spaces and underscores as '-'."""
    return re.sub(r"[\s_]+", "-", path.stem.strip().lower())


def load_spec(path: Path) -> Spec:
    """Read and validate a spec file. Raise `SpecError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), [FieldError("(file)", f"cannot read: {exc}")]) from None
    return read_spec_text(text, str(path), default_id=id_from_filename(path))
