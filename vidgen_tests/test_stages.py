"""The two stitch paths side by side: the copy path must give the full re-encode's video."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from vidgen_assets import stages
from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.core.planner import plan_spec
from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.media import ops, probe
from vidgen_assets.storage import layout
from vidgen_assets.storage.artifacts import Artifacts, load_artifacts, save_artifacts
from vidgen_assets.storage.store import LocalStore

SPEC = """
id: two-paths
prompt: both stitch paths
duration: 15
aspect_ratio: "1:1"
resolution: 480p
fps: 25
beats:
  - {name: one, duration: 4, prompt: first, camera: push_in, transition: fade, text: "First: 100% \\"quoted\\""}
  - {name: two, duration: 7, prompt: second, camera: pan_left, transition: dissolve, transition_duration: 1}
  - {name: three, duration: 4, prompt: third, camera: pull_out, text: "Third"}
music: {bpm: 120}
cta: "The end"
"""


def render(tmp_path, mode):
    plan = plan_spec(read_spec_text(SPEC, "two-paths.yaml"), 2.0)  # 2 s chunks: the 7 s beat has 4
    store = LocalStore(tmp_path / mode)
    backend = AnimaticBackend(chunk_seconds=2.0)

    def scratch(name):
        path = tmp_path / "scratch" / mode / name
        path.mkdir(parents=True)
        return path

    def saved(out: Artifacts) -> Artifacts:
        """Store an output as the IO manager does and load it back as a downstream asset sees it."""
        save_artifacts(store, out)
        loaded = load_artifacts(store, plan.video_id, out.manifest)
        assert loaded is not None
        return loaded

    board = saved(stages.storyboard(plan, backend, store, scratch("storyboard")))
    pairs = {}
    for beat in plan.beats:
        image = board.path(layout.storyboard_image(beat.index))
        pairs[beat.pair_key] = saved(stages.chunk_pair(plan, beat, image, backend, store, scratch(beat.pair_key), mode))
    music = saved(stages.music(plan, backend, store, scratch("music")))
    stitched = saved(stages.stitched_video(plan, pairs, store, scratch("stitched"), mode))
    saved(stages.final_video(plan, stitched, music, board, store, scratch("final"), mode))
    return plan, tmp_path / mode / "videos" / "two-paths"


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paths")
    plan, reencoded = render(tmp, "reencode")
    _, copied = render(tmp, "copy")
    return plan, reencoded, copied


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.slow
def test_the_copy_path_gives_the_same_frames_as_the_full_reencode(both):
    plan, reencoded, copied = both
    a, b = probe.probe(reencoded / "final.mp4"), probe.probe(copied / "final.mp4")
    assert a.frames == b.frames == plan.total_frames == 375
    assert (b.width, b.height, b.fps, b.pix_fmt, b.has_audio, b.audio_codec) == (
        480, 480, Fraction(25), "yuv420p", True, "aac",
    )  # fmt: skip
    assert a.audio_duration_s is not None and b.audio_duration_s is not None
    assert abs(b.audio_duration_s - a.audio_duration_s) < 0.03
    indices = list(range(plan.total_frames))
    ref, out = probe.read_frames(reencoded / "final.mp4", indices), probe.read_frames(copied / "final.mp4", indices)
    scores = np.array([psnr(x, y) for x, y in zip(ref, out, strict=True)])
    # Same picture: SSIM >= 0.98 or PSNR >= 40 dB overall (ffmpeg's own measure), and no frame far off
    # (a dropped or repeated frame at a seam would shift every later frame of a moving shot and sink the
    # score from there on).
    quality = ops.compare(reencoded / "final.mp4", copied / "final.mp4")
    assert quality["ssim"] >= 0.98 or quality["psnr_db"] >= 40, quality
    # Measured on this spec: aligned frames >= 32 dB (the dissolve's per-pixel noise is the worst case),
    # the same frames shifted by one ~26 dB. Slow moves hide a shift from PSNR; the seam test covers them.
    assert scores.min() >= 30, (scores.min(), int(scores.argmin()))


@pytest.mark.slow
def test_the_copy_path_does_not_stutter_at_seams(both):
    plan, _, copied = both
    frames = probe.read_frames(copied / "final.mp4", list(range(plan.total_frames)))
    # Every seam between pieces: beat starts and transition ends. A moving camera never repeats a frame.
    seams = {b.start_frame for b in plan.beats} | {b.end_frame + b.transition_frames for b in plan.beats[:-1]}
    moving = {b.index for b in plan.beats if b.camera != "static"}
    for seam in sorted(s for s in seams if 0 < s < plan.total_frames):
        beat = next(b for b in plan.beats if b.start_frame <= seam < b.end_frame)
        if beat.index in moving:
            assert not np.array_equal(frames[seam - 1], frames[seam]), f"frame {seam} repeats frame {seam - 1}"


@pytest.mark.slow
def test_the_serial_tail_of_the_copy_path_renders_only_transitions(both):
    plan, _, copied = both
    stitched = probe.probe(copied / "stitched.mp4")
    assert stitched.frames == plan.total_frames
    pieces = sorted(p.name for p in (copied / "chunks").glob("*.piece.mp4"))
    assert pieces == ["p000.piece.mp4", "p001.piece.mp4", "p002.piece.mp4"]
    # Each pair's piece holds its beat minus the frames its incoming transition covers.
    assert [probe.probe(copied / "chunks" / p).frames for p in pieces] == [100, 175 - 12, 100 - 25]


@pytest.mark.slow
def test_transitions_read_only_the_edges_the_pairs_kept(both):
    plan, _, copied = both
    chunks = copied / "chunks"
    edges = sorted(p.name for p in chunks.glob("*.head.mp4")) + sorted(p.name for p in chunks.glob("*.tail.mp4"))
    assert edges == ["p001.head.mp4", "p002.head.mp4", "p000.tail.mp4", "p001.tail.mp4"]
    # A head is the frames under the incoming transition; a tail is the beat's last frame and the
    # frames it plays into the next beat.
    assert [probe.probe(chunks / name).frames for name in edges] == [12, 25, 13, 26]
    mix = probe.probe(copied / "music.m4a")
    assert mix.audio_codec == "aac" and mix.audio_duration_s is not None
    assert abs(mix.audio_duration_s - plan.duration_s) < 0.03


def _avcc_parameter_sets(extradata: bytes) -> set[bytes]:
    """The SPS and PPS NAL units in an MP4's `avcC` box."""
    sets, at = set(), 5
    for mask in (0x1F, 0xFF):  # the SPS count has 3 reserved bits; the PPS count has none
        count = extradata[at] & mask
        at += 1
        for _ in range(count):
            size = int.from_bytes(extradata[at : at + 2], "big")
            sets.add(extradata[at + 2 : at + 2 + size])
            at += 2 + size
    return sets


def _in_band_parameter_sets(path) -> set[bytes]:
    """SPS and PPS NAL units carried inside the video packets (4-byte length-prefixed NAL units)."""
    import av

    sets = set()
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            data, at = bytes(packet), 0
            while at + 4 <= len(data):
                size = int.from_bytes(data[at : at + 4], "big")
                nal = data[at + 4 : at + 4 + size]
                if nal and nal[0] & 0x1F in (7, 8):
                    sets.add(nal)
                at += 4 + size
    return sets


@pytest.mark.slow
def test_the_joined_pieces_share_one_set_of_h264_headers(both):
    """The final MP4 (`avc1`) declares one SPS/PPS for the whole stream. A piece encoded with other
    settings brings its own headers in-band: ffmpeg would decode it, stricter players might not."""
    import av

    _, _, copied = both
    with av.open(str(copied / "final.mp4")) as container:
        extradata = container.streams.video[0].codec_context.extradata
    assert extradata is not None
    declared = _avcc_parameter_sets(extradata)
    assert len(declared) == 2
    assert _in_band_parameter_sets(copied / "final.mp4") <= declared


def test_the_longest_pairs_start_first(tmp_path):
    """A beat's chunks are made one after another, so its pair is a chain: the pair with the most
    chunks starts first, and the last pair to finish is not a long chain begun last."""
    plan = plan_spec(read_spec_text(SPEC, "two-paths.yaml"), 2.0)
    chunks = {beat.pair_key: len(beat.chunks) for beat in plan.beats}
    assert chunks["p001"] == max(chunks.values()) > min(chunks.values())  # the 7 s beat is the longest chain
    started: list[str] = []

    def make(beat):
        started.append(beat.pair_key)
        return Artifacts(plan.video_id, layout.pair_manifest(beat.pair_key), {}, {"cached": False}, tmp_path)

    made, failed = stages.run_pairs(plan, make, workers=1)
    assert not failed and sorted(made) == sorted(chunks)
    assert started[0] == "p001"
    assert [chunks[k] for k in started] == sorted(chunks.values(), reverse=True)
