"""docker/ checked for consistency: the compose file, the image, the stack's dagster.yaml and workspace
agree with each other and with the code (no Docker engine here, so nothing is started)."""

from __future__ import annotations

import re
import shlex
import tomllib
from importlib.util import find_spec
from typing import Any

import pytest
import yaml

from vidgen_assets.settings import Settings
from vidgen_tests.conftest import REPO

DOCKER = REPO / "docker"
DAGSTER_SERVICES = ("vidgen-code", "webserver", "daemon")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def resolve(value: object) -> str:
    """A compose value as `docker compose` sees it with nothing set: `${X:-d}` -> d, `$$` -> `$`."""
    text = str(value)

    def default(match: re.Match[str]) -> str:
        if match.group("default") is None:
            raise AssertionError(f"{text!r} needs {match.group('name')} set: give it a default")
        return match.group("default")

    return INTERPOLATION.sub(default, text).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def env_of(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {name: resolve(value) for name, value in raw.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (a named volume, or a host path relative to docker/)."""
    out = {}
    for item in service.get("volumes", []):
        source, target = str(item).split(":")[:2]
        out[target] = source
    return out


def command(service: dict[str, Any]) -> list[str]:
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def option(args: list[str], *names: str) -> str:
    for i, arg in enumerate(args):
        if arg in names:
            return args[i + 1]
    raise AssertionError(f"{' / '.join(names)} not in {args}")


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def names_vidgen_reads() -> set[str]:
    """Every VIDGEN_* setting named in the package's source (constants like `STORAGE_ENV = "VIDGEN_STORAGE"`)."""
    found: set[str] = set()
    for path in (REPO / "vidgen_assets").rglob("*.py"):
        found |= set(re.findall(r"[\"'](VIDGEN_[A-Z0-9_]+)[\"']", path.read_text()))
    return found


def test_the_stack_has_its_services_and_each_image_or_build_exists(compose):
    found = services(compose)
    assert set(found) == {"postgres", "minio", "minio-init", *DAGSTER_SERVICES}
    for name, service in found.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = (DOCKER / service["build"]["context"]).resolve()
            assert context == REPO
            assert (context / service["build"]["dockerfile"]).is_file(), name
    # One image for every Dagster process: the same build, the same tag.
    builds = {(found[n]["image"], str(found[n]["build"])) for n in DAGSTER_SERVICES}
    assert len(builds) == 1
    for name, service in found.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in found, f"{name} depends on unknown {dependency}"
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in found[dependency], (
                    f"{name} waits for {dependency} to be healthy: no healthcheck"
                )


def test_the_image_is_python_slim_non_root_and_built_from_pyproject():
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in steps if op == "USER"]
    assert users, "the image must switch to a non-root user"
    assert users[-1].split(":")[0] not in ("root", "0")
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "pip install ." in runs
    assert "ffmpeg" not in runs, "ffmpeg comes from imageio-ffmpeg, not apt"
    ignored = [line for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines() if line.startswith("!")]
    copied = []
    for op, args in steps:
        if op == "COPY":
            *sources, _target = args.split()
            copied += sources
    assert "pyproject.toml" in copied
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the build context"
        assert any(source.rstrip("/") == line[1:].rstrip("/") for line in ignored), f"{source} is dockerignored"
    env = dict(pair.split("=", 1) for op, args in steps if op == "ENV" for pair in args.split())
    assert ("COPY", f"docker/dagster.yaml {env['DAGSTER_HOME']}/dagster.yaml") in steps
    # The image's defaults name settings vidgen reads.
    assert {n for n in env if n.startswith("VIDGEN_")} <= names_vidgen_reads()


def test_every_dagster_service_has_the_settings_vidgen_and_dagster_read(compose):
    found = services(compose)
    read = names_vidgen_reads()
    instance_text = (DOCKER / "dagster.yaml").read_text()
    instance_vars = set(re.findall(r"\{env: ([A-Z0-9_]+)\}", instance_text))
    assert instance_vars == {f"DAGSTER_POSTGRES_{n}" for n in ("HOST", "PORT", "USER", "PASSWORD", "DB")} | {
        "VIDGEN_S3_BUCKET", "AWS_ENDPOINT_URL", "AWS_REGION", "VIDGEN_WORK_DIR",  # the compute logs' S3 and work dir
    }  # fmt: skip
    for name in DAGSTER_SERVICES:
        env = env_of(found[name])
        unknown = {n for n in env if n.startswith("VIDGEN_")} - read
        assert not unknown, f"{name} sets settings vidgen never reads: {sorted(unknown)}"
        assert instance_vars <= set(env), f"{name} lacks {sorted(instance_vars - set(env))}"
        for needed in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            assert env.get(needed), f"{name} lacks {needed}"
        settings = Settings.from_env(env)  # exactly what the code location reads at import
        assert settings.storage == "s3"
        assert settings.spec_dir in mounts(found[name]), f"{name}: VIDGEN_SPEC_DIR is not a mounted folder"
        assert str(settings.work_root) in mounts(found[name]), f"{name}: VIDGEN_WORK_DIR is not a volume"
        mounted = mounts(found[name])
        assert mounted[f"{env['DAGSTER_HOME']}/dagster.yaml"] == "./dagster.yaml"
    envs = [env_of(found[n]) for n in DAGSTER_SERVICES]
    assert all(e == envs[0] for e in envs), "the webserver, daemon and code server must share one configuration"


def test_postgres_settings_agree_with_the_postgres_service(compose):
    found = services(compose)
    pg = env_of(found["postgres"])
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    assert set(instance["storage"]) == {"postgres"}, "Dagster's storage must be dagster-postgres"
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert instance["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    assert instance["concurrency"]["pools"]["default_limit"] >= 1
    for name in DAGSTER_SERVICES:
        env = env_of(found[name])
        assert env["DAGSTER_POSTGRES_HOST"] == "postgres" and "postgres" in found
        assert env["DAGSTER_POSTGRES_PORT"] == "5432"  # the postgres image's port
        assert env["DAGSTER_POSTGRES_USER"] == pg["POSTGRES_USER"]
        assert env["DAGSTER_POSTGRES_PASSWORD"] == pg["POSTGRES_PASSWORD"]
        assert env["DAGSTER_POSTGRES_DB"] == pg["POSTGRES_DB"]
        assert found[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_s3_settings_reach_minio_and_the_bucket_it_creates(compose):
    found = services(compose)
    minio = env_of(found["minio"])
    init = found["minio-init"]
    script = resolve(" ".join(command(init)))
    api_port = "9000"  # `minio server` serves the S3 API on 9000
    assert f"{api_port}:{api_port}" in found["minio"]["ports"]
    for name in DAGSTER_SERVICES:
        env = env_of(found[name])
        assert env["AWS_ENDPOINT_URL"] == f"http://minio:{api_port}"
        assert env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
        assert env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
        alias = re.search(r"mc alias set (\S+) http://minio:" + api_port, script)
        assert alias is not None, script
        assert f"mc mb --ignore-existing {alias.group(1)}/{env['VIDGEN_S3_BUCKET']}" in script
    # Runs write to the bucket: the code server starts only once it exists.
    assert found["vidgen-code"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert env_of(init)["MINIO_ROOT_USER"] == minio["MINIO_ROOT_USER"]


def test_run_logs_go_to_the_artifact_bucket_with_the_dagster_aws_compute_log_manager(compose):
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

    logs = yaml.safe_load((DOCKER / "dagster.yaml").read_text())["compute_logs"]
    assert (logs["module"], logs["class"]) == (S3ComputeLogManager.__module__, S3ComputeLogManager.__name__)
    config = logs["config"]
    assert set(config) <= set(S3ComputeLogManager.config_type())
    assert config["bucket"] == {"env": "VIDGEN_S3_BUCKET"}  # the bucket minio-init creates (checked above)
    assert config["endpoint_url"] == {"env": "AWS_ENDPOINT_URL"} and config["region"] == {"env": "AWS_REGION"}
    assert config["prefix"] and config["prefix"] != "videos"  # never among the artifacts' keys
    for name in DAGSTER_SERVICES:
        assert env_of(services(compose)[name])["AWS_ENDPOINT_URL"] == "http://minio:9000"


def test_the_workspace_points_at_the_code_server_and_its_module_exists(compose):
    found = services(compose)
    code = command(found["vidgen-code"])
    assert code[:3] == ["dagster", "code-server", "start"]
    port = option(code, "-p", "--port")
    module = option(code, "-m", "--module-name")
    assert option(code, "-h", "--host") == "0.0.0.0"
    assert find_spec(module) is not None
    assert module == tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert port in [str(p) for p in found["vidgen-code"]["expose"]]
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    grpc = entry["grpc_server"]
    assert (grpc["host"], str(grpc["port"]), grpc["location_name"]) == (
        "vidgen-code", port, option(code, "--location-name"),
    )  # fmt: skip
    for name in ("webserver", "daemon"):
        args = command(found[name])
        target = option(args, "-w", "--workspace")
        assert mounts(found[name])[target] == "./workspace.yaml"
        assert found[name]["depends_on"]["vidgen-code"]["condition"] == "service_healthy"
    web = command(found["webserver"])
    assert web[0] == "dagster-webserver" and option(web, "-h", "--host") == "0.0.0.0"
    assert f"{option(web, '-p', '--port')}:{option(web, '-p', '--port')}" in found["webserver"]["ports"]
    assert command(found["daemon"])[:2] == ["dagster-daemon", "run"]


def test_volumes_are_declared_used_and_bind_sources_exist(compose):
    found = services(compose)
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    for name, service in found.items():
        for target, source in mounts(service).items():
            assert target.startswith("/"), f"{name}: {target}"
            if source.startswith((".", "/")):
                host = (DOCKER / source).resolve()
                # The spec folder is the user's drop box (created on `up`); every other bind mount ships here.
                assert host.exists() or host == REPO / "specs", f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared
    assert mounts(found["postgres"])["/var/lib/postgresql/data"] in declared
    assert mounts(found["minio"])[resolve(command(found["minio"])[1])] in declared
