"""What a spec names that this machine must have, checked before anything is written: the voice (its
backend's speech engine knows it) and the caption font (a family libass will find). Each problem is a
field error like any other (`SpecError`), so bad input exits 2 with nothing written."""

from __future__ import annotations

from vidgen_assets.backends.voices import voice_errors
from vidgen_assets.core.spec import FieldError, Spec, SpecError
from vidgen_assets.media.fonts import families


def font_errors(spec: Spec) -> list[FieldError]:
    """`subtitles.style.font` when no font of that family is installed with vidgen (or beside `VIDGEN_FONT`)."""
    style = spec.subtitles.style
    if "font" not in style.model_fields_set:
        return []  # vidgen's own default: libass takes the text font's folder, whatever it holds
    font, known = style.font, families()
    if font in known:
        return []
    names = ", ".join(sorted(n for n in known if not n.startswith(("cm", "STIX", "Last")))) or "none found"
    return [
        FieldError("subtitles.style.font", f"no font family {font!r} here; installed: {names} (or set VIDGEN_FONT)")
    ]


def check_available(spec: Spec, source: str) -> Spec:
    """The spec, or `SpecError` listing what it names that this machine lacks (a voice, a font)."""
    errors = voice_errors(spec) + font_errors(spec)
    if errors:
        raise SpecError(source, errors)
    return spec
