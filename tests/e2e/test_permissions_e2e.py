"""Permissions in a whole local run (issue 17): take one grant away from a construct and the run fails on exactly
that call, with the action and resource in the audit's error; with the grants as they are, nothing is denied.

A one-dataset CSV pipeline (README's first pipeline) keeps each run short; the grant is removed by patching the
construct before the runner synthesizes it, as an edit to infra/ would.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dataplatform.local.execution import RunResult
from dataplatform.local.platform import LocalOptions, LocalPlatform

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
WINDOW = ("2024-05-01", "2024-05-02")
PIPELINE = textwrap.dedent(
    """\
    project: perm-shop
    schedule: {cron: "0 4 * * ? *", timezone: UTC}
    datasets:
      orders:
        source: {kind: csv, location: landing/orders/}
        contract:
          key: [order_id]
          partition_column: order_date
          columns:
            - {name: order_id, source: Order ID, type: string, nullable: false}
            - {name: order_date, source: Date, type: date, nullable: false, formats: ["yyyy-MM-dd"]}
            - {name: amount, source: Amount, type: "decimal(12,2)", nullable: false}
    """
)
ORDERS = b"Order ID,Date,Amount\nO1,2024-05-01,19.90\nO2,2024-05-02,7.50\n"
STALE_RUN = "stale-attempt-1"


@dataclass
class Outcome:
    result: RunResult
    audit_error: str | None
    denied: set[tuple[str, str]]
    """(action, resource) of every denied call."""
    denials: list[dict[str, Any]]
    unmapped: list[str]
    raw_objects: dict[str, bytes]
    """The objects under the stale attempt's run prefix after the run."""
    raw_bucket: str


def run_pipeline(tmp_path: Path, *, stale_parts: bool = False, report: Path | None = None) -> Outcome:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    options = LocalOptions(root=ROOT, config=tmp_path / "pipeline.yaml", lake_dir=tmp_path / "lake", iam_report=report)
    with LocalPlatform(options) as platform:
        platform.put_landing_file("orders.csv", ORDERS, dataset="orders")
        s3, raw = platform.client("s3"), platform.lake.raw_bucket
        prefix = f"raw/orders/ingest_date={WINDOW[1]}/run_id={STALE_RUN}/"
        if stale_parts:  # what an earlier failed attempt of this run left: a part and its sidecar, no manifest
            for key in (f"{prefix}part-00000.csv.gz", f"{prefix}_parts/part-00000.json"):
                s3.put_object(Bucket=raw, Key=key, Body=b"stale")
        result = platform.run(window=WINDOW, run_id=STALE_RUN if stale_parts else None)
        audit_error = None
        for obj in s3.list_objects_v2(Bucket=platform.lake.curated_bucket, Prefix="audit/").get("Contents", []):
            record = json.loads(s3.get_object(Bucket=platform.lake.curated_bucket, Key=obj["Key"])["Body"].read())
            audit_error = audit_error or record.get("error")
        summary = platform.iam.summary()
        listed = s3.list_objects_v2(Bucket=raw, Prefix=prefix).get("Contents", [])
        objects = {o["Key"]: s3.get_object(Bucket=raw, Key=o["Key"])["Body"].read() for o in listed}
        return Outcome(
            result=result,
            audit_error=audit_error,
            denied={(d["action"], d["resource"]) for d in summary.denials},
            denials=summary.denials,
            unmapped=summary.unmapped,
            raw_objects=objects,
            raw_bucket=raw,
        )


@pytest.fixture
def without_grant(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Remove a grant from a construct before the runner synthesizes it."""
    import infra.standardization
    from infra.storage import Storage

    def remove(
        *, prefix: str | None = None, write: bool = False, delete: bool = False, catalog: list[str] | None = None
    ) -> None:
        if prefix is not None:
            original = Storage.grant_prefixes

            def grant_prefixes(self: Storage, grantee: Any, bucket: Any, prefixes: list[str], **kw: bool) -> None:
                if prefixes == [prefix]:
                    kw["write"] = kw.get("write", False) and not write
                    kw["delete"] = kw.get("delete", False) and not delete
                original(self, grantee, bucket, prefixes, **kw)

            monkeypatch.setattr(Storage, "grant_prefixes", grant_prefixes)
        if catalog is not None:
            real = infra.standardization.iam

            class Iam:
                def __getattr__(self, name: str) -> Any:
                    return getattr(real, name)

                @staticmethod
                def PolicyStatement(**kw: Any) -> Any:
                    if kw.get("sid") == "OwnCatalogTable":
                        kw["actions"] = [a for a in kw["actions"] if a not in catalog]
                    return real.PolicyStatement(**kw)

            monkeypatch.setattr(infra.standardization, "iam", Iam())

    yield remove


def test_without_the_csv_ingest_roles_raw_write_the_run_fails_on_that_put(
    tmp_path: Path, without_grant: Callable[..., None]
) -> None:
    without_grant(prefix="raw/orders/", write=True)
    outcome = run_pipeline(tmp_path)
    assert outcome.result.status == "FAILED" and outcome.result.failure["step"] == "Ingest"
    assert {action for action, _ in outcome.denied} == {"s3:PutObject"}, outcome.denials
    assert all(r.startswith(f"arn:aws:s3:::{outcome.raw_bucket}/raw/orders/") for _, r in outcome.denied)
    assert outcome.audit_error is not None
    assert (
        "s3:PutObject" in outcome.audit_error
        and f"arn:aws:s3:::{outcome.raw_bucket}/raw/orders/" in outcome.audit_error
    )
    assert "retail" not in outcome.audit_error and "AccessDenied" in outcome.audit_error


def test_without_the_glue_roles_catalog_update_the_job_fails_on_that_call(
    tmp_path: Path, without_grant: Callable[..., None]
) -> None:
    without_grant(catalog=["glue:CreateTable", "glue:UpdateTable"])
    outcome = run_pipeline(tmp_path)
    assert outcome.result.status == "FAILED" and outcome.result.failure["step"].startswith("Standardize")
    assert {action for action, _ in outcome.denied} == {"glue:CreateTable"}
    assert outcome.audit_error is not None and "glue:CreateTable on resource" in outcome.audit_error
    assert "arn:aws:glue:us-east-1:123456789012:catalog" in outcome.audit_error


def test_without_the_raw_delete_grant_clearing_a_failed_attempt_fails(
    tmp_path: Path, without_grant: Callable[..., None]
) -> None:
    """Before the fix the ingest role had no s3:DeleteObject on raw: S3 answered the clearing DeleteObjects with
    per-key AccessDenied errors in a 200, the writer ignored them, and the manifest listed the stale part."""
    without_grant(prefix="raw/orders/", delete=True)
    outcome = run_pipeline(tmp_path, stale_parts=True)
    assert outcome.result.status == "FAILED" and outcome.result.failure["step"] == "Ingest"
    assert {action for action, _ in outcome.denied} == {"s3:DeleteObject"}
    assert (
        outcome.audit_error is not None
        and "DeleteObjects" in outcome.audit_error
        and "AccessDenied" in outcome.audit_error
    )
    assert list(outcome.raw_objects.values()) == [b"stale", b"stale"]  # left as it was, no manifest over it


def test_with_the_synthesized_grants_nothing_is_denied_and_the_report_lists_every_call(tmp_path: Path) -> None:
    report = tmp_path / "iam.jsonl"
    outcome = run_pipeline(tmp_path, stale_parts=True, report=report)
    assert outcome.result.status == "SUCCEEDED", outcome.result.cause
    assert outcome.denied == set() and outcome.unmapped == []
    assert b"stale" not in outcome.raw_objects.values() and any(
        k.endswith("_manifest.json") for k in outcome.raw_objects
    )
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    roles = {r["role"].rsplit("/", 1)[-1] for r in rows}
    for construct in (
        "ingestioningestcsvrole",
        "standardizationordersrole",
        "workflowfunctionscommitstaterole",
        "workflowfunctionswriteauditrole",
        "orchestrationstatemachinerole",
    ):
        assert any(construct in role for role in roles), (construct, sorted(roles))
    deleted = {r["resource"] for r in rows if r["action"] == "s3:DeleteObject"}
    assert (
        f"arn:aws:s3:::{outcome.raw_bucket}/raw/orders/ingest_date={WINDOW[1]}/run_id={STALE_RUN}/part-00000.csv.gz"
        in deleted
    )
    assert all(r["decision"] == "Allow" for r in rows)
