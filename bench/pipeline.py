"""Pipeline efficiency: replicate-backend renders against the fake Replicate server (real client, real
HTTP on 127.0.0.1) with realistic model run times scaled down, against the critical path.

    .venv/bin/python -m bench.pipeline [--runs 3] [--scale 0.1] [--pairs 2 3 6 12]

Model run times before scaling: image 8 s, video chunk 45 s, music 30 s. The critical path is what no
scheduler can beat: every storyboard image at once, then each pair's chunks one after another, with the
music alongside: max(image + longest pair chain x chunk, music). Each spec is rendered with its pairs in
parallel (one worker per pair) and one at a time (what the original system did), in the same run of
this script. Beats last 5 s, so 2, 3, 6 and 12 pairs are videos of 10, 15, 30 and 60 s. Prints a table
and writes bench/results/pipeline.json.
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
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings
from vidgen_tests.fakes.replicate_server import FakeReplicate

RUN_S = {"image": 8.0, "chunk": 45.0, "music": 30.0}
MODELS = {"image": "black-forest-labs/flux-schnell", "video": "wan-video/wan-2.2-i2v-fast", "music": "meta/musicgen"}


def spec_text(pairs: int) -> str:
    beats = [{"name": f"beat_{i:02d}", "duration": 5, "prompt": f"shot {i}", "camera": "push_in",
              "transition": "fade" if i < pairs - 1 else "cut"} for i in range(pairs)]  # fmt: skip
    return yaml.safe_dump({"id": f"bench-pipeline-{pairs}", "prompt": "pipeline benchmark", "duration": 5 * pairs,
                           "resolution": "480p", "backend": "replicate", "models": MODELS, "beats": beats,
                           "music": {"bpm": 100}})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--pairs", type=int, nargs="+", default=[2, 3, 6, 12])
    args = parser.parse_args()
    run_s = {kind: seconds * args.scale for kind, seconds in RUN_S.items()}
    fake = FakeReplicate().start()
    fake.run_seconds = {
        MODELS["image"]: run_s["image"],
        MODELS["video"]: run_s["chunk"],
        MODELS["music"]: run_s["music"],
    }
    os.environ.update(
        {"REPLICATE_API_TOKEN": fake.token, "REPLICATE_BASE_URL": fake.url, "REPLICATE_POLL_INTERVAL": "0.05"}
    )
    rows, records = [], []
    try:
        for pairs in args.pairs:
            text = spec_text(pairs)
            spec = read_spec_text(text, "bench.yaml")
            walls: dict[str, list[float]] = {"parallel": [], "sequential": []}
            splits: list[dict[str, float]] = []
            critical = 0.0
            for _ in range(args.runs):
                for mode, workers in (("parallel", pairs), ("sequential", 1)):
                    work = Path(tempfile.mkdtemp(prefix="vidgen-bench-pipeline-"))
                    try:
                        home = work / "home"
                        home.mkdir()
                        settings = Settings(data_dir=work / "data", max_parallel_pairs=workers)
                        report = Runner(settings, home, progress=lambda _: None).render(spec, text)
                        walls[mode].append(report.wall_s)
                        if mode == "parallel":
                            splits.append(report.stages_s)
                        plan_chunks = max(len(b["chunks"]) for b in yaml.safe_load(
                            (work / "data" / "videos" / spec.id / "spec.json").read_text())["beats"])  # fmt: skip
                        critical = max(run_s["image"] + plan_chunks * run_s["chunk"], run_s["music"])
                    finally:
                        shutil.rmtree(work, ignore_errors=True)
            par, seq = median(walls["parallel"]), median(walls["sequential"])
            rows.append([pairs, 5 * pairs, critical, par, par / critical, seq, par / seq])
            split = {stage: median([s[stage] for s in splits]) for stage in splits[0]}
            records.append({"pairs": pairs, "video_s": 5 * pairs, "critical_path_s": critical,
                            "parallel_stages_s": split, "parallel_s": walls["parallel"],
                            "sequential_s": walls["sequential"],
                            "parallel_median_s": par, "sequential_median_s": seq,
                            "wall_over_critical": par / critical, "parallel_over_sequential": par / seq})  # fmt: skip
            print(f"{pairs:>2} pairs: critical {critical:.1f} s, parallel {par:.1f} s, sequential {seq:.1f} s")
            print("          parallel split: " + ", ".join(f"{k} {v:.1f} s" for k, v in split.items()))
    finally:
        fake.stop()
    print()
    header = ["pairs", "video s", "critical s", "parallel s", "wall/critical", "sequential s", "par/seq"]
    print(table(header, rows))
    path = write_json("pipeline", {"runs": args.runs, "scale": args.scale, "model_run_s": RUN_S, "renders": records})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
