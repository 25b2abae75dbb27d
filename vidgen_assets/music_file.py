"""The user's own music track (`music: {file: ...}`): read beside the spec, refused with field errors when it
cannot be used, stored with the video. The same path as reference images (`references.py`): the file is
read and checked when the video is registered (`vidgen validate` / `render`, the sensor, the launchpad),
copied into the store as `videos/<id>/music/track.<ext>` with a manifest, and from then on the plan
carries its sha256 (`Plan.music_track`): a render never reads the spec folder again, and the music's
fingerprint includes the track's bytes.

With `music: {sync: beats}` the track's beats are tracked when it is read (`media.beats`, librosa) and
kept in its manifest and the plan (`PlannedMusic.beats`): the plan moves its cuts onto them
(`core.beat_sync`), so `vidgen validate` shows the moved boundaries before anything is rendered.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av

from vidgen_assets.core.fingerprint import digest_bytes
from vidgen_assets.core.plan import PlannedMusic
from vidgen_assets.core.spec import FieldError, Spec, SpecError
from vidgen_assets.media.beats import track_beats
from vidgen_assets.references import Reader, local_reader, read_beside
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import ArtifactStore

MAX_BYTES = 50 * 1024 * 1024
MAX_SECONDS = 600.0
FORMATS = {"wav": "wav", "mp3": "mp3", "mov,mp4,m4a,3gp,3g2,mj2": "m4a", "flac": "flac"}
"""FFmpeg's demuxer name -> the stored file's extension: WAV, MP3, M4A (AAC/ALAC in MP4) and FLAC."""
MUSIC_DIR = "music/"
MANIFEST = "music/track.json"
FIELD = "music.file"
MIN_BEATS = 2


@dataclass(frozen=True)
class LoadedMusic:
    """A music file read and checked, ready to store: its plan entry and its bytes."""

    planned: PlannedMusic
    data: bytes


def music_key(video_id: str, file: str) -> str:
    return layout.video_key(video_id, MUSIC_DIR + file)


def inspect_audio(data: bytes) -> tuple[str, float]:
    """(stored extension, seconds) of an audio file, decoding it whole (a damaged file fails here);
    ValueError saying what is wrong."""
    with tempfile.NamedTemporaryFile(suffix=".audio") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            with av.open(tmp.name) as container:
                ext = FORMATS.get(container.format.name)
                if ext is None:
                    raise ValueError(f"is {container.format.long_name}; allowed: WAV, MP3, M4A or FLAC")
                if not container.streams.audio:
                    raise ValueError("has no audio stream")
                samples, rate = 0, 0
                for frame in container.decode(audio=0):
                    samples += frame.samples
                    rate = frame.sample_rate or rate
        except av.FFmpegError as exc:
            raise ValueError(f"is not audio that can be decoded ({exc})") from None
    if not samples or not rate:
        raise ValueError("holds no sound (no audio samples)")
    return ext, samples / rate


def read_music(spec: Spec, source: str, folder: Path | None, read: Reader, beats: bool = True) -> LoadedMusic | None:
    """The spec's `music.file` read and checked (None without one), its beats tracked when the spec has
    `music.sync` and `beats` (the sensor, which only compares the bytes, passes False); SpecError saying
    why it cannot be used. `read` must allow `MAX_BYTES` (e.g. `local_reader(folder, MAX_BYTES)`)."""
    if spec.music is None or spec.music.file is None:
        return None
    data, problem = read_beside(spec.music.file, FIELD, folder, read, "music file")
    if data is None:
        raise SpecError(source, [problem] if problem else [])
    try:
        ext, seconds = inspect_audio(data)
    except ValueError as exc:
        raise SpecError(source, [FieldError(FIELD, f"{spec.music.file!r} {exc}")]) from None
    if seconds > MAX_SECONDS:
        raise SpecError(
            source, [FieldError(FIELD, f"{spec.music.file!r} lasts {seconds:.0f} s; at most {MAX_SECONDS:.0f} s")]
        )
    planned = PlannedMusic(file=f"track.{ext}", sha256=digest_bytes(data), seconds=round(seconds, 3))
    if beats and spec.music.sync == "beats":
        planned = _with_beats(planned, data, spec.music.file, source)
    return LoadedMusic(planned, data)


def _with_beats(planned: PlannedMusic, data: bytes, name: str, source: str) -> PlannedMusic:
    """The track's entry with its tracked beats; SpecError when the tracker finds fewer than two."""
    with tempfile.NamedTemporaryFile(suffix=f".{planned.file.rsplit('.', 1)[-1]}") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            found = track_beats(Path(tmp.name))
        except ValueError as exc:
            raise SpecError(source, [FieldError(FIELD, f"{name!r} {exc}")]) from None
    if len(found.beats) < MIN_BEATS:
        raise SpecError(
            source,
            [
                FieldError(
                    "music.sync",
                    f"found no beat to cut on in {name!r} (the beat tracker found {len(found.beats)}); use a "
                    "track with a steady beat, or leave sync out",
                )
            ],
        )
    return planned.model_copy(update={"beats": found.beats, "tempo_bpm": found.tempo_bpm})


def read_local_music(spec: Spec, spec_path: Path) -> LoadedMusic | None:
    """The music file of a spec file on local disk, relative to its folder."""
    folder = spec_path.absolute().parent
    return read_music(spec, str(spec_path), folder, local_reader(folder, MAX_BYTES))


def store_music(store: ArtifactStore, video_id: str, loaded: LoadedMusic | None) -> None:
    """Copy the track into the video's store (an unchanged file is not written again), manifest last."""
    if loaded is None:
        return
    key = music_key(video_id, loaded.planned.file)
    if not store.exists(key) or digest_bytes(store.get_bytes(key)) != loaded.planned.sha256:
        store.put_bytes(key, loaded.data)
    data = json.dumps(loaded.planned.model_dump(mode="json"), indent=2, sort_keys=True).encode("utf-8")
    manifest = layout.video_key(video_id, MANIFEST)
    if not store.exists(manifest) or store.get_bytes(manifest) != data:
        store.put_bytes(manifest, data)


def stored_music(store: ArtifactStore, spec: Spec) -> PlannedMusic | None:
    """The track of a registered video, as stored; ValueError when its spec names one not registered."""
    if spec.music is None or spec.music.file is None:
        return None
    key = layout.video_key(spec.id, MANIFEST)
    if not store.exists(key):
        raise ValueError(
            f"video {spec.id!r} uses the music file {spec.music.file!r} but none was registered with it (expected "
            f"{store.uri(key)}); register the spec with `vidgen render` or the spec-file sensor"
        )
    return PlannedMusic.model_validate(json.loads(store.get_bytes(key)))
