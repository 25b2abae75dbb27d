"""Each caption word's time on screen, and the safe areas' margins."""

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from vidgen_assets.core.captions import SAFE_AREAS, caption_tokens, word_times


def test_words_keep_their_punctuation_and_a_dash_goes_with_the_word_before():
    assert caption_tokens("Steeped for twenty hours. Never rushed.") == [
        "Steeped", "for", "twenty", "hours.", "Never", "rushed.",
    ]  # fmt: skip
    assert caption_tokens("Cold brew — done right") == ["Cold", "brew —", "done", "right"]
    assert caption_tokens("— Ready?") == ["— Ready?"]
    assert caption_tokens("   ") == []


def test_the_engine_times_are_used_when_it_reports_one_start_per_word():
    engine = (
        ("Steeped", 0.0),
        ("for", 0.426),
        ("twenty", 0.624),
        ("hours", 1.045),
        ("Never", 1.745),
        ("rushed", 2.057),
    )
    words, timing = word_times("Steeped for twenty hours. Never rushed.", 0.25, 2.65, engine)
    assert timing == "engine"
    assert [(w.text, w.start_s) for w in words][:2] == [("Steeped", 0.25), ("for", 0.676)]
    assert [w.end_s for w in words] == [w.start_s for w in words[1:]] + [2.65]


def test_otherwise_the_line_is_spread_over_its_words_by_their_length():
    # "20%" is spoken as two words: the engine's words do not match the caption's, so they are spread.
    words, timing = word_times(
        "Save 20% today", 1.0, 3.0, (("Save", 0), ("twenty", 0.3), ("percent", 0.6), ("today", 1))
    )
    assert timing == "spread"
    assert [w.text for w in words] == ["Save", "20%", "today"]
    assert words[0].start_s == 1.0 and words[-1].end_s == 3.0
    assert words[1].end_s - words[1].start_s < words[2].end_s - words[2].start_s  # 4 characters < 6


@given(
    st.lists(st.text(alphabet="abcdefgh.,!", min_size=1, max_size=8).filter(lambda w: any(c.isalpha() for c in w)),
             min_size=1, max_size=12),
    st.floats(0, 100), st.floats(0.2, 10),
    st.booleans(),
)  # fmt: skip
def test_words_cover_the_caption_in_order_without_gaps(tokens, start, length, with_engine):
    text = " ".join(tokens)
    step = length / (len(tokens) + 1)
    engine = tuple((t, i * step) for i, t in enumerate(tokens)) if with_engine else None
    words, timing = word_times(text, start, start + length, engine)
    assert [w.text for w in words] == tokens
    assert timing == ("engine" if with_engine else "spread")
    assert abs(words[0].start_s - start) < 0.002 and abs(words[-1].end_s - (start + length)) < 0.002
    for a, b in pairwise(words):
        assert a.end_s == b.start_s and a.start_s <= a.end_s


def test_safe_areas_leave_the_middle_of_the_frame_free():
    assert SAFE_AREAS["none"].bottom == 0
    for name in ("tiktok", "reels", "shorts"):
        m = SAFE_AREAS[name]
        assert 0 < m.top < 0.2 and 0.15 < m.bottom < 0.4 and m.left + m.right < 0.25
