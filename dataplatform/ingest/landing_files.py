"""Where CSV files come from: the landing prefix (or another S3 prefix), an https URL, or (local runs only) a
directory on this machine. Listing and opening; S3 reads are pinned to the listed ETag."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import requests
from botocore.exceptions import ClientError

from dataplatform.config.models import CsvSource
from dataplatform.ingest.base import IngestError
from dataplatform.layout import Lake, split_s3_uri

CHUNK = 1024 * 1024
PRECONDITION_CODES = ("PreconditionFailed", "412")


class LandingChanged(IngestError):
    """The file was replaced between listing and reading: it is left for the next run."""


@dataclass(frozen=True)
class LandingFile:
    source: str
    """s3://bucket/key, file:///path or the URL."""
    etag: str | None
    last_modified: str | None

    @property
    def name(self) -> str:
        return unquote(urlsplit(self.source).path.rsplit("/", 1)[-1]) or "file.csv"


def landing_location(source: CsvSource, lake: Lake) -> tuple[str, str] | None:
    """(bucket, prefix) for S3 locations, None for a URL."""
    access = source.access()
    if access.landing_prefix:
        return lake.raw_bucket, access.landing_prefix
    return access.external_s3


def list_local_directory(source: CsvSource) -> list[LandingFile]:
    """Local runs only: the files of a directory on this machine; a file's identity is its size and mtime."""
    directory = Path(source.location)
    if not directory.is_dir():
        raise IngestError(f"{source.location}: no such directory (the CSV source's location)")
    files = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and fnmatch.fnmatch(path.name, source.pattern):
            stat = path.stat()
            modified = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat()
            files.append(LandingFile(path.as_uri(), f"{stat.st_size}-{stat.st_mtime_ns}", modified))
    return files


def list_landing(s3: Any, source: CsvSource, lake: Lake, http: requests.Session) -> list[LandingFile]:
    if source.is_local_directory:
        return list_local_directory(source)
    location = landing_location(source, lake)
    if location is None:
        # One file behind a URL: its identity is the ETag (or Last-Modified) the server reports.
        resp = http.head(source.location, timeout=30, allow_redirects=True)
        if resp.status_code >= 400:
            raise IngestError(f"HEAD {source.location}: HTTP {resp.status_code}")
        etag = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        return [LandingFile(source.location, etag.strip('"') if etag else None, resp.headers.get("Last-Modified"))]
    bucket, prefix = location
    files: list[LandingFile] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/") or not fnmatch.fnmatch(key.rsplit("/", 1)[-1], source.pattern):
                continue
            files.append(LandingFile(f"s3://{bucket}/{key}", obj["ETag"].strip('"'), obj["LastModified"].isoformat()))
    return sorted(files, key=lambda f: f.source)


def open_landing(s3: Any, landing: LandingFile, http: requests.Session) -> tuple[Iterator[bytes], Callable[[], None]]:
    """(chunks, close) of one landing file; S3 reads are pinned to the listed ETag."""
    if landing.source.startswith("file://"):
        handle = open(url2pathname(urlsplit(landing.source).path), "rb")  # noqa: SIM115 (closed by the caller)
        return iter(lambda: handle.read(CHUNK), b""), handle.close
    if landing.source.startswith("s3://"):
        bucket, key = split_s3_uri(landing.source)
        extra = {"IfMatch": f'"{landing.etag}"'} if landing.etag else {}
        try:
            body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in PRECONDITION_CODES:
                raise LandingChanged(f"{landing.source} was replaced after it was listed") from None
            raise
        return body.iter_chunks(CHUNK), body.close
    resp = http.get(landing.source, stream=True, timeout=60)
    if resp.status_code >= 400:
        resp.close()
        raise IngestError(f"GET {landing.source}: HTTP {resp.status_code}")
    return resp.iter_content(CHUNK), resp.close
