"""What vidgen delivers plays in a browser: Debian's Chromium (through Playwright, nothing downloaded) loads
`final.mp4` with `final.vtt` as its subtitle track, plays it, and reports the duration and the cues."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest

from vidgen_assets.cli import main
from vidgen_assets.media import probe
from vidgen_tests.deploy.test_ui_browser import CHROMIUM_ARGS, chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPEC = {
    "id": "plays", "prompt": "p", "duration": 6, "resolution": "480p", "fps": 24, "subtitles": "soft",
    "beats": [
        {"name": "one", "duration": 3, "prompt": "a bottle", "say": "Cold brew, done right."},
        {"name": "two", "duration": 3, "prompt": "a glass", "say": "Order today & save."},
    ],
}  # fmt: skip
PAGE = (
    '<video id="v" src="final.mp4" muted preload="auto"><track id="t" kind="subtitles" src="final.vtt" default></video>'
)
PLAY = """async () => {
  const v = document.getElementById('v'), t = document.getElementById('t');
  await new Promise((ok, bad) => { if (v.readyState >= 1) ok(); v.onloadedmetadata = ok;
                                   v.onerror = () => bad(String(v.error && v.error.message)); });
  t.track.mode = 'showing';
  await new Promise(ok => { if (t.readyState === 2) ok(); t.onload = ok; });
  await v.play();
  await new Promise(ok => setTimeout(ok, 800));
  return {duration: v.duration, width: v.videoWidth, height: v.videoHeight, played: v.currentTime,
          error: v.error && v.error.code,
          cues: Array.from(t.track.cues).map(c => [c.startTime, c.endTime, c.getCueAsHTML().textContent])};
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


def test_the_final_video_plays_in_chromium_with_its_webvtt_track(tmp_path):
    from playwright.sync_api import sync_playwright

    spec = tmp_path / "plays.json"
    spec.write_text(json.dumps(SPEC))
    data = tmp_path / "data"
    assert main(["render", str(spec), "--data-dir", str(data), "--dagster-home", str(tmp_path / "dh")]) == 0
    folder = data / "videos" / "plays"
    (folder / "play.html").write_text(PAGE)
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/play.html")
            seen = page.evaluate(PLAY)
            browser.close()
    finally:
        server.shutdown()
    final = json.loads((folder / "final.json").read_text())
    info = probe.probe(Path(folder / "final.mp4"))
    assert seen["error"] is None and (seen["width"], seen["height"]) == (854, 480)
    assert abs(seen["duration"] - info.duration_s) < 0.05 and seen["played"] > 0.3  # decoded and playing
    assert [c[2] for c in seen["cues"]] == ["Cold brew, done right.", "Order today & save."]  # as a viewer reads them
    for (start, end, _), (want_start, want_end) in zip(seen["cues"], final["cues"], strict=True):
        assert abs(start - want_start) < 0.002 and abs(end - want_end) < 0.002  # the browser's cue times
