"""Per-dataset state (watermark) in S3, advanced only by `commit` with conditional puts.

Ingestion never writes state: it *proposes* a watermark in the raw manifest. After the curated write succeeds
the workflow's commit_state step calls `commit`, which moves the state from the manifest's `previous` to its
`proposed` value with `IfMatch=<etag>` (or `IfNoneMatch='*'` for a new object), so of two runs racing to advance
the same dataset exactly one wins and the other gets a `StateConflictError` naming the dataset. A run commits all
of its datasets or none (`commit`); the audit reports per dataset whether its state is this run's (`committed_by`).

CSV landing files are tracked by marker objects `state/<dataset>/processed/<quoted source>/<etag>` that commit
writes for every file of the run's manifest: a file is ingested once, and a changed file (new ETag) again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from dataplatform.layout import Lake, split_s3_uri
from dataplatform.lease import UNNAMED_OWNER, LeaseStore
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


@dataclass
class _Advance:
    """One dataset's part of a commit: the state read, and the watermark it moves to."""

    dataset: str
    manifest: RawManifest
    target: str | None
    before: DatasetState | None
    etag: str | None
    done: bool
    """Nothing to write: this run already committed the dataset (a retried commit step), or `superseded`."""
    superseded: bool = False
    """An overlapping run committed every landing file this run ingested for the dataset: none is left to commit."""


def _superseded(store: StateStore, manifest: RawManifest) -> bool:
    """Landing runs overlap (every file that lands starts one, and a scheduled run reads the same prefix): when
    another run committed every file version of this run's CSV manifest, this run has nothing of its own to commit
    (a CSV watermark, the latest LastModified, only informs). A file only this run saw keeps it a conflict."""
    return manifest.format == "csv.gz" and all(
        f.source and f.source_etag and store.is_processed(manifest.dataset, f.source, f.source_etag)
        for f in manifest.files
    )


def _plan(store: StateStore, s3: Any, lake: Lake, run_id: str, dataset: str) -> _Advance:
    manifest = read_run_manifest(s3, lake, run_id, dataset)
    previous, proposed = manifest.watermark.previous, manifest.watermark.proposed
    target = proposed if proposed is not None else previous
    state, etag = store.read(dataset)
    current = state.watermark if state else None
    if state is not None and state.run_id == run_id and current == target:
        return _Advance(dataset, manifest, target, state, etag, done=True)
    if current != previous and _superseded(store, manifest):
        return _Advance(dataset, manifest, current, state, etag, done=True, superseded=True)
    if current != previous:
        raise StateConflictError(
            dataset,
            f"run {run_id} started from watermark {previous!r} but the state is now {current!r} "
            f"(written by run {state.run_id if state else None}); no dataset of this run was committed",
        )
    return _Advance(dataset, manifest, target, state, etag, done=False)


def _undo(store: StateStore, written: list[tuple[_Advance, str]]) -> list[str]:
    """Put back the states this commit wrote (IfMatch on what it wrote); the datasets that could not be."""
    stuck: list[str] = []
    for advance, etag in reversed(written):
        before = advance.before or DatasetState(dataset=advance.dataset, updated_at=datetime.now(UTC))
        try:
            store.write(before.model_copy(update={"updated_at": datetime.now(UTC)}), etag)
        except Exception:  # reported in the note of the original error, which stays the one raised
            stuck.append(advance.dataset)
    return stuck


def check_commit(s3: Any, lake: Lake, run_id: str, datasets: list[str]) -> None:
    """The checks of `commit`, writing nothing: StateConflictError if committing `run_id` now would conflict.
    For a step that must not make a run's data visible when its commit is bound to fail (publish)."""
    store = StateStore(s3, lake)
    for dataset in datasets:
        _plan(store, s3, lake, run_id, dataset)


def commit(s3: Any, lake: Lake, run_id: str, datasets: list[str], owner: str = UNNAMED_OWNER) -> dict[str, str | None]:
    """Advance every dataset's state to the watermark its manifest of `run_id` proposes: all of them, or none.

    Every dataset is checked before any state is written: when one no longer holds its manifest's `previous`
    watermark (another run committed in between), StateConflictError names it and nothing is written. A
    conditional put that loses a race after that puts back the states this call already wrote. Idempotent: a
    retried commit (the step died between two datasets) finishes the rest. A CSV dataset whose every file an
    overlapping run already committed is superseded: not written, and left out of the result. Processed-file
    markers are written once every state is, then `owner`'s (run, dataset) leases are released
    (dataplatform/lease.py).
    """
    store = StateStore(s3, lake)
    plans = [_plan(store, s3, lake, run_id, dataset) for dataset in datasets]
    written: list[tuple[_Advance, str]] = []
    try:
        for advance in (p for p in plans if not p.done):
            state = DatasetState(
                dataset=advance.dataset, watermark=advance.target, run_id=run_id, updated_at=datetime.now(UTC)
            )
            written.append((advance, store.write(state, advance.etag)))
    except Exception as exc:
        stuck = _undo(store, written)
        undone = [a.dataset for a, _ in written if a.dataset not in stuck]
        exc.add_note(
            f"commit of run {run_id} undone: no dataset committed"
            if not stuck
            else f"commit of run {run_id}: put back {undone}, could not put back {stuck} (still committed)"
        )
        raise
    # Markers after the states: a crash in between only re-offers files that the key dedup absorbs.
    for advance in plans:
        for raw_file in advance.manifest.files:
            if raw_file.source and raw_file.source_etag:
                store.mark_processed(advance.dataset, raw_file.source, raw_file.source_etag, run_id)
    leases = LeaseStore(s3, lake)
    for dataset in datasets:
        leases.release(run_id, dataset, owner)
    return {advance.dataset: advance.target for advance in plans if not advance.superseded}


def committed_by(s3: Any, lake: Lake, run_id: str, dataset: str) -> tuple[bool, str | None]:
    """Whether the dataset's state is this run's, and its watermark: what the audit reports as committed."""
    state, _ = StateStore(s3, lake).read(dataset)
    if state is None or state.run_id != run_id:
        return False, None
    return True, state.watermark
