"""The clip and final-video checks on every animatic example: how far each measure sits from its threshold.

    .venv/bin/python -m bench.qc_figures [--data DIR]

Renders each example of `examples/specs/` that uses the animatic with `vidgen render` into DIR (default a
temporary folder; an existing DIR is reused, so a second run only measures), then checks every stored
chunk and bridge as `vidgen_tests/media/qc_measure.py` does and every final video with
`media.qc.check_final`, and prints, per video, the worst value of each check against its threshold.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from vidgen_assets.cli import main
from vidgen_assets.core import qc
from vidgen_assets.core.plan import Plan
from vidgen_assets.core.qc import CheckResult
from vidgen_assets.core.spec import load_spec
from vidgen_assets.media.qc import check_clip, check_final
from vidgen_assets.storage import layout

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "specs"
LOWER_IS_WORSE = {"still", "start", "end"}
"""Checks that pass above their threshold: their worst value is the lowest."""


def clip_checks(video: Path) -> list[tuple[str, list[CheckResult]]]:
    plan = Plan.model_validate_json((video / layout.PLAN).read_text())
    out = []
    for beat in plan.beats:
        expected = video / layout.storyboard_image(beat.index)
        for chunk in beat.chunks:
            clip = video / layout.chunk_video(chunk.index)
            results = check_clip(clip, chunk.kind, expected, None, plan.fps, moves=beat.camera != "static")
            out.append((f"{chunk.kind} {beat.camera}", results))
            expected = video / layout.chunk_last_frame(chunk.index)
    for bridge in plan.bridges:
        start = video / layout.chunk_last_frame(plan.beats[bridge.from_beat].chunks[-1].index)
        end = video / layout.storyboard_image(bridge.to_beat)
        out.append(("bridge", check_clip(video / layout.bridge_video(bridge.key), "bridge", start, end, plan.fps)))
    return out


def worst(results: list[list[CheckResult]]) -> dict[str, tuple[float, float, int]]:
    """Per check: its worst value, its threshold, how many clips failed it."""
    found: dict[str, tuple[float, float, int]] = {}
    for result in (r for rs in results for r in rs):
        value, _, failed = found.get(result.name, (result.value, result.threshold, 0))
        pick = min if result.name in LOWER_IS_WORSE else max
        found[result.name] = (pick(value, result.value), result.threshold, failed + (not result.passed))
    return found


def main_(data: Path) -> None:
    for spec in sorted(EXAMPLES.glob("*.yaml")):
        if load_spec(spec).backend != "animatic":
            continue
        if not (data / "videos" / spec.stem / "final.mp4").exists():
            assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(data / "dh")]) == 0
    for video in sorted(p for p in (data / "videos").iterdir() if (p / "final.mp4").exists()):
        checked = clip_checks(video)
        plan = Plan.model_validate_json((video / layout.PLAN).read_text())
        finals = check_final(video / "final.mp4", plan.fps, plan.total_frames, qc.final_allowances(plan))
        print(f"{video.name}: {len(checked)} clips")
        for name, (value, threshold, failed) in worst([r for _, r in checked]).items():
            print(f"  clip  {name:<15} worst {value:8.3f}  threshold {threshold:g}  failed {failed}")
        for r in finals:
            print(f"  final {r.name:<15} {r.value:8.3f}  threshold {r.threshold:g}  {'ok' if r.passed else 'FAILED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    if args.data is None:
        with tempfile.TemporaryDirectory(prefix="vidgen-qc-") as tmp:
            main_(Path(tmp))
    else:
        args.data.mkdir(parents=True, exist_ok=True)
        main_(args.data)
