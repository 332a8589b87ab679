"""One writer per (run, dataset): a lease object `runs/<run_id>/<dataset>/lease.json` in the curated bucket.

Every execution resolves the same window to the same run_id, so two executions of one window would clear and
rewrite the same raw prefix at once. Before an ingest call touches that prefix it takes (fresh start) or renews
(continuation) the lease, with S3 conditional puts: `IfNoneMatch='*'` creates it, `IfMatch=<etag>` replaces exactly
the version read, so of two executions racing for it exactly one wins. The lease names its owner (the Step
Functions execution), and expires: `INGEST_TTL` while ingest calls run (each call renews it), `RUN_TTL` once the
manifest is written, since the run's later steps read that raw data. commit_state releases it after the commit,
the failure path's write_audit when the run fails; an expired lease (its execution was stopped) can be taken over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from dataplatform.layout import Lake

CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")

INGEST_TTL = timedelta(minutes=20)
"""While ingesting: longer than one ingest Lambda call may run (15 minutes), renewed by every call."""

RUN_TTL = timedelta(hours=6)
"""After the manifest: as long as the state machine lets an execution run (infra/orchestration.py), so a lease
outlives its execution only when that execution was stopped without its failure path."""

UNNAMED_OWNER = "unnamed"
"""The owner of calls that name none (direct calls, tests): they do not exclude one another."""

Phase = Literal["ingesting", "ingested"]


class Lease(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str
    dataset: str
    owner: str
    phase: Phase
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    released_at: datetime | None = None

    def describe(self) -> str:
        return (
            f"execution {self.owner} ({self.phase}, lease taken {self.acquired_at:%Y-%m-%dT%H:%M:%SZ}, "
            f"expires {self.expires_at:%Y-%m-%dT%H:%M:%SZ})"
        )


class LeaseHeldError(RuntimeError):
    """Another execution holds the (run, dataset) lease: this one changed nothing. Its class name is the error the
    workflow's ingest task retries on, so a second execution of a window waits a while before it fails."""

    def __init__(self, lease: Lease, owner: str) -> None:
        self.lease = lease
        super().__init__(
            f"run {lease.run_id}, dataset '{lease.dataset}': raw data is being written or used by {lease.describe()}; "
            f"execution {owner} changed nothing. Wait until that execution ends, or start the window again after "
            "the lease expires."
        )


class LeaseLostError(RuntimeError):
    """This execution's lease was taken over (it had expired) or released: it must not write any more."""


def _conflict(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in CONFLICT_CODES


class LeaseStore:
    def __init__(self, s3: Any, lake: Lake, clock: Callable[[], datetime] | None = None) -> None:
        self.s3, self.lake = s3, lake
        self.bucket = lake.curated_bucket
        self.clock = clock or (lambda: datetime.now(UTC))

    def read(self, run_id: str, dataset: str) -> tuple[Lease | None, str | None]:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.lake.lease_key(run_id, dataset))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return None, None
            raise
        return Lease.model_validate_json(obj["Body"].read()), obj["ETag"]

    def _put(self, lease: Lease, etag: str | None) -> None:
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.lake.lease_key(lease.run_id, lease.dataset),
            Body=lease.model_dump_json().encode(),
            ContentType="application/json",
            **condition,
        )

    def acquire(self, run_id: str, dataset: str, owner: str, ttl: timedelta = INGEST_TTL) -> Lease:
        """Take the lease for `owner`: new, released, expired, or already `owner`'s; else LeaseHeldError."""
        current, etag = self.read(run_id, dataset)
        now = self.clock()
        if current is not None and current.released_at is None and current.owner != owner and current.expires_at > now:
            raise LeaseHeldError(current, owner)
        kept = current is not None and current.released_at is None and current.owner == owner
        lease = Lease(
            run_id=run_id,
            dataset=dataset,
            owner=owner,
            phase="ingesting",
            acquired_at=current.acquired_at if kept and current else now,
            renewed_at=now,
            expires_at=now + ttl,
        )
        try:
            self._put(lease, etag)
        except ClientError as exc:
            if not _conflict(exc):
                raise
            winner, _ = self.read(run_id, dataset)  # another execution took it between our read and put
            if winner is None:
                raise
            raise LeaseHeldError(winner, owner) from exc
        return lease

    def renew(self, run_id: str, dataset: str, owner: str, ttl: timedelta, phase: Phase = "ingesting") -> Lease:
        """Extend `owner`'s lease; LeaseLostError when it is no longer `owner`'s (taken over or released)."""
        current, etag = self.read(run_id, dataset)
        if current is None or current.owner != owner or current.released_at is not None:
            holder = f"held by {current.describe()}" if current and current.released_at is None else "released"
            raise LeaseLostError(
                f"run {run_id}, dataset '{dataset}': execution {owner} no longer holds the lease ({holder}); "
                "it stops without writing"
            )
        now = self.clock()
        lease = current.model_copy(update={"phase": phase, "renewed_at": now, "expires_at": now + ttl})
        try:
            self._put(lease, etag)
        except ClientError as exc:
            if not _conflict(exc):
                raise
            raise LeaseLostError(
                f"run {run_id}, dataset '{dataset}': another execution replaced the lease of {owner}"
            ) from exc
        return lease

    def release(self, run_id: str, dataset: str, owner: str) -> bool:
        """Mark `owner`'s lease released (no delete permission needed); False when it is not `owner`'s."""
        current, etag = self.read(run_id, dataset)
        if current is None or current.owner != owner or current.released_at is not None:
            return False
        try:
            self._put(current.model_copy(update={"released_at": self.clock()}), etag)
        except ClientError as exc:
            if not _conflict(exc):
                raise
            return False
        return True
