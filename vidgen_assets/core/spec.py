"""The video spec: what a user asks for, validated field by field.

A spec is YAML or JSON. Field names are a contract (see DESIGN.md). Every problem is reported as a
`FieldError` with a path such as `beats[2].transition`, what is wrong and what is allowed, gathered into
one `SpecError` that names the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
MIN_DURATION_S = 5
MAX_DURATION_S = 300

AspectRatio = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["480p", "576p", "720p", "1080p"]
Fps = Literal[24, 25, 30]
Camera = Literal["push_in", "pull_out", "pan_left", "pan_right", "static"]
BackendName = Literal["animatic", "replicate"]
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
"""A generated clip from the outgoing beat's last frame to the incoming beat's storyboard image (Version 2)."""
TRANSITIONS: tuple[str, ...] = ("cut", BRIDGE, *XFADE_TRANSITIONS)
DEFAULT_TRANSITION_S = 0.5
DEFAULT_BRIDGE_S = 1.0

REFERENCE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
_REFERENCE_NAME = re.compile(REFERENCE_NAME_PATTERN)
MAX_SAY_CHARS = 600
"""A voiceover line longer than this cannot be spoken in any beat a spec allows (300 s at ~2 words/s)."""
Subtitles = Literal["soft", "burn", "off"]
# Control characters other than newline and tab are refused in spoken lines: TTS engines and subtitle
# formats treat them unpredictably.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

SHORT_SIDE = {"480p": 480, "576p": 576, "720p": 720, "1080p": 1080}
RATIO = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


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
    """The music bed under the whole video."""

    mood: str | None = None
    """Defaults to the style's mood."""
    bpm: Annotated[int, Field(ge=40, le=220)] = 100
    volume: Annotated[float, Field(ge=0, le=2)] = 0.8


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
    """Per-stage model overrides for the replicate backend: image, video, music, planner."""
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    budget_usd: Annotated[float, Field(gt=0)] | None = None
    references: dict[str, ReferenceSpec] = Field(default_factory=dict)
    """What must look the same in every shot that shows it, by name (Version 2)."""
    voice: VoiceSpec | None = VoiceSpec()
    """The voiceover's voice; `voice: false` mutes the `say` lines (subtitles still follow `subtitles`)."""
    subtitles: Subtitles | None = None
    """soft | burn | off; default soft when any beat has `say`, else off (see `subtitle_mode`)."""

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_switch(cls, value: Any) -> Any:
        if value is False:
            return None
        if value is True:
            return {}
        return value

    @field_validator("music", mode="before")
    @classmethod
    def _music_switch(cls, value: Any) -> Any:
        if value is False:
            return None
        if value is True:
            return {}
        return value

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
        """`subtitles` as given, else soft when anything is said, else off."""
        return self.subtitles or ("soft" if self.speaks else "off")

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
        return "unknown field (check the spelling; see the spec format in README.md)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"got {error['input']!r}; allowed: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch" and error["loc"] == ("id",):
        return (
            f"got {error['input']!r}; an id is 1-63 characters of a-z, 0-9 and '-', starting with a "
            "letter or digit (no '/', '..', spaces or capitals)"
        )
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and error["loc"] == ("duration",):
        return f"got {error['input']!r}; a video lasts {MIN_DURATION_S} to {MAX_DURATION_S} seconds"
    return f"{error['msg']} (got {error['input']!r})"


def parse_spec(data: Any, source: str = "<spec>") -> Spec:
    """Validate already-parsed spec data. Raise `SpecError` listing every field problem."""
    if not isinstance(data, dict):
        raise SpecError(source, [FieldError("(spec)", f"a spec is a mapping of fields, got {type(data).__name__}")])
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            # pydantic reports `str | None` unions per member; keep the useful one.
            loc = tuple(
                p
                for p in loc
                if p not in ("constrained-str", "float", "str", "int", "MusicSpec", "VoiceSpec", "tuple[str, ...]")
            )
            errors.append(FieldError(_path(loc), _message(error)))
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
    return errors


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[str, FieldError] = {}
    for error in errors:
        if error.path not in seen or "none" in seen[error.path].message.lower():
            seen[error.path] = error
    return list(seen.values())


def read_spec_text(text: str, source: str, default_id: str | None = None) -> Spec:
    """Parse YAML or JSON text (JSON first when it looks like JSON) and validate it."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
        if isinstance(data, dict) and "id" not in data and default_id is not None:
            data = {"id": default_id, **data}
        return parse_spec(data, source)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SpecError(source, [FieldError("(file)", f"not valid YAML or JSON: {exc}")]) from None
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
