"""Which voices a spec's backend has, and how long its lines will be spoken, before anything is rendered.

`voice_errors` turns a voice the backend does not have into a field error (`voice.voice`), so `vidgen
validate`/`render`, the `video_spec` asset and the spec sensor refuse it like any other bad field.
`line_lengths` gives each line's spoken length: measured by synthesizing it with the local engine (fast,
free) for the animatic, estimated from its characters for a model backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidgen_assets.core.plan import Plan, VoiceLine
from vidgen_assets.core.spec import FieldError, Spec
from vidgen_assets.core.voice import MAX_SPEEDUP, LineTooLong, estimate_seconds, line_seconds, tempo

SHOWN_VOICES = 12


def _comfy_voice(spec: Spec) -> bool:
    """Whether a comfyui spec speaks through a voice workflow of its own (else espeak-ng, locally)."""
    return spec.backend == "comfyui" and spec.comfyui is not None and spec.comfyui.workflows.voice is not None


def known_voices(spec: Spec) -> tuple[tuple[str, ...], str]:
    """The voice names the spec's backend accepts (the first few are shown in errors) and a note."""
    if _comfy_voice(spec):
        return ("narrator",), "a comfyui voice workflow speaks with its own voice"
    if spec.backend == "replicate":
        from vidgen_assets.backends.selection import UnknownModel, select_models

        try:
            model = select_models(spec.models).voice
        except UnknownModel:
            return (), ""
        return ("narrator", *model.voices), f"the voices of {model.id}"
    from vidgen_assets.backends import espeak

    return espeak.voices(), "espeak-ng language codes, optionally with a variant such as en-us+f3 or en-gb+m3"


def voice_errors(spec: Spec) -> list[FieldError]:
    """`voice.voice` naming a voice the spec's backend does not have (checked only when a line is said)."""
    if spec.voice is None or not spec.speaks:
        return []
    name = spec.voice.voice
    if _comfy_voice(spec):
        found = name == "narrator"
    elif spec.backend == "replicate":
        from vidgen_assets.backends.replicate import speech_voice
        from vidgen_assets.backends.selection import UnknownModel, select_models

        try:
            found = speech_voice(select_models(spec.models).voice, name) is not None
        except UnknownModel:
            return []  # reported as `models.voice` by the backend
    else:
        from vidgen_assets.backends import espeak

        found = espeak.resolve_voice(name) is not None
    if found:
        return []
    names, note = known_voices(spec)
    shown = ", ".join(names[:SHOWN_VOICES]) + (", ..." if len(names) > SHOWN_VOICES else "")
    return [FieldError("voice.voice", f"unknown voice {name!r} for backend {spec.backend}; allowed: {shown} ({note})")]


@dataclass(frozen=True)
class LineLength:
    """A line's spoken length against the room its beat leaves, and whether and how it fits."""

    line: VoiceLine
    spoken_s: float
    measured: bool
    """Measured by synthesizing it (the animatic), else estimated from its characters."""
    room_s: float
    tempo: float | None
    """The speed-up the render will apply (1.0 = none), or None when the line cannot fit."""

    @property
    def warning(self) -> str | None:
        if self.tempo is None:
            return (
                f"beats[{self.line.beat_index}].say lasts {self.spoken_s:.2f} s, {self.room_s:.2f} s fit in its beat "
                f"even {MAX_SPEEDUP}x faster: the render will fail; shorten the line or lengthen the beat"
            )
        if self.tempo > 1:
            return (
                f"beats[{self.line.beat_index}].say lasts {self.spoken_s:.2f} s for {self.room_s:.2f} s of beat: "
                f"it will be spoken {self.tempo:.3f}x faster"
            )
        return None


def line_lengths(plan: Plan) -> list[LineLength]:
    """Each voiceover line's spoken length and fit (none when the spec has `voice: false`)."""
    voice = plan.spec.voice
    if voice is None:
        return []
    out = []
    for line in plan.voice_lines:
        if plan.spec.backend == "replicate" or _comfy_voice(plan.spec):
            spoken, measured = estimate_seconds(line.text, voice.speed), False
        else:
            from vidgen_assets.backends import espeak

            spoken, measured = espeak.synthesize(line.text, voice.voice, voice.speed).seconds, True
        room = line_seconds(plan, line)
        try:
            fit: float | None = tempo(spoken, room)
        except LineTooLong:
            fit = None
        out.append(LineLength(line, spoken, measured, room, fit))
    return out
