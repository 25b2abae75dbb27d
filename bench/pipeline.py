"""Pipeline efficiency: replicate-backend renders against the fake Replicate server (real client, real
HTTP on 127.0.0.1) with realistic model run times scaled down, against the critical path.

    .venv/bin/python -m bench.pipeline [--runs 3] [--scale 0.1] [--pairs 2 3 6 12] [--sequential 2 3 6 12]

Model run times before scaling: image 8 s, video chunk 45 s, music 30 s; the client polls every 0.5 s,
scaled the same way. The critical path is what no scheduler can beat on a machine with unlimited
CPU: every storyboard image at once, then each pair's chunks one after another, with the music
alongside: max(image + longest pair chain x chunk, music). Each spec is rendered with its pairs in
parallel (one worker per pair) and, for the pair counts in --sequential, one at a time (what the
original system did), in the same run of this script. Beats last 5 s, so 2, 3, 6 and 12 pairs are
videos of 10, 15, 30 and 60 s. One untimed warm-up render comes first (the fake server caches the clips
it serves). Prints a table and writes bench/results/pipeline-x<scale>.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from bench.common import median, table, write_json
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.runner import RenderReport, Runner
from vidgen_assets.settings import Settings
from vidgen_assets.storage.artifacts import load_plan
from vidgen_tests.fakes.replicate_server import FakeReplicate

RUN_S = {"image": 8.0, "chunk": 45.0, "music": 30.0}
POLL_S = 0.5
MODELS = {"image": "black-forest-labs/flux-schnell", "video": "wan-video/wan-2.2-i2v-fast", "music": "meta/musicgen"}


def spec_text(pairs: int) -> str:
    beats = [{"name": f"beat_{i:02d}", "duration": 5, "prompt": f"shot {i}", "camera": "push_in",
              "transition": "fade" if i < pairs - 1 else "cut"} for i in range(pairs)]  # fmt: skip
    return yaml.safe_dump({"id": f"bench-pipeline-{pairs}", "prompt": "pipeline benchmark", "duration": 5 * pairs,
                           "resolution": "480p", "backend": "replicate", "models": MODELS, "beats": beats,
                           "music": {"bpm": 100}})  # fmt: skip


def render(pairs: int, workers: int, run_s: dict[str, float], base: Settings) -> tuple[RenderReport, float]:
    """One render on a fresh data dir and instance; returns its report and the plan's critical path."""
    text = spec_text(pairs)
    spec = read_spec_text(text, "bench.yaml")
    work = Path(tempfile.mkdtemp(prefix="vidgen-bench-pipeline-"))
    try:
        home = work / "home"
        home.mkdir()
        settings = base.replace(data_dir=work / "data", max_parallel_pairs=workers)
        report = Runner(settings, home, progress=lambda _: None).render(spec, text)
        plan = load_plan(settings.store(), spec.id)
        assert plan is not None
        chain = max(len(beat.chunks) for beat in plan.beats)
        return report, max(run_s["image"] + chain * run_s["chunk"], run_s["music"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_parser() -> argparse.ArgumentParser:
    """The command line `make bench` and bench/README.md give this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--pairs", type=int, nargs="+", default=[2, 3, 6, 12])
    parser.add_argument("--sequential", type=int, nargs="*", default=None,
                        help="pair counts also rendered one pair at a time (default: all of --pairs)")  # fmt: skip
    return parser


def main() -> None:
    args = build_parser().parse_args()
    sequential = set(args.pairs if args.sequential is None else args.sequential)
    run_s = {kind: seconds * args.scale for kind, seconds in RUN_S.items()}
    fake = FakeReplicate().start()
    fake.run_seconds = {MODELS["image"]: run_s["image"], MODELS["video"]: run_s["chunk"],
                        MODELS["music"]: run_s["music"]}  # fmt: skip
    os.environ["REPLICATE_API_TOKEN"] = fake.token  # a run reads the token from its environment
    base = Settings(replicate_api_token=fake.token, replicate_base_url=fake.url,
                    replicate_poll_interval=POLL_S * args.scale)  # fmt: skip
    rows, records = [], []
    try:
        render(2, 2, run_s, base)  # warm-up, not counted
        for pairs in args.pairs:
            walls: dict[str, list[float]] = {"parallel": [], "sequential": []}
            splits: list[dict[str, float]] = []
            critical = 0.0
            for _ in range(args.runs):
                for mode, workers in (("parallel", pairs), ("sequential", 1)):
                    if mode == "sequential" and pairs not in sequential:
                        continue
                    report, critical = render(pairs, workers, run_s, base)
                    walls[mode].append(report.wall_s)
                    if mode == "parallel":
                        splits.append(report.stages_s)
            par = median(walls["parallel"])
            seq = median(walls["sequential"]) if walls["sequential"] else None
            split = {stage: median([s[stage] for s in splits]) for stage in splits[0]}
            rows.append([pairs, 5 * pairs, critical, par, par / critical, seq or "-", par / seq if seq else "-"])
            records.append({"pairs": pairs, "video_s": 5 * pairs, "critical_path_s": critical,
                            "parallel_stages_s": split, "parallel_s": walls["parallel"],
                            "sequential_s": walls["sequential"], "parallel_median_s": par, "sequential_median_s": seq,
                            "wall_over_critical": par / critical,
                            "parallel_over_sequential": par / seq if seq else None})  # fmt: skip
            print(f"{pairs:>2} pairs: critical {critical:.1f} s, parallel {par:.1f} s, sequential {seq or 0:.1f} s")
            print("          parallel split: " + ", ".join(f"{k} {v:.1f} s" for k, v in split.items()))
    finally:
        fake.stop()
    print()
    header = ["pairs", "video s", "critical s", "parallel s", "wall/critical", "sequential s", "par/seq"]
    print(table(header, rows))
    data = {"runs": args.runs, "scale": args.scale, "model_run_s": RUN_S, "poll_s": POLL_S * args.scale,
            "renders": records}  # fmt: skip
    print(f"\nwrote {write_json(f'pipeline-x{args.scale:g}', data)}")


if __name__ == "__main__":
    main()
