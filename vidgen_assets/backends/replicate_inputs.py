"""vidgen's requests as a Replicate model's inputs (the registry in `registry.py` says which keys a model
takes), and start images as the API accepts them."""

from __future__ import annotations

import base64
from typing import Any

from vidgen_assets.backends.registry import ReplicateModel
from vidgen_assets.core.cost import music_seconds
from vidgen_assets.core.generation import ImageRequest, MusicRequest, ReferenceImage, SpeechRequest, VideoRequest
from vidgen_assets.core.voice import NARRATOR

FLUX_ASPECTS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
IMAGE_MIMES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def flux_aspect(width: int, height: int) -> str:
    """The supported aspect ratio closest to `width` x `height`."""
    ratio = width / height

    def distance(name: str) -> float:
        w, h = (int(n) for n in name.split(":"))
        return abs(w / h - ratio)

    return min(FLUX_ASPECTS, key=distance)


def motion_prompt(request: VideoRequest) -> str:
    camera = {"static": "static camera"}.get(request.camera, f"camera {request.camera.replace('_', ' ')}")
    return f"{request.prompt}, {camera}, smooth natural motion"


def reference_words(references: tuple[ReferenceImage, ...]) -> str:
    """The references' `describe` words for a prompt: `, featuring amber glass bottle; woman in her 30s`."""
    words = [r.describe.strip() for r in references if r.describe and r.describe.strip()]
    return f", featuring {'; '.join(words)}" if words else ""


def image_prompt(request: ImageRequest) -> str:
    """A storyboard image's prompt: the beat's prompt with its references' words, the style and palette."""
    prompt = f"{request.prompt}{reference_words(request.references)}. Style: {request.aesthetic}"
    if request.palette:
        prompt += f"; colour palette {', '.join(request.palette)}"
    return prompt


def music_prompt(request: MusicRequest) -> str:
    return f"{request.mood} instrumental background music for an advert, {request.bpm} bpm"


def image_inputs(model: ReplicateModel, request: ImageRequest) -> dict[str, Any]:
    """A storyboard image's inputs: the beat's prompt (with its references' words), the style and palette,
    the aspect, the seed (the reference images themselves are sent apart)."""
    inputs: dict[str, Any] = {**model.defaults, model.prompt_key: image_prompt(request)}
    if model.aspect_key:
        inputs[model.aspect_key] = flux_aspect(request.frame.width, request.frame.height)
    if model.seed_key:
        inputs[model.seed_key] = request.seed
    return inputs


def video_inputs(model: ReplicateModel, request: VideoRequest, seconds: int | None = None) -> dict[str, Any]:
    """A chunk's inputs, the start (and end) image apart: the motion prompt, the model's native clip (or,
    for a bridge, `seconds`), the seed."""
    prompt = motion_prompt(request) + reference_words(request.reference_images)
    inputs: dict[str, Any] = {**model.defaults, model.prompt_key: prompt}
    for key, value in (
        (model.duration_key, seconds or model.duration),
        (model.num_frames_key, model.num_frames),
        (model.fps_key, model.fps),
        (model.seed_key, request.seed),
    ):
        if key and value is not None:
            inputs[key] = value
    if model.audio_key:
        # Sound is billed extra and vidgen drops the clips' audio: ask for none (priced as `price`).
        inputs[model.audio_key] = False
    return inputs


def music_inputs(model: ReplicateModel, request: MusicRequest) -> tuple[dict[str, Any], int]:
    """A music bed's inputs and the whole seconds asked for (the bed is cut to the exact length after)."""
    asked = music_seconds(request.seconds)
    inputs: dict[str, Any] = {**model.defaults, model.prompt_key: music_prompt(request)}
    if model.duration_key:
        inputs[model.duration_key] = asked
    if model.seed_key:
        inputs[model.seed_key] = request.seed
    return inputs, asked


def speech_voice(model: ReplicateModel, name: str) -> str | None:
    """The model's voice for a spec's `voice.voice` (`narrator` is the model's first voice), or None."""
    if name == NARRATOR:
        return model.voices[0] if model.voices else None
    return name if name in model.voices else None


def speech_inputs(model: ReplicateModel, request: SpeechRequest, voice: str) -> dict[str, Any]:
    """A voiceover line's inputs: its text, the model's voice, the speed."""
    inputs: dict[str, Any] = {**model.defaults, model.prompt_key: request.text}
    if model.voice_key:
        inputs[model.voice_key] = voice
    if model.speed_key:
        inputs[model.speed_key] = request.speed
    return inputs


def llm_inputs(model: ReplicateModel, system: str, prompt: str) -> dict[str, Any]:
    inputs: dict[str, Any] = {**model.defaults, model.prompt_key: prompt, "system_prompt": system}
    if model.seed_key:
        inputs[model.seed_key] = 0
    return inputs


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
