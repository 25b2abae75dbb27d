"""Settings: the one place that reads the environment.

Every variable vidgen understands is a field of `Settings`, read and validated here once (a bad value
is a `SettingsError` naming the variable, its value and what is allowed). Everything else is handed a
`Settings`: the definitions, sensors and resources are built from one (`defs.build_definitions`; the
`vidgen` resource shows them and rebuilds them in a run, `as_values` / `from_values`), and the media
tools (ffmpeg, the font) follow the settings of the run or sensor evaluation in progress (`activated`).
Tests build `Settings(...)` directly.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vidgen_assets.storage.store import ArtifactStore, LocalStore

if TYPE_CHECKING:
    from dagster_aws.s3 import S3Resource

DATA_ENV = "VIDGEN_DATA"
STORAGE_ENV = "VIDGEN_STORAGE"
BUCKET_ENV = "VIDGEN_S3_BUCKET"
PREFIX_ENV = "VIDGEN_S3_PREFIX"
SPEC_DIR_ENV = "VIDGEN_SPEC_DIR"
WORK_ENV = "VIDGEN_WORK_DIR"
CHUNK_SECONDS_ENV = "VIDGEN_CHUNK_SECONDS"
MAX_PARALLEL_ENV = "VIDGEN_MAX_PARALLEL_PAIRS"
STITCH_ENV = "VIDGEN_STITCH"
FFMPEG_ENV = "VIDGEN_FFMPEG"
FONT_ENV = "VIDGEN_FONT"
PRICES_ENV = "VIDGEN_PRICES"
INTERVAL_ENV = "VIDGEN_SENSOR_INTERVAL"
TOKEN_ENV = "REPLICATE_API_TOKEN"
BASE_URL_ENV = "REPLICATE_BASE_URL"
POLL_ENV = "REPLICATE_POLL_INTERVAL"
DEADLINE_ENV = "VIDGEN_REPLICATE_DEADLINE"
COMFYUI_DEADLINE_ENV = "VIDGEN_COMFYUI_DEADLINE"
COMFYUI_POLL_ENV = "VIDGEN_COMFYUI_POLL_INTERVAL"
MIN_DEADLINE_S = 5
HOME_ENV = "DAGSTER_HOME"
DEFAULT_DATA_DIR = "vidgen_data"
DEFAULT_SPEC_DIR = "specs"
DEFAULT_HOME = ".dagster_home"
DEFAULT_BASE_URL = "https://api.replicate.com"

SECRETS = ("replicate_api_token",)
"""Fields never shown or stored as text (`as_values` leaves them out)."""

P = ParamSpec("P")
T = TypeVar("T")

StorageKind = Literal["local", "s3"]
StitchMode = Literal["copy", "reencode"]


class SettingsError(ValueError):
    """A setting has a value vidgen cannot use."""


def _env(name: str, field: str) -> Any:
    """A field read from the variable `name` (and, when built in code, from its own name)."""
    return AliasChoices(field, name)


class Settings(BaseSettings):
    """Where artifacts go, where specs come from, how generation is laid out, and the tools it uses.

    Built from the environment (`Settings.from_env()`, or `Settings()`: fields not given are read from
    the variables named below), or in code (`Settings(data_dir=...)`). Frozen: change one with
    `settings.model_copy(update={...})`."""

    model_config = SettingsConfigDict(
        frozen=True, case_sensitive=True, extra="ignore", populate_by_name=True, validate_default=True
    )

    data_dir: Path = Field(Path(DEFAULT_DATA_DIR), validation_alias=_env(DATA_ENV, "data_dir"))
    """The local artifact root (storage `local`), and the default home of local work files."""
    chunk_seconds: float = Field(5.0, ge=1.0, le=30.0, validation_alias=_env(CHUNK_SECONDS_ENV, "chunk_seconds"))
    """The animatic backend's chunk length (a Replicate model's comes from its registry entry)."""
    max_parallel_pairs: int = Field(4, ge=1, le=64, validation_alias=_env(MAX_PARALLEL_ENV, "max_parallel_pairs"))
    """How many chunk pairs a video's `generate` step makes at once (the CLI's `--max-parallel`); for the
    animatic no more than the CPUs this process may use, for comfyui one per server."""
    storage: StorageKind = Field("local", validation_alias=_env(STORAGE_ENV, "storage"))
    """Where artifacts are stored: `local` (under `data_dir`) or `s3` (the bucket `s3_bucket`, under `s3_prefix`)."""
    s3_bucket: str | None = Field(None, validation_alias=_env(BUCKET_ENV, "s3_bucket"))
    """The bucket that holds the artifacts with storage `s3` (required then)."""
    s3_prefix: str = Field("", validation_alias=_env(PREFIX_ENV, "s3_prefix"))
    """A key prefix inside the bucket under which the artifact layout starts (slashes at either end dropped)."""
    spec_dir: str = Field(DEFAULT_SPEC_DIR, validation_alias=_env(SPEC_DIR_ENV, "spec_dir"))
    """Where the sensor looks for spec files: a local folder or `s3://bucket/prefix/`."""
    work_dir: Path | None = Field(None, validation_alias=_env(WORK_ENV, "work_dir"))
    """Local work files (scratch, downloads). Default: `<data_dir>/.work` locally, a temp dir with S3."""
    stitch: StitchMode = Field("copy", validation_alias=_env(STITCH_ENV, "stitch"))
    """`copy`: each pair burns its text into a piece once, in parallel; the serial tail renders only the
    transitions and joins pieces by stream copy. `reencode`: one full xfade re-encode, then another for
    text and music (the reference the copy path is tested against)."""
    ffmpeg: str | None = Field(None, validation_alias=_env(FFMPEG_ENV, "ffmpeg"))
    """An ffmpeg binary (a path or a name on PATH) instead of the one inside `imageio-ffmpeg`."""
    font: Path | None = Field(None, validation_alias=_env(FONT_ENV, "font"))
    """A .ttf/.otf for on-screen text instead of the DejaVu Sans matplotlib ships."""
    prices: Path | None = Field(None, validation_alias=_env(PRICES_ENV, "prices"))
    """A JSON file of model price overrides (see `backends.prices.load_prices`)."""
    sensor_interval: int = Field(1, ge=1, le=86400, validation_alias=_env(INTERVAL_ENV, "sensor_interval"))
    """The least seconds between two evaluations of each sensor. The daemon evaluates sensors at most every
    5 s; the default lets each of those evaluations tick (a 5 could skip one and wait 10 s)."""
    replicate_api_token: SecretStr | None = Field(None, validation_alias=_env(TOKEN_ENV, "replicate_api_token"))
    """The Replicate API token (the official client's variable); given to the client and nothing else."""
    replicate_base_url: str = Field(DEFAULT_BASE_URL, validation_alias=_env(BASE_URL_ENV, "replicate_base_url"))
    """The API's base URL (the official client's variable): tests and proxies redirect the API with it."""
    replicate_poll_interval: float = Field(
        0.5, gt=0.0, le=60.0, validation_alias=_env(POLL_ENV, "replicate_poll_interval")
    )
    """Seconds between two polls of a prediction at most (the official client's variable)."""
    replicate_deadline: int = Field(1800, ge=0, le=86400, validation_alias=_env(DEADLINE_ENV, "replicate_deadline"))
    """Seconds a prediction may take before Replicate cancels it (sent as `Cancel-After`; before it starts
    running, it is `aborted` and not billed). 0 sends no deadline; otherwise at least 5."""
    comfyui_deadline: int = Field(1800, ge=5, le=86400, validation_alias=_env(COMFYUI_DEADLINE_ENV, "comfyui_deadline"))
    """Seconds one ComfyUI prompt may take, queued and running, before vidgen interrupts it and gives up."""
    comfyui_poll_interval: float = Field(
        0.5, gt=0.0, le=60.0, validation_alias=_env(COMFYUI_POLL_ENV, "comfyui_poll_interval")
    )
    """Seconds between two looks at a ComfyUI prompt's history (and queue) at most."""
    dagster_home: Path | None = Field(None, validation_alias=_env(HOME_ENV, "dagster_home"))
    """The Dagster instance the CLI records into (default `./.dagster_home`)."""

    @field_validator("storage", "stitch", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.absolute()

    @field_validator("work_dir", mode="after")
    @classmethod
    def _absolute_or_none(cls, value: Path | None) -> Path | None:
        return value.absolute() if value is not None else None

    @field_validator("s3_prefix", mode="after")
    @classmethod
    def _strip_slashes(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("s3_bucket", "ffmpeg", "font", "prices", "work_dir", "replicate_api_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("data_dir", "spec_dir", "replicate_base_url", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any, info: Any) -> Any:
        if value == "":
            return {"data_dir": DEFAULT_DATA_DIR, "spec_dir": DEFAULT_SPEC_DIR}.get(info.field_name, DEFAULT_BASE_URL)
        return value

    @field_validator("replicate_deadline", mode="after")
    @classmethod
    def _deadline(cls, value: int) -> int:
        if 0 < value < MIN_DEADLINE_S:
            raise ValueError(f"a deadline is at least {MIN_DEADLINE_S} s (or 0 for none)")
        return value

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> Settings:
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError(f"{STORAGE_ENV}=s3 needs {BUCKET_ENV} (the bucket that holds the artifacts)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get()
        if environ is not None:
            env_settings = _MappingSource(settings_cls, environ)
        return init_settings, env_settings  # no .env files, no secrets directory: the environment only

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings `environ` (default: this process's environment) gives; a `SettingsError` names
        every variable with a bad value."""
        try:
            if environ is None:
                return cls()
            token = _ENVIRON.set(environ)
            try:
                return cls()
            finally:
                _ENVIRON.reset(token)
        except ValidationError as exc:
            raise SettingsError(_describe(exc, environ)) from None

    def as_values(self) -> dict[str, str | None]:
        """Every setting but the secrets as text (None: not set), by field name: what `Settings.from_values`
        takes back, and what vidgen's Dagster resource shows (`defs.resources`)."""
        dumped = self.model_dump(exclude=set(SECRETS))
        return {name: None if value is None else str(value) for name, value in dumped.items()}

    @classmethod
    def from_values(cls, values: Mapping[str, str | None], **secrets: str | None) -> Settings:
        """The settings `as_values` gave, with the secrets (`replicate_api_token`), validated like the
        environment's; nothing is read from the environment."""
        try:
            return cls.model_validate({**values, **secrets})  # None given as None: never the environment's
        except ValidationError as exc:
            raise SettingsError(_describe(exc, None)) from None

    def replace(self, **changes: Any) -> Settings:
        """These settings with `changes` (field names), validated like the environment's."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise SettingsError(_describe(exc, None)) from None

    def store(self, s3: S3Resource | None = None, client: Any = None) -> ArtifactStore:
        """The artifact store these settings name: the one place that chooses local or S3 (an S3 store's
        client is `client`, or comes from `s3`, dagster-aws's resource, by default one with the
        environment's AWS settings)."""
        if self.storage == "s3":
            from vidgen_assets.storage.s3 import S3Store

            if not self.s3_bucket:
                raise SettingsError(f"storage s3 needs {BUCKET_ENV}")
            return S3Store(self.s3_bucket, self.s3_prefix, cache_dir=self.work_root / "s3-cache", s3=s3, client=client)
        return LocalStore(self.data_dir)

    @property
    def work_root(self) -> Path:
        if self.work_dir is not None:
            return self.work_dir
        if self.storage == "s3":
            return Path(tempfile.gettempdir()) / "vidgen-work"
        return self.data_dir / ".work"

    @property
    def scratch_dir(self) -> Path:
        """Work files before they are stored; on the data dir's disk locally so copies are cheap."""
        return self.work_root / "scratch"

    def home(self, override: Path | None = None) -> Path:
        """The persistent Dagster instance's directory: `override`, else `$DAGSTER_HOME`, else
        `./.dagster_home`."""
        return (override or self.dagster_home or Path(DEFAULT_HOME)).absolute()


_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("environ", default=None)


class _MappingSource(PydanticBaseSettingsSource):
    """The variables of a given mapping instead of this process's environment: a custom source as
    pydantic-settings documents them (`get_field_value` and `__call__`), each field read from the first
    of its names (`AliasChoices`: its own, then its variable's) that the mapping holds."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = dict(environ)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        alias = field.validation_alias
        names = [str(n) for n in alias.choices] if isinstance(alias, AliasChoices) else [field_name]
        for name in names:
            if name in self.environ:
                return self.environ[name], field_name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


def token_in_environment(token: SecretStr) -> bool:
    """Whether this process's environment holds `token` as `REPLICATE_API_TOKEN` (so a Dagster `EnvVar`
    finds it when a run resolves its resources)."""
    return os.environ.get(TOKEN_ENV) == token.get_secret_value()


def variable(field: str) -> str:
    """The environment variable a setting is read from (`data_dir` -> `VIDGEN_DATA`)."""
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[-1])


def _describe(exc: ValidationError, environ: Mapping[str, str] | None) -> str:
    lines = []
    for error in exc.errors():
        where = error.get("loc") or ()
        field = str(where[0]) if where else ""
        name = variable(field) if field in Settings.model_fields else field
        raw = (environ or {}).get(name, error.get("input")) if name else error.get("input")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if not name:
            lines.append(message)
        elif "secret" in field or "token" in field or "key_id" in field:
            lines.append(f"{name}: {message}")  # never echo a secret
        else:
            lines.append(f"{name}={raw!r}: {message}")
    return "; ".join(lines)


# -- the settings of the run in progress, for process-wide tools (the ffmpeg binary, the font) --------

_ACTIVE: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("active_settings", default=None)


def active() -> Settings:
    """The settings of the run or sensor evaluation in progress in this thread (or the one that handed
    it work through a `ContextPool`); outside one, the environment's."""
    found = _ACTIVE.get()
    return found if found is not None else Settings.from_env()


@contextlib.contextmanager
def activated(settings: Settings) -> Iterator[Settings]:
    """Make `settings` the active ones while the block runs, in this thread and the tasks it hands a
    `ContextPool` (a Dagster run's resource does this); another thread's runs keep their own."""
    token = _ACTIVE.set(settings)
    try:
        yield settings
    finally:
        _ACTIVE.reset(token)


class ContextPool(ThreadPoolExecutor):
    """A thread pool whose every task runs in a copy of the submitter's context: it sees the settings
    active where it was submitted (`active`), as code run in the submitting thread would."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = contextvars.copy_context()

        def task() -> T:
            return context.run(fn, *args, **kwargs)

        return super().submit(task)


LOCAL_BACKENDS = frozenset({"animatic"})
"""Backends that compute on this machine (rather than wait on a model service)."""


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, e.g. a container's cpuset), else the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pair_workers(settings: Settings, backend_name: str, pairs: int | None, pool: int | None = None) -> int:
    """How many chunk pairs are made at once: `max_parallel_pairs`, no more than there are pairs and,
    for a backend that computes on this machine (the animatic), no more than its CPUs: more would only
    add memory. A backend with a pool of servers (comfyui: one prompt per server at a time) makes as many
    pairs at once as it has servers (`pool`)."""
    workers = pool if pool else settings.max_parallel_pairs
    if pairs is not None:
        workers = min(workers, pairs)
    if backend_name in LOCAL_BACKENDS:
        workers = min(workers, usable_cpus())
    return max(1, workers)
