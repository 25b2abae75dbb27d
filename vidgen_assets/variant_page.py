"""`videos/<id>/variants.html`: a spec's videos side by side, to compare (issue 21).

One self-contained page beside the spec's own video: for the spec and each variant, its final video
(played from its own folder by a relative link, so the page works from a local folder, a synced copy of
the S3 prefix or a static host), what the variant changes, its size, its cost and a link to its report.
A video that is not made (a failed render) is shown as missing. `build_page` is pure; `write_page` reads
each video's final manifest from the store and puts the page beside the spec's video.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from vidgen_assets.core.cost import usd
from vidgen_assets.core.spec import VARIANT_SEPARATOR, Spec
from vidgen_assets.core.variants import describe_changes, variant_changes
from vidgen_assets.report import REPORT
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import ArtifactStore

PAGE = "variants.html"


@dataclass(frozen=True)
class Row:
    """One video of the set as the page shows it."""

    video_id: str
    changes: str
    """What it changes (`cta='Try it free'`), or `the spec` for the base."""
    size: str
    made: bool
    cost_usd: float = 0.0


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def build_page(base_id: str, rows: Sequence[Row]) -> str:
    """The page's HTML: one card per video, the spec's first."""
    cards = []
    for row in rows:
        folder = f"../{_e(row.video_id)}/"
        media = (
            f'<video controls preload="metadata" src="{folder}final.mp4"></video>'
            if row.made
            else '<p class="missing">not made yet (render it again)</p>'
        )
        links = f'<a href="{folder}final.mp4">final.mp4</a> · <a href="{folder}{REPORT}">report</a>' if row.made else ""
        cost = usd(Decimal(str(row.cost_usd))) if row.made else "-"
        cards.append(
            f'<section class="card"><h2>{_e(row.video_id)}</h2>{media}'
            f"<p><b>changes</b>: {_e(row.changes)}</p><p>{_e(row.size)} · cost {cost}</p><p>{links}</p></section>"
        )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(base_id)}: variants</title><style>"
        "body{font-family:sans-serif;margin:1.5rem;background:#fafafa}"
        ".grid{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}"
        ".card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.75rem;width:22rem}"
        ".card video{width:100%;max-height:24rem;background:#000}.missing{color:#a00}"
        f"</style></head><body><h1>{_e(base_id)}: {len(rows)} videos to compare</h1>"
        f'<div class="grid">{"".join(cards)}</div></body></html>\n'
    )


def rows_for(store: ArtifactStore, members: Sequence[Spec]) -> list[Row]:
    """Each video's row from what the store holds (its final manifest)."""
    base = members[0]
    changes = {f"{base.id}{VARIANT_SEPARATOR}{v.name}": describe_changes(v.changes) for v in variant_changes(base)}
    rows = []
    for spec in members:
        key = layout.video_key(spec.id, layout.MANIFESTS["final_video"])
        made = store.exists(key) and store.exists(layout.video_key(spec.id, "final.mp4"))
        cost = float(json.loads(store.get_bytes(key)).get("cost_usd", 0.0)) if made else 0.0
        width, height = spec.size
        size = f"{width}x{height} {spec.aspect_ratio} {spec.fps} fps, {spec.duration:g} s"
        rows.append(Row(spec.id, changes.get(spec.id, "the spec"), size, made, cost))
    return rows


def write_page(store: ArtifactStore, members: Sequence[Spec]) -> str:
    """Put the comparison page of `members` (the spec, then its variants) beside the spec's video;
    return its URI."""
    key = layout.video_key(members[0].id, PAGE)
    store.put_bytes(key, build_page(members[0].id, rows_for(store, members)).encode("utf-8"))
    return store.uri(key)
