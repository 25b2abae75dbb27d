"""The Dagster UI in a real browser: `dagster-webserver` on 127.0.0.1 over a temporary instance with one
rendered video, driven by Debian's Chromium through Playwright (no browser is ever downloaded); then,
with `dagster-daemon` beside it, a video started from the UI alone."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vidgen_assets.core.spec import read_spec_text
from vidgen_assets.runner import Runner
from vidgen_assets.settings import Settings
from vidgen_tests.conftest import REPO, free_port
from vidgen_tests.daemon import bin_path, stop_group

pytestmark = [pytest.mark.browser, pytest.mark.daemon, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIDEO_ID = "ui-check"
SPEC = f"id: {VIDEO_ID}\nprompt: a small video to look at\nduration: 5\nresolution: 480p\ncta: Look\n"
ASSETS = ("video_spec", "storyboard", "chunk_pairs", "music", "voice", "stitched_video", "soundtrack", "final_video")
TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class UI:
    url: str
    data_dir: Path
    log: Path
    env: dict[str, str]
    """The webserver's environment (a daemon beside it gets the same)."""
    home: Path


def chromium() -> Path:
    """Debian's Chromium; fail (never skip) when it is missing: `.ci/run` installs it."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: run `apt-get install -y chromium` (.ci/run does it)")
    return CHROMIUM


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"dagster-webserver exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"dagster-webserver did not answer at {url} in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    """One small video rendered with the CLI runner, then the webserver over the same instance."""
    chromium()
    root = tmp_path_factory.mktemp("ui")
    home = root / "dagster_home"
    home.mkdir()
    settings = Settings(data_dir=root / "data", max_parallel_pairs=1)
    Runner(settings, home, progress=lambda _: None).render(read_spec_text(SPEC, f"{VIDEO_ID}.yaml"), SPEC)
    port = free_port()
    log = root / "webserver.log"
    specs = root / "specs"  # the spec folder the daemon's sensor watches: empty, videos come from the UI
    specs.mkdir()
    env = {
        **os.environ, "DAGSTER_HOME": str(home), "VIDGEN_DATA": str(settings.data_dir),
        "VIDGEN_SPEC_DIR": str(specs), "VIDGEN_SENSOR_INTERVAL": "2",
    }  # fmt: skip
    with log.open("w") as out:
        server = subprocess.Popen(
            [bin_path("dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server, log)
        yield UI(url, settings.data_dir, log, env, home)
    finally:
        stop_group(server, signal.SIGTERM, timeout_s=30)


@pytest.fixture(scope="module")
def browser(ui: UI) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
        try:
            yield found
        finally:
            found.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def dismiss_welcome(page: Any) -> None:
    """The webserver's one-time community dialog covers the page on a fresh browser profile."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=10_000)
    except PlaywrightTimeout:  # the dialog did not come: nothing to dismiss
        return
    skip.click()


def check_asset_graph(ui: UI, page: Any, tmp_path: Path) -> None:
    page.goto(f"{ui.url}/asset-groups/vidgen")
    dismiss_welcome(page)
    nodes = page.locator("svg foreignObject")  # the graph's nodes
    page.wait_for_function("n => document.querySelectorAll('svg foreignObject').length >= n", arg=len(ASSETS))
    labels = [text.strip() for text in nodes.all_text_contents()]
    for asset in ASSETS:
        assert any(asset in label for label in labels), f"{asset} is not in the graph: {labels}"
    shot = tmp_path / "asset_graph.png"
    page.screenshot(path=str(shot))
    print(f"\nasset graph screenshot: {shot}")


def metadata_rows(ui: UI, page: Any, asset: str, video_id: str = VIDEO_ID) -> Any:
    page.goto(f"{ui.url}/assets/{asset}?view=partitions&partition={video_id}")
    dismiss_welcome(page)
    return page.locator("tr")


def row_value(page: Any, rows: Any, label: str) -> str:
    row = rows.filter(has=page.get_by_text(label, exact=True)).first
    row.wait_for()
    text: str = row.inner_text()
    return text.replace(label, "", 1).strip()


def open_preview(page: Any, rows: Any) -> tuple[int, int, str]:
    """Open the `preview` markdown and wait until its embedded JPEG has really rendered; its size and alt."""
    rows.filter(has=page.get_by_text("preview", exact=True)).first.get_by_text("Show Markdown").click()
    image = page.locator("img[src^='data:image/jpeg;base64,']").first
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    width, height, alt = image.evaluate("img => [img.naturalWidth, img.naturalHeight, img.alt]")
    return int(width), int(height), str(alt)


def check_final_video_page(ui: UI, page: Any, tmp_path: Path) -> None:
    rows = metadata_rows(ui, page, "final_video")
    assert row_value(page, rows, "size") == "854x480"
    assert abs(float(row_value(page, rows, "duration_s")) - 5.0) <= 1 / 24
    assert row_value(page, rows, "frames") == "120"
    assert float(row_value(page, rows, "cost_usd")) == 0.0
    assert row_value(page, rows, "path").endswith(f"videos/{VIDEO_ID}/final.mp4")
    page.screenshot(path=str(tmp_path / "final_video_metadata.png"), full_page=True)

    width, height, alt = open_preview(page, rows)  # the poster frames: markdown with an embedded JPEG
    assert width >= 200 and height >= 100, (width, height)
    assert alt == "the middle frame of each beat"
    shot = tmp_path / "final_video_preview.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    print(f"\nfinal_video page screenshot: {shot}")


def check_storyboard_page(ui: UI, page: Any, tmp_path: Path) -> None:
    rows = metadata_rows(ui, page, "storyboard")
    assert row_value(page, rows, "images") == "1"
    width, _height, alt = open_preview(page, rows)  # the contact sheet
    assert alt == "storyboard" and width >= 200
    page.screenshot(path=str(tmp_path / "storyboard_preview.png"))


def test_the_ui_shows_the_asset_graph_and_the_rendered_video(ui: UI, page: Any, tmp_path: Path):
    """One test (one render, one webserver): the graph has every asset; the final video's partition
    page shows its metadata and its poster frames, the storyboard's its contact sheet, rendered."""
    check_asset_graph(ui, page, tmp_path)
    check_final_video_page(ui, page, tmp_path)
    check_storyboard_page(ui, page, tmp_path)


@pytest.fixture(scope="module")
def daemon(ui: UI) -> Iterator[Path]:
    """`dagster-daemon run` on the webserver's instance and settings (sensors, the run queue); its log."""
    log = ui.log.with_name("daemon.log")
    with log.open("w") as out:
        process = subprocess.Popen(
            [bin_path("dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=ui.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield log
    finally:
        stop_group(process, signal.SIGINT, timeout_s=60)


UI_VIDEO = "from-the-ui"
UI_SPEC = "prompt: a tiny video started from the launchpad\nduration: 5\nresolution: 480p\ncta: From the UI\n"
BAD_VIDEO = "ui-typo"
BAD_SPEC = "prompt: one beat\nduration: 5\nbeats:\n  - {name: a, duration: 5, prompt: x, transition: swoosh}\n"
VIDEO_DEADLINE_S = 600


def launch_video_spec(ui: UI, page: Any, video_id: str, spec_yaml: str) -> None:
    """The clicks of docs/dagster.md's "Start a video from the UI": video_spec > Materialize... > Add a partition >
    Config > Add config > the spec in the config editor > Save config > Launch 1 run."""
    page.goto(f"{ui.url}/assets/video_spec")
    dismiss_welcome(page)
    page.get_by_role("button", name="Materialize…").click()
    page.get_by_text("Add a partition", exact=True).click()
    page.get_by_placeholder("name").fill(video_id)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Config", exact=True).click()
    page.get_by_role("button", name="Add config").click()
    page.locator(".CodeMirror").click()
    indented = "".join(f"        {line}\n" for line in spec_yaml.splitlines())
    # insert_text types like a paste: the editor's auto-indent does not re-indent the lines.
    page.keyboard.insert_text(f"ops:\n  video_spec:\n    config:\n      spec_yaml: |\n{indented}")
    page.get_by_role("button", name="Save config").click()
    page.get_by_role("button", name="Launch 1 run").click()
    page.get_by_role("button", name="Launch 1 run").wait_for(state="detached")


def latest_run_of(ui: UI, video_id: str, deadline_s: float = 60) -> Any:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(ui.home)) as instance:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": video_id}), limit=1)
            if runs:
                return runs[0]
            time.sleep(1)
    raise AssertionError(f"no run of {video_id!r} was launched")


def test_a_video_started_from_the_ui_alone(ui: UI, daemon: Path, page: Any, tmp_path: Path):
    """Add a `videos` partition and materialize video_spec with the spec pasted into its run config: a bad
    spec fails the run with the field errors on the run's page, a good one becomes the final video with
    no other click: the `finish_video` sensor starts the video's `render_video` run, which makes the rest."""
    from vidgen_assets.media import probe

    launch_video_spec(ui, page, BAD_VIDEO, BAD_SPEC)
    bad = latest_run_of(ui, BAD_VIDEO)
    page.goto(f"{ui.url}/runs/{bad.run_id}")
    page.get_by_text("beats[0].transition: unknown transition 'swoosh'").first.wait_for(timeout=300_000)
    page.screenshot(path=str(tmp_path / "ui_bad_spec_run.png"))
    assert not (ui.data_dir / "videos" / BAD_VIDEO).exists()  # nothing written for that video

    start = time.monotonic()
    launch_video_spec(ui, page, UI_VIDEO, UI_SPEC)
    final = ui.data_dir / "videos" / UI_VIDEO / "final.mp4"
    while not (final.is_file() and (final.parent / "final.json").is_file()):
        if time.monotonic() - start > VIDEO_DEADLINE_S:
            raise AssertionError(f"no {final} after {VIDEO_DEADLINE_S} s; daemon log:\n{daemon.read_text()[-4000:]}")
        time.sleep(2)
    print(f"\nvideo started from the UI: final.mp4 after {time.monotonic() - start:.0f} s")
    assert (final.parent / "spec.source.yaml").read_text() == UI_SPEC
    info = probe.probe(final)
    assert (info.width, info.height, info.frames) == (854, 480, 120)

    import dagster as dg

    with dg.DagsterInstance.from_config(str(ui.home)) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": UI_VIDEO}))
    # Two runs: the launchpad's (video_spec), then the one render_video run the sensor asked for.
    assert sorted(r.job_name for r in runs) == ["__ASSET_JOB", "render_video"], [r.job_name for r in runs]
    rows = metadata_rows(ui, page, "final_video", UI_VIDEO)
    assert row_value(page, rows, "frames") == "120"

    # The pairs' asset lists one partition per video and nothing else: no pair x video grid of keys that
    # can never exist. Two videos were made; the bad spec's partition (added by hand above) is missing.
    with dg.DagsterInstance.from_config(str(ui.home)) as instance:
        videos = instance.get_dynamic_partitions("videos")
    assert sorted(videos) == sorted([VIDEO_ID, BAD_VIDEO, UI_VIDEO])
    page.goto(f"{ui.url}/assets/chunk_pairs?view=partitions")
    page.get_by_text(f"{len(videos)} Partitions Selected").wait_for()
    page.get_by_text("Materialized (2)").wait_for()
    page.get_by_text("Missing (1)").wait_for()
    page.screenshot(path=str(tmp_path / "ui_chunk_pairs_partitions.png"), full_page=True)
    page.screenshot(path=str(tmp_path / "ui_started_final_video.png"), full_page=True)
