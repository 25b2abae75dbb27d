"""The front door and the docs site: the README is short and its links lead somewhere, the generated
reference pages are what the code says (and the check notices when they are not), the site builds
strictly without the network, and `make bench` runs the commands bench/README.md names."""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidgen_assets import docs_tables
from vidgen_assets.backends.registry import REGISTRY
from vidgen_assets.core.spec import Spec
from vidgen_assets.settings import Settings, variable
from vidgen_tests.conftest import REPO

DOCS = REPO / "docs"
BENCH_LINE = re.compile(r"python -m (bench\.\w+)(.*?)(?:\s+#.*)?$")


def test_the_committed_generated_pages_are_what_the_code_gives():
    assert docs_tables.stale_pages(DOCS) == []


def test_the_check_fails_naming_a_page_the_code_has_outgrown_and_passes_once_rewritten(tmp_path, capsys):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS / "reference", docs / "reference")
    page = docs / "reference" / "models.md"
    page.write_text(page.read_text().replace("`google/veo-3.1`", "`google/veo-3.0`"))
    assert docs_tables.main(["--docs", str(docs), "--check"]) == 1
    assert "reference/models.md is stale" in capsys.readouterr().err
    assert docs_tables.main(["--docs", str(docs)]) == 0
    assert docs_tables.main(["--docs", str(docs), "--check"]) == 0


def test_the_models_page_has_every_registry_model_and_what_it_can_do():
    page = docs_tables.models_page()
    for model_id in REGISTRY:
        assert f"`{model_id}`" in page
    veo = next(line for line in page.splitlines() if line.startswith("| video | `google/veo-3.1` |"))
    assert "3 reference images (reference_images)" in veo
    assert "end frame (last_frame)" in veo


def test_every_setting_has_a_docstring_and_a_row_with_its_variable():
    docs = docs_tables.field_docstrings(Settings)
    assert sorted(set(Settings.model_fields) - set(docs)) == []
    page = docs_tables.settings_page()
    for name in Settings.model_fields:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{variable(name)}` | `{name}` |"))
        assert docs[name].split()[0] in row
    assert "| `VIDGEN_CHUNK_SECONDS` | `chunk_seconds` | `5.0` | number, >= 1.0, <= 30.0 |" in page


def test_every_spec_field_has_a_row_in_its_section():
    page = docs_tables.spec_fields_page()
    for name in Spec.model_fields:
        assert f"| `{name}` |" in page
    beats = page[page.index("## BeatSpec") :]
    assert "| `camera` | `push_in` \\| `pull_out` \\| `pan_left` \\| `pan_right` \\| `static` | `static` |" in beats
    assert "| `duration` | number | `30` | >= 5, <= 300 |" in page


def test_the_site_builds_strictly_and_asks_no_font_server(tmp_path):
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("mkdocs is not installed: it is in the dev extras (make venv)")
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    built = subprocess.run(
        [mkdocs, "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    pages = list((tmp_path / "site").rglob("*.html"))
    assert len(pages) >= 12
    for page in pages:
        assert "fonts.googleapis" not in page.read_text() and "fonts.gstatic" not in page.read_text()
    assert (tmp_path / "site" / "img" / "contact-sheet.png").is_file()


def test_the_readme_is_a_short_front_door_whose_links_lead_somewhere():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for command in ("make demo", "make test", "make docs"):
        assert command in readme
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert "docs/img/contact-sheet.png" in local
    for link in local:
        assert (REPO / link).exists(), link
    assert (REPO / "docs" / "img" / "contact-sheet.png").stat().st_size < 200_000


def _bench_commands(lines: list[str]) -> list[tuple[str, str]]:
    found = [BENCH_LINE.search(line) for line in lines]
    return [(m.group(1), " ".join(m.group(2).split())) for m in found if m]


def test_make_bench_runs_the_commands_bench_readme_names_and_each_parses():
    dry = subprocess.run(["make", "-n", "bench"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    made = _bench_commands(dry.stdout.splitlines())
    readme = (REPO / "bench" / "README.md").read_text()
    block = readme[readme.index("```bash") : readme.index("```", readme.index("```bash") + 3)]
    assert _bench_commands(block.splitlines()) == made
    assert len(made) >= 9
    for module, args in made:
        parser = importlib.import_module(module).build_parser()
        parser.parse_args(shlex.split(args))  # a flag the benchmark does not take exits here
    quoted = {m.group(1) for m in re.finditer(r"`(bench\.\w+)", readme)}
    assert quoted <= {module for module, _ in made}
