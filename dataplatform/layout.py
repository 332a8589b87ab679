"""Where everything lives in S3. The only module that builds zone keys, so every component agrees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id):
        raise ValueError(f"run_id {run_id!r}: expected 1-80 characters of letters, digits, '_', '.', ':' or '-'")
    return run_id


@dataclass(frozen=True)
class Lake:
    """Bucket names of one deployment.

    raw bucket:      landing/<...>  (CSV drops)  and  raw/<dataset>/ingest_date=D/run_id=R/part-NNNNN.<ext>
    curated bucket:  curated/<dataset>/<partition>=D/...,  curated/_quarantine/<dataset>/run_id=R/...,
                     state/<dataset>.json,  runs/<run_id>/<dataset>/<step>.json,  audit/run_date=D/...
    """

    raw_bucket: str
    curated_bucket: str

    # ------------------------------------------------------------ raw zone
    def raw_run_prefix(self, dataset: str, ingest_date: date, run_id: str) -> str:
        return f"raw/{dataset}/ingest_date={ingest_date.isoformat()}/run_id={check_run_id(run_id)}/"

    def raw_part_key(self, dataset: str, ingest_date: date, run_id: str, index: int, ext: str) -> str:
        return f"{self.raw_run_prefix(dataset, ingest_date, run_id)}part-{index:05d}.{ext}"

    def manifest_key(self, dataset: str, ingest_date: date, run_id: str) -> str:
        return f"{self.raw_run_prefix(dataset, ingest_date, run_id)}_manifest.json"

    def manifest_uri(self, dataset: str, ingest_date: date, run_id: str) -> str:
        return f"s3://{self.raw_bucket}/{self.manifest_key(dataset, ingest_date, run_id)}"

    # ------------------------------------------------------------ rejected landing files
    def rejected_prefix(self, dataset: str, ingest_date: date, run_id: str) -> str:
        """Raw bucket: landing files a run refused, moved here with `<name>.reason.json` beside each."""
        return f"rejected/{dataset}/ingest_date={ingest_date.isoformat()}/run_id={check_run_id(run_id)}/"

    def rejected_key(self, dataset: str, ingest_date: date, run_id: str, name: str) -> str:
        return f"{self.rejected_prefix(dataset, ingest_date, run_id)}{name}"

    # ------------------------------------------------------------ curated zone
    def curated_prefix(self, dataset: str) -> str:
        return f"curated/{dataset}/"

    def curated_uri(self, dataset: str) -> str:
        return f"s3://{self.curated_bucket}/{self.curated_prefix(dataset)}"

    def quarantine_prefix(self, dataset: str, run_id: str | None = None) -> str:
        base = f"curated/_quarantine/{dataset}/"
        return f"{base}run_id={check_run_id(run_id)}/" if run_id else base

    def quarantine_uri(self, dataset: str, run_id: str | None = None) -> str:
        return f"s3://{self.curated_bucket}/{self.quarantine_prefix(dataset, run_id)}"

    # ------------------------------------------------------------ state, run records, audit
    def state_key(self, dataset: str) -> str:
        return f"state/{dataset}.json"

    def run_step_key(self, run_id: str, dataset: str, step: str) -> str:
        """Small JSON result of one step (ingest, standardize, commit) that the workflow and audit read."""
        return f"runs/{check_run_id(run_id)}/{dataset}/{step}.json"

    def audit_prefix(self) -> str:
        return "audit/"

    def audit_key(self, run_date: date, run_id: str, dataset: str) -> str:
        return f"audit/run_date={run_date.isoformat()}/run_id={check_run_id(run_id)}/{dataset}.json"


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"expected an s3:// URI, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
