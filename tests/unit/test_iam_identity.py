"""Task identities reach the threads that sign requests on a task's behalf."""

from __future__ import annotations

from botocore.credentials import ReadOnlyCredentials
from pyiceberg.utils.concurrent import ExecutorFactory

from dataplatform.local.iam.identity import ContextCredentials, InstalledIdentity, as_identity


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
