"""Where each take of a clip is stored: take 1 where clips always were, each later take beside it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidgen_assets.storage import layout


def test_take_one_keeps_the_names_clips_had_before_takes():
    assert layout.chunk_video(3) == layout.chunk_video(3, take=1) == "chunks/chunk_003.mp4"
    assert layout.chunk_last_frame(3) == "chunks/chunk_003.last.png"
    assert layout.bridge_video("b001") == "bridges/b001.mp4"
    assert layout.chunk_video(3, take=2) == "chunks/chunk_003.t2.mp4"
    assert layout.chunk_last_frame(3, take=2) == "chunks/chunk_003.t2.last.png"
    assert layout.bridge_video("b001", take=4) == "bridges/b001.t4.mp4"


@given(st.integers(0, 999), st.integers(0, 999), st.integers(1, 99), st.integers(1, 99))
def test_no_two_takes_of_any_clips_share_a_file(a, b, take_a, take_b):
    same = (a, take_a) == (b, take_b)
    assert (layout.chunk_video(a, take_a) == layout.chunk_video(b, take_b)) is same
    assert (layout.chunk_last_frame(a, take_a) == layout.chunk_last_frame(b, take_b)) is same
    assert layout.chunk_video(b, take_b) != layout.chunk_last_frame(a, take_a)
    assert layout.content_type(layout.chunk_video(a, take_a)) == "video/mp4"


def test_takes_are_numbered_from_one():
    with pytest.raises(ValueError, match="numbered from 1"):
        layout.chunk_video(0, take=0)
