"""The artifact store on S3 or any S3-compatible service (MinIO, moto, ...).

The client comes from dagster-aws's `S3Resource` (in Dagster, the `s3` resource the UI shows; in the
CLI, one with its defaults), and keys are listed with dagster-aws's `get_objects`. Endpoint and
credentials come from the resource's config when set, else from the standard AWS settings
(`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
profiles), read by boto3 itself. What this module adds is the store interface over it: the key
layout under a prefix, content types, whole-object writes (a single PUT, or a multipart upload that
only becomes an object when it completes, so an interrupted upload leaves nothing a later run would
trust), the local download cache, and one clear `StoreError` for an unreachable endpoint or a missing
bucket (bounded retries), never a stack of them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects

from vidgen_assets.storage.layout import content_type
from vidgen_assets.storage.lock import check_s3_write
from vidgen_assets.storage.store import ArtifactStore, StoreError, check_key

T = TypeVar("T")
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
MAX_ATTEMPTS = 3
"""S3Resource's `max_attempts`, per S3 call: botocore's retries config counts it as retries after the
first try (measured against moto: 4 requests in all for an unreachable endpoint)."""
TRANSFER = TransferConfig(multipart_threshold=64 * 1024 * 1024, use_threads=False)


class S3Store(ArtifactStore):
    """Objects under `s3://bucket/prefix/`; downloads cached locally by ETag under `cache_dir`.

    `s3` is the dagster-aws resource the client comes from (default: one with the AWS settings of the
    environment), or the boto3 client that resource gave already (`client`: what Dagster hands a resource
    that holds the `s3` resource)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        cache_dir: Path | None = None,
        s3: S3Resource | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / "vidgen-s3-cache"
        self.client: Any = client if client is not None else (s3 or default_s3()).get_client()

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _endpoint(self) -> str:
        return str(getattr(self.client.meta, "endpoint_url", "") or "the default AWS endpoint")

    @contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        where = f"s3://{self.bucket}/" + "/".join(p for p in (self.prefix, key) if p)
        try:
            yield
        except EndpointConnectionError as exc:
            raise StoreError(f"cannot reach the S3 endpoint {self._endpoint()} to {action} {where}: {exc}") from None
        except NoCredentialsError:
            raise StoreError(
                f"no AWS credentials to {action} {where}: set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile"
            ) from None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket":
                raise StoreError(
                    f"bucket {self.bucket!r} does not exist at {self._endpoint()} ({action} {where})"
                ) from None
            if code in NOT_FOUND:
                raise FileNotFoundError(f"no object at {where}") from None
            raise StoreError(f"S3 refused to {action} {where}: {code} {exc}") from None
        except BotoCoreError as exc:
            raise StoreError(f"S3 error while trying to {action} {where}: {exc}") from None

    def _call(self, action: str, key: str, fn: Callable[[], T]) -> T:
        with self._errors(action, key):
            return fn()
        raise AssertionError("unreachable")  # pragma: no cover (the context manager re-raises)

    def check(self) -> None:
        """Fail fast with one clear error when the endpoint, the credentials or the bucket are wrong."""
        self._call("reach", "", lambda: self.client.head_bucket(Bucket=self.bucket))

    def put_file(self, key: str, src: Path) -> None:
        check_s3_write(self.bucket, self._key(key))
        extra = {"ContentType": content_type(key)}
        self._call(
            "write",
            key,
            lambda: self.client.upload_file(str(src), self.bucket, self._key(key), ExtraArgs=extra, Config=TRANSFER),
        )

    def put_bytes(self, key: str, data: bytes) -> None:
        check_s3_write(self.bucket, self._key(key))
        self._call(
            "write",
            key,
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type(key)
            ),
        )

    def get_bytes(self, key: str) -> bytes:
        response = self._call("read", key, lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(key)))
        body: bytes = response["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        try:
            self._call("look up", key, lambda: self.client.head_object(Bucket=self.bucket, Key=self._key(key)))
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        check_s3_write(self.bucket, self._key(key))
        self._call("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)))

    def local_path(self, key: str) -> Path:
        """Download once per version (ETag) into the local cache; later calls reuse the file."""
        head = self._call("look up", key, lambda: self.client.head_object(Bucket=self.bucket, Key=self._key(key)))
        etag = str(head.get("ETag", "")).strip('"').replace("/", "_") or "none"
        path = self.cache_dir / self.bucket / self._key(key)
        local = path.with_name(f"{path.stem}.{etag}{path.suffix}")
        if local.is_file():
            return local
        local.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{local.name}.", suffix=".part", dir=local.parent)
        os.close(fd)
        try:
            self._call(
                "download",
                key,
                lambda: self.client.download_file(self.bucket, self._key(key), tmp, Config=TRANSFER),
            )
            os.replace(tmp, local)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return local

    def list(self, prefix: str) -> list[str]:
        if ".." in prefix.split("/"):
            raise ValueError(f"invalid store prefix: {prefix!r}")
        full = "/".join(p for p in (self.prefix, prefix) if p)
        strip = len(self.prefix) + 1 if self.prefix else 0
        objects = self._call("list", prefix, lambda: get_objects(self.bucket, prefix=full, client=self.client))
        return sorted(str(item["Key"])[strip:] for item in objects)

    def uri(self, key: str) -> str:
        key = key.rstrip("/")
        return f"s3://{self.bucket}/{self._key(key)}" if key else f"s3://{self.bucket}/{self.prefix}"


class LazyS3Resource(S3Resource):
    """dagster-aws's `S3Resource` (the same fields, configurable at launch) whose boto3 client is made
    when a store first needs it, not when a run or a sensor tick starts: on a local store none is made
    (building a client costs about a third of a second of CPU, at the start of every run)."""

    def get_object_to_set_on_execution_context(self) -> Any:
        return self


def default_s3() -> S3Resource:
    """The S3 resource vidgen uses unless Dagster's resources give another: the AWS settings of the
    environment, `MAX_ATTEMPTS` retries per call after its first try."""
    return LazyS3Resource(max_attempts=MAX_ATTEMPTS)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/prefix/` -> (bucket, prefix)."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise ValueError(f"{uri!r} names no bucket (use s3://bucket/prefix/)")
    return bucket, prefix.strip("/")
