"""Text cleaning, wrapping and cutting with an ellipsis: the rules every picture's text follows."""

from __future__ import annotations

from functools import partial

from hypothesis import given
from hypothesis import strategies as st

from vidgen_assets.core.text import ELLIPSIS, clean_lines, fit, one_line, printable, wrap
from vidgen_assets.media.fonts import load_font, text_width

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
"""Any code points: controls, lone surrogates, private-use and unassigned ones included."""
WORDS = st.text(st.sampled_from("ab cdé冷萃\n☕ "), max_size=120)
ROOM = st.floats(min_value=2, max_value=60)


def wide(text: str) -> float:
    """A measure with characters of different widths: CJK and emoji 2, others 1."""
    return float(sum(2 if ord(c) > 0x2000 else 1 for c in text))


def test_one_line_is_a_printable_line() -> None:
    assert one_line("  a\tb\nc\x00d  ") == "a b c d"
    assert one_line("lone \ud800 surrogate") == "lone ? surrogate"
    assert one_line("zero\u200bwidth\u200djoin") == "zerowidthjoin"
    assert one_line('☕ 冷萃 "q" 100%') == '☕ 冷萃 "q" 100%'


def test_clean_lines_keeps_newlines_and_drops_controls() -> None:
    assert clean_lines("a\tb\x00c\r\nd  e\ud800") == "a bc\nd e"
    assert clean_lines("👩\u200d👩\u200d👧") == "👩\u200d👩\u200d👧"  # the joiners draw one emoji


def test_printable_keeps_newlines_and_spaces_controls() -> None:
    assert printable("a\x00b\nc\ud800") == "a b\nc"


@given(ANY_TEXT)
def test_cleaning_twice_changes_nothing(text: str) -> None:
    for clean in (one_line, clean_lines, printable):
        once = clean(text)
        assert clean(once) == once
    assert "\n" not in one_line(text)
    assert not {"\x00", "\r", "\t"} & set(clean_lines(text) + one_line(text))


@given(WORDS, ROOM, st.none() | st.integers(min_value=1, max_value=5))
def test_wrapped_lines_never_exceed_the_room(text: str, room: float, max_lines: int | None) -> None:
    lines = wrap(text, wide, room, max_lines)
    assert all(wide(line) <= room for line in lines)
    if max_lines is not None:
        assert len(lines) <= max_lines
    if max_lines is None or len(lines) < max_lines:
        assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


@given(WORDS, ROOM)
def test_a_cut_text_fits_and_ends_with_an_ellipsis(text: str, room: float) -> None:
    cut = fit(text, wide, room)
    assert wide(cut) <= room
    if cut != text:
        assert cut == "" or (cut.endswith(ELLIPSIS) and text.startswith(cut[:-1]))


def test_fit_leaves_out_what_cannot_fit() -> None:
    assert fit("fits", len, 4) == "fits"
    assert fit("abcdef", len, 4) == "abc" + ELLIPSIS
    assert fit("ab  cdef", len, 5) == "ab" + ELLIPSIS  # no space before the ellipsis
    assert fit("abc", len, 1) == ""  # not even one character and the ellipsis


def test_wrap_with_a_font_fits_and_truncates() -> None:
    font = load_font(16)
    measure = partial(text_width, font)
    text = " ".join(f"word{i}" for i in range(200))
    lines = wrap(text, measure, 200, 3)
    assert len(lines) == 3
    assert all(font.getlength(line) <= 200 for line in lines)
    assert lines[-1].endswith(ELLIPSIS)
    assert wrap("short text", measure, 200, 3) == ["short text"]
    assert wrap("", measure, 200, 3) == []
    cut = fit("a rather long title that cannot fit", measure, 80)
    assert cut.endswith(ELLIPSIS)
    assert font.getlength(cut) <= 80


def test_wrap_breaks_words_without_spaces() -> None:
    font = load_font(16)
    measure = partial(text_width, font)
    lines = wrap("冷萃咖啡" * 50, measure, 120, 4)
    assert len(lines) == 4
    assert all(font.getlength(line) <= 120 for line in lines)
    assert lines[-1].endswith(ELLIPSIS)
    assert len(wrap("x" * 30, measure, 1, 2)) == 2  # not even one glyph fits: still ends
    lines = wrap("short " + "x" * 200 + " end", partial(text_width, load_font(12)), 100)
    assert len(lines) > 3
    assert all(load_font(12).getlength(line) <= 100 for line in lines)
    assert "".join(lines).replace(" ", "") == "short" + "x" * 200 + "end"
