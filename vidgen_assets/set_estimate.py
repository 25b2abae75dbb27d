"""What a set of videos (a spec and its variants) costs once the calls they share are counted once.

A replicate call is answered by the generation cache when its request is another video's very request
(`backends.cache.request_key`: model, version, inputs, the input images' bytes). Before anything is made
the images' bytes are not known, but what decides them is: a storyboard image is the image model's answer
to its request, fitted to the frame; a chunk starts from that image (or from the chunk before it). So each
planned call gets an identity built the way its request is, from the same input builders the backend uses,
with an input image stood for by the identity of the call that makes it (and the frame it is fitted to).
Two calls with the same identity send the same request. Counted: storyboard images, chunks, the music bed
and voiceover lines (a line's request is its text, voice and speed); bridges are counted in full (an upper
bound for them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from vidgen_assets.backends.replicate_inputs import (
    image_inputs,
    music_inputs,
    speech_inputs,
    speech_voice,
    video_inputs,
)
from vidgen_assets.backends.selection import ModelSelection, select_for_spec
from vidgen_assets.core.cost import Estimate, Price, call_cost, speech_characters
from vidgen_assets.core.fingerprint import fingerprint
from vidgen_assets.core.generation import Frame, MusicRequest, ReferenceImage, SpeechRequest, VideoRequest
from vidgen_assets.core.plan import Plan
from vidgen_assets.stages import image_request

SHARED_STAGES = ("storyboard", "chunks", "music", "voice")


def call_identities(plan: Plan, models: ModelSelection) -> list[tuple[str, str, str]]:
    """(stage, model id, identity) of every storyboard image, chunk, music and voiceover call a replicate
    render of `plan` makes."""
    return [(stage, model, identity) for stage, model, identity, _ in _calls(plan, models)]


def _calls(plan: Plan, models: ModelSelection) -> list[tuple[str, str, str, str]]:
    """`call_identities`, each with the text it speaks (a voiceover line; else empty)."""
    frame = Frame(width=plan.width, height=plan.height, fps=plan.fps)
    spec = plan.spec
    calls = []
    for beat in plan.beats:
        refs = tuple(
            ReferenceImage(name=r.name, path="", sha256=r.sha256, describe=r.describe)
            for name in (beat.uses if plan.references else ())
            if (r := plan.reference(name)) is not None
        )
        image = (models.reference_image or models.image) if refs else models.image
        sent = refs[: max(1, image.max_input_images)] if image.input_images_key else ()
        request = image_request(plan, beat, refs)
        image_id = fingerprint(image.id, image.version, image_inputs(image, request), [r.sha256 for r in sent])
        calls.append(("storyboard", image.id, image_id, ""))
        video = models.video
        source = fingerprint(image_id, frame.width, frame.height)  # the image as the chunk is given it
        for chunk in beat.chunks:
            chunk_request = VideoRequest(
                video_id=plan.video_id, chunk_index=chunk.index, beat_index=beat.index, kind=chunk.kind,
                prompt=beat.prompt, camera=beat.camera, frames=chunk.frames, motion_offset=chunk.motion_offset,
                frame=frame, seed=spec.seed + chunk.index, clip_frames=beat.clip_frames, reference_images=refs,
            )  # fmt: skip
            shown = [r.sha256 for r in refs] if video.reference_images_key else []
            chunk_id = fingerprint(video.id, video.version, video_inputs(video, chunk_request), source, shown)
            calls.append(("chunks", video.id, chunk_id, ""))
            source = fingerprint(chunk_id, frame.width, frame.height)  # its last frame starts the next chunk
    if spec.music is not None and spec.music.file is None:  # the user's own track is no call
        music = models.music
        bed = MusicRequest(plan.video_id, spec.music_mood, spec.music.bpm, plan.total_frames / plan.fps, spec.seed)
        calls.append(("music", music.id, fingerprint(music.id, music.version, music_inputs(music, bed)[0]), ""))
    voice = spec.voice
    for line in plan.voice_lines if voice is not None else ():
        assert voice is not None
        speaker = models.voice
        said = SpeechRequest(
            video_id=plan.video_id, beat_index=line.beat_index, text=line.text, voice=voice.voice,
            speed=voice.speed, max_seconds=0.0, seed=spec.seed + line.beat_index,
        )  # fmt: skip
        inputs = speech_inputs(speaker, said, speech_voice(speaker, voice.voice) or voice.voice)
        calls.append(("voice", speaker.id, fingerprint(speaker.id, speaker.version, inputs), line.text))
    return calls


@dataclass(frozen=True)
class SetEstimate:
    """A set's estimate: the sum over its videos, and what the calls shared between them take off it."""

    summed: Decimal
    calls: int
    shared: dict[str, int]
    """Per stage: calls that are an earlier video's very request (answered by the cache)."""
    saved: Decimal

    @property
    def total(self) -> Decimal:
        return self.summed - self.saved


def set_estimate(members: Sequence[tuple[Plan, Estimate]], prices: Mapping[str, Price] | None = None) -> SetEstimate:
    """The set's cost, rendered in this order, each call that repeats an earlier video's request counted
    once (at the price of the line it is in)."""
    seen: set[str] = set()
    shared = dict.fromkeys(SHARED_STAGES, 0)
    saved = Decimal(0)
    for plan, estimate in members:
        if plan.spec.backend != "replicate":
            continue
        unit = {(line.stage, line.model): line.unit_usd for line in estimate.lines}
        priced = {(line.stage, line.model): line.price for line in estimate.lines}
        calls = _calls(plan, select_for_spec(plan.spec, prices, plan.spec.id))
        for stage, model, identity, text in calls:
            if identity in seen:
                shared[stage] += 1
                price = priced.get((stage, model))
                if stage == "voice" and price is not None and price.unit == "character":
                    saved += call_cost(price, speech_characters(text))  # each line billed for its characters
                else:
                    saved += unit.get((stage, model), Decimal(0))
        seen |= {identity for _, _, identity, _ in calls}
    summed = sum((estimate.total for _, estimate in members), Decimal(0))
    return SetEstimate(summed, sum(e.calls for _, e in members), shared, saved)


def shared_with(base: Plan, other: Plan) -> dict[str, tuple[int, int]]:
    """Per stage, (calls of `other` whose inputs are the very inputs of one of `base`'s, calls of `other`):
    what a variant shares with its spec. Worked out as a replicate render would send them (`call_identities`)
    whatever the backend: the same inputs draw the same animatic card and chunk too."""
    mine = {identity for _, _, identity in call_identities(base, select_for_spec(base.spec, None, base.spec.id))}
    out: dict[str, tuple[int, int]] = {}
    for stage, _, identity in call_identities(other, select_for_spec(other.spec, None, other.spec.id)):
        same, total = out.get(stage, (0, 0))
        out[stage] = (same + (identity in mine), total + 1)
    return out
