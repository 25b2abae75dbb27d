"""Stitching benchmark: the serial tail (stitched + final stages) of the full re-encode against the
copy path, on 15 x 5 s chunks (1024x576, 24 fps) with 14 fades, text and music; plus output equality.

    .venv/bin/python -m bench.stitch [--runs 3]

Prints a table and writes bench/results/stitch.json. Each figure is the median of --runs runs, both
paths measured in the same run of this script, one after the other, on the same chunks.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.common import median, table, timed, write_json
from vidgen_assets import stages
from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import parse_spec
from vidgen_assets.media import ops, probe
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, load_artifacts, save_artifacts
from vidgen_assets.storage.store import LocalStore

BEATS = 15


def spec_data() -> dict[str, object]:
    beats = [
        {"name": f"beat_{i:02d}", "duration": 5, "prompt": f"shot {i} of the benchmark",
         "camera": ["push_in", "pan_left", "pull_out", "pan_right", "static"][i % 5],
         "transition": "fade" if i < BEATS - 1 else "cut", **({"text": f"Line {i}"} if i % 3 == 0 else {})}
        for i in range(BEATS)
    ]  # fmt: skip
    return {"id": "bench-stitch", "prompt": "stitch benchmark", "duration": 5 * BEATS, "beats": beats,
            "cta": "Benchmark over", "music": {"bpm": 100}}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The command line `make bench` and bench/README.md give this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    work = Path(tempfile.mkdtemp(prefix="vidgen-bench-stitch-"))
    try:
        plan = plan_spec(parse_spec(spec_data()), 5.0)
        backend = AnimaticBackend(chunk_seconds=5.0)
        store = LocalStore(work / "inputs")

        def saved(out: Artifacts, into: LocalStore = store) -> Artifacts:
            save_artifacts(into, out)
            loaded = load_artifacts(into, plan.video_id, out.manifest)
            assert loaded is not None
            return loaded

        def scratch() -> Path:
            return Path(tempfile.mkdtemp(dir=work))

        print(f"making {len(plan.chunks)} chunks and their pieces ({plan.width}x{plan.height}, {plan.fps} fps)...")
        board = saved(stages.storyboard(plan, backend, store, scratch()))
        pairs, piece_s = {}, []
        for beat in plan.beats:
            image = board.path(layout.storyboard_image(beat.index))
            out, seconds = timed(lambda: stages.chunk_pair(plan, beat, image, backend, store, scratch(), "copy"))  # noqa: B023
            pairs[beat.pair_key] = saved(out)
            piece_s.append(seconds)
        music, music_s = timed(lambda: saved(stages.music(plan, backend, store, scratch())))

        results: dict[str, list[float]] = {"reencode": [], "copy": []}
        finals: dict[str, Path] = {}
        for run in range(args.runs):
            for mode in ("reencode", "copy"):
                target = LocalStore(work / f"out-{mode}-{run}")  # empty: nothing cached

                def tail() -> Artifacts:
                    stitched = saved(stages.stitched_video(plan, pairs, target, scratch(), mode), target)  # noqa: B023
                    return saved(stages.final_video(plan, stitched, music, board, target, scratch(), mode), target)  # noqa: B023

                final, seconds = timed(tail)
                results[mode].append(seconds)
                finals[mode] = final.path("final.mp4")
                print(f"run {run + 1}: {mode:8} stitched + final {seconds:6.2f} s")

        quality = ops.compare(finals["reencode"], finals["copy"])
        frames = {mode: probe.probe(path).frames for mode, path in finals.items()}
        naive, copy = median(results["reencode"]), median(results["copy"])
        rows = [
            ["full re-encode (reference)", naive, 1.0, frames["reencode"]],
            ["copy path", copy, copy / naive, frames["copy"]],
        ]
        print()
        print(table(["stitched + final stages", "median s", "ratio", "frames"], rows))
        print(f"\ncopy vs full re-encode: SSIM {quality['ssim']:.4f}, PSNR {quality['psnr_db']:.2f} dB")
        print(f"pair stage (chunks, piece, edges; pairs run in parallel): median {median(piece_s):.2f} s per pair")
        print(f"music stage (synthesis and the AAC mix; runs alongside the pairs): {music_s:.2f} s")
        path = write_json("stitch", {
            "chunks": len(plan.chunks), "transitions": len([j for j in plan.joins if j.frames]),
            "size": f"{plan.width}x{plan.height}", "fps": plan.fps, "runs": args.runs,
            "reencode_s": results["reencode"], "copy_s": results["copy"],
            "reencode_median_s": naive, "copy_median_s": copy, "ratio": copy / naive,
            "frames": frames, "ssim": quality["ssim"], "psnr_db": quality["psnr_db"],
            "pair_stage_median_s": median(piece_s), "music_stage_s": music_s,
        })  # fmt: skip
        print(f"wrote {path}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
