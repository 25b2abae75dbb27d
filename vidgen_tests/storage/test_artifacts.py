"""What a later run trusts: an output is whole only when its manifest exists and every file it lists does."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, cached_artifacts, load_artifacts, save_artifacts
from vidgen_assets.storage.store import LocalStore


def make(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_saved_artifacts_load_back_and_answer_the_cache(tmp_path):
    store = LocalStore(tmp_path / "root")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = Artifacts("v", "chunks/p000.json", {"chunks/chunk_000.mp4": make(scratch, "c.mp4", b"video")},
                    {"fingerprint": "abc", "cost_usd": 0.1}, scratch)  # fmt: skip
    written = save_artifacts(store, out)
    assert written == ["videos/v/chunks/chunk_000.mp4", "videos/v/chunks/p000.json"]  # manifest last
    assert not scratch.exists()
    loaded = load_artifacts(store, "v", "chunks/p000.json")
    assert loaded is not None and loaded.path("chunks/chunk_000.mp4").read_bytes() == b"video"
    assert loaded.record["cost_usd"] == 0.1
    assert cached_artifacts(store, "v", "chunks/p000.json", "abc") is not None
    assert cached_artifacts(store, "v", "chunks/p000.json", "other inputs") is None


def test_files_without_their_manifest_are_not_trusted(tmp_path):
    store = LocalStore(tmp_path)
    store.put_bytes(layout.video_key("v", "chunks/chunk_000.mp4"), b"video")  # the upload stopped here
    assert load_artifacts(store, "v", "chunks/p000.json") is None
    assert cached_artifacts(store, "v", "chunks/p000.json", "abc") is None


def test_a_manifest_whose_files_are_gone_is_not_a_cache_hit(tmp_path):
    store = LocalStore(tmp_path / "root")
    out = Artifacts("v", "music.json", {"music.wav": make(tmp_path, "m.wav", b"RIFF")}, {"fingerprint": "abc"})
    save_artifacts(store, out)
    (tmp_path / "root" / "videos" / "v" / "music.wav").unlink()
    assert cached_artifacts(store, "v", "music.json", "abc") is None


def test_an_interrupted_local_write_leaves_neither_object_nor_temp_file(tmp_path):
    store = LocalStore(tmp_path / "root")
    store.put_bytes("videos/v/final.mp4", b"the old, whole file")
    with pytest.raises(IsADirectoryError):
        store.put_file("videos/v/final.mp4", tmp_path)  # the copy fails part-way
    folder = tmp_path / "root" / "videos" / "v"
    assert [p.name for p in folder.iterdir()] == ["final.mp4"]
    assert (folder / "final.mp4").read_bytes() == b"the old, whole file"


@pytest.mark.parametrize("key", ["../escape", "/abs", "videos/../../x", "videos/v/"])
def test_keys_cannot_escape_the_root(tmp_path, key):
    with pytest.raises(ValueError, match="invalid store key"):
        LocalStore(tmp_path).put_bytes(key, b"x")
