"""The Glue job body, independent of awsglue: load config and manifests, standardize, record, catalog.

glue_jobs/standardize_job.py parses the arguments and calls `run_job`. On Glue, Spark reads and writes s3:// paths
directly (EMRFS); the small JSON objects (config, manifests, the run record) go through boto3.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from dataplatform.config import PipelineConfig, parse_config
from dataplatform.layout import Lake, check_run_id, split_s3_uri
from dataplatform.manifest import RawManifest

logger = logging.getLogger(__name__)

JOB_ARGUMENTS: tuple[str, ...] = (
    "dataset",
    "run_id",
    "manifest_uris",
    "curated_root",
    "quarantine_root",
    "config_uri",
)
# Glue's StartJobRun rejects empty argument values, so "nothing new" may also be spelled "-" or "none".
NO_MANIFESTS = {"", "-", "none"}


class JobArgumentError(ValueError):
    """A job argument is missing or malformed."""


@dataclass(frozen=True)
class JobArguments:
    dataset: str
    run_id: str
    manifest_uris: tuple[str, ...]
    curated_root: str
    quarantine_root: str
    config_uri: str

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> JobArguments:
        """Build from `{name: value}` (names with or without the leading `--`), failing loudly on gaps."""
        clean = {str(k).removeprefix("--"): v for k, v in values.items()}
        missing = [name for name in JOB_ARGUMENTS if clean.get(name) is None]
        if missing:
            raise JobArgumentError(f"missing job argument(s): {', '.join('--' + m for m in missing)}")
        for name in ("dataset", "run_id", "curated_root", "quarantine_root", "config_uri"):
            if not str(clean[name]).strip():
                raise JobArgumentError(f"job argument --{name} is empty")
        check_run_id(str(clean["run_id"]))
        raw_uris = str(clean["manifest_uris"]).strip()
        uris = () if raw_uris.lower() in NO_MANIFESTS else tuple(u.strip() for u in raw_uris.split(",") if u.strip())
        return cls(
            dataset=str(clean["dataset"]),
            run_id=str(clean["run_id"]),
            manifest_uris=uris,
            curated_root=_with_slash(str(clean["curated_root"])),
            quarantine_root=_with_slash(str(clean["quarantine_root"])),
            config_uri=str(clean["config_uri"]),
        )


def _with_slash(root: str) -> str:
    return root if root.endswith("/") else root + "/"


def _read_text(uri: str, s3: Any) -> str:
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    with open(uri.removeprefix("file://"), encoding="utf-8") as fh:
        return fh.read()


def load_config_uri(uri: str, s3: Any = None) -> PipelineConfig:
    return parse_config(_read_text(uri, s3), file=uri)


def load_manifest(uri: str, s3: Any = None) -> RawManifest:
    try:
        return RawManifest.model_validate_json(_read_text(uri, s3))
    except ValueError as exc:
        raise ValueError(f"{uri}: not a valid raw manifest: {exc}") from exc


def part_uri(manifest_uri: str, key: str) -> str:
    """Parts are listed by key in the raw bucket, which is the manifest's own bucket."""
    if manifest_uri.startswith("s3://"):
        bucket, _ = split_s3_uri(manifest_uri)
        return f"s3://{bucket}/{key}"
    raise ValueError(f"expected an s3:// manifest URI, got {manifest_uri!r}")


def run_job(args: JobArguments) -> dict[str, Any]:
    """Standardize one dataset for one run on the Glue cluster; returns the run record it wrote."""
    import boto3
    from pyspark.sql import SparkSession

    from dataplatform.catalog import update_catalog
    from dataplatform.transform.standardize import RawInput, StandardizeRequest, configure_session, standardize

    s3 = boto3.client("s3")
    config = load_config_uri(args.config_uri, s3)
    if args.dataset not in config.datasets:
        raise JobArgumentError(f"--dataset {args.dataset!r} is not in {args.config_uri} ({', '.join(config.datasets)})")
    inputs = []
    for uri in args.manifest_uris:
        manifest = load_manifest(uri, s3)
        inputs.append(RawInput(manifest=manifest, paths=tuple(part_uri(uri, f.key) for f in manifest.files)))
    spark = SparkSession.builder.getOrCreate()
    configure_session(spark)
    request = StandardizeRequest(
        dataset=args.dataset,
        run_id=args.run_id,
        config=config,
        inputs=tuple(inputs),
        curated_root=args.curated_root,
        quarantine_root=args.quarantine_root,
    )
    curated_bucket, _ = split_s3_uri(args.curated_root)
    lake = Lake(raw_bucket="", curated_bucket=curated_bucket)
    record_key = lake.run_step_key(args.run_id, args.dataset, "standardize")
    try:
        result = standardize(spark, request)
        update_catalog(
            boto3.client("glue"),
            config=config,
            dataset=args.dataset,
            result=result,
            curated_location=args.curated_root,
            quarantine_location=args.quarantine_root,
        )
    except Exception as exc:
        failed = {"dataset": args.dataset, "run_id": args.run_id, "status": "FAILED", "error": str(exc)[:2000]}
        s3.put_object(Bucket=curated_bucket, Key=record_key, Body=json.dumps(failed).encode())
        raise
    record = result.record()
    s3.put_object(Bucket=curated_bucket, Key=record_key, Body=json.dumps(record).encode())
    logger.info("standardized %s", record)
    return record
