"""Every preview draws for any valid spec: the timeline picture, contact sheets, the metadata previews,
report.html and the storyboard card, for 1,000 generated specs (no video is rendered here).

Extreme specs are generated on purpose: beats shorter than a frame, 1-frame transitions and transitions
longer than their beats, 300 s videos, 60 beats, long multi-line Unicode text (emoji, CJK, right-to-left,
combining marks, control characters) in every field that is drawn.
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from vidgen_assets.backends.storyboard_card import render_card
from vidgen_assets.core.generation import Frame, ImageRequest
from vidgen_assets.core.plan import Plan, build_plan
from vidgen_assets.core.spec import TRANSITIONS, Spec
from vidgen_assets.defs.assets import plan_table
from vidgen_assets.media import preview, timeline
from vidgen_assets.report import CheckResult, ReportInputs, build_report

NASTY = [
    "Wake up\ndifferent 😀",
    "line one\nline two\r\nline three\ttabbed\x0bvertical\x1funit\u2028sep\u2029para",
    "冷萃咖啡在阳光明媚的柜台上" * 12,
    "مرحبا بالعالم \u202eRTL override\u202c and زمن",
    "e\u0301\u0302\u0303\u0304 combining, ZWJ 👩‍👩‍👧‍👦, flags 🇫🇷🇯🇵, skin 👍🏽",
    "{0} %s %% \\n </script><b>html</b> & 'quotes' \"double\"",
    "x" * 2000,
    " ".join(["word"] * 300),
    "\n\n\n",
    "🍕" * 200,
]
TEXT = st.one_of(st.sampled_from(NASTY), st.text(min_size=1, max_size=40))
SECONDS = st.one_of(
    st.sampled_from([0.001, 1 / 30, 1 / 24, 0.04, 0.5, 5.0, 300.0]),
    st.floats(min_value=0.001, max_value=300, allow_nan=False),
)
EXAMPLES = 300
TRANSITION_S = st.one_of(st.sampled_from([0.0, 1 / 30, 1 / 24, 0.04, 5.0]), st.floats(min_value=0, max_value=5))


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    beats = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "name": TEXT.map(lambda t: t[:64]),
                    "duration": SECONDS,
                    "prompt": TEXT,
                    "camera": st.sampled_from(["push_in", "pull_out", "pan_left", "pan_right", "static"]),
                    "transition": st.sampled_from(TRANSITIONS),
                    "transition_duration": TRANSITION_S,
                },
                optional={"text": TEXT},
            ),
            min_size=1,
            max_size=60,
        )
    )
    data: dict[str, Any] = {
        "id": "v",
        "prompt": draw(TEXT),
        "duration": draw(st.one_of(st.sampled_from([5, 300]), st.floats(min_value=5, max_value=300))),
        "aspect_ratio": draw(st.sampled_from(["16:9", "9:16", "1:1"])),
        "resolution": draw(st.sampled_from(["480p", "576p", "720p", "1080p"])),
        "fps": draw(st.sampled_from([24, 25, 30])),
        "beats": beats,
        "style": {"aesthetic": draw(TEXT), "mood": draw(TEXT)},
        "music": draw(
            st.one_of(
                st.just(False),
                st.fixed_dictionaries(
                    {"bpm": st.integers(40, 220), "volume": st.floats(0, 2)}, optional={"mood": TEXT}
                ),
            )
        ),
        "cta": draw(st.one_of(st.none(), TEXT.map(lambda t: t[:200]))),
    }
    return Spec.model_validate(data)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.extend(value or "" for name, value in attrs if name == "src")


@pytest.fixture(scope="module")
def thumbnails(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small storyboard stand-ins per aspect ratio (the report reads images from files)."""
    root = tmp_path_factory.mktemp("thumbs")
    out = {}
    for aspect, size in {"16:9": (64, 36), "9:16": (36, 64), "1:1": (48, 48)}.items():
        path = root / f"{aspect.replace(':', 'x')}.png"
        Image.new("RGB", size, (120, 80, 40)).save(path)
        out[aspect] = path
    return out


def card_request(plan: Plan, index: int) -> ImageRequest:
    beat = plan.beats[index]
    small = Frame(64, 36, plan.fps) if plan.width > plan.height else Frame(36, 64, plan.fps)
    return ImageRequest(
        video_id=plan.video_id, beat_index=index, beat_count=len(plan.beats), beat_name=beat.name,
        prompt=beat.prompt, camera=beat.camera, start_frame=beat.start_frame, end_frame=beat.end_frame,
        frame=small, palette=plan.spec.style.palette, aesthetic=plan.spec.style.aesthetic, seed=0,
    )  # fmt: skip


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(spec=specs())
def test_every_preview_draws_for_any_valid_spec(spec: Spec, thumbnails: dict[str, Path]) -> None:
    plan = build_plan(spec, 5.0)
    assert sum(b.frames for b in plan.beats) == plan.total_frames
    assert all(b.frames >= 1 and b.chunks for b in plan.beats)

    # The timeline picture: every box inside the picture, every label one line.
    boxes = timeline.timeline_boxes(plan)
    assert all(timeline.LEFT <= b.x0 <= b.x1 <= timeline.WIDTH - timeline.RIGHT for b in boxes)
    assert not any("\n" in b.label for b in boxes)
    markdown = timeline.timeline_markdown(plan, timeline.WIDTH)
    prefix = "![timeline of v](data:image/png;base64,"
    assert markdown.startswith(prefix)
    with Image.open(io.BytesIO(base64.b64decode(markdown[len(prefix) : -1]))) as picture:
        assert picture.size == (timeline.WIDTH, timeline.image_height())

    # The contact sheets and the plan table the UI shows.
    thumb = thumbnails[spec.aspect_ratio]
    sheet = preview.sheet_markdown([thumb] * len(plan.beats), "storyboard")
    assert sheet.startswith("![storyboard](data:image/jpeg;base64,")
    table = plan_table(plan)
    assert len(table.splitlines()) == len(plan.beats) + 2

    # report.html, with storyboard images (the first and last beats') and a check.
    shown = dict.fromkeys({0, len(plan.beats) - 1}, thumb)
    page = build_report(plan, ReportInputs(storyboard=shown), [CheckResult("c", True)])
    parser = _Parser()
    parser.feed(page)
    assert any(src.startswith("data:image/png;base64,") for src in parser.images)
    assert not re.search(r"<script", page, re.IGNORECASE)  # user text is escaped

    # The last beat's storyboard card (small: the card's own tests cover sizes).
    assert render_card(card_request(plan, len(plan.beats) - 1)).size in ((64, 36), (36, 64))


def test_a_preview_that_cannot_be_drawn_is_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []

    class Log:
        def warning(self, msg: str) -> None:
            warnings.append(msg)

    def broken() -> str:
        raise OSError("disk on fire")

    assert preview.safe(broken, "the timeline picture", Log()) == (
        "*the timeline picture could not be drawn: OSError: disk on fire*"
    )
    assert warnings == ["the timeline picture could not be drawn: OSError: disk on fire"]
    assert preview.safe(lambda: "fine", "x", Log()) == "fine"
    # An unreadable image is a grey tile, not a failure.
    (tmp_path / "broken.png").write_bytes(b"not a png")
    Image.new("RGB", (32, 18), (255, 0, 0)).save(tmp_path / "ok.png")
    assert preview.sheet_markdown([tmp_path / "ok.png", tmp_path / "broken.png", tmp_path / "gone.png"], "s")
