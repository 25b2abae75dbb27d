"""The pipeline: its stages declared once, and the one function that says what to run next.

Both drivers use it: the CLI runner (`runner.py`) loops over `next_steps`, running pair steps in its
worker pool and video steps in its own process; the `pair_driver` sensor (`defs/sensors.py`) turns the
same steps into run requests. Staleness is decided here only, by fingerprint: a stage's output is
current when the fingerprint of what is stored equals the fingerprint its current inputs give
(`stages.py` computes both with the same functions). An edit of one beat's prompt therefore changes
that beat's storyboard image, its pair and the assembly, and nothing else runs.

Adding a stage is one `Stage` in `STAGES` (its job, what it runs per, what it runs after, and how its
wanted fingerprints follow from the plan and the stages before it) plus its asset and job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.core.plan import Plan
from vidgen_assets.settings import StitchMode

Per = Literal["video", "pair"]


@dataclass(frozen=True)
class Inputs:
    """What a stage's wanted fingerprints are computed from: the plan, the backend's identity, the
    stitch mode, the storyboard images' digests (by beat index) and the stages before it (stage ->
    unit -> wanted fingerprint)."""

    plan: Plan
    backend: str
    stitch: StitchMode
    images: Mapping[int, str]
    wanted: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    reference_backend: str = ""
    """How the backend draws reference images (its `reference_identity`), when the plan has any."""
    last_frames: Mapping[int, str] = field(default_factory=dict)
    """The sha256 of the stored last frame of each beat's last chunk, by beat index, for the beats a
    bridge starts from (a bridge is made from that frame)."""


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline: a Dagster job run per video or per chunk pair."""

    name: str
    job: str
    """The Dagster job that runs the stage (`defs/jobs.py` makes one per stage from this declaration)."""
    per: Per
    assets: tuple[str, ...]
    """What the job materializes."""
    description: str
    wanted: Callable[[Inputs], Mapping[str, str]]
    """unit (the video id, or a pair key) -> the fingerprint the stage's current inputs give."""
    after: tuple[str, ...] = ()
    started_by_registration: bool = False
    """Run when a spec is registered (the `spec_files` sensor, `vidgen render`), never as a next step."""
    catch_up_job: str | None = None
    """For a stage started by registration: the job that makes it when it is stale and nothing of the
    video is running (a plan made on its own, from the UI, gets its storyboard this way)."""
    catch_up_assets: tuple[str, ...] = ()
    stored_by: tuple[str, ...] = ()
    """The assets whose manifests say what is stored (their fingerprints; several are combined with
    `combined`, as the stage's `wanted` combines them); default the last of `assets`."""

    @property
    def stored(self) -> tuple[str, ...]:
        return self.stored_by or (self.assets[-1],)

    @property
    def asset(self) -> str:
        """The first asset whose manifest says what is stored."""
        return self.stored[0]


def combined(fingerprints: Sequence[str | None]) -> str | None:
    """One fingerprint for a stage whose outputs are several assets (None while one of them is missing)."""
    if len(fingerprints) == 1:
        return fingerprints[0]
    if any(fp is None for fp in fingerprints):
        return None
    return fingerprint("stage", list(fingerprints))


@dataclass(frozen=True)
class Output:
    """One unit of a stage: the fingerprint its inputs give now, and the one stored (None: none)."""

    wanted: str
    stored: str | None

    @property
    def current(self) -> bool:
        return self.stored == self.wanted


@dataclass(frozen=True)
class VideoFacts:
    """What is materialized and current for one video: stage -> unit -> output. A stage that is
    absent is not known yet (its inputs are not made)."""

    video_id: str
    outputs: Mapping[str, Mapping[str, Output]]
    busy: bool = False
    """A run that may still plan the video (or draw its storyboard) is in progress."""


@dataclass(frozen=True)
class Step:
    """One run to launch: `job` on `partition_key`, making `fingerprint`."""

    stage: str
    job: str
    video_id: str
    unit: str
    partition_key: str
    fingerprint: str

    @property
    def run_key(self) -> str:
        """The same step for the same inputs is requested once (the sensor's run key)."""
        return f"{self.video_id}|{self.stage}|{self.unit}|{self.fingerprint[:16]}"


def pair_partition(pair: str, video_id: str) -> str:
    """The `pair x video` partition key string (Dagster orders the dimensions by name: pair, video)."""
    return f"{pair}|{video_id}"


def next_steps(facts: VideoFacts, stages: Sequence[Stage] | None = None) -> list[Step]:
    """The runs that bring a video up to date, in stage order: every stale unit of every stage whose
    `after` stages are all current. A stage started by registration is left to it, unless it is stale
    with nothing of the video running: then its catch-up job makes it. Empty when the video is current."""
    steps: list[Step] = []
    current: dict[str, bool] = {}
    for stage in STAGES if stages is None else stages:
        outputs = facts.outputs.get(stage.name)
        if outputs is None:
            current[stage.name] = False
            continue
        stale = {unit: out for unit, out in outputs.items() if not out.current}
        current[stage.name] = not stale
        if not all(current.get(dep, False) for dep in stage.after):
            continue
        job = stage.job
        if stage.started_by_registration:
            if stage.catch_up_job is None or facts.busy:
                continue
            job = stage.catch_up_job
        for unit, out in sorted(stale.items()):
            key = pair_partition(unit, facts.video_id) if stage.per == "pair" else facts.video_id
            steps.append(Step(stage.name, job, facts.video_id, unit, key, out.wanted))
    return steps


def wanted_fingerprints(inputs: Inputs, stages: Sequence[Stage] | None = None) -> dict[str, dict[str, str]]:
    """Every stage's wanted fingerprints, in order (a stage sees those of the stages before it); a stage
    whose inputs are not made yet is left out."""
    wanted: dict[str, dict[str, str]] = {}
    for stage in STAGES if stages is None else stages:
        try:
            given = dataclasses.replace(inputs, wanted=wanted)
            wanted[stage.name] = dict(stage.wanted(given))
        except KeyError:
            continue  # what it depends on is not made yet (a storyboard image, an earlier stage)
    return wanted


# -- the stages ---------------------------------------------------------------------------------------


def _storyboard(inputs: Inputs) -> dict[str, str]:
    from vidgen_assets import stages

    return {inputs.plan.video_id: stages.storyboard_fingerprint(inputs.plan, inputs.backend, inputs.reference_backend)}


def _pairs(inputs: Inputs) -> dict[str, str]:
    from vidgen_assets import stages

    plan = inputs.plan
    return {
        beat.pair_key: stages.pair_fingerprint(plan, beat, inputs.backend, inputs.images[beat.index], inputs.stitch)
        for beat in plan.beats
    }


def _music(inputs: Inputs) -> dict[str, str]:
    from vidgen_assets import stages, voiceover

    plan = inputs.plan
    both = combined([stages.music_fingerprint(plan, inputs.backend), voiceover.voice_fingerprint(plan)])
    assert both is not None
    return {plan.video_id: both}


def _assemble(inputs: Inputs) -> dict[str, str]:
    """The final video's fingerprint, from the pairs', the bridges' (their two frames: the outgoing beat's
    stored last frame and the incoming beat's storyboard image), the music's, the voice's and the
    soundtrack's, exactly as the assets compute them."""
    from vidgen_assets import stages, voiceover

    plan = inputs.plan
    pairs = [inputs.wanted["pairs"][key] for key in plan.pair_keys]
    bridges = [
        stages.bridge_fingerprint(
            plan, b, inputs.backend, inputs.last_frames[b.from_beat], inputs.images[b.to_beat], inputs.stitch
        )
        for b in plan.bridges
    ]
    stitched = stages.stitched_fingerprint(plan, pairs, inputs.stitch, bridges)
    music = stages.music_fingerprint(plan, inputs.backend)
    voice = voiceover.voice_fingerprint(plan)
    soundtrack = voiceover.soundtrack_fingerprint(plan, music, voice)
    return {plan.video_id: stages.final_fingerprint(plan, stitched, music, inputs.stitch, voice, soundtrack)}


STAGES: tuple[Stage, ...] = (
    Stage(
        "prepare", "prepare_video", "video", ("video_spec", "storyboard"),
        "Plan a registered video and draw its storyboard.", _storyboard, started_by_registration=True,
        catch_up_job="draw_storyboard", catch_up_assets=("storyboard",),
    ),
    Stage(
        "pairs", "chunk_pairs", "pair", ("chunk_pair",),
        "Generate one chunk pair (partition 'p003|<video>').", _pairs, after=("prepare",),
    ),
    Stage(
        "music", "make_music", "video", ("music", "voice"),
        "Make a planned video's music bed and mix, and its voiceover lines (alongside the chunk pairs).", _music,
        after=("prepare",), stored_by=("music", "voice"),
    ),
    Stage(
        "assemble", "assemble_video", "video", ("stitched_video", "soundtrack", "final_video", "report"),
        "Make a video's bridges and stitch its chunk pairs, mix its soundtrack, make the final MP4 (text, "
        "music, voice) and its report.html.", _assemble,
        after=("pairs", "music"), stored_by=("final_video",),
    ),
)  # fmt: skip
"""The pipeline, in order: prepare (plan, storyboard) -> chunk pairs, with the music and the voice
alongside them -> assemble (bridges and stitched video, soundtrack, final video, report)."""

STAGE_BY_NAME: Mapping[str, Stage] = {stage.name: stage for stage in STAGES}
