"""Fetching a prediction's output: find the file in the output, download it whole within a time and
size limit, and trust it only once its magic bytes and its content say it is the media expected."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image
from replicate.helpers import FileOutput

from vidgen_assets.backends.replicate_retry import Clock, Permanent, Transient
from vidgen_assets.media import probe
from vidgen_assets.media.runner import MediaError

MEDIA_KINDS = {
    "image": ("png", "jpg", "webp"),
    "video": ("mp4", "mov", "webm"),
    "audio": ("wav", "mp3"),
    "clip": ("mp4", "mov", "webm", "webp", "gif", "png", "jpg"),
    "sound": ("wav", "mp3", "flac", "ogg"),
}
"""What each kind of download may be. `clip`: anything ComfyUI's save nodes write for a moving picture
(video files, an animated WebP or GIF, or one frame of an image sequence); `sound`: its audio nodes'."""


@dataclass(frozen=True)
class Limits:
    connect_s: float = 10.0
    read_s: float = 60.0
    """A read that stalls this long is a timeout (and is retried)."""
    download_s: float = 600.0
    """The longest one download may take in all."""
    max_download_bytes: int = 512 * 1024 * 1024
    data_uri_max_bytes: int = 1024 * 1024
    """Start images up to this size are sent inline as data URIs; larger ones are uploaded first."""
    deadline_s: int | None = 1800
    """Sent as `Cancel-After` on every create: Replicate cancels (or, before it starts, aborts) a
    prediction still unfinished then. None sends no deadline."""
    wait_s: int = 60
    """`Prefer: wait=N` on create: the API holds the request up to N s (1-60) for the prediction to end."""


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file announce: png, jpg, webp, gif, mp4, mov, webm, wav, mp3,
    flac, ogg."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "mov"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def output_url(output: Any) -> str:
    """The first file of a prediction's output: a `FileOutput`, a URL string, or a list of either."""
    if isinstance(output, FileOutput):
        return output.url
    if isinstance(output, str):
        return output
    if isinstance(output, list | tuple) and output:
        return output_url(output[0])
    if isinstance(output, dict):
        for value in output.values():
            try:
                return output_url(value)
            except ValueError:
                continue
    raise ValueError(f"the prediction's output holds no file URL: {str(output)[:200]!r}")


def output_text(output: Any) -> str:
    """A language model's output: a list of tokens (joined) or a string."""
    if isinstance(output, str):
        return output
    if isinstance(output, list | tuple):
        return "".join(str(part) for part in output)
    raise ValueError(f"the prediction's output is not text: {str(output)[:200]!r}")


def check_content(path: Path, kind: str) -> None:
    """Decode enough of the file to know it is whole; a broken file is transient (download again)."""
    try:
        if kind == "image" or (kind == "clip" and sniff(path.read_bytes()[:16]) in ("webp", "gif", "png", "jpg")):
            with Image.open(path) as image:
                for index in range(getattr(image, "n_frames", 1)):  # every frame of an animation decodes
                    image.seek(index)
                    image.load()
            return
        info = probe.probe(path)
    except (OSError, MediaError, SyntaxError, ValueError) as exc:
        raise Transient(f"the downloaded {kind} does not decode: {str(exc).splitlines()[0]}") from None
    if kind in ("video", "clip") and info.frames < 1:
        raise Transient("the downloaded video has no frames")
    if kind in ("audio", "sound") and not info.has_audio:
        raise Transient("the downloaded audio has no audio stream")


class Downloader:
    """Downloads outputs over `http`; the API token goes only to the API's own origin (`base_url`)."""

    def __init__(self, http: httpx.Client, limits: Limits, clock: Clock, token: str, base_url: str) -> None:
        self.http = http
        self.limits = limits
        self.clock = clock
        self._token = token
        self.base_url = base_url

    def same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def download(self, url: str, dest: Path, kind: str) -> str:
        """Download `url` to `dest` whole (timeout, size cap), check its type and content; return its ext."""
        cap = self.limits.max_download_bytes
        if url.startswith("data:"):
            # Small outputs may come inline (`data:video/mp4;base64,...`) instead of as a file URL.
            header, _, payload = url.partition(",")
            if len(payload) * 3 // 4 > cap:
                raise Permanent(f"the inline output is over the {cap}-byte cap")
            try:
                data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else payload.encode()
            except ValueError:
                raise Permanent("the inline (data:) output is not valid base64") from None
            dest.write_bytes(data)
        else:
            headers = {"Authorization": f"Bearer {self._token}"} if self._token and self.same_origin(url) else {}
            start = self.clock.monotonic()
            with self.http.stream("GET", url, headers=headers) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise Transient(f"download answered HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise Permanent(f"download answered HTTP {response.status_code}")
                length = response.headers.get("content-length")
                if length is not None and int(length) > cap:
                    raise Permanent(f"the output is {int(length)} bytes, over the {cap}-byte cap")
                received = 0
                with dest.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        received += len(chunk)
                        if received > cap:
                            raise Permanent(f"the output is over the {cap}-byte cap")
                        if self.clock.monotonic() - start > self.limits.download_s:
                            raise Transient(f"the download took over {self.limits.download_s:g} s")
                        handle.write(chunk)
            if length is not None and received != int(length):
                raise Transient(f"truncated download: {received} of {length} bytes")
        with dest.open("rb") as handle:
            head = handle.read(16)
        found = sniff(head)
        if found not in MEDIA_KINDS[kind]:
            shown = head[:12].decode("latin-1").encode("unicode_escape").decode("ascii")
            raise Transient(
                f"expected {kind} ({'/'.join(MEDIA_KINDS[kind])}), got {found or 'unknown content'} starting {shown!r}"
            )
        check_content(dest, kind)
        return str(found)
