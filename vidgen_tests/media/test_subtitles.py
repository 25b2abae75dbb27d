"""Subtitle files written with the `srt` and `webvtt-py` libraries read back as written."""

from __future__ import annotations

import html
import io

import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from vidgen_assets.core.voice import Cue
from vidgen_assets.media.subtitles import cue_text, srt_text, vtt_text

# What `say` accepts: any printable text, newlines and tabs (no other control characters).
SAYABLE = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters="\n\t"), min_size=1, max_size=120
).filter(str.strip)


@settings(max_examples=200, deadline=None)
@given(text=SAYABLE, start=st.integers(0, 290_000), length=st.integers(1, 9_000))
def test_any_sayable_line_round_trips_through_srt_and_vtt(text, start, length):
    cue = Cue(0, start / 1000, (start + length) / 1000, text)
    (parsed,) = srt.parse(srt_text([cue]))
    assert parsed.content == cue_text(text)
    assert (parsed.start.total_seconds(), parsed.end.total_seconds()) == (cue.start_s, cue.end_s)
    (caption,) = webvtt.from_buffer(io.StringIO(vtt_text([cue]))).captions
    assert html.unescape(caption.text) == cue_text(text)  # `&`, `<`, `>` as character references
    assert (caption.start_in_seconds * 1000 + caption.start_time.milliseconds) == start


def test_arrows_and_tags_in_a_line_do_not_break_the_cue():
    cue = Cue(0, 1.0, 2.0, "a --> b <i>not a tag</i> & c")
    assert [s.content for s in srt.parse(srt_text([cue]))] == ["a --> b <i>not a tag</i> & c"]
    (caption,) = webvtt.from_buffer(io.StringIO(vtt_text([cue]))).captions
    assert caption.text == "a --&gt; b &lt;i&gt;not a tag&lt;/i&gt; &amp; c"


def test_quotes_emoji_and_rtl_are_kept_and_blank_lines_dropped():
    text = '"Don\'t" stop:\n\n100% שלום 😀 — مرحبا  '
    assert cue_text(text) == '"Don\'t" stop:\n100% שלום 😀 — مرحبا'
    (parsed,) = srt.parse(srt_text([Cue(0, 0.25, 1.5, text)]))
    assert parsed.content == '"Don\'t" stop:\n100% שלום 😀 — مرحبا'
