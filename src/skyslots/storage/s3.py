"""S3-compatible storage (AWS, MinIO, SeaweedFS) through boto3, its blocking calls in threads.

A put uploads under `.incoming/<uuid>` and then moves the object (CopyObject, then DeleteObject
of the temporary key): the final key only ever names a complete object. A single PutObject is
atomic on S3 already; the move also covers servers that expose an upload in progress.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from skyslots.config import Settings
from skyslots.storage.base import StorageUnavailable, StoredObject
from skyslots.storage.disposition import content_disposition
from skyslots.storage.keys import INCOMING, checked_key, deletable_key

log = logging.getLogger(__name__)
T = TypeVar("T")
CHUNK = 64 * 1024
DELETE_BATCH = 1000  # DeleteObjects' limit
MISSING = {"404", "NoSuchKey", "NotFound"}


def _client(settings: Settings, endpoint_url: str | None) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},  # MinIO and SeaweedFS have no bucket subdomains
            connect_timeout=3,
            read_timeout=20,
            retries={"max_attempts": 2, "mode": "standard"},
        ),
    )


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in MISSING


class S3Storage:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self._region = settings.s3_region
        self._presign_seconds = settings.presign_seconds
        self._client = _client(settings, settings.s3_endpoint_url)
        # Presigned URLs sign the host: sign them for the endpoint browsers reach.
        public = settings.s3_public_endpoint_url
        self._public = _client(settings, public) if public else self._client
        self._ready = False

    async def _call(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except ClientError as exc:
            if _missing(exc):
                raise
            raise StorageUnavailable(f"S3 bucket {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:  # unreachable, timed out, no credentials
            raise StorageUnavailable(f"S3 bucket {self.bucket}: {exc}") from exc

    async def _s3(self, operation: str, **params: Any) -> Any:
        """One S3 call; the bucket is made first if the start could not (storage was down)."""
        if not self._ready:
            await self.ensure_ready()
        method = getattr(self._client, operation)
        return await self._call(lambda: method(Bucket=self.bucket, **params))

    async def ensure_ready(self) -> None:
        try:
            await self._call(lambda: self._client.head_bucket(Bucket=self.bucket))
        except ClientError:  # missing (other errors became StorageUnavailable)
            params: dict[str, Any] = {"Bucket": self.bucket}
            if self._region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
            try:
                await self._call(lambda: self._client.create_bucket(**params))
            except StorageUnavailable as exc:
                if "BucketAlreadyOwnedByYou" not in str(exc):  # made by a concurrent start
                    raise
            log.info("storage: created bucket %s", self.bucket)
        self._ready = True

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        checked_key(key)
        temporary = f"{INCOMING}{uuid.uuid4().hex}"
        await self._s3("put_object", Key=temporary, Body=data, ContentType=content_type)
        try:
            await self._s3(
                "copy_object",
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": temporary},
                MetadataDirective="COPY",
            )
        finally:
            await self._s3("delete_object", Key=temporary)

    async def get(self, key: str) -> bytes | None:
        try:
            answer = await self._s3("get_object", Key=checked_key(key))
        except ClientError:
            return None
        return await self._call(answer["Body"].read)

    async def exists(self, key: str) -> bool:
        try:
            await self._s3("head_object", Key=checked_key(key))
        except ClientError:
            return False
        return True

    async def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": deletable_key(key)} for key in keys[start : start + DELETE_BATCH]]
            await self._s3("delete_objects", Delete={"Objects": batch, "Quiet": True})

    async def list(self, prefix: str) -> list[StoredObject]:
        hidden = prefix.startswith(INCOMING)  # uploads in progress only when asked for
        found: list[StoredObject] = []
        token: dict[str, str] = {}
        while True:
            page = await self._s3("list_objects_v2", Prefix=prefix, **token)
            for item in page.get("Contents", []):
                if hidden or not item["Key"].startswith(INCOMING):
                    found.append(StoredObject(item["Key"], item["Size"], item["LastModified"]))
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        try:
            answer = await self._s3("get_object", Key=checked_key(key))
        except ClientError as exc:
            raise FileNotFoundError(key) from exc
        body = answer["Body"]
        chunks = body.iter_chunks(CHUNK)
        try:
            while chunk := await self._call(lambda: next(chunks, b"")):
                yield chunk
        finally:
            body.close()

    def download_url(
        self,
        key: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        expires_seconds: float | None = None,
    ) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": checked_key(key)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        lifetime = expires_seconds if expires_seconds is not None else self._presign_seconds
        return str(
            self._public.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=max(1, math.ceil(lifetime))
            )
        )
