"""`music: {file: ...}`, the user's own track: read beside the spec and stored with the video, mixed at the
loudness target under the picture; bad files refused with a field error, exit 2, nothing written."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from vidgen_assets.cli import main
from vidgen_assets.media import probe
from vidgen_tests.media.test_loudness import pyloudnorm_lufs

RATE = 48000


def tone_wav(path: Path, seconds: float, hz: float, rate: int = RATE) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    samples = (0.2 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(samples, 2).tobytes())
    return path


def spec(folder: Path, music: dict[str, Any], name: str = "own-track") -> Path:
    data = {
        "id": name, "prompt": "p", "duration": 6, "resolution": "480p", "fps": 24, "music": music,
        "beats": [{"name": "one", "duration": 3, "prompt": "a"}, {"name": "two", "duration": 3, "prompt": "b"}],
    }  # fmt: skip
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        frames = [o.to_ndarray() for f in container.decode(audio=0) for o in resampler.resample(f)]
    return np.asarray(np.concatenate(frames, axis=1).T, dtype=np.float64)


def peak_hz(samples: np.ndarray, start_s: float, end_s: float) -> float:
    part = samples[round(start_s * RATE) : round(end_s * RATE), 0]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(part.size)))
    return float(np.fft.rfftfreq(part.size, 1 / RATE)[int(np.argmax(spectrum))])


@pytest.mark.slow
def test_the_users_track_is_the_bed_stored_with_the_video_and_an_edit_remakes_it(tmp_path):
    tone_wav(tmp_path / "track.wav", 10.0, 440.0)  # longer than the video: cut to its length
    path = spec(tmp_path, {"file": "track.wav", "volume": 0.8})
    data, home = tmp_path / "data", tmp_path / "dh"
    assert main(["render", str(path), "--data-dir", str(data), "--dagster-home", str(home)]) == 0
    video = data / "videos" / "own-track"
    stored = json.loads((video / "music" / "track.json").read_text())
    assert (video / "music" / "track.wav").read_bytes() == (tmp_path / "track.wav").read_bytes()
    assert stored["file"] == "track.wav" and abs(stored["seconds"] - 10.0) < 0.01
    final = video / "final.mp4"
    heard = decoded(final)
    assert abs(heard.shape[0] / RATE - 6.0) <= 1024 / RATE  # exactly the video's length
    assert abs(peak_hz(heard, 1.0, 3.0) - 440) < 3  # the user's track, nothing generated
    assert abs(pyloudnorm_lufs(heard) + 14) <= 1.0  # at the loudness target
    record = json.loads((video / "music.json").read_text())
    assert record["sha256"] == stored["sha256"] and record["cost_usd"] == 0.0
    # A new take of the track beside the same spec: the bed (and what follows) is made again from it.
    tone_wav(tmp_path / "track.wav", 3.0, 660.0)  # shorter than the video: silence after it
    assert main(["render", str(path), "--data-dir", str(data), "--dagster-home", str(home)]) == 0
    heard = decoded(final)
    assert abs(peak_hz(heard, 1.0, 2.5) - 660) < 3
    assert float(np.max(np.abs(heard[round(4.5 * RATE) : round(5.5 * RATE)]))) < 1e-3  # after the track: silence
    assert probe.probe(final).frames == 144


@pytest.mark.parametrize(
    ("make", "music", "expected"),
    [
        (None, {"file": "missing.wav"}, "music.file: no file 'missing.wav' in the spec's folder"),
        ("text", {"file": "notes.mp3"}, "music.file: 'notes.mp3' is not audio that can be decoded"),
        ("image", {"file": "cover.png"}, "music.file: 'cover.png' is "),
        ("long", {"file": "long.wav"}, "music.file: 'long.wav' lasts 601 s; at most 600 s"),
        ("huge", {"file": "huge.wav"}, "music.file: 'huge.wav' is 51.0 MB; at most 50.0 MB is allowed"),
        (None, {"file": "../outside.wav"}, "music.file: '../outside.wav' leaves the spec's folder"),
        (None, {"file": "track.wav", "bpm": 120}, "music: a music file has its own tempo and mood: leave bpm out"),
        pytest.param(  # beat tracking of a whole track
            "tone",
            {"file": "tone.wav", "sync": "beats"},
            "music.sync: found no beat to cut on in 'tone.wav'",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_a_music_file_that_cannot_be_used_is_a_field_error_and_nothing_is_written(
    tmp_path, capsys, make, music, expected
):
    if make == "text":
        (tmp_path / "notes.mp3").write_text("not a song\n" * 100)
    elif make == "image":
        from PIL import Image

        Image.new("RGB", (300, 300), (1, 2, 3)).save(tmp_path / "cover.png")
    elif make == "tone":  # a steady tone has no beat for the tracker to find
        tone_wav(tmp_path / "tone.wav", 6, 440)
    elif make == "long":
        tone_wav(tmp_path / "long.wav", 601, 220, rate=8000)
    elif make == "huge":
        with open(tmp_path / "huge.wav", "wb") as f:
            f.truncate(51 * 1024 * 1024)
    path = spec(tmp_path, music, "bad-track")
    data = tmp_path / "data"
    assert main(["render", str(path), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 2
    assert expected in capsys.readouterr().err
    assert not data.exists() and not (tmp_path / "dh").exists()


def test_the_spec_sensor_reads_the_track_beside_the_spec_and_a_new_track_is_a_change(tmp_path, settings, instance):
    """A spec dropped with its track beside it: missing track, a rejection naming `music.file`; the track
    appears: registered, its run stores it (the plan carries its sha256); a new track beside the
    unchanged spec: requested again."""
    from vidgen_tests.defs.test_sensor_references import plan_requested
    from vidgen_tests.defs.test_sensors import requested, spec_settings, tick

    settings = spec_settings(tmp_path, settings)
    specs = Path(settings.spec_dir)
    text = "prompt: p\nduration: 5\nresolution: 480p\nmusic: {file: music/song.wav}\n"
    (specs / "song-ad.yaml").write_text(text)
    assert requested(tick("spec_files", instance, settings)) == []
    record = (settings.data_dir / "rejected" / "song-ad.yaml.error.txt").read_text()
    assert "music.file: no file 'music/song.wav' in the spec's folder" in record
    (specs / "music").mkdir()
    tone_wav(specs / "music" / "song.wav", 6.0, 440.0)
    second = tick("spec_files", instance, settings)
    assert requested(second) == [("render_video", "song-ad")]
    plan_requested(second, settings, instance)
    plan = json.loads((settings.data_dir / "videos" / "song-ad" / "spec.json").read_text())
    stored = settings.data_dir / "videos" / "song-ad" / "music" / "track.wav"
    assert stored.read_bytes() == (specs / "music" / "song.wav").read_bytes()
    assert plan["music_track"]["file"] == "track.wav"
    tone_wav(specs / "music" / "song.wav", 6.0, 660.0)
    assert requested(tick("spec_files", instance, settings)) == [("render_video", "song-ad")]
