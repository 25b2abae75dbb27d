"""Reference images: read them beside the spec, refuse bad ones with field errors, store them with the video.

A spec's `references:` name images by paths relative to the spec file: a local folder, or the spec's S3
prefix for the spec-file sensor. They are read and checked when the video is registered (`vidgen
validate` / `render`, or the sensor), copied into the store as `videos/<id>/references/<name>.<ext>`
with a small manifest, and from then on the plan carries each one's sha256 (`Plan.references`): a render
never reads the spec folder again, and every cache key of a call that uses a reference includes its hash.
"""

from __future__ import annotations

import io
import json
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from vidgen_assets.core.fingerprint import digest_bytes
from vidgen_assets.core.plan import Plan, PlannedReference
from vidgen_assets.core.spec import FieldError, Spec, SpecError
from vidgen_assets.storage import layout
from vidgen_assets.storage.store import ArtifactStore

MAX_BYTES = 20 * 1024 * 1024
MIN_SHORT_SIDE = 256
FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
"""Pillow's format name -> the stored file's extension."""
MAX_PIXELS = 64_000_000
"""A larger picture is refused before it is decoded (a 20 MB file can still claim billions of pixels)."""
REFERENCES_DIR = "references/"
MANIFEST = "references/references.json"

Reader = Callable[[str], bytes]
"""Reads a path relative to the spec's folder (already checked to stay inside it); raises
FileNotFoundError when there is no such file, or `TooLarge`."""


class TooLarge(Exception):
    def __init__(self, size: int, limit: int = MAX_BYTES) -> None:
        super().__init__(size)
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class LoadedReference:
    """A reference image read and checked, ready to store: its plan entry and its bytes."""

    planned: PlannedReference
    data: bytes


def reference_key(video_id: str, file: str) -> str:
    return layout.video_key(video_id, REFERENCES_DIR + file)


def inside_folder(image: str, folder: Path | None) -> str | None:
    """`image` as a POSIX path relative to the spec's folder, or None when it leaves it.

    `folder` is the spec's local folder (absolute paths and symlinks are resolved against it); None for
    a folder that is an S3 prefix, where only relative paths that stay below it are allowed."""
    if folder is not None:
        base = folder.resolve()
        target = Path(image) if Path(image).is_absolute() else base / image
        try:
            return target.resolve().relative_to(base).as_posix()
        except ValueError:
            return None
    if image.startswith("/") or "\\" in image:
        return None
    normal = posixpath.normpath(image)
    if normal == ".." or normal.startswith("../") or normal in (".", ""):
        return None
    return normal


def local_reader(folder: Path, max_bytes: int = MAX_BYTES) -> Reader:
    def read(relative: str) -> bytes:
        path = folder / relative
        if not path.is_file():
            raise FileNotFoundError(relative)
        size = path.stat().st_size
        if size > max_bytes:
            raise TooLarge(size, max_bytes)
        return path.read_bytes()

    return read


def store_reader(store: ArtifactStore, max_bytes: int = MAX_BYTES) -> Reader:
    """Files in a store over the spec folder (the sensor's local folder or S3 prefix)."""

    def read(relative: str) -> bytes:
        if not store.exists(relative):
            raise FileNotFoundError(relative)
        data = store.get_bytes(relative)
        if len(data) > max_bytes:
            raise TooLarge(len(data), max_bytes)
        return data

    return read


def inspect_image(data: bytes) -> tuple[str, int, int, bool]:
    """(extension, width, height, has_alpha) of a whole PNG/JPEG/WEBP; ValueError saying what is wrong."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or "unknown"
            if kind not in FORMATS:
                raise ValueError(f"is a {kind} image; allowed: PNG, JPEG or WEBP")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValueError(f"is {width}x{height} pixels; at most {MAX_PIXELS:,} pixels are allowed")
            image.load()  # decodes every pixel: a truncated or damaged file fails here
            alpha = _has_transparency(image)
    except UnidentifiedImageError:
        raise ValueError("is not an image; allowed: PNG, JPEG or WEBP") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"is a truncated or damaged image ({exc})") from None
    return FORMATS[kind], width, height, alpha


def _has_transparency(image: Image.Image) -> bool:
    """Whether any pixel is not fully opaque (an alpha channel that is all 255 cuts nothing out)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        low = image.convert("RGBA").getchannel("A").getextrema()[0]
        return isinstance(low, int) and low < 255
    return False


def read_beside(
    path: str, field: str, folder: Path | None, read: Reader, what: str
) -> tuple[bytes | None, FieldError | None]:
    """A file the spec names (`path`, relative to its folder) as bytes, or the field error saying why not:
    it leaves the folder, is missing, too large or unreadable. `what` names it in the message."""
    where = "the spec's folder" if folder is None else f"the spec's folder ({folder})"
    relative = inside_folder(path, folder)
    if relative is None:
        return None, FieldError(field, f"{path!r} leaves {where}; put the {what} in that folder or below it")
    try:
        return read(relative), None
    except FileNotFoundError:
        return None, FieldError(field, f"no file {path!r} in {where}")
    except TooLarge as big:
        return None, FieldError(field, f"{path!r} is {_mb(big.size)}; at most {_mb(big.limit)} is allowed")
    except OSError as exc:
        return None, FieldError(field, f"cannot read {path!r}: {exc.strerror or exc}")


def read_references(spec: Spec, source: str, folder: Path | None, read: Reader) -> tuple[LoadedReference, ...]:
    """Every reference of `spec` read and checked; SpecError listing each bad one by field."""
    loaded = []
    errors = []
    for name, ref in spec.references.items():
        field = f"references.{name}.image"
        data, problem = read_beside(ref.image, field, folder, read, "image")
        if data is None:
            errors += [problem] if problem else []
            continue
        try:
            ext, width, height, alpha = inspect_image(data)
        except ValueError as exc:
            errors.append(FieldError(field, f"{ref.image!r} {exc}"))
            continue
        if min(width, height) < MIN_SHORT_SIDE:
            errors.append(
                FieldError(
                    field,
                    f"{ref.image!r} is {width}x{height}; its short side must be at least {MIN_SHORT_SIDE} px",
                )
            )
            continue
        planned = PlannedReference(
            name=name, file=f"{name}.{ext}", sha256=digest_bytes(data), describe=ref.describe, width=width,
            height=height, has_alpha=alpha,
        )  # fmt: skip
        loaded.append(LoadedReference(planned, data))
    if errors:
        raise SpecError(source, errors)
    return tuple(loaded)


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def read_local_references(spec: Spec, spec_path: Path) -> tuple[LoadedReference, ...]:
    """The references of a spec file on local disk, relative to its folder."""
    folder = spec_path.absolute().parent
    return read_references(spec, str(spec_path), folder, local_reader(folder))


def store_references(store: ArtifactStore, video_id: str, loaded: Iterable[LoadedReference]) -> None:
    """Copy the references into the video's store (unchanged files are not written again), manifest last."""
    entries = []
    for ref in loaded:
        key = reference_key(video_id, ref.planned.file)
        if not store.exists(key) or digest_bytes(store.get_bytes(key)) != ref.planned.sha256:
            store.put_bytes(key, ref.data)
        entries.append(ref.planned.model_dump(mode="json"))
    data = json.dumps(entries, indent=2, sort_keys=True).encode("utf-8")
    manifest = layout.video_key(video_id, MANIFEST)
    if not entries and not store.exists(manifest):
        return
    if not store.exists(manifest) or store.get_bytes(manifest) != data:
        store.put_bytes(manifest, data)


def stored_references(store: ArtifactStore, spec: Spec) -> tuple[PlannedReference, ...]:
    """The references of a registered video, as stored; ValueError when they do not match its spec."""
    if not spec.references:
        return ()
    key = layout.video_key(spec.id, MANIFEST)
    if not store.exists(key):
        raise ValueError(
            f"video {spec.id!r} uses references ({', '.join(spec.references)}) but none were registered with it "
            f"(expected {store.uri(key)}); register the spec with `vidgen render` or the spec-file sensor"
        )
    entries = {e["name"]: PlannedReference.model_validate(e) for e in json.loads(store.get_bytes(key))}
    out = []
    for name, ref in spec.references.items():
        planned = entries.get(name)
        if planned is None:
            raise ValueError(f"references.{name}: not registered with video {spec.id!r} ({store.uri(key)})")
        out.append(planned.model_copy(update={"describe": ref.describe}))
    return tuple(out)


def with_references(plan: Plan, references: Iterable[PlannedReference]) -> Plan:
    """The plan with its references filled in (a plan is built from the spec alone)."""
    return plan.model_copy(update={"references": tuple(references)})


def beat_reference_paths(plan: Plan, names: Iterable[str], store: ArtifactStore) -> list[tuple[PlannedReference, Path]]:
    """The stored references a beat uses, with local paths to their files (downloaded for an S3 store)."""
    out = []
    for name in names:
        ref = plan.reference(name)
        if ref is None:
            raise ValueError(f"the plan of video {plan.video_id!r} has no reference {name!r}")
        out.append((ref, store.local_path(reference_key(plan.video_id, ref.file))))
    return out
