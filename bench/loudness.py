"""The loudness of every example's final video, before and after finishing, on two meters.

Renders every spec in `examples/specs/` (and each variant) with the animatic into one data dir (an
existing one is reused: what is already rendered is not made again), then for each video:
- before (gain off): the mix as it was before the two-pass finish, as ffmpeg's EBU R128 meter (`ebur128`)
  measured it when the video was made (`soundtrack.json`, or `music.json` for music without a voice);
- after: the delivered `final.mp4`, measured now by ffmpeg's `ebur128` (integrated LUFS, loudness range,
  true peak) and, independently, by pyloudnorm (ITU-R BS.1770 integrated loudness) with the true peak of
  the decoded AAC oversampled 4x (numpy/scipy);
and whether it is on its target (`audio.loudness` within 1 LU, true peak at or under `audio.true_peak`).
Prints a table and writes `bench/results/loudness.json`.

    .venv/bin/python -m bench.loudness [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pyloudnorm
from scipy.signal import resample_poly

from bench.common import table, write_json
from vidgen_assets.cli import main as vidgen
from vidgen_assets.media.loudness import measure

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "specs"
RATE = 48000


def decoded(path: Path) -> npt.NDArray[np.float64]:
    """(samples, 2) floats at 48 kHz, as a player decodes the file's AAC."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        frames = [o.to_ndarray() for f in container.decode(audio=0) for o in resampler.resample(f)]
    return np.asarray(np.concatenate(frames, axis=1).T, dtype=np.float64)


def true_peak_dbtp(samples: npt.NDArray[np.float64]) -> float:
    peak = max(float(np.max(np.abs(resample_poly(samples[:, ch], 4, 1)))) for ch in range(samples.shape[1]))
    return 20 * float(np.log10(max(peak, 1e-12)))


def video_row(video: Path) -> dict[str, Any] | None:
    """One video's figures, or None for a video without sound."""
    final = json.loads((video / "final.json").read_text())
    if not final.get("audio"):
        return None
    record: dict[str, Any] = {}
    for name in ("soundtrack.json", "music.json"):
        found = video / name
        if found.exists():
            record = json.loads(found.read_text()).get("loudness") or {}
            if record:
                break
    after = measure(video / "final.mp4")
    heard = decoded(video / "final.mp4")
    target = final.get("loudness_target") or record.get("target") or {}
    lufs = float(pyloudnorm.Meter(RATE).integrated_loudness(heard))
    peak = true_peak_dbtp(heard)
    goal, ceiling = float(target.get("integrated_lufs", -14.0)), float(target.get("true_peak_dbtp", -1.0))
    return {
        "video": video.name,
        "target_lufs": goal,
        "ceiling_dbtp": ceiling,
        "before": record.get("mix"),
        "gain_db": record.get("gain_db"),
        "encodes": record.get("encodes"),
        "after_ffmpeg": after.as_record(),
        "after_pyloudnorm_lufs": round(lufs, 2),
        "after_true_peak_4x_dbtp": round(peak, 2),
        "on_target": abs(after.integrated_lufs - goal) <= 1.0 and abs(lufs - goal) <= 1.0 and peak <= ceiling + 0.1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="render into (or reuse) this data dir")
    args = parser.parse_args()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="vidgen-loudness-"))
    specs = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    code = vidgen(["render", *specs, "--data-dir", str(data), "--dagster-home", str(data / "dagster_home")])
    if code != 0:
        raise SystemExit(f"vidgen render exited {code}")
    rows = [row for video in sorted((data / "videos").iterdir()) if (row := video_row(video)) is not None]
    silent = sorted(
        v.name for v in (data / "videos").iterdir() if not json.loads((v / "final.json").read_text()).get("audio")
    )

    def before(row: dict[str, Any], key: str) -> str:
        return f"{row['before'][key]:.1f}" if row["before"] else "-"

    print(
        table(
            [
                "video",
                "target",
                "before I",
                "before LRA",
                "before TP",
                "gain dB",
                "after I",
                "after LRA",
                "after TP",
                "pyloudnorm I",
                "TP 4x",
                "encodes",
                "on target",
            ],
            [
                [
                    r["video"],
                    f"{r['target_lufs']:g}/{r['ceiling_dbtp']:g}",
                    before(r, "integrated_lufs"),
                    before(r, "range_lu"),
                    before(r, "true_peak_dbtp"),
                    f"{r['gain_db']:+.1f}" if r["gain_db"] else "-",
                    f"{r['after_ffmpeg']['integrated_lufs']:.1f}",
                    f"{r['after_ffmpeg']['range_lu']:.1f}",
                    f"{r['after_ffmpeg']['true_peak_dbtp']:.1f}",
                    f"{r['after_pyloudnorm_lufs']:.1f}",
                    f"{r['after_true_peak_4x_dbtp']:.1f}",
                    r["encodes"],
                    "yes" if r["on_target"] else "NO",
                ]
                for r in rows
            ],
        )
    )
    if silent:
        print(f"without sound (silent, nothing to measure): {', '.join(silent)}")
    print(f"results: {write_json('loudness', {'data_dir': str(data), 'videos': rows, 'silent': silent})}")


if __name__ == "__main__":
    main()
