"""Subtitle files and burnt-in subtitle images for the voiceover's cues.

SRT is written with `srt` and WebVTT with `webvtt-py` (no hand formatting). A cue keeps its line's text as
written (quotes, emoji, right-to-left scripts); only blank lines inside it are dropped, since both formats
end a cue at a blank line. Styled captions (ASS, burnt in by libass) are `media.captions`.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Sequence
from pathlib import Path

import srt
import webvtt

from vidgen_assets.core.voice import Cue
from vidgen_assets.media.files import atomic_output


def cue_text(text: str) -> str:
    """A cue's text: the line as written, without blank lines or trailing spaces on each line."""
    return "\n".join(part.rstrip() for part in text.replace("\r\n", "\n").split("\n") if part.strip())


def srt_text(cues: Sequence[Cue]) -> str:
    subtitles = [
        srt.Subtitle(
            index=c.index + 1,
            start=datetime.timedelta(seconds=c.start_s),
            end=datetime.timedelta(seconds=c.end_s),
            content=cue_text(c.text),
        )
        for c in cues
    ]
    return str(srt.compose(subtitles, reindex=False))


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def vtt_text(cues: Sequence[Cue]) -> str:
    """WebVTT cues; `&`, `<` and `>` are written as character references, as the format requires (a
    `<` would open a tag, `-->` would end the cue text), and players show them as the characters."""
    document = webvtt.WebVTT()
    for c in cues:
        text = html.escape(cue_text(c.text), quote=False)
        document.captions.append(webvtt.Caption(start=_vtt_time(c.start_s), end=_vtt_time(c.end_s), text=text))
    return str(document.content)


def write_text(text: str, out: Path) -> Path:
    with atomic_output(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out
