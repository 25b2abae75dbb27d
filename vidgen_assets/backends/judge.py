"""The judge (`qc.judge: replicate`): a vision-language model on Replicate scores a take against its
beat's prompt and references.

`judge_take` samples a few frames of the clip (first, middle, last by default; decoded exactly with the
ffmpeg libraries PyAV wraps, `media.probe.read_frames`), shrinks them to `FRAME_WIDTH` pixels wide (one
512-px tile each, what the price is bounded by), and sends them with the beat's reference images and a
prompt asking for a JSON reply `{"score": 0..1, "reason": "..."}` to `openai/gpt-4o-mini` (registry entry
`backends.registry.JUDGE_MODEL`: input names `prompt`, `system_prompt`, `image_input`, `temperature`,
`max_completion_tokens`, confirmed on its Replicate API schema page). The call is one of
`ReplicateBackend`'s: the same HTTP client, retries, deadline and generation cache (an identical request,
same model, prompt and image bytes, is answered from the cache at $0 and never paid twice).

A reply that does not parse (no JSON object with a numeric `score` between 0 and 1) is not an error:
the take gets score 0.0, `readable` False and a reason quoting the reply. The judge could not vouch for
the take, so it is treated as one that scored too low (a retake within the budget, or, when none is left,
the best take with a warning), and the render goes on; the reply is cached like any other, so a re-run
reads the same verdict without paying again.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from vidgen_assets.backends.registry import JUDGE_MODEL, REGISTRY, ReplicateModel
from vidgen_assets.backends.replicate import ReplicateBackend
from vidgen_assets.core.takes import JudgeScore
from vidgen_assets.media import probe
from vidgen_assets.media.runner import MediaError

FRAME_WIDTH = 512
"""Sampled frames are sent this wide (aspect kept): one 512-px tile each for the model."""
SAMPLES = 3
"""Frames sampled from a take by default: its first, middle and last."""
MAX_REFERENCES = 3
"""Reference images sent with the frames, at most (the registry entry's price covers 6 images in all)."""
SYSTEM_PROMPT = (
    "You are a strict quality judge for generated video shots in an advert. You see frames sampled in order "
    "from one generated shot, then, if any, reference images of what must appear in it. Judge only what you "
    "see. Reply with one JSON object and nothing else."
)
REPLY_FORMAT = '{"score": <number from 0 to 1>, "reason": "<one short sentence>"}'


class JudgeError(RuntimeError):
    """The take could not be judged: its frames could not be read (the model call's own failures are
    `ReplicateFailed`, raised as they are)."""


def sample_frames(frame_count: int, samples: int = SAMPLES) -> tuple[int, ...]:
    """`samples` frame numbers spread evenly over a clip of `frame_count` frames, first and last included
    (fewer for a clip that has fewer frames)."""
    if frame_count < 1:
        raise JudgeError("a clip with no frames cannot be judged")
    if samples <= 1 or frame_count == 1:
        return (0,)
    picked = {round(i * (frame_count - 1) / (samples - 1)) for i in range(samples)}
    return tuple(sorted(picked))


def judge_prompt(prompt: str, frame_count: int, reference_names: Sequence[str]) -> str:
    """What the model is asked about one take."""
    lines = [
        f"The shot must show: {prompt.strip()}",
        f"Images 1 to {frame_count} are frames from the start, middle and end of the generated shot, in order.",
    ]
    if reference_names:
        first = frame_count + 1
        names = ", ".join(reference_names)
        lines.append(f"Images {first} to {first + len(reference_names) - 1} are the references ({names}): "
                     "they must be recognisable in the shot, unchanged in shape, colour and label.")  # fmt: skip
    lines += [
        "Score 1 for a usable shot that clearly shows all of this; lower it for a shot that shows something "
        "else, ignores or changes a reference, morphs, melts or garbles objects or text, or is not a coherent "
        "single shot; 0 for an unusable one.",
        f"Reply with JSON only: {REPLY_FORMAT}",
    ]
    return "\n".join(lines)


def parse_reply(text: str) -> tuple[float, str] | None:
    """(score, reason) from the model's reply: the first JSON object in it (code fences and words around
    it are ignored) with a numeric `score` from 0 to 1 (a number written as a string is accepted); None
    when there is none."""
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            data, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if not isinstance(data, dict) or "score" not in data or isinstance(data["score"], bool):
            continue
        try:
            score = float(data["score"])
        except (TypeError, ValueError):
            continue
        if not 0.0 <= score <= 1.0:
            continue
        reason = data.get("reason")
        return score, str(reason).strip() if reason is not None else ""
    return None


def _png(image: Image.Image) -> bytes:
    if image.width > FRAME_WIDTH:
        height = max(1, round(image.height * FRAME_WIDTH / image.width))
        image = image.resize((FRAME_WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def frame_images(clip: Path, samples: int = SAMPLES) -> tuple[tuple[int, ...], list[bytes]]:
    """The frames sampled from `clip` (their numbers) as PNG bytes, `FRAME_WIDTH` wide."""
    try:
        count = probe.probe(clip).frames
        picked = sample_frames(count, samples)
        decoded = probe.read_frames(clip, list(picked))
    except (OSError, ValueError, MediaError) as exc:
        raise JudgeError(f"cannot read frames of {clip} to judge it: {exc}") from exc
    return picked, [_png(Image.fromarray(frame)) for frame in decoded]


def judge_take(
    clip: Path,
    prompt: str,
    references: Sequence[Path],
    backend: ReplicateBackend,
    model: ReplicateModel | None = None,
    samples: int = SAMPLES,
) -> JudgeScore:
    """The judge's score for one take: `clip` (a chunk or a bridge) against its beat's `prompt` and
    `references` (the beat's reference images, at most `MAX_REFERENCES` sent), asked of `model` (default
    the registry's judge) through `backend`'s HTTP client, retries and generation cache."""
    model = model or REGISTRY[JUDGE_MODEL]
    picked, frames = frame_images(clip, samples)
    refs = list(references)[:MAX_REFERENCES]
    try:
        ref_images = [_png(Image.open(path)) for path in refs]
    except OSError as exc:
        raise JudgeError(f"cannot read a reference image to judge {clip}: {exc}") from exc
    question = judge_prompt(prompt, len(frames), [path.stem for path in refs])
    text, cost, cached = backend.ask_with_images(model, SYSTEM_PROMPT, question, [*frames, *ref_images])
    parsed = parse_reply(text)
    if parsed is None:
        shown = " ".join(text.split())[:200]
        reason = f"the judge's reply held no score from 0 to 1, so the take is scored 0: {shown!r}"
        return JudgeScore(0.0, reason, float(cost), cached, model.id, False, picked)
    score, reason = parsed
    return JudgeScore(score, reason, float(cost), cached, model.id, True, picked)


def bound_judge(bound: ReplicateBackend) -> Callable[[Path, str, Sequence[Path]], JudgeScore]:
    """The judge asked through `bound` (its token, HTTP client, retries and generation cache), as
    `takes.TakePolicy.with_judge` takes it."""

    def judge(clip: Path, prompt: str, references: Sequence[Path]) -> JudgeScore:
        return judge_take(clip, prompt, references, bound)

    return judge
