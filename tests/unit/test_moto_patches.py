"""The local platform's moto patch: Glue UpdateTable refuses a stale VersionId, as real Glue does, so Iceberg's
commit conflicts surface (and are retried) instead of silently losing a commit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from dataplatform.local import moto_patches
from dataplatform.local.platform import free_port


@pytest.fixture
def glue() -> Iterator[Any]:
    moto_patches.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        client = boto3.client(
            "glue",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_database(DatabaseInput={"Name": "db"})
        client.create_table(DatabaseName="db", TableInput={"Name": "t", "Parameters": {"metadata_location": "m0"}})
        yield client
    finally:
        requests.post(f"http://127.0.0.1:{port}/moto-api/reset", timeout=10)
        server.stop()


def _commit(glue: Any, version: str, location: str) -> None:
    table = {"Name": "t", "Parameters": {"metadata_location": location}}
    glue.update_table(DatabaseName="db", TableInput=table, VersionId=version)


def test_a_commit_with_the_version_it_read_lands_and_a_stale_one_is_refused(glue: Any) -> None:
    read = glue.get_table(DatabaseName="db", Name="t")["Table"]["VersionId"]
    _commit(glue, read, "m1")
    with pytest.raises(ClientError) as refused:
        _commit(glue, read, "m2")  # read before the first commit
    assert refused.value.response["Error"]["Code"] == "ConcurrentModificationException"
    assert glue.get_table(DatabaseName="db", Name="t")["Table"]["Parameters"]["metadata_location"] == "m1"
    # The loser reads again and retries, as Iceberg does: both commits land, in order.
    _commit(glue, glue.get_table(DatabaseName="db", Name="t")["Table"]["VersionId"], "m2")
    assert glue.get_table(DatabaseName="db", Name="t")["Table"]["Parameters"]["metadata_location"] == "m2"


def test_two_concurrent_commits_of_one_version_one_wins(glue: Any) -> None:
    read = glue.get_table(DatabaseName="db", Name="t")["Table"]["VersionId"]
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def commit(location: str) -> None:
        start.wait()
        try:
            _commit(glue, read, location)
            outcomes.append("landed")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=commit, args=(f"m-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ConcurrentModificationException", "landed"]
