"""Task identities reach the threads that sign requests on a task's behalf."""

from __future__ import annotations

import pytest
from botocore.credentials import ReadOnlyCredentials
from pyiceberg.utils.concurrent import ExecutorFactory

from dataplatform.local.iam.identity import ContextCredentials, InstalledIdentity, as_identity
from dataplatform.local.spark_session import Credentials


def test_pyicebergs_reader_threads_sign_as_the_submitting_task() -> None:
    """pyiceberg reads manifests in its own pool; the local Athena engine's object fetches there must not lose the
    query's identity (they did: `no-task-identity` denials of s3:HeadObject in the staged views)."""
    installed = InstalledIdentity()
    try:
        role = ReadOnlyCredentials("AKIAJOBROLE", "secret", "token")
        with as_identity(role):
            seen = list(ExecutorFactory.get_or_create().map(lambda _: ContextCredentials().access_key, range(3)))
        assert seen == ["AKIAJOBROLE"] * 3
    finally:
        installed.close()


def test_a_local_glue_jobs_spark_session_gets_the_jobs_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JVM's S3A and Iceberg clients sign with the credentials the session is given: the job role's (issue 17),
    not the runner's environment keys, so the local IAM check covers them."""
    import boto3

    from dataplatform.local import spark_runner

    given: list[Credentials] = []
    monkeypatch.setattr(
        spark_runner, "job_session", lambda endpoint, root, credentials, region: given.append(credentials)
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    installed = InstalledIdentity()
    try:
        s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:1", region_name="us-east-1")
        with as_identity(ReadOnlyCredentials("ASIAJOBROLE", "job-secret", "job-token")):
            spark_runner.session_for(s3, "s3://curated/curated/")
    finally:
        installed.close()
    assert given == [Credentials("ASIAJOBROLE", "job-secret", "job-token")]
