"""The one pipeline function, driven through whole videos: as plain data, and by the CLI runner."""

from __future__ import annotations

import json
from dataclasses import replace

from vidgen_assets.core.plan import build_plan
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.pipeline import (
    STAGES,
    Inputs,
    Output,
    Stage,
    Step,
    VideoFacts,
    next_steps,
    wanted_fingerprints,
)
from vidgen_assets.runner import Runner


def plan_for(pairs: int, middle: str | None = None):
    beats = [{"name": f"b{i}", "duration": 5, "prompt": f"shot {i}"} for i in range(pairs)]
    if middle is not None:
        beats[1]["prompt"] = middle
    text = json.dumps({"id": "v", "prompt": "p", "duration": 5 * pairs, "beats": beats})
    return build_plan(read_spec_text(text, "v"), 5)


def drive(
    plan, stored: dict[str, dict[str, str]], prepared: bool = True, stages=STAGES, busy: bool = False
) -> list[list[str]]:
    """Run the pipeline as a driver does: ask for the next steps, 'run' them (store what they make),
    until none; returns each batch as `stage:unit`."""
    images = {beat.index: f"sha-{beat.index}-{beat.prompt}" for beat in plan.beats}
    batches: list[list[str]] = []
    while True:
        wanted = wanted_fingerprints(Inputs(plan, "animatic", "copy", images), stages)
        outputs = {
            stage: {unit: Output(fp, stored.get(stage, {}).get(unit) if prepared or stage != "prepare" else None)
                    for unit, fp in units.items()}
            for stage, units in wanted.items()
        }  # fmt: skip
        steps = next_steps(VideoFacts("v", outputs, busy=busy), stages)
        if not steps:
            return batches
        batches.append([f"{s.stage}:{s.unit}" for s in steps])
        for step in steps:
            stored.setdefault(step.stage, {})[step.unit] = step.fingerprint
        assert len(batches) < 10, batches


def test_a_whole_video_prepared_then_pairs_with_music_then_assembly():
    plan = plan_for(3)
    prepared = {"prepare": wanted_fingerprints(Inputs(plan, "animatic", "copy", {}))["prepare"]}
    # While the registration's run plans the video, the pipeline waits for it.
    assert drive(plan, dict(prepared), prepared=False, busy=True) == []
    assert drive(plan, dict(prepared)) == [
        ["pairs:p000", "pairs:p001", "pairs:p002", "music:v"],
        ["assemble:v"],
    ]


def test_nothing_runs_for_a_current_video_and_an_edit_runs_only_what_it_changes():
    plan = plan_for(3)
    stored: dict[str, dict[str, str]] = {}
    stored["prepare"] = wanted_fingerprints(Inputs(plan, "animatic", "copy", {}))["prepare"]
    drive(plan, stored)
    assert drive(plan, stored) == []

    edited = plan_for(3, middle="a new middle")
    stored["prepare"] = wanted_fingerprints(Inputs(edited, "animatic", "copy", {}))["prepare"]
    assert drive(edited, stored) == [["pairs:p001"], ["assemble:v"]]

    # Another backend (or model) changes every generated output; the stitch mode changes pairs and assembly.
    stored["prepare"] = wanted_fingerprints(Inputs(edited, "replicate:x", "copy", {}))["prepare"]
    images = {beat.index: f"sha-{beat.index}-{beat.prompt}" for beat in edited.beats}
    moved = wanted_fingerprints(Inputs(edited, "replicate:x", "copy", images))
    assert all(moved[s][u] != stored[s][u] for s in ("pairs", "music") for u in moved[s])


def test_a_stage_is_one_declaration():
    """A voice stage alongside the pairs and the music: declared once, the assembly waits for it."""
    voice = Stage(
        "voice", "make_voice", "video", ("voice",), "Speak the lines.",
        lambda i: {i.plan.video_id: f"voice-of-{i.plan.video_id}"}, after=("prepare",),
    )  # fmt: skip
    assemble = replace(STAGES[-1], after=(*STAGES[-1].after, "voice"))
    stages = (*STAGES[:-1], voice, assemble)
    plan = plan_for(2)
    stored = {"prepare": wanted_fingerprints(Inputs(plan, "animatic", "copy", {}))["prepare"]}
    assert drive(plan, stored, stages=stages) == [["pairs:p000", "pairs:p001", "music:v", "voice:v"], ["assemble:v"]]


def test_steps_name_their_job_partition_and_a_run_key_per_fingerprint():
    plan = plan_for(2)
    wanted = wanted_fingerprints(Inputs(plan, "animatic", "copy", {0: "a", 1: "b"}))
    outputs = {
        s: {u: Output(fp, fp if s == "prepare" else None) for u, fp in units.items()} for s, units in wanted.items()
    }
    first = next_steps(VideoFacts("v", outputs))[0]
    assert first == Step("pairs", "chunk_pairs", "v", "p000", "p000|v", wanted["pairs"]["p000"])
    assert first.run_key == f"v|pairs|p000|{wanted['pairs']['p000'][:16]}"


class RecordingRunner(Runner):
    """The real CLI runner, noting each batch of steps it runs."""

    batches: list[list[str]]

    def run_steps(self, plan, steps, pool=None, stages=None):
        self.batches.append([f"{s.job}:{s.partition_key}" for s in steps])
        super().run_steps(plan, steps, pool, stages)


def test_the_cli_runner_loops_over_the_same_steps(settings, home):
    text = "prompt: p\nduration: 10\nresolution: 480p\nbeats:\n  - {name: a, duration: 5, prompt: x}\n" + (
        "  - {name: b, duration: 5, prompt: y}\n"
    )
    spec = read_spec_text(text, "x", default_id="cli")
    runner = RecordingRunner(settings, home, progress=lambda _: None)
    runner.batches = []
    report = runner.render(spec, text)
    assert runner.batches == [
        ["chunk_pairs:p000|cli", "chunk_pairs:p001|cli", "make_music:cli"],
        ["assemble_video:cli"],
    ]
    assert set(report.stages_s) == {"prepare_video", "chunk_pairs", "music", "assemble_video"}
    runner.batches = []
    runner.render(spec, text)
    assert runner.batches == []  # current: only the registration's prepare ran (answered from the store)
    assert list(settings.scratch_dir.iterdir()) == []  # cached stages leave no empty work dirs behind


def test_a_plan_made_on_its_own_gets_its_storyboard_once_nothing_else_plans_the_video():
    plan = plan_for(2)
    wanted = wanted_fingerprints(Inputs(plan, "animatic", "copy", {}))
    stale = {"prepare": {"v": Output(wanted["prepare"]["v"], None)}}
    assert [(s.job, s.partition_key) for s in next_steps(VideoFacts("v", stale))] == [("draw_storyboard", "v")]
    assert next_steps(VideoFacts("v", stale, busy=True)) == []  # a run still plans it: wait for that one


def test_a_bridge_and_a_voice_are_stages_of_the_same_pipeline(settings, home):
    """A spec with a bridge and voiceover lines ends current (the assemble stage's wanted fingerprint knows
    the bridge's frames, the voice and the soundtrack); an edit of a `say` line runs only the music stage
    (music + voice) and the assembly, never a pair."""
    beats = (
        "beats:\n  - {name: a, duration: 3, prompt: x, transition: bridge, say: Hello there.}\n"
        "  - {name: b, duration: 3, prompt: y, say: Goodbye.}\n"
    )
    head = "prompt: p\nduration: 6\nresolution: 480p\nvoice: {voice: narrator}\nsubtitles: soft\n"
    text = head + beats
    spec = read_spec_text(text, "x", default_id="talk")
    runner = RecordingRunner(settings, home, progress=lambda _: None)
    runner.batches = []
    runner.render(spec, text)
    assert runner.batches == [
        ["chunk_pairs:p000|talk", "chunk_pairs:p001|talk", "make_music:talk"],
        ["assemble_video:talk"],
    ]
    stored = json.loads((settings.data_dir / "videos" / "talk" / "final.json").read_text())
    assert stored["cost_by_stage"]["bridges"] == 0.0 and [round(c[0], 2) for c in stored["cues"]] == [0.25, 3.25]
    runner.batches = []
    runner.render(spec, text)
    assert runner.batches == []
    edited = text.replace("Goodbye.", "See you soon.")
    runner.render(read_spec_text(edited, "x", default_id="talk"), edited)
    assert runner.batches == [["make_music:talk"], ["assemble_video:talk"]]
