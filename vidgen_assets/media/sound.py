"""The voiceover's ffmpeg commands, built as data with ffmpeg-python (pure: argument lists, nothing run).

- `fit_speech`: a line's clip resampled to 48 kHz mono and, when it is too long for its beat, sped up
  with `atempo` (pitch kept).
- `soundtrack`: the music bed (volume, fades) ducked under the voice by `sidechaincompress` keyed by
  the voice track itself (the bed dips while a line is spoken and comes back after it, not a fixed cut),
  every line placed at its start with `adelay`, then a limiter so the mix never clips, cut and padded to
  exactly the video's length, AAC: ready to be muxed by stream copy.
- `mux_final`: the deliverable from a finished picture, a finished audio track and, for soft subtitles,
  an SRT turned into a `mov_text` track; video and audio are copied, not encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from vidgen_assets.media.commands import AUDIO_BITRATE, AUDIO_CHANNELS, AUDIO_RATE, decimal

SPEECH_RATE = 48000
# Ducking: while the voice is above THRESHOLD the bed is compressed by RATIO; ATTACK/RELEASE (ms) make the
# dip start within a syllable and recover over a breath after the line.
DUCK_THRESHOLD = 0.02
DUCK_RATIO = 10
DUCK_ATTACK_MS = 15
DUCK_RELEASE_MS = 350
LIMIT = 0.891
"""The limiter's ceiling: -1 dBFS, headroom for the AAC encoder."""


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
    audio = ffmpeg.input(str(src)).audio.filter("aresample", SPEECH_RATE)
    if tempo != 1.0:
        audio = audio.filter("atempo", f"{tempo:.3f}")
    if max_seconds is not None:
        audio = audio.filter("atrim", end=decimal(max_seconds))
    return list(ffmpeg.output(audio, str(out), ac=1, ar=SPEECH_RATE, acodec="pcm_s16le", f="wav").get_args())


def _bed(music: Path, volume: float, total: Fraction, fade_in_s: float, fade_out_s: float) -> Any:
    fade_in = min(Fraction(fade_in_s), total)
    fade_out = min(Fraction(fade_out_s), total)
    bed = (
        ffmpeg.input(str(music))
        .audio.filter("aformat", sample_rates=AUDIO_RATE, channel_layouts="stereo")
        .filter("volume", decimal(volume))
        .filter("atrim", end=decimal(total))
        .filter("asetpts", "PTS-STARTPTS")
        .filter("apad", whole_dur=decimal(total))
    )
    if fade_in > 0:
        bed = bed.filter("afade", t="in", st=0, d=decimal(fade_in))
    if fade_out > 0:
        bed = bed.filter("afade", t="out", st=decimal(total - fade_out), d=decimal(fade_out))
    return bed


def _voice(lines: Sequence[Placed], volume: float, total: Fraction, fps: int) -> Any:
    placed = []
    for line in lines:
        delay_ms = round(Fraction(line.start_frame, fps) * 1000)
        placed.append(
            ffmpeg.input(str(line.clip))
            .audio.filter("aformat", sample_rates=AUDIO_RATE, channel_layouts="stereo")
            .filter("adelay", delays=delay_ms, all=1)
        )
    voice = placed[0] if len(placed) == 1 else ffmpeg.filter(placed, "amix", inputs=len(placed), normalize=0)
    return (
        voice.filter("volume", decimal(volume))
        .filter("apad", whole_dur=decimal(total))
        .filter("atrim", end=decimal(total))
        .filter("asetpts", "PTS-STARTPTS")
    )


def soundtrack(
    music: Path | None,
    music_volume: float,
    fades: tuple[float, float],
    lines: Sequence[Placed],
    voice_volume: float,
    total_frames: int,
    fps: int,
    out: Path,
) -> list[str]:
    """The video's audio: the voice lines at their starts over the music bed ducked under them, limited,
    exactly `total_frames / fps` long, AAC in an M4A. Without `music`, the voice alone."""
    if not lines:
        raise ValueError("a soundtrack needs at least one voice line (without any, the music mix is the audio)")
    total = Fraction(total_frames, fps)
    voice = _voice(lines, voice_volume, total, fps)
    if music is None:
        mixed = voice
    else:
        split = voice.filter_multi_output("asplit", 2)
        ducked = ffmpeg.filter(
            [_bed(music, music_volume, total, *fades), split[0]], "sidechaincompress",
            threshold=DUCK_THRESHOLD, ratio=DUCK_RATIO, attack=DUCK_ATTACK_MS, release=DUCK_RELEASE_MS,
        )  # fmt: skip
        mixed = ffmpeg.filter([ducked, split[1]], "amix", inputs=2, normalize=0, duration="first")
    limited = (
        mixed.filter("alimiter", limit=LIMIT, level=0, latency=1)
        .filter("atrim", end=decimal(total))
        .filter("apad", whole_dur=decimal(total))
    )
    output = ffmpeg.output(
        limited, str(out), acodec="aac", audio_bitrate=AUDIO_BITRATE, ar=AUDIO_RATE, ac=AUDIO_CHANNELS,
        movflags="+faststart", f="mp4",
    )  # fmt: skip
    return list(output.get_args())


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
