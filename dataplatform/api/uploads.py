"""`POST /uploads/{dataset}`: an S3 presigned POST for one CSV file into the dataset's landing prefix.

The policy S3 enforces: the exact key the API chose (under `landing/<dataset>/`, so nothing lands elsewhere and no
client path is ever used), `Content-Type: text/csv`, and a `content-length-range` of 1 byte to the configured
maximum. A file that lands starts a run for the landing datasets through the stack's landing rule.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from dataplatform.api.errors import NotUploadable
from dataplatform.api.models import UploadTicket
from dataplatform.config import PipelineConfig

CONTENT_TYPE = "text/csv"
FILENAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def upload_key(prefix: str, filename: str | None, now: datetime | None = None) -> str:
    """`<landing prefix>api-<UTC time>-<random>-<file name>.csv`: unique, so uploads never replace each other."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    stem = re.sub(r"\.{2,}", "_", _UNSAFE.sub("_", (filename or "upload").removesuffix(".csv")))[:80] or "upload"
    return f"{prefix}api-{stamp}-{uuid.uuid4().hex[:12]}-{stem}.csv"


def presigned_upload(
    s3: Any, config: PipelineConfig, raw_bucket: str, dataset: str, filename: str | None
) -> UploadTicket:
    prefix = config.uploadable_datasets().get(dataset)
    if prefix is None:
        raise NotUploadable(
            f"dataset '{dataset}' does not read CSV files from a landing/ prefix; uploadable: "
            f"{', '.join(config.uploadable_datasets()) or 'none'}"
        )
    key = upload_key(prefix, filename)
    max_bytes = config.api.uploads.max_bytes(dataset)
    expires = config.api.uploads.expires_s
    post = s3.generate_presigned_post(
        Bucket=raw_bucket,
        Key=key,
        Fields={"Content-Type": CONTENT_TYPE},
        Conditions=[{"Content-Type": CONTENT_TYPE}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires,
    )
    return UploadTicket(
        url=post["url"], fields={k: str(v) for k, v in post["fields"].items()}, key=key, max_bytes=max_bytes,
        expires_in_s=expires,
    )  # fmt: skip
