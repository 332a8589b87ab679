"""The Glue job bodies, independent of awsglue: load config and manifests, standardize (or publish), record.

glue_jobs/standardize_job.py and glue_jobs/publish_job.py parse the arguments and call `run_job` /
`run_publish`. Spark reads the raw parts through S3A (`s3://`) and writes the curated zone through Iceberg's
GlueCatalog and S3FileIO (dataplatform/transform/iceberg.py); the small JSON objects (config, manifests, run
records) go through boto3. The local runner calls the same functions with its own session and clients.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import boto3
from pyspark.sql import SparkSession

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
PUBLISH_ARGUMENTS: tuple[str, ...] = ("run_id", "datasets", "curated_root", "quarantine_root", "config_uri")
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
        clean = _required(values, JOB_ARGUMENTS, optional=("manifest_uris",))
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


@dataclass(frozen=True)
class PublishArguments:
    run_id: str
    datasets: tuple[str, ...]
    curated_root: str
    quarantine_root: str
    config_uri: str

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> PublishArguments:
        """`--datasets` is a JSON array (what the workflow's `States.JsonToString` gives) or a comma list."""
        clean = _required(values, PUBLISH_ARGUMENTS)
        text = str(clean["datasets"]).strip()
        try:
            names = json.loads(text) if text.startswith("[") else [n.strip() for n in text.split(",") if n.strip()]
        except json.JSONDecodeError as exc:
            raise JobArgumentError(f"job argument --datasets: not a JSON array: {exc}") from exc
        if not names or not all(isinstance(n, str) for n in names):
            raise JobArgumentError(f"job argument --datasets: expected dataset names, got {text!r}")
        return cls(
            run_id=str(clean["run_id"]),
            datasets=tuple(names),
            curated_root=_with_slash(str(clean["curated_root"])),
            quarantine_root=_with_slash(str(clean["quarantine_root"])),
            config_uri=str(clean["config_uri"]),
        )


def _required(values: dict[str, Any], names: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """`values` keyed without the leading `--`; every name present, and non-empty unless optional."""
    clean = {str(k).removeprefix("--"): v for k, v in values.items()}
    missing = [name for name in names if clean.get(name) is None]
    if missing:
        raise JobArgumentError(f"missing job argument(s): {', '.join('--' + m for m in missing)}")
    for name in names:
        if name not in optional and not str(clean[name]).strip():
            raise JobArgumentError(f"job argument --{name} is empty")
    check_run_id(str(clean["run_id"]))
    return clean


def glue_arguments(argv: list[str], names: tuple[str, ...]) -> dict[str, Any]:
    """`{name: value}` of a Glue job's argv: Glue's own resolver on Glue (it tolerates Glue's extra arguments),
    plain argparse anywhere else (local spark-submit, tests)."""
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        import argparse

        parser = argparse.ArgumentParser(description=f"Glue job {argv[0]}")
        for name in names:
            parser.add_argument(f"--{name}", required=True)
        known, _ = parser.parse_known_args(argv[1:])
        return vars(known)
    return dict(getResolvedOptions(argv, list(names)))


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


def _put_json(s3: Any, bucket: str, key: str, body: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json")


def _session(spark: SparkSession | None) -> SparkSession:
    from dataplatform.transform.standardize_dataset import configure_session

    session = spark or SparkSession.builder.getOrCreate()  # on Glue: the job's session, Iceberg configured
    configure_session(session)
    return session


def run_job(args: JobArguments, *, spark: SparkSession | None = None, s3: Any = None) -> dict[str, Any]:
    """Standardize one dataset for one run: stage it on the run's branch; returns the run record it wrote."""
    from dataplatform.transform.standardize_dataset import RawInput, StandardizeRequest, standardize

    s3 = s3 or boto3.client("s3")
    config = load_config_uri(args.config_uri, s3)
    if args.dataset not in config.datasets:
        raise JobArgumentError(f"--dataset {args.dataset!r} is not in {args.config_uri} ({', '.join(config.datasets)})")
    curated_bucket, _ = split_s3_uri(args.curated_root)
    record_key = Lake(raw_bucket="", curated_bucket=curated_bucket).run_step_key(
        args.run_id, args.dataset, "standardize"
    )
    try:
        inputs = []
        for uri in args.manifest_uris:
            manifest = load_manifest(uri, s3)
            inputs.append(RawInput(manifest=manifest, paths=tuple(part_uri(uri, f.key) for f in manifest.files)))
        request = StandardizeRequest(
            dataset=args.dataset,
            run_id=args.run_id,
            config=config,
            inputs=tuple(inputs),
            curated_root=args.curated_root,
            quarantine_root=args.quarantine_root,
        )
        record = standardize(_session(spark), request).record()
    except Exception as exc:
        failed = {"dataset": args.dataset, "run_id": args.run_id, "status": "FAILED", "error": str(exc)[:2000]}
        _put_json(s3, curated_bucket, record_key, failed)
        raise
    _put_json(s3, curated_bucket, record_key, record)
    logger.info("standardized %s", record)
    return record


def run_publish(args: PublishArguments, *, spark: SparkSession | None = None, s3: Any = None) -> dict[str, Any]:
    """Publish the run's staged snapshots; writes runs/<run_id>/<dataset>/publish.json per dataset."""
    from dataplatform.transform.publish import PublishError, publish_run
    from dataplatform.workflow.audit import read_json

    s3 = s3 or boto3.client("s3")
    config = load_config_uri(args.config_uri, s3)
    unknown = [d for d in args.datasets if d not in config.datasets]
    if unknown:
        raise JobArgumentError(
            f"--datasets: {', '.join(unknown)} not in {args.config_uri} ({', '.join(config.datasets)})"
        )
    curated_bucket, _ = split_s3_uri(args.curated_root)
    lake = Lake(raw_bucket="", curated_bucket=curated_bucket)
    records = {}
    for dataset in args.datasets:
        record = read_json(s3, curated_bucket, lake.run_step_key(args.run_id, dataset, "standardize"))
        if record is None:
            raise PublishError(f"{dataset}: run {args.run_id} has no standardize record; nothing was staged")
        records[dataset] = record
    published = publish_run(
        _session(spark),
        config,
        args.run_id,
        records,
        curated_root=args.curated_root,
        quarantine_root=args.quarantine_root,
    )
    for dataset, record in published.items():
        _put_json(s3, curated_bucket, lake.run_step_key(args.run_id, dataset, "publish"), record)
    logger.info("published %s", published)
    return published
