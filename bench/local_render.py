"""Local render benchmark: animatic end-to-end wall time, per stage, against a reference encode, and the
peak memory (RSS) of the whole render (the CLI process and every ffmpeg below it).

    .venv/bin/python -m bench.local_render [--runs 3] [--durations 15 30 60] [--formats 576p24 1080p30 1080p30-9x16]

The **reference** is what one encode of the video costs: ffmpeg encoding the same number of frames, at the
same size, fps, codec, preset and CRF as the final video's pieces, from a still (a storyboard card). It is
timed in the same run, right after each render, so `render / reference` compares two figures measured
side by side: a ratio that survives a loaded or slower machine better than seconds do. On a machine
shared with other work even that ratio drifts (a pipeline of many processes suffers more from waiting
for a CPU than one ffmpeg does), so the CPU time of both is reported too: `cpu / reference cpu` is the
work the render does in units of one encode, whatever else the machine runs. The render's CPU time is
that of its whole process tree (the kernel's counts: each process's own, plus those of the children it
reaped); the reference's is ffmpeg's own.

Prints a table and writes bench/results/local_render-<formats>.json; each figure is the median of
--runs renders, each on a fresh data dir and Dagster instance (nothing cached).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ffmpeg
import psutil
import yaml

from bench.common import median, peak_rss, table, write_json
from vidgen_assets.backends.storyboard_card import render_card
from vidgen_assets.core.generation import Frame, ImageRequest
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.media import commands
from vidgen_assets.media.runner import run
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings

FORMATS = {
    "576p24": ("576p", 24, "16:9"),
    "1080p30": ("1080p", 30, "16:9"),
    "1080p30-9x16": ("1080p", 30, "9:16"),
}


def spec_text(duration: int, resolution: str, fps: int, aspect: str, long_beats: bool) -> str:
    data: dict[str, object] = {
        "id": f"bench-{duration}s-{resolution}{fps}-{aspect.replace(':', 'x')}",
        "prompt": "30 second ad for a cold brew coffee brand, warm morning light",
        "duration": duration,
        "aspect_ratio": aspect,
        "resolution": resolution,
        "fps": fps,
        "cta": "Order today",
        "music": {"bpm": 110},
    }
    if long_beats:  # the case: two long beats, a pull-out and a pan, several chunks each
        first = duration // 2 + 1
        data["beats"] = [
            {"name": "reveal", "duration": first, "prompt": "the bottle on a counter", "camera": "pull_out",
             "text": "Wake up different", "transition": "fade"},
            {"name": "pan", "duration": duration - first, "prompt": "the kitchen at dawn", "camera": "pan_right"},
        ]  # fmt: skip
    return yaml.safe_dump(data)


def reference_args(still: Path, out: Path, frames: int, fps: int) -> list[str]:
    """ffmpeg encoding `frames` frames of `still` as the final video's pieces are encoded."""
    looped = ffmpeg.input(str(still), loop=1, framerate=fps)
    options = {**commands.NO_AUDIO, **commands.h264(commands.FINAL_CRF, commands.FINAL_PRESET, fps),
               **commands.PIECE_X264, "frames:v": frames, **commands.MP4}  # fmt: skip
    return [str(arg) for arg in looped.output(str(out), **options).get_args()]


def tree_cpu_s(proc: psutil.Process) -> float:
    """CPU seconds (user + system) of `proc`, of its children it has reaped (the kernel adds those to
    it), and of its living descendants, recursively: exact, whenever the processes ended."""
    try:
        times = proc.cpu_times()
        children = proc.children()
    except psutil.Error:
        return 0.0
    own = times.user + times.system + times.children_user + times.children_system
    return own + sum(tree_cpu_s(child) for child in children)


@contextmanager
def tree_cpu() -> Iterator[dict[str, float]]:
    """The CPU seconds this process tree uses while the block runs (`tree_cpu_s` before and after)."""
    me = psutil.Process()
    result = {"cpu_s": 0.0}
    before = tree_cpu_s(me)
    yield result
    result["cpu_s"] = tree_cpu_s(me) - before


def reference_encode(work: Path, width: int, height: int, fps: int, frames: int) -> tuple[float, float]:
    """Seconds ffmpeg takes to encode `frames` frames of a storyboard card once, wall and CPU."""
    still = work / "still.png"
    request = ImageRequest(
        video_id="bench", beat_index=0, beat_count=1, beat_name="reference", prompt="a still for the reference",
        camera="static", start_frame=0, end_frame=frames, frame=Frame(width, height, fps), palette=(),
        aesthetic="", seed=0,
    )  # fmt: skip
    render_card(request).save(still)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(reference_args(still, work / "reference.mp4", frames, fps))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def build_parser() -> argparse.ArgumentParser:
    """The command line `make bench` and bench/README.md give this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--durations", type=int, nargs="+", default=[15, 30, 60])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    parser.add_argument("--stitch", default="copy", choices=["copy", "reencode"])
    parser.add_argument("--long-beats", action="store_true", help="two long beats (pull_out, pan_right)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    rows, records = [], []
    stage_names: list[str] = []
    for fmt in args.formats:
        resolution, fps, aspect = FORMATS[fmt]
        for duration in args.durations:
            text = spec_text(duration, resolution, fps, aspect, args.long_beats)
            spec = read_spec_text(text, "bench.yaml")
            width, height = spec.size
            walls, refs, cpus, ref_cpus, peaks, psss, stage_runs = [], [], [], [], [], [], []
            for _ in range(args.runs):
                work = Path(tempfile.mkdtemp(prefix="vidgen-bench-render-"))
                try:
                    home = work / "home"
                    home.mkdir()
                    settings = Settings(data_dir=work / "data", stitch=args.stitch)
                    with peak_rss() as rss, tree_cpu() as cpu:
                        report = Runner(settings, home, progress=lambda _: None).render(spec, text)
                    walls.append(report.wall_s)
                    cpus.append(cpu["cpu_s"])
                    ref_wall, ref_cpu = reference_encode(work, width, height, fps, round(duration * fps))
                    refs.append(ref_wall)
                    ref_cpus.append(ref_cpu)
                    peaks.append(rss["peak_mib"])
                    psss.append(rss["peak_pss_mib"])
                    stage_runs.append(report.stages_s)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            stage_names = [name for name in stage_runs[0] if "/" not in name]  # not each chunk pair's
            stages = {name: median([s[name] for s in stage_runs]) for name in stage_names}
            wall, ref, cpu_s, ref_cpu = median(walls), median(refs), median(cpus), median(ref_cpus)
            rows.append([fmt, duration, args.runs, wall, ref, wall / ref, cpu_s, ref_cpu, cpu_s / ref_cpu,
                         *stages.values(), max(peaks), max(psss)])  # fmt: skip
            records.append({"format": fmt, "size": f"{width}x{height}", "fps": fps, "duration_s": duration,
                            "long_beats": args.long_beats, "walls_s": walls, "wall_median_s": wall,
                            "reference_s": refs, "reference_median_s": ref, "render_per_reference": wall / ref,
                            "cpu_s": cpus, "reference_cpu_s": ref_cpus, "cpu_per_reference_cpu": cpu_s / ref_cpu,
                            "stages_median_s": stages, "peak_rss_mib": peaks, "peak_pss_mib": psss,
                            "load_avg_1m_after": os.getloadavg()[0]})  # fmt: skip
            print(f"{fmt} {duration:>3} s: {wall:.1f} s wall, reference {ref:.1f} s, ratio {wall / ref:.2f}, "
                  f"cpu {cpu_s:.1f} s / {ref_cpu:.1f} s = {cpu_s / ref_cpu:.2f}, "
                  f"peak RSS {max(peaks):.0f} MiB, PSS {max(psss):.0f} MiB, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    names = {"music": "music s (alongside pairs)", "voice": "voice s (alongside pairs)", "chunk_pairs": "pairs s"}
    header = ["format", "video s", "runs", "wall s", "reference s", "render / reference", "cpu s",
              "reference cpu s", "cpu / reference cpu",
              *(names.get(n, n) for n in stage_names), "peak RSS MiB", "peak PSS MiB"]  # fmt: skip
    print()
    print(table(header, rows))
    data = {"runs": args.runs, "stitch": args.stitch, "long_beats": args.long_beats, "renders": records}
    suffix = "-long" if args.long_beats else ""
    print(f"\nwrote {write_json('local_render-' + '-'.join(args.formats) + suffix, data)}")


if __name__ == "__main__":
    main()
