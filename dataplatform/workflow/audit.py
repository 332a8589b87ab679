"""The audit trail: one JSON line per dataset per run, written at the end of every run, succeeded or failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dataplatform.layout import Lake, split_s3_uri
from dataplatform.lease import LeaseStore
from dataplatform.state import committed_by

MAX_ERROR_CHARS = 4000


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def audit_record(
    s3: Any,
    lake: Lake,
    *,
    run_id: str,
    dataset: str,
    window: dict[str, str],
    status: str,
    started_at: datetime,
    finished_at: datetime,
    error: dict[str, str] | None,
) -> dict[str, Any]:
    ingest = read_json(s3, lake.curated_bucket, lake.run_step_key(run_id, dataset, "ingest")) or {}
    standardize = read_json(s3, lake.curated_bucket, lake.run_step_key(run_id, dataset, "standardize")) or {}
    manifest: dict[str, Any] = {}
    if ingest.get("manifest_uri"):
        bucket, key = split_s3_uri(ingest["manifest_uri"])
        manifest = read_json(s3, bucket, key) or {}
    # What is committed, whatever the run's status: a commit that died between datasets left some states this
    # run's (the state object says whose it is), and the audit must say so.
    state_committed, committed = committed_by(s3, lake, run_id, dataset)
    cause = (error or {}).get("cause")
    return {
        "run_id": run_id,
        "dataset": dataset,
        "status": status,
        "state_committed": state_committed,
        "window_start": window["start"],
        "window_end": window["end"],
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": round((finished_at - started_at).total_seconds(), 3),
        "raw_rows": ingest.get("rows"),
        "raw_bytes": ingest.get("bytes"),
        "curated_rows": standardize.get("curated_rows"),
        "quarantined_rows": standardize.get("quarantined_rows"),
        "duplicate_rows": standardize.get("duplicate_rows"),
        "rejected_files": ingest.get("rejected"),
        "watermark_previous": (manifest.get("watermark") or {}).get("previous"),
        "watermark_committed": committed,
        "error_step": (error or {}).get("step"),
        "error": cause[:MAX_ERROR_CHARS] if cause else None,
    }


def write_audit(
    s3: Any,
    lake: Lake,
    *,
    run_id: str,
    datasets: list[str],
    window: dict[str, str],
    status: str,
    started_at: datetime,
    error: dict[str, str] | None = None,
    finished_at: datetime | None = None,
    owner: str | None = None,
) -> list[str]:
    if status not in ("SUCCEEDED", "FAILED"):
        raise ValueError(f"audit status {status!r}: expected SUCCEEDED or FAILED")
    finished = finished_at or datetime.now(UTC)
    uris = []
    for dataset in datasets:
        record = audit_record(
            s3,
            lake,
            run_id=run_id,
            dataset=dataset,
            window=window,
            status=status,
            started_at=started_at,
            finished_at=finished,
            error=error,
        )
        key = lake.audit_key(started_at.astimezone(UTC).date(), run_id, dataset)
        s3.put_object(
            Bucket=lake.curated_bucket,
            Key=key,
            Body=(json.dumps(record) + "\n").encode(),
            ContentType="application/json",
        )
        uris.append(f"s3://{lake.curated_bucket}/{key}")
    if owner is not None:
        # The run is over: its execution's leases go, so the window can be started again at once. Only after the
        # audit lines, which read what the run left; a lease that is not `owner`'s stays.
        leases = LeaseStore(s3, lake)
        for dataset in datasets:
            leases.release(run_id, dataset, owner)
    return uris
