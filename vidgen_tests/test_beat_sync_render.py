"""`music: {sync: beats}` end to end: the cuts of the delivered video, found on its decoded frames, land
on the music's beats, and the music's kicks are heard there."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import av
import numpy as np
import pytest

from vidgen_assets.cli import main
from vidgen_assets.media import probe

FPS = 24
BPM = 100  # a beat every 0.6 s: boundaries at 4 s and 8 s go to 4.2 s and 7.8 s
SPEC: dict[str, Any] = {
    "id": "on-beat", "prompt": "p", "duration": 12, "resolution": "480p", "fps": FPS,
    "music": {"bpm": BPM, "sync": "beats"},
    "beats": [
        {"name": "one", "duration": 4, "prompt": "a red bottle on a counter"},
        {"name": "two", "duration": 4, "prompt": "a blue glass by a window"},
        {"name": "three", "duration": 4, "prompt": "a green field at dawn"},
    ],
}  # fmt: skip


def cuts(path) -> list[int]:
    """The frames where the picture changes at once (a beat's first frame after a cut)."""
    frames = probe.read_frames(path, list(range(12 * FPS)))
    change = [float(np.abs(b.astype(int) - a.astype(int)).mean()) for a, b in pairwise(frames)]
    typical = float(np.median(change))
    return [i + 1 for i, c in enumerate(change) if c > 10 * typical + 5]


def onset_s(path, around_s: float) -> float:
    """The time of the sharpest rise of the audio's energy within 0.2 s of `around_s` (a kick's attack)."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=48000)
        samples = np.concatenate([o.to_ndarray()[0] for f in container.decode(audio=0) for o in resampler.resample(f)])
    hop = 48  # 1 ms
    energy = np.array([float(np.sum(samples[i : i + hop] ** 2)) for i in range(0, samples.size - hop, hop)])
    lo, hi = int((around_s - 0.2) * 1000), int((around_s + 0.2) * 1000)
    rise = np.diff(energy[lo:hi])
    return (lo + int(np.argmax(rise)) + 1) / 1000


@pytest.mark.slow
def test_cuts_land_on_the_beats_of_the_music(tmp_path, capsys):
    spec = tmp_path / "on-beat.json"
    spec.write_text(json.dumps(SPEC))
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "music sync: beat 1 (two) starts at 4.208 s, not 4.000 s: on beat 7 of the music (4.200 s at 100 bpm)" in out
    assert (
        "music sync: beat 2 (three) starts at 7.792 s, not 8.000 s: on beat 13 of the music (7.800 s at 100 bpm)" in out
    )
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0
    final = data / "videos" / "on-beat" / "final.mp4"
    info = probe.probe(final)
    assert info.frames == 12 * FPS  # still `duration` to the frame
    found = cuts(final)
    assert found == [round(4.2 * FPS), round(7.8 * FPS)]
    period = 60 / BPM
    for frame in found:
        beat = round(frame / FPS / period)
        assert abs(frame / FPS - beat * period) <= 1 / FPS  # within one frame of a beat
        assert abs(onset_s(final, frame / FPS) - beat * period) < 0.03  # and the kick is heard there


def test_sync_is_refused_with_a_models_music_which_exists_only_after_the_cuts_are_planned(tmp_path, capsys):
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({**SPEC, "backend": "replicate"}))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "music: beat sync with a model's music is not supported: the cuts are planned before the clips" in err
    assert "Use your own track (music: {file: ..., sync: beats}" in err


@pytest.mark.slow
def test_cuts_land_on_the_tracked_beats_of_the_users_own_track(tmp_path, capsys):
    """A generated click track at 112 bpm (a beat every 0.536 s: 12.86 frames at 24 fps, so the beats fall
    between frames) from 0.1 s: the boundaries at 4 s and 8 s move to its beats at 3.85 s and 8.14 s."""
    from vidgen_tests.media.test_beats import click_track

    true = click_track(tmp_path / "clicks.wav", 112, 0.1, 13.0)
    spec = tmp_path / "own-beat.json"
    spec.write_text(json.dumps({**SPEC, "id": "own-beat", "music": {"file": "clicks.wav", "sync": "beats"}}))
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "music sync: beat 1 (two) starts at 3.833 s, not 4.000 s: on your track's beat at 3.8" in out
    assert "music sync: beat 2 (three) starts at 8.125 s, not 8.000 s: on your track's beat at 8.1" in out
    assert "beats tracked from" in out
    assert "boundaries moved onto it: 4s -> 3.833s, 8s -> 8.125s" in out
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0
    video = data / "videos" / "own-beat"
    final = video / "final.mp4"
    assert probe.probe(final).frames == 12 * FPS  # still `duration` to the frame
    plan = json.loads((video / "spec.json").read_text())
    tracked = plan["music_track"]["beats"]
    assert tracked == json.loads((video / "music" / "track.json").read_text())["beats"]  # stored with the video
    found = cuts(final)
    assert found == [b["start_frame"] for b in plan["beats"][1:]]
    for frame, unsynced in zip(found, (4.0, 8.0), strict=True):
        at = frame / FPS
        assert min(abs(at - t) for t in tracked) <= 1 / FPS  # within one frame of a tracked beat
        assert min(abs(at - t) for t in true) <= 1 / FPS  # and of the track's real beat
        assert 0 < abs(at - unsynced) <= 0.5  # moved, at most half a second
        beat = min(true, key=lambda t: abs(t - at))
        assert abs(onset_s(final, at) - beat) < 0.03  # the click is heard there
