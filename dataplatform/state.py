"""Per-dataset state (watermark) in S3, advanced only by `commit` with conditional puts.

Ingestion never writes state: it *proposes* a watermark in the raw manifest. After the curated write succeeds
the workflow's commit_state step calls `commit`, which moves the state from the manifest's `previous` to its
`proposed` value with `IfMatch=<etag>` (or `IfNoneMatch='*'` for a new object), so of two runs racing to advance
the same dataset exactly one wins and the other gets a `StateConflictError` naming the dataset.

CSV landing files are tracked by marker objects `state/<dataset>/processed/<quoted source>/<etag>` that commit
writes for every file of the run's manifest: a file is ingested once, and a changed file (new ETag) again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from dataplatform.layout import Lake, split_s3_uri
from dataplatform.manifest import RawManifest

CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


class StateConflictError(RuntimeError):
    """Another writer advanced the dataset's state first. Re-run the dataset; nothing was changed."""

    def __init__(self, dataset: str, detail: str) -> None:
        self.dataset = dataset
        super().__init__(f"state of dataset '{dataset}' changed concurrently: {detail}")


class DatasetState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str
    watermark: str | None = None
    run_id: str | None = None
    updated_at: datetime


def _is_missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound")


class StateStore:
    def __init__(self, s3: Any, lake: Lake) -> None:
        self.s3, self.lake = s3, lake
        self.bucket = lake.curated_bucket

    def read(self, dataset: str) -> tuple[DatasetState | None, str | None]:
        """The state and its ETag, or (None, None) when the dataset has never been committed."""
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.lake.state_key(dataset))
        except ClientError as exc:
            if _is_missing(exc):
                return None, None
            raise
        return DatasetState.model_validate_json(obj["Body"].read()), obj["ETag"]

    def write(self, state: DatasetState, etag: str | None) -> str:
        """Conditional put: replaces exactly the version read (`etag`), or creates only if absent (None)."""
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            resp = self.s3.put_object(
                Bucket=self.bucket,
                Key=self.lake.state_key(state.dataset),
                Body=state.model_dump_json().encode(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in CONFLICT_CODES:
                expected = f"version {etag}" if etag else "no state yet"
                raise StateConflictError(state.dataset, f"expected {expected}, another run wrote it first") from exc
            raise
        return resp["ETag"]

    # ------------------------------------------------------------------ CSV landing markers
    def processed_prefix(self, dataset: str) -> str:
        return self.lake.processed_prefix(dataset)

    def processed_key(self, dataset: str, source: str, etag: str) -> str:
        return f"{self.processed_prefix(dataset)}{quote(source, safe='')}/{quote(etag, safe='')}"

    def is_processed(self, dataset: str, source: str, etag: str | None) -> bool:
        """Whether a committed run ingested this version of the file: one HEAD, however many files the dataset
        has ever processed (listing every marker grew with the lake's age)."""
        if etag is None:
            return False
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.processed_key(dataset, source, etag))
        except ClientError as exc:
            if _is_missing(exc) or exc.response["Error"]["Code"] == "Not Found":
                return False
            raise
        return True

    def processed_sources(self, dataset: str) -> set[tuple[str, str]]:
        """(source, etag) of every landing file already committed for the dataset."""
        prefix = self.processed_prefix(dataset)
        seen: set[tuple[str, str]] = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                source, _, etag = obj["Key"][len(prefix) :].rpartition("/")
                seen.add((unquote(source), unquote(etag)))
        return seen

    def mark_processed(self, dataset: str, source: str, etag: str, run_id: str) -> None:
        key = self.processed_key(dataset, source, etag)
        body = json.dumps({"source": source, "etag": etag, "run_id": run_id}).encode()
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in CONFLICT_CODES:  # already marked: a retried commit
                raise


def read_run_manifest(s3: Any, lake: Lake, run_id: str, dataset: str) -> RawManifest:
    """The manifest this run's ingestion wrote, found through `runs/<run_id>/<dataset>/ingest.json`."""
    key = lake.run_step_key(run_id, dataset, "ingest")
    try:
        record = json.loads(s3.get_object(Bucket=lake.curated_bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if _is_missing(exc):
            raise FileNotFoundError(
                f"dataset '{dataset}': s3://{lake.curated_bucket}/{key} is missing; was it ingested in run {run_id}?"
            ) from exc
        raise
    if record.get("status") != "done" or not record.get("manifest_uri"):
        raise ValueError(f"dataset '{dataset}': ingestion of run {run_id} is not done ({record.get('status')})")
    bucket, manifest_key = split_s3_uri(record["manifest_uri"])
    return RawManifest.model_validate_json(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())


def commit(s3: Any, lake: Lake, run_id: str, datasets: list[str]) -> dict[str, str | None]:
    """Advance each dataset's state to the watermark its manifest of `run_id` proposes.

    Idempotent: committing the same run twice is a no-op. Raises StateConflictError when the state no longer
    holds the manifest's `previous` watermark (another run committed in between) or a concurrent put wins.
    """
    store = StateStore(s3, lake)
    committed: dict[str, str | None] = {}
    for dataset in datasets:
        manifest = read_run_manifest(s3, lake, run_id, dataset)
        previous, proposed = manifest.watermark.previous, manifest.watermark.proposed
        target = proposed if proposed is not None else previous
        state, etag = store.read(dataset)
        current = state.watermark if state else None
        if state is not None and state.run_id == run_id and current == target:
            committed[dataset] = current  # this run was already committed (retried step)
        elif current != previous:
            raise StateConflictError(
                dataset,
                f"run {run_id} started from watermark {previous!r} but the state is now {current!r} "
                f"(written by run {state.run_id if state else None})",
            )
        else:
            store.write(
                DatasetState(dataset=dataset, watermark=target, run_id=run_id, updated_at=datetime.now(UTC)), etag
            )
            committed[dataset] = target
        # Markers after the state: a crash in between only re-offers files that the key dedup absorbs.
        for raw_file in manifest.files:
            if raw_file.source and raw_file.source_etag:
                store.mark_processed(dataset, raw_file.source, raw_file.source_etag, run_id)
    return committed
