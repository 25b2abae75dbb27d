"""Text as vidgen draws and writes it: cleaning, line wrapping and cutting with an ellipsis.

Pure: widths come from a `Measure` the caller passes (a font's `media.fonts.text_width`, or `len` in a
test), so the rules are the same for every picture that draws text (overlays, storyboard cards, the
timeline, contact sheets) and can be checked without a font.

Three cleaning rules, one per kind of output:
- `one_line`: a label or card line: line breaks, tabs and control characters become spaces.
- `clean_lines`: an on-screen overlay: newlines kept, control characters dropped, format characters
  (emoji joiners, bidi marks) kept for the font's shaper.
- `printable`: a string in an editor's file: newlines kept, control characters become spaces,
  nothing collapsed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping

Measure = Callable[[str], float]
"""The width of a text (pixels for a font); wider than any room when it cannot be measured."""

ELLIPSIS = "…"


def _by_category(text: str, replacements: Mapping[str, str], keep: str = "") -> str:
    """`text` with each character of a Unicode category in `replacements` replaced by that category's
    string (empty: dropped); the characters in `keep` stay whatever their category."""
    out: list[str] = []
    for char in text:
        if char in keep:
            out.append(char)
        else:
            out.append(replacements.get(unicodedata.category(char), char))
    return "".join(out)


def one_line(text: str) -> str:
    """`text` as one printable line: line breaks, tabs and control characters become spaces, format
    characters and private-use or unassigned code points are dropped, a lone surrogate becomes `?`, and
    runs of spaces collapse."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    spaced = _by_category(text, {"Cc": " ", "Zl": " ", "Zp": " ", "Cf": "", "Cs": "", "Co": "", "Cn": ""})
    return " ".join(spaced.split())


def clean_lines(text: str) -> str:
    """`text` without what no font can draw: control characters (tabs become spaces), lone surrogates
    and private-use or unassigned code points are dropped; runs of spaces collapse on each line. Newlines
    are kept (blank lines at the start and end go)."""
    text = text.replace("\r\n", "\n").replace("\t", " ")
    kept = _by_category(text, {"Cc": "", "Cs": "", "Co": "", "Cn": ""}, keep="\n")
    return "\n".join(" ".join(line.split()) for line in kept.split("\n")).strip("\n")


def printable(text: str) -> str:
    """Text as editors' files can carry it: control characters (a NUL ends a string in some of them)
    become spaces, lone surrogates and unassigned code points go; newlines stay."""
    return _by_category(text, {"Cc": " ", "Cs": "", "Cn": ""}, keep="\n")


def _longest(text: str, fits: Callable[[str], bool]) -> int:
    """The length of the longest prefix of `text` that `fits` (0 when none), for a `fits` true of the
    prefixes up to some length and false after it."""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if fits(text[:mid]):
            low = mid
        else:
            high = mid - 1
    return low


def fit(text: str, measure: Measure, room: float) -> str:
    """`text` if it is at most `room` wide, else its longest prefix (trailing spaces dropped) that is
    with an ellipsis after it; empty when not even one character and the ellipsis fit."""
    if measure(text) <= room:
        return text
    cut = _longest(text, lambda prefix: measure(prefix.rstrip() + ELLIPSIS) <= room)
    return text[:cut].rstrip() + ELLIPSIS if text[:cut].strip() else ""


def _break(word: str, measure: Measure, room: float) -> list[str]:
    """`word` in pieces at most `room` wide, each as long as fits (at least one character each)."""
    pieces: list[str] = []
    while word:
        cut = max(1, _longest(word, lambda prefix: measure(prefix) <= room))
        pieces.append(word[:cut])
        word = word[cut:]
    return pieces


def wrap(text: str, measure: Measure, room: float, max_lines: int | None = None) -> list[str]:
    """Greedy word wrap into lines at most `room` wide; explicit newlines are kept and a word wider than
    a line is broken where it stops fitting (a line holds at least one character, so a room narrower
    than one character still ends). With `max_lines`, at most that many lines, and when text is left
    over the last one is cut to end with an ellipsis (`fit`)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            if max_lines is not None and len(lines) > max_lines:
                break
            if not word:
                continue
            candidate = f"{current} {word}" if current else word
            if measure(candidate) <= room:
                current = candidate
                continue
            if current:
                lines.append(current)
            *full, current = _break(word, measure, room)
            lines.extend(full)
        if current:
            lines.append(current)
    if max_lines is None or len(lines) <= max_lines:
        return lines
    if max_lines <= 0:
        return []
    kept = lines[:max_lines]
    kept[-1] = fit(kept[-1] + ELLIPSIS, measure, room)
    return kept
