"""The voiceover's ffmpeg commands, built as data with ffmpeg-python (pure: argument lists, nothing run).

- `fit_speech`: a line's clip resampled to 48 kHz mono and, when it is too long for its beat, sped up
  with `atempo` (pitch kept).
- `voice_track`: every line placed at its start (`adelay`), one WAV of exactly the video's length; the
  music is ducked under it by `commands.voice_over_music` (`sidechaincompress` keyed by this track, then
  a limiter), or, with `music: false`, it is the soundtrack alone (`voice_alone`, limited the same way).
- `mux_final`: the deliverable from a finished picture, a finished audio track and, for soft subtitles,
  an SRT turned into a `mov_text` track; video and audio are copied, not encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg

from vidgen_assets.media import commands
from vidgen_assets.media.commands import AUDIO_RATE, decimal

SPEECH_RATE = 48000
SPEECH_LUFS = -16


@dataclass(frozen=True)
class Placed:
    """A voice clip and the frame where it starts in the video."""

    clip: Path
    start_frame: int


def fit_speech(src: Path, out: Path, tempo: float = 1.0, max_seconds: float | None = None) -> list[str]:
    """A speech clip as the mix places it: 48 kHz mono 16-bit WAV, `tempo` times faster (1.0 = as spoken),
    never longer than `max_seconds` (resampling can add a few samples of tail: they are cut)."""
    if not 0.5 <= tempo <= 2.0:
        raise ValueError(f"atempo takes 0.5..2.0, got {tempo}")
    # Every engine's speech at one loudness (EBU R128, -16 LUFS, peaks under -1.5 dBTP): the ducking
    # and the mix then behave the same whatever spoke the line.
    audio = (
        ffmpeg.input(str(src)).audio.filter("loudnorm", i=SPEECH_LUFS, tp=-1.5, lra=11).filter("aresample", SPEECH_RATE)
    )
    if tempo != 1.0:
        audio = audio.filter("atempo", f"{tempo:.3f}")
    if max_seconds is not None:
        audio = audio.filter("atrim", end=decimal(max_seconds))
    return list(ffmpeg.output(audio, str(out), ac=1, ar=SPEECH_RATE, acodec="pcm_s16le", f="wav").get_args())


def voice_track(lines: Sequence[Placed], total_frames: int, fps: int, out: Path) -> list[str]:
    """Every line at its start (`adelay`), silence between, one 48 kHz mono WAV of exactly
    `total_frames / fps`: the voice track `commands.voice_over_music` ducks the music under."""
    if not lines:
        raise ValueError("a voice track needs at least one line")
    total = Fraction(total_frames, fps)
    placed = [
        ffmpeg.input(str(line.clip)).audio.filter("adelay", delays=round(Fraction(line.start_frame, fps) * 1000), all=1)
        for line in lines
    ]
    voice = placed[0] if len(placed) == 1 else ffmpeg.filter(placed, "amix", inputs=len(placed), normalize=0)
    exact = voice.filter("apad", whole_dur=decimal(total)).filter("atrim", end=decimal(total))
    return list(ffmpeg.output(exact, str(out), ac=1, ar=SPEECH_RATE, acodec="pcm_s16le", f="wav").get_args())


def voice_alone(voice: Path, out: Path, volume: float, total_frames: int, fps: int) -> list[str]:
    """The voice track as the whole soundtrack (`music: false`): at `volume`, limited like the mix
    (`commands.MIX_LIMIT`), exactly `total_frames / fps`, as a WAV to be finished to the loudness target."""
    total = Fraction(total_frames, fps)
    limited = (
        ffmpeg.input(str(voice))
        .audio.filter("aformat", sample_rates=AUDIO_RATE, channel_layouts="stereo")
        .filter("volume", decimal(volume))
        .filter("apad", whole_dur=decimal(total + commands.LIMITER_TAIL_S))
        .filter("alimiter", limit=commands.MIX_LIMIT, level=0, latency=1)
        .filter("atrim", end=decimal(total))
    )
    return list(ffmpeg.output(limited, str(out), vn=None, **commands.wav_mix()).get_args())


def mux_final(video: Path, audio: Path | None, subtitles: Path | None, out: Path) -> list[str]:
    """The deliverable from a finished picture and audio track (both stream-copied) and, when given, an
    SRT file as a `mov_text` subtitle track."""
    args = ["-i", str(video)]
    maps = ["-map", "0:v"]
    if audio is not None:
        args += ["-i", str(audio)]
        maps += ["-map", "1:a"]
    codecs = ["-c:v", "copy", "-c:a", "copy"] if audio is not None else ["-c:v", "copy", "-an"]
    if subtitles is not None:
        args += ["-f", "srt", "-i", str(subtitles)]
        maps += ["-map", f"{2 if audio is not None else 1}:s"]
        codecs += ["-c:s", "mov_text", "-metadata:s:s:0", "handler_name=Voiceover"]
    return [*args, *maps, *codecs, "-movflags", "+faststart", "-f", "mp4", str(out)]
