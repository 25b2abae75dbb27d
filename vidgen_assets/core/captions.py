"""Captions, the arithmetic: each word's time on screen, and where a caption may sit.

A caption is a voiceover line's cue. With `subtitles.words: true` the word being spoken is highlighted,
so each word needs a start and an end: the speech engine's own word times where it reports them (espeak-
ng reports each word's audio position), else the line's measured length spread over its words by their
length in characters. The caption's words are its text split at spaces, punctuation kept with its word
(`hours.`); a token with no letter or digit (a dash) is shown with the word before it.

Safe areas keep captions and on-screen text clear of a platform's own controls. The margins are shares
of the frame (top, bottom, left, right), read from the sources named beside each; platforms move their
interfaces, so they are working margins, not guarantees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

WordTiming = Literal["engine", "spread"]


@dataclass(frozen=True)
class Word:
    """One word of a caption and its time on screen (seconds in the video)."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Margins:
    """Shares of the frame a caption or a text must keep clear of: top, bottom, left, right."""

    top: float
    bottom: float
    left: float
    right: float


SAFE_AREAS: dict[str, Margins] = {
    "none": Margins(0.0, 0.0, 0.0, 0.0),
    # TikTok, 1080x1920: caution areas of 250 px at the top, 420 px at the bottom (caption, username, sound)
    # and 170 px on the right (the action column) (socaptions.com, "TikTok safe zones 2026"); 60 px left.
    "tiktok": Margins(top=250 / 1920, bottom=420 / 1920, left=60 / 1080, right=170 / 1080),
    # Instagram and Facebook Reels: clear of the top 14%, the bottom 35% and 6% at each side (Meta Business
    # Help Center's Reels safe zones, as houseofmarketers.com's guide tabulates them).
    "reels": Margins(top=0.14, bottom=0.35, left=0.06, right=0.06),
    # YouTube Shorts: the lower 25% (title, channel, subscribe: about 480 of 1920 px) and the right column
    # of like, comment and share buttons (about 12% of the width); the top 8% (search, menu).
    "shorts": Margins(top=0.08, bottom=0.25, left=0.05, right=0.12),
}


def _spoken(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def caption_tokens(text: str) -> list[str]:
    """The caption's words as shown: split at white space, a token without a letter or digit joined to
    the word before it (or after it, at the start)."""
    tokens: list[str] = []
    pending = ""
    for token in text.split():
        if _spoken(token):
            tokens.append(f"{pending} {token}".strip() if pending else token)
            pending = ""
        elif tokens:
            tokens[-1] = f"{tokens[-1]} {token}"
        else:
            pending = f"{pending} {token}".strip()
    if pending:
        tokens.append(pending)
    return tokens


def word_times(
    text: str, start_s: float, end_s: float, engine: Sequence[tuple[str, float]] | None = None
) -> tuple[list[Word], WordTiming]:
    """Each word of a caption shown from `start_s` to `end_s`, with its time: from `engine` (the speech
    engine's (word, start offset in the line) pairs) when it reports one start per word, in order and
    inside the line; else spread over the line by the words' lengths. A word lasts until the next starts."""
    tokens = caption_tokens(text)
    if not tokens or end_s <= start_s:
        return [], "spread"
    starts: list[float] | None = None
    if engine is not None and len(engine) == len(tokens):
        offsets = [float(offset) for _, offset in engine]
        absolute = [start_s + offset for offset in offsets]
        if all(a <= b for a, b in pairwise(absolute)) and absolute[-1] < end_s:
            starts = [max(start_s, a) for a in absolute]
    timing: WordTiming = "engine" if starts is not None else "spread"
    if starts is None:
        lengths = [len(token) + 1 for token in tokens]  # a space's worth of pause after each word
        total = sum(lengths)
        starts, at = [], start_s
        for length in lengths:
            starts.append(at)
            at += (end_s - start_s) * length / total
    ends = [*starts[1:], end_s]
    return [Word(t, round(s, 3), round(e, 3)) for t, s, e in zip(tokens, starts, ends, strict=True)], timing
