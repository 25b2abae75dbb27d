"""The one key layout, the same on local disk and in S3 (docs/architecture.md, "Storage": the file layout).

Keys are POSIX-style relative paths under the store's root. Per-video artifacts live under
`videos/<id>/`; each asset also writes a small JSON manifest (what it made, from what, at what cost)
after its files, so a manifest's presence means the artifact is complete.
"""

from __future__ import annotations

SPEC_SOURCE = "spec.source.yaml"
"""The spec as the user wrote it, saved when the video is registered."""
PLAN = "spec.json"
TRUNCATION_LOG = "logs/beat_truncation.log"

MANIFESTS = {
    "storyboard": "storyboard/storyboard.json",
    "music": "music.json",
    "stitched_video": "stitched.json",
    "final_video": "final.json",
    "voice": "voice/voice.json",
    "soundtrack": "soundtrack.json",
}


CONTACT_SHEET = "contact_sheet.png"
"""The storyboard as one picture (a preview: the references and each beat, captioned)."""


def video_prefix(video_id: str) -> str:
    return f"videos/{video_id}/"


def video_key(video_id: str, relative: str) -> str:
    return video_prefix(video_id) + relative


def storyboard_image(beat_index: int) -> str:
    return f"storyboard/beat_{beat_index:02d}.png"


def _take(take: int) -> str:
    """The part of a clip's file name that says its take: none for take 1, `.t<n>` for take n."""
    if take < 1:
        raise ValueError(f"takes are numbered from 1, got {take}")
    return "" if take == 1 else f".t{take}"


def chunk_video(chunk_index: int, take: int = 1) -> str:
    """A chunk's clip: take 1 is `chunks/chunk_003.mp4` (as before takes), take n `chunks/chunk_003.t<n>.mp4`.
    Every take is kept under its own name, never overwritten (Version 3, `qc`)."""
    return f"chunks/chunk_{chunk_index:03d}{_take(take)}.mp4"


def chunk_last_frame(chunk_index: int, take: int = 1) -> str:
    """The exact last frame of a chunk's take (what the next chunk of that take continues from)."""
    return f"chunks/chunk_{chunk_index:03d}{_take(take)}.last.png"


def takes_index(clip: str) -> str:
    """The list of every take of a clip, in the order made (`chunk_003` or the bridge key `b003`)."""
    if clip.startswith("chunk_"):
        return f"chunks/{clip}.takes.json"
    if clip.startswith("b") and clip[1:].isdigit():
        return f"bridges/{clip}.takes.json"
    raise ValueError(f"a clip is chunk_NNN or bNNN, got {clip!r}")


def pair_piece(pair: str) -> str:
    """The pair's piece of the final video (copy stitch mode): its beat, text burnt in."""
    return f"chunks/{pair}.piece.mp4"


def pair_edge(pair: str, side: str) -> str:
    """The frames a transition blends (copy stitch mode), kept losslessly: `head`, the beat's first
    frames under the transition into it; `tail`, its last frame and the frames it plays into the next."""
    if side not in ("head", "tail"):
        raise ValueError(f"an edge is 'head' or 'tail', got {side!r}")
    return f"chunks/{pair}.{side}.mp4"


def voice_line(key: str) -> str:
    """A voiceover line's clip as the mix places it (`line_02` is beat 2's line)."""
    return f"voice/{key}.wav"


def voice_line_manifest(key: str) -> str:
    """A voiceover line's own manifest: text, voice, measured length, speed-up, cost, fingerprint."""
    return f"voice/{key}.json"


def pair_manifest(pair: str) -> str:
    return f"chunks/{pair}.json"


def bridge_video(bridge: str, take: int = 1) -> str:
    """A bridge between two beats (`b003`: out of beat 3), exactly its planned frames; take n is
    `bridges/b003.t<n>.mp4`."""
    return f"bridges/{bridge}{_take(take)}.mp4"


def bridge_piece(bridge: str) -> str:
    """The bridge as the copy path joins it: the incoming beat's text burnt in, at final quality."""
    return f"bridges/{bridge}.piece.mp4"


def bridge_manifest(bridge: str) -> str:
    return f"bridges/{bridge}.json"


def manifest(asset: str, pair: str | None = None) -> str:
    """The manifest key (relative to the video) of an asset's output."""
    if asset == "chunk_pair":
        if pair is None:
            raise ValueError("chunk_pair manifests need a pair key")
        return pair_manifest(pair)
    if asset == "video_spec":
        return PLAN
    return MANIFESTS[asset]


def cache_key(digest: str, suffix: str) -> str:
    """The generation cache: an identical request is never paid twice."""
    return f"cache/{digest}{suffix}"


CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".mp4": "video/mp4",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".json": "application/json",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".yaml": "application/yaml",
    ".log": "text/plain",
    ".txt": "text/plain",
    ".html": "text/html",
}


def content_type(key: str) -> str:
    dot = key.rfind(".")
    return CONTENT_TYPES.get(key[dot:].lower(), "application/octet-stream") if dot >= 0 else "application/octet-stream"
