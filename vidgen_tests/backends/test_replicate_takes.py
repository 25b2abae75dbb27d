"""Takes end to end: a replicate render against the fake API that returns defective takes for chosen
inputs. The final video holds none of them; every take is kept, listed and pinnable."""

from __future__ import annotations

import base64
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from vidgen_assets.cli import main
from vidgen_assets.core.spec import load_spec
from vidgen_assets.defs.report import check_results
from vidgen_assets.media import probe
from vidgen_assets.runner import Runner

pytestmark = pytest.mark.slow

SPEC = """\
id: takes-replicate
prompt: "two shots of a coffee brand"
duration: 10
aspect_ratio: "16:9"
resolution: 480p
fps: 24
style: {aesthetic: "clean studio", palette: ["#1b1b1b", "#f2e8dc"]}
beats:
  - {name: pour, duration: 5, prompt: "MARK-POUR cold brew poured over ice", camera: push_in, transition: cut}
  - {name: can, duration: 5, prompt: "MARK-CAN the can turning on a stone plinth", camera: pan_right}
music: false
voice: false
backend: replicate
seed: 11
"""
WAN = "wan-video/wan-2.2-i2v-fast"
CLIP_USD = Decimal("0.05")


def write(tmp_path: Path, extra: str = "", beats_take: int | None = None) -> Path:
    text = SPEC + extra
    if beats_take is not None:
        text = text.replace("camera: push_in,", f"camera: push_in, take: {beats_take},")
    path = tmp_path / "takes-replicate.yaml"
    path.write_text(text)
    return path


def estimate_total(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Decimal, str]:
    assert main(["estimate", str(path)]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    return Decimal(total.split()[-1].lstrip("$")), out


def beat_frames(final: Path, first: int, count: int) -> np.ndarray:
    return np.stack(probe.read_frames(final, list(range(first, first + count)))).astype(np.int16)


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_defective_first_takes_are_retaken_and_the_final_video_holds_none_of_them(
    replicate_env, settings, home, tmp_path, capsys
):
    fake = replicate_env
    fake.defect("MARK-POUR", "still")  # beat 0's first take does not move
    fake.defect("MARK-CAN", "wrong_start")  # beat 1's first take starts on another picture
    path = write(tmp_path)
    base, _ = estimate_total(path, capsys)
    spec = load_spec(path)
    report = Runner(settings, home, progress=print).render(spec, path.read_text())
    video = settings.data_dir / "videos" / spec.id

    # Retakes made = defective first takes; each clip keeps both takes and uses the second.
    assert sorted(kind for _, _, kind in fake.defects_served()) == ["still", "wrong_start"]
    assert fake.create_count(WAN) == 4
    pairs = [json.loads((video / "chunks" / f"p00{i}.json").read_text()) for i in (0, 1)]
    used = [chunk for pair in pairs for chunk in pair["chunks"]]
    assert [(c["take"], c["takes"], c["retakes"]) for c in used] == [(2, [1, 2], 1), (2, [1, 2], 1)]
    assert [c["passed"] for c in used] == [True, True]
    takes = [json.loads((video / "chunks" / f"chunk_00{i}.takes.json").read_text())["takes"] for i in (0, 1)]
    assert [[t["failed"] for t in clip] for clip in takes] == [[["still", "frozen"], []], [["start"], []]]
    for clip in takes:
        seeds = [t["seed"] for t in clip]
        assert len(set(seeds)) == 2, "a retake is asked for with a new seed"
        for take in clip:
            assert (video / take["file"]).is_file() and (video / take["last_frame"]).is_file()

    # The final video, decoded: beat 0 moves (the still take is not in it) and beat 1 starts on its
    # storyboard image (the take that started elsewhere is not in it).
    final = video / "final.mp4"
    assert probe.probe(final).frames == 240
    pour = beat_frames(final, 0, 120)
    assert mean_abs(pour[0], pour[-1]) > 1.0, "beat 0 moves"
    still_take = probe.read_frames(video / takes[0][0]["file"], [119])[0]
    assert mean_abs(pour[-1], still_take) > mean_abs(pour[-1], probe.read_frames(video / takes[0][1]["file"], [119])[0])
    can_first = beat_frames(final, 120, 1)[0]
    wrong = probe.read_frames(video / takes[1][0]["file"], [0])[0]
    right = probe.read_frames(video / takes[1][1]["file"], [0])[0]
    assert mean_abs(can_first, right) < 8 < mean_abs(can_first, wrong)

    # The chunks' check in Dagster passed (every clip in use passes) and shows each clip's takes.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        found = {c.name: c for c in check_results(instance, spec.id)}
    assert found["chunks_pass_qc"].passed and "retakes: 2" in found["chunks_pass_qc"].detail

    # Cost: the sum of the paid takes, within what the estimate said plus what retakes may add.
    record = json.loads((video / "final.json").read_text())
    assert Decimal(str(record["cost_usd"])) == base + 2 * CLIP_USD == Decimal(str(report.cost_usd))
    assert [c["cost_usd"] for c in used] == [0.1, 0.1]

    # report.html shows each retaken clip's takes side by side, a middle frame each, the one used marked.
    page = (video / "report.html").read_text()
    shown = page.split("<h2>Takes</h2>", 1)[1].split("<h2>Checks</h2>", 1)[0]
    pictures = re.findall(r'<img alt="(chunk_00\d take \d)" src="data:image/jpeg;base64,([^"]+)"', shown)
    assert [name for name, _ in pictures] == [
        "chunk_000 take 1",
        "chunk_000 take 2",
        "chunk_001 take 1",
        "chunk_001 take 2",
    ]
    for _, data in pictures:
        with Image.open(io.BytesIO(base64.b64decode(data))) as thumb:
            assert thumb.width == 320
    assert shown.count("<b>used</b>") == 2 and "FAILED still, frozen" in shown and "FAILED start" in shown

    # `vidgen takes` lists every take and marks the ones used.
    assert main(["takes", str(path), "--data-dir", str(settings.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "video takes-replicate: 2 clip(s), 4 take(s), 2 retake(s)" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("chunk_")]
    assert [(r[0], r[2], r[3] == "*") for r in rows] == [
        ("chunk_000", "1", False), ("chunk_000", "2", True), ("chunk_001", "1", False), ("chunk_001", "2", True),
    ]  # fmt: skip
    assert "FAILED still" in out and "FAILED start" in out

    # Pinning beat 0's take 1 re-assembles from stored takes: not one call, and beat 0 is now that take.
    before = len(fake.creates)
    pinned = write(tmp_path, beats_take=1)
    Runner(settings, home, progress=print).render(load_spec(pinned), pinned.read_text())
    assert len(fake.creates) == before, "a pinned take makes no model call"
    pair = json.loads((video / "chunks" / "p000.json").read_text())
    assert (pair["chunks"][0]["take"], pair["pinned_take"], pair["cost_usd"]) == (1, 1, 0.0)
    held = beat_frames(final, 0, 120)
    assert mean_abs(held[0], held[-1]) < 1.0, "beat 0 is the still take now"
    capsys.readouterr()
    assert main(["takes", "takes-replicate", "--data-dir", str(settings.data_dir), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["takes-replicate"]
    assert [(t["clip"], t["take"], t["chosen"]) for t in listed] == [
        ("chunk_000", 1, True), ("chunk_000", 2, False), ("chunk_001", 1, False), ("chunk_001", 2, True),
    ]  # fmt: skip


def test_a_budget_with_no_room_for_a_retake_keeps_the_best_take_with_a_warning(
    replicate_env, settings, home, tmp_path, capsys
):
    fake = replicate_env
    fake.defect("MARK-POUR", "black")
    base, _ = estimate_total(write(tmp_path), capsys)
    path = write(tmp_path, f"budget_usd: {base}\n")
    spec = load_spec(path)
    report = Runner(settings, home, progress=print).render(spec, path.read_text())
    video = settings.data_dir / "videos" / spec.id
    assert fake.create_count(WAN) == 2, "no retake: the budget had nothing left for one"
    assert Decimal(str(report.cost_usd)) == base
    pair = json.loads((video / "chunks" / "p000.json").read_text())
    chunk = pair["chunks"][0]
    # A black clip is also still, frozen and not on its start picture: each check says so.
    assert (chunk["take"], chunk["passed"], chunk["failed"]) == (1, False, ["still", "frozen", "black", "start"])
    warning = " ".join(pair["qc_warnings"])
    assert "chunk_000: failed still, frozen, black, start; a retake" in warning
    assert "would pass budget_usd" in warning
    assert "no take passed its checks (take 1: still, frozen, black, start); using take 1" in warning
    with dg.DagsterInstance.from_config(str(home)) as instance:
        found = {c.name: c for c in check_results(instance, spec.id)}
    assert not found["chunks_pass_qc"].passed
    assert "failing: chunk_000 (still, frozen, black, start)" in found["chunks_pass_qc"].detail
    # The final video holds the black take: its check fails (not failing the run) and the render says so.
    assert not found["final_picture_and_sound_qc"].passed
    assert "check chunks_pass_qc: failing chunk_000 (still, frozen, black, start)" in report.warnings
    [final_warning] = [w for w in report.warnings if w.startswith("check final_picture_and_sound_qc:")]
    assert "blocking failures black_stretch: longest black or blank stretch 120 frames (5.00 s)" in final_warning


def test_a_pinned_take_the_video_does_not_have_fails_naming_the_takes_it_has(
    replicate_env, settings, home, tmp_path, capsys
):
    path = write(tmp_path)
    spec = load_spec(path)
    Runner(settings, home).render(spec, path.read_text())
    pinned = write(tmp_path, beats_take=3)
    code = main(["render", str(pinned), "--data-dir", str(settings.data_dir), "--dagster-home", str(home)])
    err = capsys.readouterr().err
    assert code != 0
    assert "beats[0].take: chunk_000 has no take 3 (its takes: 1)" in err


JUDGE = "openai/gpt-4o-mini"


def test_the_judge_scores_every_take_and_a_take_it_scores_low_is_taken_again(
    replicate_env, settings, home, tmp_path, capsys
):
    fake = replicate_env
    fake.judge.low_once["MARK-CAN"] = 1  # the judge rejects beat 1's first take, whatever its pixels
    path = write(tmp_path, "qc: {judge: replicate, min_score: 0.6}\n")
    base, out = estimate_total(path, capsys)
    [judge_line] = [line for line in out.splitlines() if line.split()[:1] == ["judge"]]
    assert JUDGE in judge_line and " 2 " in f" {judge_line} ", "one judge call per clip, before retakes"
    judge_usd = Decimal(judge_line.split()[-1].lstrip("$")) / 2
    spec = load_spec(path)
    report = Runner(settings, home, progress=print).render(spec, path.read_text())
    video = settings.data_dir / "videos" / spec.id

    # Every take was judged; beat 1's first take scored under min_score and was taken again.
    assert (fake.create_count(WAN), fake.create_count(JUDGE)) == (3, 3)
    takes = [json.loads((video / "chunks" / f"chunk_00{i}.takes.json").read_text())["takes"] for i in (0, 1)]
    scores = [[(t["score"] >= 0.6, t["failed"]) for t in clip] for clip in takes]
    assert scores == [[(True, [])], [(False, ["judge"]), (True, [])]]
    assert takes[1][0]["reason"] == "the shot does not show what the prompt asks"
    assert takes[1][0]["judged"]["judge"] == JUDGE and takes[1][0]["judged"]["frames"] == [0, 60, 119]
    pair = json.loads((video / "chunks" / "p001.json").read_text())
    assert (pair["chunks"][0]["take"], pair["chunks"][0]["passed"]) == (2, True)

    # Cost: two clips and two judge calls as estimated, plus the retake and its judging.
    assert Decimal(str(report.cost_usd)) == base + CLIP_USD + judge_usd

    # `vidgen takes` shows each take's score and the judge's reason.
    assert main(["takes", str(path), "--data-dir", str(settings.data_dir)]) == 0
    listed = capsys.readouterr().out
    assert "FAILED judge" in listed and "judge: the shot does not show what the prompt asks" in listed

    # The same spec again: every take and every verdict is stored; not one call.
    before = len(fake.creates)
    Runner(settings, home, progress=print).render(spec, path.read_text())
    assert len(fake.creates) == before
