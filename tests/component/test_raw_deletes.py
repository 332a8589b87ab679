"""Raw deletes (issue 14): S3's DeleteObjects answers 200 and lists refused keys as errors; ignoring them let a re-run
"clear" nothing and list stale parts in its manifest. The ingest role's grant is checked in
tests/infra/test_ingestion.py; this checks that the writer reads the answer."""

from __future__ import annotations

from typing import Any

import pytest
from ingest_support import LAKE, aws_module, config, dataset, keys, manifest, request, s3_fixture  # noqa: F401

from dataplatform.ingest import run_ingest
from dataplatform.ingest.raw_writer import RawDeleteError

HEADER = "Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date\n"


class DeniesDeletes:
    """An S3 client whose role lacks s3:DeleteObject: DeleteObjects succeeds (200) and lists every key as an error."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.refused: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:  # boto3 keyword names
        self.refused += [o["Key"] for o in Delete["Objects"]]
        errors = [{"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"} for o in Delete["Objects"]]
        return {"Errors": errors, "ResponseMetadata": {"HTTPStatusCode": 200}}


def ingest(s3: Any) -> Any:
    return run_ingest(request("sales", "run-1"), config=config(sales=dataset("sales")), lake=LAKE, s3=s3)


@pytest.mark.faults
def test_a_refused_delete_stops_the_re_ingest_instead_of_keeping_stale_parts(s3: Any, fault: Any) -> None:
    rows = {"a.csv": 2, "b.csv": 3}
    for name, count in rows.items():
        lines = "".join(f"S{len(name)}{i}{count},1,1,1,1.00,USD,2024-01-02\n" for i in range(count))
        s3.put_object(Bucket=LAKE.raw_bucket, Key=f"landing/sales/{name}", Body=(HEADER + lines).encode())
    ingest(s3)  # the run failed later and was never committed: starting it again re-reads landing
    stale = keys(s3, LAKE.raw_bucket, "raw/sales/")

    denied = DeniesDeletes(s3)
    with pytest.raises(
        RawDeleteError,
        match=r"DeleteObjects in s3://test-raw/raw/sales/.*: (\d+) of \1 key\(s\) not deleted.*AccessDenied",
    ):
        ingest(denied)
    assert sorted(denied.refused) == stale and keys(s3, LAKE.raw_bucket, "raw/sales/") == stale

    again = ingest(s3)  # the grant fixed: the re-ingest replaces the stale parts
    files = manifest(s3, again.manifest_uri)["files"]
    assert sorted(f["source"].rsplit("/", 1)[1] for f in files) == sorted(rows)
    fault.injected(
        "s3: DeleteObjects refuses every key (200 with errors)", rows_in=sum(rows.values()), rows_out=again.rows
    )
