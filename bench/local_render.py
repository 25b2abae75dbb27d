"""Local render benchmark: animatic end-to-end wall time per second of video, per stage, and the peak
memory (RSS) of the whole render (the CLI process and every worker and ffmpeg below it).

    .venv/bin/python -m bench.local_render [--runs 3] [--durations 15 30 60] [--formats 576p24 1080p30]

Prints a table and writes bench/results/local_render-<formats>.json; each figure is the median of
--runs renders, each on a fresh data dir and Dagster instance (nothing cached).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import yaml

from bench.common import median, peak_rss, table, write_json
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings

FORMATS = {"576p24": ("576p", 24), "1080p30": ("1080p", 30)}


def spec_text(duration: int, resolution: str, fps: int) -> str:
    data = {
        "id": f"bench-{duration}s-{resolution}{fps}",
        "prompt": "30 second ad for a cold brew coffee brand, warm morning light",
        "duration": duration,
        "resolution": resolution,
        "fps": fps,
        "cta": "Order today",
        "music": {"bpm": 110},
    }
    return yaml.safe_dump(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--durations", type=int, nargs="+", default=[15, 30, 60])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    parser.add_argument("--stitch", default="copy", choices=["copy", "reencode"])
    args = parser.parse_args()
    rows, records = [], []
    for fmt in args.formats:
        resolution, fps = FORMATS[fmt]
        for duration in args.durations:
            text = spec_text(duration, resolution, fps)
            spec = read_spec_text(text, "bench.yaml")
            walls, peaks, psss, stage_runs = [], [], [], []
            for _ in range(args.runs):
                work = Path(tempfile.mkdtemp(prefix="vidgen-bench-render-"))
                try:
                    home = work / "home"
                    home.mkdir()
                    settings = Settings(data_dir=work / "data", stitch=args.stitch)
                    with peak_rss() as rss:
                        report = Runner(settings, home, progress=lambda _: None).render(spec, text)
                    walls.append(report.wall_s)
                    peaks.append(rss["peak_mib"])
                    psss.append(rss["peak_pss_mib"])
                    stage_runs.append(report.stages_s)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            stages = {name: median([s[name] for s in stage_runs]) for name in stage_runs[0]}
            wall = median(walls)
            rows.append([fmt, duration, wall, wall / duration, *stages.values(), max(peaks), max(psss)])
            records.append({"format": fmt, "duration_s": duration, "walls_s": walls, "wall_median_s": wall,
                            "wall_per_video_second": wall / duration, "stages_median_s": stages,
                            "peak_rss_mib": peaks, "peak_pss_mib": psss})  # fmt: skip
            print(f"{fmt} {duration:>3} s: {wall:.1f} s wall, peak RSS {max(peaks):.0f} MiB, PSS {max(psss):.0f} MiB")
    names = {"prepare_video": "prepare s", "music": "music s (alongside pairs)", "chunk_pairs": "pairs s",
             "assemble_video": "assemble s"}  # fmt: skip
    header = ["format", "video s", "wall s", "wall/video s", *(names.get(n, n) for n in stage_runs[0]),
              "peak RSS MiB", "peak PSS MiB"]  # fmt: skip
    print()
    print(table(header, rows))
    data = {"runs": args.runs, "stitch": args.stitch, "renders": records}
    print(f"\nwrote {write_json('local_render-' + '-'.join(args.formats), data)}")


if __name__ == "__main__":
    main()
