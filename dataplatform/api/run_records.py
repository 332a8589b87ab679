"""The run records the workflow leaves in the curated bucket under `runs/<run_id>/` (docs/contracts.md): per
dataset `ingest.json` and `standardize.json`, per run `_run/quality.json` (every assertion's verdict) and
`_run/timeline.json` (the steps and their times, from the execution history). The console reads them beside the
audit table: they hold what one row per dataset cannot (steps, assertions, published snapshot ids).

`RecordStore` is what differs: S3 on AWS (`S3RecordStore`), the local lake directory for `dataplatform serve`
and `dataplatform report` (`LakeDirRecordStore`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from dataplatform.layout import LakeKeys


class RecordStore(Protocol):
    def get_json(self, key: str) -> dict[str, Any] | None:
        """The JSON object at `key` of the curated bucket; None when there is none."""
        ...


@dataclass(frozen=True)
class S3RecordStore:
    s3: Any
    bucket: str

    def get_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return _object(json.loads(body), key)


@dataclass(frozen=True)
class LakeDirRecordStore:
    """`<lake_dir>/s3/<bucket>/<key>`, the layout `dataplatform` dumps the local lake in."""

    lake_dir: Path
    bucket: str

    def get_json(self, key: str) -> dict[str, Any] | None:
        path = self.lake_dir / "s3" / self.bucket / key
        return _object(json.loads(path.read_text()), key) if path.is_file() else None


def _object(value: Any, key: str) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class RunRecords:
    store: RecordStore
    keys: LakeKeys = field(default_factory=LakeKeys)

    def step(self, run_id: str, dataset: str, step: str) -> dict[str, Any] | None:
        return self.store.get_json(self.keys.run_step_key(run_id, dataset, step))

    def quality(self, run_id: str) -> dict[str, Any] | None:
        """`{errors, warnings, results: [{name, severity, violations}]}`; None when the run never got that far."""
        return self.store.get_json(self.keys.run_record_key(run_id, "quality"))

    def timeline(self, run_id: str) -> dict[str, Any] | None:
        """`{run_id, execution, trigger, steps: [...]}` (dataplatform.workflow.timeline)."""
        return self.store.get_json(self.keys.run_record_key(run_id, "timeline"))
