"""The S3 store against a real S3-compatible HTTP server (moto on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings, SettingsError
from vidgen_assets.storage.s3 import MAX_ATTEMPTS, S3Store
from vidgen_assets.storage.store import StoreError
from vidgen_tests.conftest import S3Server, free_port


def test_objects_round_trip_with_content_types(s3: S3Server, tmp_path: Path):
    store = S3Store(s3.bucket, "team-a", cache_dir=tmp_path / "cache")
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    store.put_file("videos/v/storyboard/beat_00.png", png)
    store.put_bytes("videos/v/spec.json", b'{"a": 1}')
    assert s3.keys() == ["team-a/videos/v/spec.json", "team-a/videos/v/storyboard/beat_00.png"]
    head = s3.client().head_object(Bucket=s3.bucket, Key="team-a/videos/v/storyboard/beat_00.png")
    assert head["ContentType"] == "image/png"
    assert (
        s3.client().head_object(Bucket=s3.bucket, Key="team-a/videos/v/spec.json")["ContentType"] == "application/json"
    )
    assert store.get_bytes("videos/v/spec.json") == b'{"a": 1}'
    assert store.exists("videos/v/spec.json") and not store.exists("videos/v/nothing.json")
    assert store.list("videos/v/") == ["videos/v/spec.json", "videos/v/storyboard/beat_00.png"]
    assert store.uri("videos/v/spec.json") == f"s3://{s3.bucket}/team-a/videos/v/spec.json"
    local = store.local_path("videos/v/storyboard/beat_00.png")
    assert local.read_bytes() == png.read_bytes()
    assert store.local_path("videos/v/storyboard/beat_00.png") == local  # cached by version
    store.put_bytes("videos/v/storyboard/beat_00.png", b"\x89PNG changed")
    assert store.local_path("videos/v/storyboard/beat_00.png").read_bytes() == b"\x89PNG changed"
    with pytest.raises(FileNotFoundError) as missing:
        store.get_bytes("videos/v/gone.json")
    assert str(missing.value) == f"no object at s3://{s3.bucket}/team-a/videos/v/gone.json"


def test_a_missing_bucket_is_one_clear_error(s3: S3Server, tmp_path: Path):
    store = S3Store("no-such-bucket", cache_dir=tmp_path)
    with pytest.raises(StoreError) as caught:
        store.put_bytes("videos/v/spec.json", b"{}")
    assert f"bucket 'no-such-bucket' does not exist at {s3.endpoint}" in str(caught.value)


def test_an_unreachable_endpoint_is_one_clear_error_after_bounded_attempts(s3: S3Server, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    store = S3Store(s3.bucket, cache_dir=tmp_path)
    attempts: list[str] = []
    store.client.meta.events.register("before-send.s3", lambda request, **_: attempts.append(request.url))
    with pytest.raises(StoreError) as caught:
        store.check()
    assert "cannot reach the S3 endpoint http://127.0.0.1:" in str(caught.value)
    # The first try and MAX_ATTEMPTS retries, then the error: botocore counts `retries.max_attempts` as
    # retries after the first try (dagster-aws's S3Resource says the first is included; it is not).
    assert len(attempts) == 1 + MAX_ATTEMPTS, attempts


def test_settings_choose_s3_in_one_place(s3: S3Server, tmp_path: Path):
    settings = Settings.from_env({"VIDGEN_STORAGE": "s3", "VIDGEN_S3_BUCKET": s3.bucket, "VIDGEN_S3_PREFIX": "/p/"})
    store = settings.store()
    assert isinstance(store, S3Store) and (store.bucket, store.prefix) == (s3.bucket, "p")
    with pytest.raises(SettingsError, match="VIDGEN_S3_BUCKET"):
        Settings.from_env({"VIDGEN_STORAGE": "s3"})
    with pytest.raises(SettingsError, match="VIDGEN_STORAGE='ftp': Input should be 'local' or 's3'"):
        Settings.from_env({"VIDGEN_STORAGE": "ftp"})


TWO_BEATS = """
id: s3-video
prompt: stored in a bucket
duration: 10
resolution: 480p
beats:
  - {name: one, duration: 5, prompt: first, camera: push_in, transition: fade, text: "Hello"}
  - {name: two, duration: 5, prompt: second, camera: pan_left}
cta: Done
"""


@pytest.mark.slow
def test_a_whole_render_with_s3_storage(s3: S3Server, tmp_path: Path, home: Path):
    settings = Settings(
        data_dir=tmp_path / "unused", storage="s3", s3_bucket=s3.bucket, s3_prefix="renders",
        work_dir=tmp_path / "work", max_parallel_pairs=2,
    )  # fmt: skip
    report = Runner(settings, home, progress=lambda _: None).render(read_spec_text(TWO_BEATS, "s3.yaml"), TWO_BEATS)
    assert report.final_uri == f"s3://{s3.bucket}/renders/videos/s3-video/final.mp4"
    prefix = "renders/videos/s3-video/"
    assert s3.keys(prefix) == [
        prefix + key
        for key in (
            "chunks/chunk_000.last.png", "chunks/chunk_000.mp4", "chunks/chunk_000.takes.json",
            "chunks/chunk_001.last.png", "chunks/chunk_001.mp4", "chunks/chunk_001.takes.json",
            "chunks/p000.json", "chunks/p000.piece.mp4", "chunks/p000.tail.mp4",
            "chunks/p001.head.mp4", "chunks/p001.json", "chunks/p001.piece.mp4", "contact_sheet.png",
            "final.json", "final.mp4", "final.otio", "music.json", "music.m4a", "music.wav", "report.html",
            "soundtrack.json", "spec.json", "spec.source.yaml", "stitched.json", "stitched.mp4",
            "storyboard/beat_00.png", "storyboard/beat_01.png", "storyboard/storyboard.json",
            "titles/beat_00.png", "titles/cta.png", "voice/voice.json",
        )
    ]  # fmt: skip
    client = s3.client()
    assert client.head_object(Bucket=s3.bucket, Key=prefix + "final.mp4")["ContentType"] == "video/mp4"
    assert client.head_object(Bucket=s3.bucket, Key=prefix + "music.wav")["ContentType"] == "audio/wav"
    assert client.head_object(Bucket=s3.bucket, Key=prefix + "music.m4a")["ContentType"] == "audio/mp4"
    final = json.loads(client.get_object(Bucket=s3.bucket, Key=prefix + "final.json")["Body"].read())
    assert (final["frames"], final["width"], final["height"], final["audio"]) == (240, 854, 480, True)
    assert not (tmp_path / "unused").exists()  # nothing went to local storage


def test_the_client_comes_from_the_dagster_s3_resource(s3: S3Server, tmp_path: Path, monkeypatch):
    import dagster as dg
    from dagster_aws.s3 import S3Resource

    from vidgen_assets.defs import build_resources

    # The resource's own config wins over the environment...
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    store = S3Store(s3.bucket, "p", cache_dir=tmp_path, s3=S3Resource(endpoint_url=s3.endpoint, max_attempts=1))
    store.put_bytes("videos/v/spec.json", b"{}")
    assert s3.keys() == ["p/videos/v/spec.json"] and store.list("videos/") == ["videos/v/spec.json"]
    # ...and without one, the standard AWS settings of the environment apply.
    with pytest.raises(StoreError, match=r"cannot reach the S3 endpoint http://127\.0\.0\.1:"):
        S3Store(s3.bucket, cache_dir=tmp_path).check()
    # In Dagster, the store's client is the `s3` resource's (shown in the UI as `s3`).
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    settings = Settings(data_dir=tmp_path, storage="s3", s3_bucket=s3.bucket)
    resources = build_resources(settings)
    # Configurable at launch (vidgen_tests/defs/test_resources.py).
    assert issubclass(resources["s3"].resource_cls, S3Resource)
    with dg.build_resources(resources) as ready:
        assert isinstance(ready.vidgen.s3, S3Resource)  # Dagster hands vidgen the `s3` resource itself...
        ready.vidgen.store().put_bytes("videos/w/spec.json", b"{}")  # ...and the store's client comes from it
    assert s3.keys("videos/w/") == ["videos/w/spec.json"]


def test_a_local_store_makes_no_s3_client(tmp_path: Path):
    """The `s3` resource's client is made when an S3 store needs it: on a local store a run makes none,
    so an `s3` configured with an endpoint boto3 refuses costs it nothing."""
    import dagster as dg

    from vidgen_assets.defs import build_resources

    bad = {"s3": {"config": {"endpoint_url": "not a url"}}}
    with dg.build_resources(build_resources(Settings(data_dir=tmp_path)), resource_config=bad) as ready:
        with pytest.raises(ValueError, match="not a url"):
            ready.s3.get_client()  # what a run would pay at its start if the client were made there
        ready.vidgen.store().put_bytes("videos/w/spec.json", b"{}")
    assert (tmp_path / "videos" / "w" / "spec.json").read_bytes() == b"{}"
