"""A fresh machine: `make test` installs the system packages its tests drive, through the script `.ci/run`
uses, or says exactly what to install; the CLI makes an instance home Dagster has nothing to warn about."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from vidgen_assets.runner import dagster_home
from vidgen_assets.settings import Settings
from vidgen_tests.conftest import REPO

SCRIPT = REPO / "scripts" / "system-deps.sh"


def run_script(*prefix: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, "env", "PATH=/usr/bin:/bin", *(f"{k}={v}" for k, v in env.items()), "bash", str(SCRIPT)],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_make_test_and_ci_install_system_packages_through_one_script():
    dry = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    lines = dry.stdout.splitlines()
    script = next(i for i, line in enumerate(lines) if "scripts/system-deps.sh" in line)
    pytest_line = next(i for i, line in enumerate(lines) if "pytest" in line)
    assert script < pytest_line
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/system-deps.sh" in ci
    assert "apt-get" not in ci  # one script installs, not two copies of the list


def test_with_everything_installed_the_script_is_silent(tmp_path):
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    initdb = tmp_path / "pg" / "16" / "bin" / "initdb"
    initdb.parent.mkdir(parents=True)
    initdb.write_text("")
    done = run_script(CHROMIUM_BIN=str(chromium), MELT_BIN=str(chromium),
                      POSTGRES_INITDB_GLOB=str(tmp_path / "pg" / "*" / "bin" / "initdb"))  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to act as another user")
def test_without_root_or_sudo_it_says_exactly_what_to_install(tmp_path):
    # As an unprivileged user, with no password-less sudo and no terminal to ask for one.
    done = run_script(
        "runuser", "-u", "nobody", "--",
        CHROMIUM_BIN=str(tmp_path / "no-chromium"), POSTGRES_INITDB_GLOB=str(tmp_path / "no-pg" / "initdb"),
        MELT_BIN=str(tmp_path / "no-melt"),
    )  # fmt: skip
    assert done.returncode == 1
    assert "not installed: postgresql chromium melt" in done.stderr
    assert "as root (or with sudo), run: apt-get update && apt-get install -y postgresql chromium melt" in done.stderr
    assert "installing" not in done.stdout


def test_a_new_instance_home_gets_vidgens_dagster_yaml(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    home = dagster_home(settings, tmp_path / "new-home")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["telemetry"] == {"enabled": False}
    assert config["run_monitoring"]["enabled"] is True
    assert (REPO / "vidgen_assets" / "dagster.yaml").read_text() == (home / "dagster.yaml").read_text()
    assert not (REPO / "dagster.yaml").exists()  # none at the top: `dagster dev` there would take it for the instance
    # An existing config is the user's: left alone.
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    dagster_home(settings, home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"
