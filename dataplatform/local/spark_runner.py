"""Local stand-in for a Glue job run: the job's own code (`dataplatform.transform.job`) on a local SparkSession.

Nothing is staged to disk: the session reads raw through S3A and writes Iceberg through GlueCatalog and S3FileIO,
all against the endpoint the boto3 clients use (moto in the local platform; spark_session.py). The runner only does
what Glue does around a job: check the job name and arguments, merge nothing (the dispatcher already merged the
job's DefaultArguments), run the entry point's function, report a JobRun-shaped result.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import boto3
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.local.spark_session import Credentials, job_session
from dataplatform.naming import job_dataset, publish_job_name, standardize_job_name
from dataplatform.transform.job import (
    JOB_ARGUMENTS,
    PUBLISH_ARGUMENTS,
    JobArguments,
    PublishArguments,
    load_config_uri,
    run_job,
    run_publish,
)

logger = logging.getLogger(__name__)

# Arguments Glue itself understands; anything else that is not a job argument is a typo and fails loudly.
GLUE_RESERVED_PREFIXES = (
    "--job-",
    "--enable-",
    "--extra-",
    "--additional-",
    "--datalake-formats",
    "--TempDir",
    "--conf",
    "--JOB_",
)
# Default arguments the deployed jobs carry for convenience (docs/contracts.md, "Glue job"); Glue merges them into
# every run's arguments, so the local runner must accept them too.
CONVENIENCE_ARGUMENTS = ("raw_bucket", "curated_bucket", "curated_database")


class GlueJobError(RuntimeError):
    """The local job run was started wrongly (unknown job, bad arguments)."""


class JvmError(RuntimeError):
    """A Spark/Iceberg call of the job failed in the JVM: the root cause's one line, as Glue reports it (the Java
    stack trace would bury an AccessDenied message in the run's error)."""


def _root_cause(exc: Py4JJavaError) -> str:
    cause = exc.java_exception
    while cause.getCause() is not None:
        cause = cause.getCause()
    return str(cause.toString()).splitlines()[0]


def _check_argument_names(arguments: dict[str, str], accepted: tuple[str, ...]) -> None:
    for name in arguments:
        if not name.startswith("--"):
            raise GlueJobError(f"InvalidInputException: Glue job argument {name!r} must start with '--'")
        known = name.removeprefix("--") in (*accepted, *CONVENIENCE_ARGUMENTS)
        if known or name.startswith(GLUE_RESERVED_PREFIXES):
            continue
        raise GlueJobError(
            f"InvalidInputException: unknown job argument {name!r}; the job takes "
            + ", ".join("--" + a for a in accepted)
        )


def _job_kind(job_name: str, config: PipelineConfig) -> str | None:
    """`publish`, the dataset a standardize job belongs to, or None for a job this config does not deploy."""
    if job_name == publish_job_name(config.project):
        return "publish"
    dataset = job_dataset(config.project, job_name)
    return dataset if dataset in config.datasets else None


def session_for(s3: Any, curated_root: str) -> SparkSession:
    """A session on the client's endpoint, with the credentials boto3's default session signs with: in the local
    platform the task's role (the job's, as Glue runs it), so the JVM's S3A and Iceberg calls are checked against
    that role's policy like the job's boto3 calls (docs/local-runner.md, "Permissions")."""
    session = boto3.DEFAULT_SESSION or boto3.Session()  # the platform's default session signs as the task
    frozen = session.get_credentials().get_frozen_credentials()
    credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    return job_session(s3.meta.endpoint_url, curated_root, credentials, s3.meta.region_name)


def _config(arguments: dict[str, str], s3: Any) -> PipelineConfig:
    uri = arguments.get("--config_uri")
    if not uri:
        raise GlueJobError("InvalidInputException: missing job argument(s): --config_uri")
    return load_config_uri(uri, s3)


def run_glue_job(
    job_name: str, arguments: dict[str, str], *, s3: Any = None, spark: SparkSession | None = None
) -> dict[str, Any]:
    """Run `<project>-standardize-<dataset>` or `<project>-publish` with Glue's StartJobRun `Arguments`.

    Returns `{JobName, JobRunId, JobRunState, Record}`: Record is the run record the job wrote (standardize.json,
    or dataset -> publish.json). Raises GlueJobError for an unknown job or bad arguments, and lets job errors
    (schema drift, main moved) propagate after the job recorded them.
    """
    s3 = s3 or boto3.client("s3")
    config = _config(arguments, s3)
    kind = _job_kind(job_name, config)
    if kind is None:
        jobs = [publish_job_name(config.project), *(standardize_job_name(config.project, d) for d in config.datasets)]
        raise GlueJobError(f"EntityNotFoundException: Glue job {job_name!r} not found (known jobs: {', '.join(jobs)})")
    publish = kind == "publish"
    _check_argument_names(arguments, PUBLISH_ARGUMENTS if publish else JOB_ARGUMENTS)
    try:
        args = PublishArguments.from_mapping(arguments) if publish else JobArguments.from_mapping(arguments)
    except ValueError as exc:
        raise GlueJobError(f"InvalidInputException: {exc}") from exc
    for root in (args.curated_root, args.quarantine_root):
        if not root.startswith("s3://"):
            raise GlueJobError(f"InvalidInputException: expected an s3:// root, got {root!r}")
    if isinstance(args, JobArguments) and args.dataset != kind:
        raise GlueJobError(f"InvalidInputException: job {job_name!r} standardizes {kind!r}, not {args.dataset!r}")
    session = spark or session_for(s3, args.curated_root)
    job_run_id = f"jr_local_{uuid.uuid4().hex}"
    try:
        if isinstance(args, PublishArguments):
            record: dict[str, Any] = run_publish(args, spark=session, s3=s3)
        else:
            record = run_job(args, spark=session, s3=s3)
    except Py4JJavaError as exc:
        raise JvmError(_root_cause(exc)) from exc
    logger.info("local Glue job %s (%s): %s", job_name, job_run_id, record)
    return {"JobName": job_name, "JobRunId": job_run_id, "JobRunState": "SUCCEEDED", "Record": record}
