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


LANDING_ROOT = "landing/"
"""Where CSV drops land in the raw bucket (`landing/<prefix>/`); pipeline.yaml names locations under it."""


def landing_prefix(location: str) -> str | None:
    """The raw-bucket prefix of a `landing/...` location, always ending in '/'; None for other locations."""
    if not location.startswith(LANDING_ROOT):
        return None
    return location if location.endswith("/") else f"{location}/"


RUN_SCOPE = "_run"
"""Where run-level records sit among a run's per-dataset ones (no dataset is called `_run`: names start a-z)."""


class LakeKeys:
    """Every key and prefix of the lake, without bucket names: what IAM grants and lifecycle rules need.

    raw bucket:      landing/<...>  (CSV drops),  raw/<dataset>/ingest_date=D/run_id=R/part-NNNNN.<ext>,
                     rejected/<dataset>/ingest_date=D/run_id=R/<file> (+ <file>.reason.json)
    curated bucket:  curated/<dataset>/{data,metadata}/... (Iceberg),  curated/_quarantine/<dataset>/... (Iceberg),
                     state/<dataset>.json,  runs/<run_id>/<dataset>/<step>.json,  audit/run_date=D/...

    A prefix ends in '/'; the `*` of `any_run_prefix` is an IAM wildcard, never a key.
    """

    # ------------------------------------------------------------ raw zone
    def raw_prefix(self, dataset: str | None = None) -> str:
        """`raw/`, or one dataset's `raw/<dataset>/`."""
        return f"raw/{dataset}/" if dataset else "raw/"

    def raw_run_prefix(self, dataset: str, ingest_date: date, run_id: str) -> str:
        return f"{self.raw_prefix(dataset)}ingest_date={ingest_date.isoformat()}/run_id={check_run_id(run_id)}/"

    def raw_part_key(self, dataset: str, ingest_date: date, run_id: str, index: int, ext: str) -> str:
        return f"{self.raw_run_prefix(dataset, ingest_date, run_id)}part-{index:05d}.{ext}"

    def manifest_key(self, dataset: str, ingest_date: date, run_id: str) -> str:
        return f"{self.raw_run_prefix(dataset, ingest_date, run_id)}_manifest.json"

    # ------------------------------------------------------------ rejected landing files
    def rejected_root(self, dataset: str) -> str:
        """Raw bucket: landing files the runs of a dataset refused, each with `<name>.reason.json` beside it."""
        return f"rejected/{dataset}/"

    def rejected_prefix(self, dataset: str, ingest_date: date, run_id: str) -> str:
        return f"{self.rejected_root(dataset)}ingest_date={ingest_date.isoformat()}/run_id={check_run_id(run_id)}/"

    def rejected_key(self, dataset: str, ingest_date: date, run_id: str, name: str) -> str:
        return f"{self.rejected_prefix(dataset, ingest_date, run_id)}{name}"

    # ------------------------------------------------------------ curated zone
    def curated_prefix(self, dataset: str | None = None) -> str:
        """`curated/` (the root the Glue job gets), or one dataset's `curated/<dataset>/`."""
        return f"curated/{dataset}/" if dataset else "curated/"

    def quarantine_prefix(self, dataset: str | None = None) -> str:
        """`curated/_quarantine/`, or one dataset's quarantine table `curated/_quarantine/<dataset>/`."""
        root = f"{self.curated_prefix()}_quarantine/"
        return f"{root}{dataset}/" if dataset else root

    # ------------------------------------------------------------ state, run records, audit
    def state_prefix(self) -> str:
        return "state/"

    def state_key(self, dataset: str) -> str:
        return f"{self.state_prefix()}{dataset}.json"

    def processed_prefix(self, dataset: str) -> str:
        """CSV landing markers: `state/<dataset>/processed/<quoted source>/<etag>` (a file is ingested once)."""
        return f"{self.state_prefix()}{dataset}/processed/"

    def runs_prefix(self) -> str:
        return "runs/"

    def run_dataset_prefix(self, run_id: str, dataset: str) -> str:
        return f"{self.runs_prefix()}{check_run_id(run_id)}/{dataset}/"

    def any_run_prefix(self, dataset: str) -> str:
        """IAM pattern of one dataset's step records in every run: `runs/*/<dataset>/`."""
        return f"{self.runs_prefix()}*/{dataset}/"

    def run_step_key(self, run_id: str, dataset: str, step: str) -> str:
        """Small JSON result of one step (ingest, standardize, commit) that the workflow and audit read."""
        return f"{self.run_dataset_prefix(run_id, dataset)}{step}.json"

    def run_record_key(self, run_id: str, name: str) -> str:
        """A record of the whole run (quality verdict, timeline): `runs/<run_id>/_run/<name>.json`."""
        return self.run_step_key(run_id, RUN_SCOPE, name)

    def lease_key(self, run_id: str, dataset: str) -> str:
        """The one-writer lease of a (run, dataset) (dataplatform/lease.py)."""
        return self.run_step_key(run_id, dataset, "lease")

    def any_lease_key(self) -> str:
        """IAM pattern of every run's leases: `runs/*/*/lease.json` (released by commit_state and write_audit)."""
        return f"{self.runs_prefix()}*/*/lease.json"

    def audit_prefix(self) -> str:
        return "audit/"

    def audit_key(self, run_date: date, run_id: str, dataset: str) -> str:
        return f"{self.audit_prefix()}run_date={run_date.isoformat()}/run_id={check_run_id(run_id)}/{dataset}.json"


@dataclass(frozen=True)
class Lake(LakeKeys):
    """Bucket names of one deployment: its keys (LakeKeys) and the s3:// URIs built from them.

    The CDK app builds one with its buckets' name tokens, so the URIs it passes to Glue carry the tokens.
    """

    raw_bucket: str
    curated_bucket: str

    def manifest_uri(self, dataset: str, ingest_date: date, run_id: str) -> str:
        return f"s3://{self.raw_bucket}/{self.manifest_key(dataset, ingest_date, run_id)}"

    def curated_uri(self, dataset: str | None = None) -> str:
        """`s3://<curated>/curated/` (the Glue job's `--curated_root`), or one dataset's."""
        return f"s3://{self.curated_bucket}/{self.curated_prefix(dataset)}"

    def quarantine_uri(self, dataset: str | None = None) -> str:
        """`s3://<curated>/curated/_quarantine/` (the Glue job's `--quarantine_root`), or one dataset's."""
        return f"s3://{self.curated_bucket}/{self.quarantine_prefix(dataset)}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"expected an s3:// URI, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
